// The OpenAI usage API (and servers that speak it): hourly completions buckets grouped by project and model,
// following `next_page` until `has_more` is false.
import { parseUsagePage, type UsagePage } from '../../domain/connectors/index.js';
import { ConnectorError, fetchJson, type FetchOptions } from './http.server.js';

/** The completions usage URL of a base: `https://api.openai.com` and `https://api.openai.com/v1` both work. */
export function usageUrl(base: string): URL {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  url.pathname = `${path}/v1/organization/usage/completions`;
  url.search = '';
  return url;
}

const MAX_PAGES = 10_000;

/** Every page for [from, to) (epoch ms; `to` rounded up to a second), one at a time. */
export async function* usagePages(baseUrl: string, range: { from: number; to: number }, options: FetchOptions): AsyncGenerator<UsagePage> {
  const hours = Math.ceil((range.to - range.from) / 3_600_000);
  let cursor: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const url = usageUrl(baseUrl);
    url.searchParams.set('start_time', String(Math.floor(range.from / 1_000)));
    url.searchParams.set('end_time', String(Math.ceil(range.to / 1_000)));
    url.searchParams.set('bucket_width', '1h');
    url.searchParams.append('group_by', 'project_id');
    url.searchParams.append('group_by', 'model');
    // At most 168 buckets of an hour per page.
    url.searchParams.set('limit', String(Math.min(168, Math.max(1, hours))));
    if (cursor) url.searchParams.set('page', cursor);
    const parsed = parseUsagePage(await fetchJson(url.toString(), options));
    if (!parsed.ok) throw new ConnectorError(`the usage API at ${usageUrl(baseUrl).toString()} answered ${parsed.error}`, false);
    yield parsed.page;
    if (!parsed.page.has_more) return;
    if (!parsed.page.next_page || parsed.page.next_page === cursor) {
      throw new ConnectorError('the usage API said has_more but gave no new next_page', false);
    }
    cursor = parsed.page.next_page;
  }
  throw new ConnectorError(`the usage API gave more than ${MAX_PAGES} pages for one window`, false);
}
