// What an export URL asks for: the period exactly as the pages read it (`from`/`to`, `month` or `days`; a bad
// value falls back to the last 30 days, so a page's link always downloads), and the page's filters.
import { parseCustomersQuery } from '../dashboard/customers.server.js';
import { viewerContext } from '../dashboard/viewer.server.js';

/** A filter value from the URL (at most 200 characters; empty means none). */
const filterValue = (v: string | null) => (v && v.trim() && v.length <= 200 ? v.trim() : null);

export function exportRequest(request: Request, now: Date = new Date()) {
  const { url, period } = viewerContext(request, now);
  const p = url.searchParams;
  const { sort, dir, q } = parseCustomersQuery(p);
  return {
    period,
    now,
    customers: { sort, dir, q },
    customer: filterValue(p.get('customer')),
    gpuType: filterValue(p.get('gpuType')),
    pool: filterValue(p.get('pool')),
    book: filterValue(p.get('book')),
  };
}
