// The connectors' pure part (windows, settings, mapping, the three formats) and the small server-side pieces
// that need no database: credential encryption and the HTTP client's retry rules.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  customerFor,
  dcgmSamples,
  gaugeOnGrid,
  hourlyIncreases,
  nextWatermark,
  parseMatrix,
  parseUsagePage,
  planBackfillRuns,
  planScheduledRun,
  pullSettings,
  slugify,
  SourceInputSchema,
  splitWindows,
  usageTokenRows,
  vllmQuery,
  vllmTokenRows,
  type PromSeries,
} from '../../app/domain/connectors/index.js';
import { tokenRowProblem } from '../../app/domain/ingest/rows.js';
import { CredentialsError, decryptCredentials, encryptCredentials } from '../../app/services/connectors/credentials.server.js';
import { backoffDelay, ConnectorError, fetchJson } from '../../app/services/connectors/http.server.js';
import { freePort } from '../../db/local-postgres.js';

const H = 3_600_000;
const T = Date.UTC(2026, 10, 20, 0, 0, 0);
const noMap = { map: {}, defaultCustomer: null };

describe('pull windows', () => {
  const base = { lookbackSeconds: 3_600, delaySeconds: 60, start: null, alignSeconds: 3_600, maxRunSeconds: 86_400 };

  it('first pull: from now − lookback (on the alignment) to now − delay', () => {
    expect(planScheduledRun({ ...base, now: T + 90 * 60_000, watermark: null })).toEqual({ from: T, to: T + 89 * 60_000, behind: false });
    expect(planScheduledRun({ ...base, now: T + 90 * 60_000, watermark: null, start: T - 5 * H })).toEqual({ from: T - 5 * H, to: T + 89 * 60_000, behind: false });
  });

  it('later pulls start at the watermark minus the lookback, and are cut at max_run when behind', () => {
    expect(planScheduledRun({ ...base, now: T + 10 * H, watermark: T + 9 * H + 30 * 60_000 })).toEqual({ from: T + 8 * H, to: T + 10 * H - 60_000, behind: false });
    expect(planScheduledRun({ ...base, now: T + 100 * H, watermark: T + H, maxRunSeconds: 6 * 3_600 })).toEqual({ from: T, to: T + 6 * H, behind: true });
  });

  it('nothing is due when now − delay is not after the start', () => {
    expect(planScheduledRun({ ...base, lookbackSeconds: 0, alignSeconds: 30, now: T + 30_000, watermark: T + 30_000 })).toBeNull();
  });

  it('backfills are cut into aligned runs, runs into windows', () => {
    expect(planBackfillRuns({ from: T + 10 * 60_000, to: T + 30 * H }, 3_600, 12 * 3_600)).toEqual([
      { from: T, to: T + 12 * H },
      { from: T + 12 * H, to: T + 24 * H },
      { from: T + 24 * H, to: T + 30 * H },
    ]);
    expect(splitWindows({ from: T, to: T + 150 * 60_000 }, 3_600)).toEqual([
      { from: T, to: T + H },
      { from: T + H, to: T + 2 * H },
      { from: T + 2 * H, to: T + 150 * 60_000 },
    ]);
  });

  it('the watermark only moves forward over a contiguous run', () => {
    expect(nextWatermark(null, { from: T, to: T + H })).toBe(T + H);
    expect(nextWatermark(T + H, { from: T, to: T + 2 * H })).toBe(T + 2 * H);
    // A backfill of old data leaves it; one beyond a gap does not skip the gap.
    expect(nextWatermark(T + 5 * H, { from: T, to: T + 2 * H })).toBe(T + 5 * H);
    expect(nextWatermark(T + H, { from: T + 3 * H, to: T + 4 * H })).toBe(T + H);
  });
});

