// A local HTTP server speaking OpenAI's usage API for completions — `GET /v1/organization/usage/completions`
// with start_time, end_time, bucket_width=1h, group_by=project_id&group_by=model, limit and page; Bearer
// authentication; pages with has_more and next_page — serving usage the test chose, with faults on demand:
// 5xx answers, a connection closed after some pages, slowness.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The fields of a result, in the order of the API's documented example (checked by the tests). */
export const RESULT_FIELDS = [
  'object',
  'input_tokens',
  'input_cached_tokens',
  'input_cache_write_tokens',
  'input_uncached_tokens',
  'output_tokens',
  'input_text_tokens',
  'output_text_tokens',
  'input_cached_text_tokens',
  'input_audio_tokens',
  'input_cached_audio_tokens',
  'output_audio_tokens',
  'input_image_tokens',
  'input_cached_image_tokens',
  'output_image_tokens',
  'num_model_requests',
  'project_id',
  'user_id',
  'api_key_id',
  'model',
  'batch',
  'service_tier',
] as const;

export interface UsageEntry {
  /** Start of the hour bucket, epoch ms. */
  hour: number;
  project_id: string | null;
  model: string;
  input_tokens: number;
  input_cached_tokens: number;
  input_cache_write_tokens: number;
  output_tokens: number;
  num_model_requests: number;
}

export interface UsageServer {
  url: string;
  apiKey: string;
  /** The usage served; change it between pulls (late usage, a bucket that grows). */
  entries: UsageEntry[];
  /** Every request's path and query, in order. */
  requests: string[];
  /** Most buckets per page, whatever `limit` asks (forces pagination). */
  maxBucketsPerPage: number;
  /** The next N requests answer this status (e.g. 503). */
  failNext(n: number, status?: number): void;
  /** After N more pages are served, every request has its connection closed without an answer; null: heal. */
  closeAfterPages(n: number | null): void;
  latencyMs: number;
  close(): Promise<void>;
}

const HOUR = 3_600_000;

function result(entry: UsageEntry) {
  const r: Record<string, unknown> = {};
  for (const f of RESULT_FIELDS) r[f] = null;
  Object.assign(r, {
    object: 'organization.usage.completions.result',
    input_tokens: entry.input_tokens,
    input_cached_tokens: entry.input_cached_tokens,
    input_cache_write_tokens: entry.input_cache_write_tokens,
    input_uncached_tokens: entry.input_tokens - entry.input_cached_tokens - entry.input_cache_write_tokens,
    output_tokens: entry.output_tokens,
    input_text_tokens: entry.input_tokens,
    output_text_tokens: entry.output_tokens,
    input_cached_text_tokens: entry.input_cached_tokens,
    input_audio_tokens: 0,
    input_cached_audio_tokens: 0,
    output_audio_tokens: 0,
    input_image_tokens: 0,
    input_cached_image_tokens: 0,
    output_image_tokens: 0,
    num_model_requests: entry.num_model_requests,
    project_id: entry.project_id,
    model: entry.model,
  });
  return r;
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (message: string, type = 'invalid_request_error') => ({ error: { message, type, param: null, code: null } });

export async function startUsageServer(options: { apiKey?: string; entries?: UsageEntry[]; maxBucketsPerPage?: number } = {}): Promise<UsageServer> {
  let failures = 0;
  let failStatus = 503;
  let pagesLeft: number | null = null;
  const sockets = new Set<Socket>();

  const state: UsageServer = {
    url: '',
    apiKey: options.apiKey ?? 'sk-admin-test-0123456789',
    entries: options.entries ?? [],
    requests: [],
    maxBucketsPerPage: options.maxBucketsPerPage ?? 168,
    failNext(n, status = 503) {
      failures = n;
      failStatus = status;
    },
    closeAfterPages(n) {
      pagesLeft = n;
    },
    latencyMs: 0,
    close: async () => {},
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    state.requests.push(`${url.pathname}${url.search}`);
    if (state.latencyMs) await new Promise((r) => setTimeout(r, state.latencyMs));
    if (pagesLeft !== null && pagesLeft <= 0) {
      req.socket.destroy();
      return;
    }
    if (failures > 0) {
      failures -= 1;
      return send(res, failStatus, error('The server had an error while processing your request.', 'server_error'));
    }
    if (req.method !== 'GET' || url.pathname !== '/v1/organization/usage/completions') return send(res, 404, error(`Unknown request URL: ${req.method} ${url.pathname}`));
    if (req.headers.authorization !== `Bearer ${state.apiKey}`) return send(res, 401, error('Incorrect API key provided.'));

    const q = url.searchParams;
    const start = Number(q.get('start_time'));
    const end = q.has('end_time') ? Number(q.get('end_time')) : Math.ceil(Date.now() / 1000);
    if (!Number.isInteger(start) || !Number.isInteger(end) || end <= start) return send(res, 400, error('start_time and end_time must be Unix seconds, end after start'));
    if (q.get('bucket_width') !== '1h') return send(res, 400, error('this test server serves bucket_width=1h only'));
    const groupBy = q.getAll('group_by');
    if (!(groupBy.includes('project_id') && groupBy.includes('model'))) return send(res, 400, error('group_by must include project_id and model'));
    const limit = Math.min(Number(q.get('limit') ?? 24), 168, state.maxBucketsPerPage);
    if (!(limit >= 1)) return send(res, 400, error('limit must be between 1 and 168'));

    const firstBucket = Math.floor((start * 1000) / HOUR) * HOUR;
    const cursor = q.get('page');
    let from = firstBucket;
    if (cursor) {
      const decoded = Number(Buffer.from(cursor, 'base64url').toString('utf8').replace(/^page_/, ''));
      if (!Number.isInteger(decoded) || decoded < firstBucket) return send(res, 400, error('invalid page cursor'));
      from = decoded;
    }
    const data = [];
    let bucket = from;
    for (; bucket < end * 1000 && data.length < limit; bucket += HOUR) {
      const results = state.entries.filter((e) => e.hour === bucket).map(result);
      data.push({ object: 'bucket', start_time: bucket / 1000, end_time: (bucket + HOUR) / 1000, results });
    }
    const hasMore = bucket < end * 1000;
    if (pagesLeft !== null) pagesLeft -= 1;
    send(res, 200, { object: 'page', data, has_more: hasMore, next_page: hasMore ? Buffer.from(`page_${bucket}`).toString('base64url') : null });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => send(res, 500, error(e.message, 'server_error')));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}
