import { Form, NavLink, useRouteLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';
import type { loader as rootLoader } from '~/root';

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/customers', label: 'Customers' },
  { to: '/pools', label: 'Pools' },
  { to: '/recommendations', label: 'Recommendations' },
  { to: '/reservations', label: 'Reservations' },
  { to: '/prices', label: 'Prices' },
  { to: '/ingestion', label: 'Ingestion' },
  { to: '/emails', label: 'Emails' },
];

export function useCurrentUser() {
  return useRouteLoaderData<typeof rootLoader>('root')?.user ?? null;
}

export function Shell({
  title,
  subtitle,
  children,
  actions,
  toolbar,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  /** Under the title: the period picker, filters. */
  toolbar?: ReactNode;
}) {
  const user = useCurrentUser();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <a className="brand" href="/">
          <span className="brand-mark" aria-hidden="true" />
          Breakeven
        </a>
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
            <span>{user.email}</span>
            <span className="role">{user.role}</span>
            <Form method="post" action="/logout">
              <button type="submit">Sign out</button>
            </Form>
          </div>
        ) : null}
      </header>
      <main className="page" id="main">
        <div className="page-head">
          <div>
            <h1>{title}</h1>
            {subtitle ? <p className="page-sub">{subtitle}</p> : null}
          </div>
          {actions ? <div className="page-actions">{actions}</div> : null}
        </div>
        {toolbar ? <div className="toolbar">{toolbar}</div> : null}
        {children}
      </main>
    </div>
  );
}