describe('source settings', () => {
  const source = (kind: string, config: Record<string, unknown> = {}) => SourceInputSchema.safeParse({ name: 'src', kind, url: 'http://prom:9090', config });

  it('keeps every query_range window under 11,000 points per series', () => {
    expect(pullSettings('prometheus-dcgm', { step_seconds: 1, window_seconds: 86_400 }).windowSeconds).toBe(10_990);
    const s = pullSettings('prometheus-vllm', { step_seconds: 15, window_seconds: 30 * 86_400 });
    expect(s.windowSeconds / s.stepSeconds + 1).toBeLessThanOrEqual(11_000);
    expect(s.windowSeconds % 3_600).toBe(0);
    expect(pullSettings('openai-usage', {})).toMatchObject({ stepSeconds: 3_600, windowSeconds: 86_400 });
  });

  it('refuses settings that cannot work', () => {
    expect(source('prometheus-dcgm', { step_seconds: 300 }).error?.issues[0].message).toMatch(/at most 120 s/);
    expect(source('prometheus-vllm', { step_seconds: 7 }).error?.issues[0].message).toMatch(/divide an hour/);
    expect(source('prometheus-vllm', { window_seconds: 5_000 }).error?.issues[0].message).toMatch(/multiple of 3600/);
    expect(source('openai-usage', { customer_label: 'namespace' }).error?.issues[0].message).toMatch(/Prometheus sources only/);
    expect(source('prometheus-dcgm', { selector: '{job="x"}' }).success).toBe(false);
    expect(source('prometheus-dcgm', { customer_map: { a: 'Not A Slug' } }).success).toBe(false);
    expect(source('prometheus-dcgm', { unknown: 1 }).success).toBe(false);
    expect(SourceInputSchema.safeParse({ name: 'src', kind: 'prometheus-dcgm', url: 'http://user:pw@prom:9090' }).error?.issues[0].message).toMatch(/must not carry a user name or password/);
    expect(SourceInputSchema.safeParse({ name: 'Src', kind: 'nope', url: 'ftp://x' }).error?.issues).toHaveLength(3);
  });
});

describe('customers of label values', () => {
  it('maps, else slugifies, else falls back to the default', () => {
    const mapping = { map: { Team_B: 'beta' }, defaultCustomer: 'shared' };
    expect(customerFor('Team_B', mapping)).toEqual({ kind: 'slug', slug: 'beta' });
    expect(customerFor('ml-platform', mapping)).toEqual({ kind: 'slug', slug: 'ml-platform' });
    expect(customerFor('proj_AbC123', mapping)).toEqual({ kind: 'slug', slug: 'proj-abc123' });
    expect(customerFor(undefined, mapping)).toEqual({ kind: 'slug', slug: 'shared' });
    expect(customerFor('', mapping, false)).toEqual({ kind: 'none' });
    expect(customerFor('___', mapping).kind).toBe('invalid');
    expect(customerFor('toString', noMap)).toEqual({ kind: 'slug', slug: 'tostring' });
  });

  it('slugify always gives a slug or nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const slug = slugify(s);
        expect(slug === '' || (/^[a-z0-9][a-z0-9-]*$/.test(slug) && !slug.endsWith('-') && slug.length <= 100)).toBe(true);
      }),
    );
  });
});

describe('Prometheus answers', () => {
  it('reads a matrix (the documented example) and passes errors on', () => {
    const ok = parseMatrix({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'up', job: 'node' }, values: [[1435781430.781, '1']] }] } });
    expect(ok).toEqual({ ok: true, series: [{ labels: { __name__: 'up', job: 'node' }, points: [[1435781430781, '1']] }] });
    expect(parseMatrix({ status: 'error', errorType: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries' })).toEqual({
      ok: false,
      error: 'bad_data: exceeded maximum resolution of 11,000 points per timeseries',
    });
    expect(parseMatrix({ status: 'success', data: { resultType: 'vector', result: [] } }).ok).toBe(false);
  });

  it('never throws on any JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => void parseMatrix(v)));
    fc.assert(fc.property(fc.jsonValue(), (v) => void parseUsagePage(v)));
  });

  it('queries: gauges on the step grid without repeating a reading, vLLM counters raw', () => {
    expect(gaugeOnGrid('DCGM_FI_DEV_GPU_UTIL', 'cluster="a"', 30)).toBe('last_over_time(DCGM_FI_DEV_GPU_UTIL{cluster="a"}[29999ms])');
    expect(vllmQuery('')).toBe('{__name__=~"vllm:(prompt_tokens_total|generation_tokens_total|prefix_cache_hits_total|request_success_total)"}');
  });
});

