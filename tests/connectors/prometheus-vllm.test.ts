// The vLLM connector against a real Prometheus: counters built on the label sets of a real vLLM scrape
// (../shared/data) with synthetic increments, two engines of one customer, a process restart (counter reset),
// a series attributed by default. Stored hourly token rows and rollups equal the increments the test made.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VLLM_COUNTERS } from '../../app/domain/connectors/index.js';
import { pullSource } from '../../app/services/connectors/pull.server.js';
import { freshDatabase } from '../support/database.js';
import { labelSetsOf, prometheusMissing, seeded, startPrometheus, type SeriesSpec, type TestPrometheus } from '../support/prometheus.js';
import { addSource, count, customerIds, FAST_RETRY, HOUR, hourAgo, runsOf, SECRET } from './helpers.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const VLLM_FILE = path.join(DATA, 'vllm_metrics_sample_kops_qwen2.5-0.5b.prom');
const skip = prometheusMissing() ?? (existsSync(VLLM_FILE) ? null : `the real vLLM sample is not in ${VLLM_FILE}`);
if (skip) console.warn(`skipping the vLLM connector tests: ${skip}`);

const SCRAPE = 15_000;
const T = hourAgo(30);
const FROM = T - 10 * 60_000;
const TO = T + 3 * HOUR + 10 * 60_000;

type Counter = 'prompt' | 'cached' | 'generation' | 'stop' | 'length';

interface Engine {
  job: string;
  labels: Record<string, string>;
  /** Customer slug the rows should go to, and the model. */
  customer: string;
  model: string;
  seed: number;
  /** Grid instants right after which the process restarts (its counters start again from 0). */
  resets?: number[];
  /** Counters start here (a long-running process). */
  offset?: number;
}

/** Per scrape instant, the increments of every counter over the 15 s before it. */
function increments(e: Engine): Map<number, Record<Counter, number>> {
  const r = seeded(e.seed);
  const out = new Map<number, Record<Counter, number>>();
  for (let ts = FROM + SCRAPE; ts < TO; ts += SCRAPE) {
    const prompt = Math.floor(r() * 2_000);
    out.set(ts, { prompt, cached: Math.floor(prompt * r()), generation: Math.floor(r() * 500), stop: Math.floor(r() * 3), length: Math.floor(r() * 2) });
  }
  return out;
}

function seriesOf(e: Engine, keep: (ts: number) => boolean = () => true): SeriesSpec[] {
  const inc = increments(e);
  const totals: Record<Counter, number> = { prompt: 0, cached: 0, generation: 0, stop: 0, length: 0 };
  for (const k of Object.keys(totals) as Counter[]) totals[k] = e.offset ?? 0;
  const samples: Record<Counter, [number, number][]> = { prompt: [], cached: [], generation: [], stop: [], length: [] };
  for (let ts = FROM; ts < TO; ts += SCRAPE) {
    const d = inc.get(ts);
    for (const k of Object.keys(totals) as Counter[]) {
      if (d) totals[k] += d[k];
      if (keep(ts)) samples[k].push([ts, totals[k]]);
    }
    if ((e.resets ?? []).includes(ts)) for (const k of Object.keys(totals) as Counter[]) totals[k] = 0;
  }
  const base = { ...e.labels, job: e.job };
  return [
    { name: VLLM_COUNTERS.prompt, labels: base, samples: samples.prompt, type: 'counter' },
    { name: VLLM_COUNTERS.cached, labels: base, samples: samples.cached, type: 'counter' },
    { name: VLLM_COUNTERS.generation, labels: base, samples: samples.generation, type: 'counter' },
    { name: VLLM_COUNTERS.requests, labels: { ...base, finished_reason: 'stop' }, samples: samples.stop, type: 'counter' },
    { name: VLLM_COUNTERS.requests, labels: { ...base, finished_reason: 'length' }, samples: samples.length, type: 'counter' },
  ];
}

interface HourTotals {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  requests: number;
}

/** What the hourly rows of [from, to] must be: Σ increments of the scrapes in (h, h + 1 h] ∩ (from, to], per customer and model. */
function expectedHours(engines: readonly Engine[], from: number, to: number): Map<string, HourTotals> {
  const out = new Map<string, HourTotals>();
  for (const e of engines) {
    for (const [ts, d] of increments(e)) {
      if (!(ts > from && ts <= to)) continue;
      const hour = Math.floor((ts - 1) / HOUR) * HOUR;
      const key = `${e.customer}|${e.model}|${hour}`;
      const t = out.get(key) ?? { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, requests: 0 };
      t.input_tokens += d.prompt;
      t.cached_input_tokens += d.cached;
      t.output_tokens += d.generation;
      t.requests += d.stop + d.length;
      out.set(key, t);
    }
  }
  return out;
}

