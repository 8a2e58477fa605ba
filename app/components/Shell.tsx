import { Form, NavLink, useRouteLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';
import type { loader as rootLoader } from '~/root';

const NAV = [
  { to: '/', label: 'Overview' },
];

export function useCurrentUser() {
  return useRouteLoaderData<typeof rootLoader>('root')?.user ?? null;
}

export function Shell({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const user = useCurrentUser();
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/">Breakeven</a>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <NavLink key={item.to} to={item.to} end={item.to === '/'} prefetch="intent">
              {item.label}
            </NavLink>
          ))}
          {user?.role === 'admin' ? (
            <>
              <NavLink to="/users">Users</NavLink>
              <NavLink to="/audit">Audit log</NavLink>
            </>
          ) : null}
        </nav>
        {user ? (
          <div className="user">
            <span>
              {user.email} · {user.role}
            </span>
            <Form method="post" action="/logout">
              <button type="submit">Sign out</button>
            </Form>
          </div>
        ) : null}
      </header>
      <main className="page">
        <div className="page-head">
          <h1>{title}</h1>
          {actions}
        </div>
        {children}
      </main>
    </div>
  );
}