describe('dcgm-exporter series', () => {
  const labels = { UUID: 'GPU-1', modelName: 'NVIDIA H100 80GB HBM3', Hostname: 'h1', namespace: 'acme' };
  const opts = { customerLabel: 'namespace', mapping: noMap };

  it('takes GR_ENGINE_ACTIVE (a ratio) where a GPU has it, GPU_UTIL (a percentage) elsewhere', () => {
    const engine: PromSeries[] = [{ labels, points: [[T, '0.25'], [T + 30_000, '1.004']] }];
    const util: PromSeries[] = [{ labels, points: [[T, '90'], [T + 30_000, '100'], [T + 60_000, '40']] }];
    const { samples, rejected } = dcgmSamples(engine, util, opts);
    expect(rejected).toEqual([]);
    expect(samples.map((s) => [s.ts.getTime(), s.utilizationPct])).toEqual([
      [T, 25],
      [T + 30_000, 100],
      [T + 60_000, 40],
    ]);
    expect(samples[0]).toMatchObject({ gpuUuid: 'GPU-1', gpuModel: 'NVIDIA H100 80GB HBM3', hostname: 'h1', customer: { kind: 'slug', slug: 'acme' } });
  });

  it('rejects what cannot be a reading, and says why', () => {
    const bad: PromSeries[] = [
      { labels, points: [[T, 'NaN'], [T + 30_000, '1.5'], [T + 60_000, '0.5']] },
      { labels: { ...labels, pod: 'other' }, points: [[T + 60_000, '0.5']] },
      { labels: { modelName: 'NVIDIA L4' }, points: [[T, '0.1']] },
      { labels: { ...labels, UUID: 'GPU-2', GPU_I_ID: '3' }, points: [[T, '0.1']] },
      { labels: { ...labels, UUID: 'GPU-3', namespace: '!!!' }, points: [[T, '0.1']] },
    ];
    const { samples, rejected } = dcgmSamples(bad, [{ labels, points: [[T, '-3']] }], opts);
    expect(samples.map((s) => s.utilizationPct)).toEqual([50]);
    expect(rejected.map((r) => r.reason)).toEqual([
      'DCGM_FI_PROF_GR_ENGINE_ACTIVE NaN is not a ratio between 0 and 1',
      'DCGM_FI_PROF_GR_ENGINE_ACTIVE 1.5 is not a ratio between 0 and 1',
      `a second reading of GPU-1 at ${new Date(T + 60_000).toISOString()} (another series with the same UUID)`,
      'DCGM_FI_PROF_GR_ENGINE_ACTIVE series without a UUID label',
      'MIG instance 3 of GPU-2: MIG slices are not supported; this series was skipped',
      'namespace: "!!!" does not make a customer slug; map it with customer_map',
      'DCGM_FI_DEV_GPU_UTIL -3 is outside 0–100 %',
    ]);
    expect(rejected.every((r) => r.line === 0 && r.raw.length > 0)).toBe(true);
  });

  it('every stored reading is 0–100 % whatever the series say', () => {
    const value = fc.oneof(fc.double().map(String), fc.constantFrom('NaN', '+Inf', '-Inf', '', 'x', '1e309'));
    const series = fc.array(fc.record({ labels: fc.constant(labels), points: fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }).map((i) => T + i * 30_000), value)) }), { maxLength: 3 });
    fc.assert(
      fc.property(series, series, (e, u) => {
        const { samples } = dcgmSamples(e, u, opts);
        for (const s of samples) expect(s.utilizationPct >= 0 && s.utilizationPct <= 100).toBe(true);
        expect(new Set(samples.map((s) => s.ts.getTime())).size).toBe(samples.length);
      }),
    );
  });
});