async function storedHours(db: Awaited<ReturnType<typeof freshDatabase>>['db'], slugs: string[]): Promise<Map<string, HourTotals>> {
  const { rows } = await sql<HourTotals & { slug: string; model: string; hour: Date }>`
    SELECT c.slug, h.model, h.hour, h.input_tokens, h.cached_input_tokens, h.output_tokens, h.requests
    FROM hourly_token_usage h JOIN customers c ON c.id = h.customer_id WHERE c.slug = ANY(${slugs}) ORDER BY 1, 2, 3`.execute(db);
  return new Map(rows.map((r) => [`${r.slug}|${r.model}|${r.hour.getTime()}`, { input_tokens: r.input_tokens, cached_input_tokens: r.cached_input_tokens, output_tokens: r.output_tokens, requests: r.requests }]));
}

const real = skip ? { engine: '0', model_name: 'unused' } : labelSetsOf(VLLM_FILE).get(VLLM_COUNTERS.prompt)![0];
const QWEN = real.model_name;
const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const main: Engine[] = [
  { job: 'main', labels: { ...real, namespace: 'team-a' }, customer: 'team-a', model: QWEN, seed: 11 },
  { job: 'main', labels: { ...real, engine: '1', namespace: 'team-a' }, customer: 'team-a', model: QWEN, seed: 12 },
  { job: 'main', labels: { ...real, model_name: LLAMA, namespace: 'Team_B' }, customer: 'beta', model: LLAMA, seed: 13, offset: 5_000_000, resets: [T + 90 * 60_000] },
  { job: 'main', labels: { ...real }, customer: 'shared', model: QWEN, seed: 14 },
];
const partial: Engine[] = [{ job: 'partial', labels: { ...real, namespace: 'part-co' }, customer: 'part-co', model: QWEN, seed: 21 }];

let prom: TestPrometheus;
const { db } = await freshDatabase();

beforeAll(async () => {
  if (skip) return;
  prom = await startPrometheus([...main, ...partial].flatMap((e) => seriesOf(e)));
}, 60_000);
afterAll(async () => prom?.destroy());

describe.skipIf(skip)('Prometheus with vLLM', () => {
  it('the real vLLM scrape exposes the counters the connector reads', () => {
    const names = labelSetsOf(VLLM_FILE);
    for (const name of Object.values(VLLM_COUNTERS)) expect(names.has(name), name).toBe(true);
    expect(real).toMatchObject({ engine: '0', model_name: 'Qwen/Qwen2.5-0.5B-Instruct' });
  });

  it('stores hourly token rows per customer and model: engines summed, a counter reset counted, prefix-cache hits as cached', async () => {
    const id = await addSource(db, {
      name: 'vllm-main',
      kind: 'prometheus-vllm',
      url: prom.url,
      lookback_seconds: 3 * 3600,
      config: { customer_label: 'namespace', customer_map: { Team_B: 'beta' }, default_customer: 'shared', selector: 'job="main"' },
    });
    const end = T + 3 * HOUR;
    const [run] = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.customersCreated).toEqual(['beta', 'shared', 'team-a']);
    const expected = expectedHours(main, T, end);
    expect(expected.size).toBe(9);
    expect(run.rowsStored).toBe(9);
    expect(run.rowsRejected).toBe(0);
    expect(await storedHours(db, ['team-a', 'beta', 'shared'])).toEqual(expected);

    const ids = await customerIds(db);
    const key = `vllm:vllm-main:${new Date(T + HOUR).toISOString()}:beta:${LLAMA}`;
    const row = await db.selectFrom('token_usage').selectAll().where('record_key', '=', key).executeTakeFirstOrThrow();
    expect(row.customer_id).toBe(ids.get('beta'));
    expect(row.ts.getTime()).toBe(T + HOUR);
    expect(row.source_id).toBe(id);

    // Pulled again over the same hours: the same rows, replaced by equal ones.
    const [again] = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(again.status).toBe('succeeded');
    expect(again.rowsStored).toBe(0);
    expect(await count(db, 'token_usage')).toBe(9);
    expect(await storedHours(db, ['team-a', 'beta', 'shared'])).toEqual(expected);
  });

  it('a partial hour is replaced by the complete one when the next pull reads it again', async () => {
    const id = await addSource(db, { name: 'vllm-partial', kind: 'prometheus-vllm', url: prom.url, lookback_seconds: 9_000, config: { selector: 'job="partial"' } });
    const half = T + 2 * HOUR + 30 * 60_000;
    const [first] = await pullSource(db, id, { secret: SECRET, now: new Date(half), retry: FAST_RETRY });
    expect(first.status).toBe('succeeded');
    expect(first.windowFrom!.getTime()).toBe(T);
    expect(await storedHours(db, ['part-co'])).toEqual(expectedHours(partial, T, half));

    const [second] = await pullSource(db, id, { secret: SECRET, now: new Date(T + 3 * HOUR), retry: FAST_RETRY });
    expect(second.status).toBe('succeeded');
    // The pull starts at the hour holding watermark − lookback, so the partial hour is read whole.
    expect(second.windowFrom!.getTime()).toBe(T);
    expect(await storedHours(db, ['part-co'])).toEqual(expectedHours(partial, T, T + 3 * HOUR));
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM token_usage t JOIN customers c ON c.id = t.customer_id WHERE c.slug = 'part-co'`.execute(db);
    expect(rows[0].n).toBe(3);
    expect((await runsOf(db, id)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });
});
