import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useLoaderData, useRevalidator, useRouteError } from '@remix-run/react';
import { useEffect, type ReactNode } from 'react';
import { TZ_COOKIE, timeZoneFromCookie } from './lib/time-zone';
import { useNonce } from './lib/nonce';
import { getUser } from './services/auth.server';

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: '/styles.css' },
  { rel: 'icon', href: '/favicon.ico' },
];

export const meta: MetaFunction = () => [{ title: 'Breakeven' }];

// Who is signed in, for the header; each route still checks for itself.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getUser(request, context);
  return { user: user ? { email: user.email, role: user.role } : null, timeZone: timeZoneFromCookie(request.headers.get('Cookie')) };
}

/**
 * The viewer's time zone reaches the server as a cookie: the browser reports its IANA zone, and when the server
 * rendered in another one (first visit, or the zone changed) the cookie is set and the page's data reloaded once.
 * The server validates the name (app/lib/time-zone.ts) and falls back to UTC.
 */
function useTimeZoneCookie(serverZone: string | undefined) {
  const revalidator = useRevalidator();
  useEffect(() => {
    if (serverZone === undefined) return;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone || zone === serverZone) return;
    const value = encodeURIComponent(zone);
    // Already sent and refused (an unknown zone): do not ask again.
    if (document.cookie.split('; ').includes(`${TZ_COOKIE}=${value}`)) return;
    document.cookie = `${TZ_COOKIE}=${value}; path=/; max-age=31536000; samesite=lax`;
    revalidator.revalidate();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [serverZone]);
}

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  const data = useLoaderData<typeof loader>();
  useTimeZoneCookie(data?.timeZone);
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  // Never a stack trace or SQL: the status and a sentence, and the details stay in the server log.
  const title = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : 'Something went wrong';
  const detail = isRouteErrorResponse(error) && typeof error.data === 'string' ? error.data : 'The error has been logged. Try again, or go back to the overview.';
  return (
    <main className="page error-page">
      <h1>{title}</h1>
      <p>{detail}</p>
      <p><a href="/">Back to the overview</a></p>
    </main>
  );
}