describe('vLLM counters', () => {
  it('hourly increases: a drop is a reset, the increase over (t_prev, t] belongs to the hour of t − 1 ms', () => {
    const points: [number, string][] = [
      [T + H - 60_000, '100'],
      [T + H, '150'], // +50, hour T
      [T + H + 60_000, '30'], // reset: +30, hour T + 1 h
      [T + H + 120_000, 'NaN'],
      [T + H + 180_000, '45'], // +15
    ];
    expect([...hourlyIncreases(points)]).toEqual([
      [T, 50],
      [T + H, 45],
    ]);
  });

  it('rows per customer, model and hour, with prefix-cache hits as cached input (never above input)', () => {
    const l = { engine: '0', model_name: 'Qwen/Qwen2.5-0.5B-Instruct', namespace: 'acme' };
    const series: PromSeries[] = [
      { labels: { ...l, __name__: 'vllm:prompt_tokens_total' }, points: [[T, '0'], [T + 60_000, '100']] },
      { labels: { ...l, __name__: 'vllm:prefix_cache_hits_total' }, points: [[T, '0'], [T + 60_000, '130']] },
      { labels: { ...l, __name__: 'vllm:generation_tokens_total' }, points: [[T, '0'], [T + 60_000, '7']] },
      { labels: { ...l, __name__: 'vllm:request_success_total', finished_reason: 'stop' }, points: [[T, '1'], [T + 60_000, '3']] },
      { labels: { ...l, __name__: 'vllm:prompt_tokens_total', engine: '1' }, points: [[T, '0'], [T + 60_000, '20']] },
      { labels: { ...l, __name__: 'vllm:prompt_tokens_total', namespace: '' }, points: [[T, '0'], [T + 60_000, '20']] },
      { labels: { __name__: 'vllm:prompt_tokens_total', namespace: 'acme' }, points: [[T, '0'], [T + 60_000, '20']] },
    ];
    const { rows, rejected } = vllmTokenRows(series, { sourceName: 'v', customerLabel: 'namespace', mapping: noMap });
    expect(rows.map(({ raw: _raw, ...r }) => r)).toEqual([
      {
        recordKey: `vllm:v:${new Date(T).toISOString()}:acme:Qwen/Qwen2.5-0.5B-Instruct`,
        ts: new Date(T),
        customerSlug: 'acme',
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        inputTokens: 120,
        cachedInputTokens: 120,
        cacheWriteInputTokens: 0,
        outputTokens: 7,
        requests: 2,
      },
    ]);
    expect(rejected.map((r) => r.reason)).toEqual(['series without a namespace label and no default_customer configured', 'vllm:prompt_tokens_total series without a model_name label']);
  });

  it('never makes a row that storage would refuse', () => {
    const name = fc.constantFrom('vllm:prompt_tokens_total', 'vllm:prefix_cache_hits_total', 'vllm:generation_tokens_total', 'vllm:request_success_total');
    const value = fc.oneof(fc.double({ min: -1e9, max: 1e12 }).map(String), fc.constantFrom('NaN', '+Inf', '0'));
    const series = fc.array(
      fc.record({
        labels: fc.record({ __name__: name, model_name: fc.constantFrom('m1', 'm2'), namespace: fc.constantFrom('a', 'b') }),
        points: fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }).map((i) => T + i * 60_000), value), { maxLength: 30 }).map((p) => p.sort((x, y) => x[0] - y[0])),
      }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(series, (s) => {
        for (const r of vllmTokenRows(s, { sourceName: 'v', customerLabel: 'namespace', mapping: noMap }).rows) {
          expect(tokenRowProblem({ ...r, customerId: 1 })).toBeNull();
        }
      }),
    );
  });
});

describe('OpenAI usage pages', () => {
  const page = (results: unknown[]) => ({ object: 'page', data: [{ object: 'bucket', start_time: T / 1000, end_time: T / 1000 + 3600, results }], has_more: false, next_page: null });

  it('rejects results it cannot count, by field', () => {
    const parsed = parseUsagePage(
      page([
        { input_tokens: 10, input_cached_tokens: 8, input_cache_write_tokens: 3, output_tokens: 1, num_model_requests: 1, project_id: 'p', model: 'm' },
        { input_tokens: 1.5, output_tokens: 1, project_id: 'p', model: 'm' },
        { input_tokens: 'ten', project_id: 'p', model: 'm' },
        { input_tokens: 10, output_tokens: 1, project_id: null, model: 'm' },
        { input_tokens: 10, output_tokens: 1, project_id: 'p', model: 'm' },
      ]),
    );
    if (!parsed.ok) throw new Error(parsed.error);
    const { rows, rejected, read } = usageTokenRows(parsed.page, { sourceName: 's', mapping: noMap });
    expect(read).toBe(5);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ customerSlug: 'p', inputTokens: 10, cachedInputTokens: 0, requests: 0 });
    expect(rejected.map((r) => r.field)).toEqual(['input_cached_tokens', 'input_tokens', 'input_tokens', 'project_id']);
  });

  it('never makes a row that storage would refuse', () => {
    const n = fc.oneof(fc.integer({ min: 0, max: 1e12 }), fc.double(), fc.constant(null));
    const result = fc.record({ input_tokens: n, input_cached_tokens: n, input_cache_write_tokens: n, output_tokens: n, num_model_requests: n, project_id: fc.option(fc.string()), model: fc.option(fc.string({ minLength: 1 })) });
    fc.assert(
      fc.property(fc.array(result, { maxLength: 10 }), (results) => {
        const parsed = parseUsagePage(page(results));
        if (!parsed.ok) return;
        const out = usageTokenRows(parsed.page, { sourceName: 's', mapping: { map: {}, defaultCustomer: 'd' } });
        expect(out.rows.length + out.rejected.length).toBe(results.length);
        for (const r of out.rows) {
          const problem = tokenRowProblem({ ...r, customerId: 1 });
          // Text checks (control characters in a model name) are storage's; counts must always pass.
          if (problem) expect(['model', 'record_key']).toContain(problem.field);
        }
      }),
    );
  });
});

