// GET a JSON document from a source, with a timeout per attempt and retries with exponential backoff on
// what is likely to pass (connection refused or reset, timeouts, 5xx, 429). Other 4xx and authentication
// failures are not retried: asking again would fail again. Errors name the URL without query secrets and
// never carry the request's headers.

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** The first wait; then doubled each time, with ±20 % jitter, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** A failed pull request: `transient` ones were retried until the policy gave up. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}

export interface FetchOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Called before each retry: attempt number (2…), the wait, and why. */
  onRetry?: (attempt: number, delayMs: number, error: ConnectorError) => void;
}

/** The URL as shown in errors: no user info, query values of likely secrets replaced. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) if (/key|token|secret|password/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function networkReason(error: unknown): { reason: string; transient: boolean } {
  const e = error as Error & { cause?: NodeJS.ErrnoException & { code?: string } };
  const code = e.cause?.code ?? (e as NodeJS.ErrnoException).code;
  if (e.name === 'TimeoutError') return { reason: 'timed out', transient: true };
  if (code === 'ECONNREFUSED') return { reason: 'connection refused', transient: true };
  if (code === 'ENOTFOUND') return { reason: 'host not found', transient: false };
  if (code && TRANSIENT_CODES.has(code)) return { reason: `connection failed (${code})`, transient: true };
  // undici reports a connection closed mid-body as "terminated" with a socket cause.
  if (e.message === 'terminated' || e.message === 'fetch failed') return { reason: `connection failed (${e.cause?.message ?? e.message})`, transient: true };
  return { reason: e.message, transient: false };
}

/** The wait before attempt n+1 (n ≥ 1): base · 2^(n−1), ±20 %, at most max. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function statusError(status: number, statusText: string, where: string, detail: string): ConnectorError {
  if (status === 401 || status === 403) {
    return new ConnectorError(`${where}: authentication failed (HTTP ${status} ${statusText}): check the source's credentials${detail}`, false, status);
  }
  const transient = status >= 500 || status === 429 || status === 408;
  return new ConnectorError(`${where}: HTTP ${status} ${statusText}${detail}`, transient, status);
}

/** One short line of what the server said, for the error (JSON `error`/`message` fields, or the text). */
function serverDetail(text: string): string {
  let detail = text.trim();
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const e = body.error as { message?: unknown } | string | undefined;
    detail = String((typeof e === 'object' && e ? e.message : e) ?? body.message ?? detail);
  } catch {
    // not JSON: the text as it is
  }
  detail = detail.replace(/\s+/g, ' ').slice(0, 300);
  return detail ? `: ${detail}` : '';
}

async function attempt(url: string, options: FetchOptions): Promise<unknown> {
  const where = `GET ${displayUrl(url)}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json', ...options.headers }, signal, redirect: 'error' });
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw new ConnectorError(`${where}: stopped (${String(options.signal.reason ?? 'aborted')})`, false);
    const { reason, transient } = networkReason(timeout.aborted ? Object.assign(new Error('timeout'), { name: 'TimeoutError' }) : error);
    throw new ConnectorError(`${where}: ${reason}${reason === 'timed out' ? ` after ${options.timeoutMs / 1000} s` : ''}`, transient);
  }
  if (!response.ok) throw statusError(response.status, response.statusText, where, serverDetail(text));
  try {
    return JSON.parse(text);
  } catch {
    throw new ConnectorError(`${where}: the answer is not JSON (${text.slice(0, 80).replace(/\s+/g, ' ')}…)`, false, response.status);
  }
}

/** GET url as JSON, retrying transient failures per the policy; throws the last ConnectorError. */
export async function fetchJson(url: string, options: FetchOptions): Promise<unknown> {
  const policy = options.retry ?? DEFAULT_RETRY;
  for (let n = 1; ; n++) {
    try {
      return await attempt(url, options);
    } catch (error) {
      const e = error as ConnectorError;
      if (!(e instanceof ConnectorError) || !e.transient || n >= policy.attempts) {
        if (e instanceof ConnectorError && e.transient && n > 1) e.message += ` (gave up after ${n} attempts)`;
        throw e;
      }
      const delay = backoffDelay(policy, n);
      options.onRetry?.(n + 1, delay, e);
      await sleep(delay, options.signal);
    }
  }
}

/** Authorization header for a source's credentials. */
export function authHeaders(credentials: SourceCredentials | null): Record<string, string> {
  if (!credentials) return {};
  if (credentials.type === 'bearer') return { Authorization: `Bearer ${credentials.token}` };
  return { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}` };
}

/** What a source authenticates with (a bearer token is also how an API key is sent). */
export type SourceCredentials = { type: 'bearer'; token: string } | { type: 'basic'; username: string; password: string };
