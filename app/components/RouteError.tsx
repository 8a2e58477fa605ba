import { isRouteErrorResponse, Link, useRouteError } from '@remix-run/react';
import { Shell } from './Shell';

/**
 * A page's error boundary inside the app's frame: a status and a sentence (the thrown Response's text for a 404
 * or 403), never a stack trace; the details stay in the server log.
 */
export function RouteError({ title, back }: { title: string; back: { to: string; label: string } }) {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message =
    isRouteErrorResponse(error) && typeof error.data === 'string' && error.data
      ? error.data
      : status === 404
        ? 'There is nothing here.'
        : 'Something went wrong while preparing this page. The error has been logged; try again in a moment.';
  return (
    <Shell title={status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : title}>
      <section className="empty error-state" role="alert">
        <p className="error-code">{status}</p>
        <h2>{message}</h2>
        <p>
          <Link to={back.to}>{back.label}</Link>
        </p>
      </section>
    </Shell>
  );
}