describe('credentials at rest', () => {
  const secret = 'a-session-secret-of-at-least-32-characters!';

  it('AES-256-GCM round trip, bound to the source name and the secret', () => {
    const blob = encryptCredentials({ type: 'bearer', token: 'sk-live-123' }, secret, 'openai');
    expect(blob.includes(Buffer.from('sk-live-123'))).toBe(false);
    expect(blob.length).toBe(12 + 16 + JSON.stringify({ type: 'bearer', token: 'sk-live-123' }).length);
    expect(decryptCredentials(blob, secret, 'openai')).toEqual({ type: 'bearer', token: 'sk-live-123' });
    expect(encryptCredentials({ type: 'bearer', token: 'sk-live-123' }, secret, 'openai').equals(blob)).toBe(false);
    expect(() => decryptCredentials(blob, `${secret}x`, 'openai')).toThrow(/SESSION_SECRET changed/);
    expect(() => decryptCredentials(blob, secret, 'other')).toThrow(CredentialsError);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1] ^= 1;
    expect(() => decryptCredentials(tampered, secret, 'openai')).toThrow(CredentialsError);
  });
});

describe('HTTP retries', () => {
  it('backs off exponentially, with jitter, up to the cap', () => {
    const policy = { attempts: 10, baseDelayMs: 1_000, maxDelayMs: 30_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.5))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
    expect(backoffDelay(policy, 1, () => 0)).toBe(800);
    expect(backoffDelay(policy, 1, () => 1)).toBe(1_200);
  });

  it('retries refused connections, timeouts and 5xx; not 4xx', async () => {
    const answers: number[] = [];
    const server = createServer((req, res) => {
      const status = Number(new URL(req.url!, 'http://x').searchParams.get('status'));
      answers.push(status);
      if (status === 0) return; // never answers
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(status === 200 ? '{"ok":true}' : '{"error":{"message":"nope"}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const retry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 };
    const fail = (url: string, timeoutMs = 2_000) => fetchJson(url, { timeoutMs, retry }).then(() => null, (e: ConnectorError) => e);
    try {
      expect(await fetchJson(`${base}/?status=200&token=abc`, { timeoutMs: 2_000, retry })).toEqual({ ok: true });
      answers.length = 0;
      const notFound = await fail(`${base}/?status=404&api_key=secret`);
      expect(notFound).toMatchObject({ transient: false, status: 404 });
      expect(notFound!.message).toBe(`GET ${base}/?status=404&api_key=***: HTTP 404 Not Found: nope`);
      expect(answers).toEqual([404]);
      answers.length = 0;
      expect(await fail(`${base}/?status=503`)).toMatchObject({ transient: true, status: 503, message: expect.stringContaining('gave up after 3 attempts') });
      expect(answers).toEqual([503, 503, 503]);
      expect((await fail(`${base}/?status=403`))!.message).toContain('authentication failed');
      const timedOut = await fail(`${base}/?status=0`, 100);
      expect(timedOut!.message).toMatch(/timed out after 0.1 s \(gave up after 3 attempts\)/);
      const port = await freePort();
      expect((await fail(`http://127.0.0.1:${port}/`))!.message).toMatch(/connection refused \(gave up after 3 attempts\)/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
