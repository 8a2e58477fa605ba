import { Form, Link, useLocation, useRouteLoaderData } from '@remix-run/react';
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
  // Which section is current, by path prefix (cheaper than a NavLink's route matching on every render).
  const { pathname } = useLocation();
  const link = (to: string, label: string) => {
    const active = to === '/' ? pathname === '/' : pathname === to || pathname.startsWith(`${to}/`);
    return (
      <Link key={to} to={to} prefetch="intent" className={active ? 'active' : undefined} aria-current={active ? 'page' : undefined}>
        {label}
      </Link>
    );
  };
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <a className="brand" href="/">
          <span className="brand-mark" aria-hidden="true" />
          Breakeven
        </a>
        <nav aria-label="Main">
          {NAV.map((item) => link(item.to, item.label))}
          {user?.role === 'admin' ? (
            <>
              {link('/users', 'Users')}
              {link('/audit', 'Audit log')}
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
