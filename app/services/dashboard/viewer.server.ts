// What every dashboard page reads off the request besides the user: the period (from/to/days/month) and the
// viewer's time zone (the `tz` cookie the browser sets; UTC until it has).
import { periodFromSearch, periodSearch, type Period } from '../../domain/period.js';
import { timeZoneFromCookie } from '../../lib/time-zone.js';

export interface ViewerContext {
  url: URL;
  period: Period;
  timeZone: string;
  /** `from=…&to=…`, to carry the period in links. */
  periodQuery: string;
}

/** `now` is the route's clock (the domain has none). */
export function viewerContext(request: Request, now: Date = new Date()): ViewerContext {
  const url = new URL(request.url);
  const period = periodFromSearch(url.searchParams, now);
  return { url, period, timeZone: timeZoneFromCookie(request.headers.get('Cookie')), periodQuery: periodSearch(period) };
}

/** The period as the page's picker and links need it (plain, serialisable). */
export function periodView(period: Period) {
  return { fromParam: period.fromParam, toParam: period.toParam, preset: period.preset, days: period.days };
}
