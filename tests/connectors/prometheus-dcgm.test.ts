// The dcgm-exporter connector against a real Prometheus loaded with history built from the label sets of real
// dcgm-exporter scrapes (../shared/data) and synthetic values: what it stores — samples and hourly rollups —
// equals what this test computes, and every fault ends with nothing lost and nothing doubled.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullSource } from '../../app/services/connectors/pull.server.js';
import { freshDatabase } from '../support/database.js';
import { labelSetsOf, prometheusMissing, seeded, startPrometheus, type SeriesSpec, type TestPrometheus } from '../support/prometheus.js';
import {
  addSource,
  count,
  customerIds,
  FAST_RETRY,
  gpuTypeId,
  HOUR,
  hourAgo,
  killSourceConnection,
  referenceRollups,
  rollupDiff,
  runsOf,
  SECRET,
  startFaultProxy,
  storedRollups,
  watermarkOf,
  type RefSample,
} from './helpers.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const L40S_FILE = path.join(DATA, 'dcgm_exporter_sample_upcloud_L40S.prom');
const L4_FILE = path.join(DATA, 'dcgm_exporter_sample_kops_L4.prom');
const skip = prometheusMissing() ?? (existsSync(L40S_FILE) && existsSync(L4_FILE) ? null : `the real dcgm-exporter samples are not in ${DATA}`);
if (skip) console.warn(`skipping the dcgm-exporter connector tests: ${skip}`);

const STEP = 30_000;
const T = hourAgo(30);

/** The labels of a real scrape's metric (first GPU), minus the exporter's own version label. */
function realLabels(file: string, metric: string): Record<string, string> {
  const set = labelSetsOf(file).get(metric)?.[0];
  if (!set) throw new Error(`${metric} is not in ${file}`);
  return { ...set };
}

interface Gpu {
  labels: Record<string, string>;
  /** GR_ENGINE_ACTIVE ratio per reading, or undefined: the GPU has no profiling metric. */
  ratio?: (ts: number) => number;
  util: (ts: number) => number;
  /** Readings missing over these [from, to) ranges. */
  gaps?: [number, number][];
  from?: number;
  to?: number;
}

function times(g: Gpu): number[] {
  const out: number[] = [];
  for (let ts = g.from ?? T - 10 * 60_000; ts < (g.to ?? T + 3 * HOUR + 10 * 60_000); ts += STEP) {
    if (!(g.gaps ?? []).some(([a, b]) => ts >= a && ts < b)) out.push(ts);
  }
  return out;
}

function seriesOf(g: Gpu, only?: (ts: number) => boolean): SeriesSpec[] {
  const ts = times(g).filter((t) => !only || only(t));
  const out: SeriesSpec[] = [{ name: 'DCGM_FI_DEV_GPU_UTIL', labels: g.labels, samples: ts.map((t) => [t, g.util(t)]) }];
  if (g.ratio) out.push({ name: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', labels: g.labels, samples: ts.map((t) => [t, g.ratio!(t)]) });
  return out;
}

/** Deterministic values per GPU: whole percents for GPU_UTIL, thousandths for the ratio (they disagree on purpose). */
function values(seed: number) {
  const r = seeded(seed);
  const cache = new Map<number, [number, number]>();
  const at = (ts: number) => {
    let v = cache.get(ts);
    if (!v) cache.set(ts, (v = [Math.floor(r() * 101), Math.floor(r() * 1001) / 1000]));
    return v;
  };
  return { util: (ts: number) => at(ts)[0], ratio: (ts: number) => at(ts)[1] };
}

/** What the connector should store for a GPU over [from, to): 100·ratio where there is one, else util. */
function expectedSamples(g: Gpu, customerId: number, typeId: number, from: number, to: number): RefSample[] {
  return times(g)
    .filter((ts) => ts >= from && ts < to)
    .map((ts) => ({ customerId, gpuTypeId: typeId, gpu: g.labels.UUID, ts, util: g.ratio ? g.ratio(ts) * 100 : g.util(ts) }));
}

const L40S = skip ? {} : realLabels(L40S_FILE, 'DCGM_FI_DEV_GPU_UTIL');
const L4 = skip ? {} : realLabels(L4_FILE, 'DCGM_FI_DEV_GPU_UTIL');
const gpu = (base: Record<string, string>, extra: Record<string, string>, seed: number, withRatio: boolean, more: Partial<Gpu> = {}): Gpu => {
  const v = values(seed);
  return { labels: { ...base, ...extra }, util: v.util, ...(withRatio ? { ratio: v.ratio } : {}), ...more };
};

// Scenario "main": two real GPUs mapped through a namespace label, one attributed by a GPU assignment, one
// nobody can be attributed to.
const A = gpu(L40S, { job: 'main', namespace: 'team-a' }, 1, true, { gaps: [[T + 40 * 60_000, T + 45 * 60_000]] });
const B = gpu(L4, { job: 'main', namespace: 'Team_B' }, 2, false);
const C = gpu(L40S, { job: 'main', UUID: 'GPU-cccccccc-0000-4000-8000-000000000001', modelName: 'NVIDIA H100 80GB HBM3', Hostname: 'node-c' }, 3, true);
const D = gpu(L4, { job: 'main', UUID: 'GPU-dddddddd-0000-4000-8000-000000000002', Hostname: 'node-d' }, 4, false, { from: T, to: T + HOUR });
// Scenario "late": readings of one hour arrive after the hour was rolled up.
const LATE_GAP: [number, number] = [T + 2 * HOUR + 5 * 60_000, T + 2 * HOUR + 25 * 60_000];
const E = gpu(L40S, { job: 'late', namespace: 'late-co', UUID: 'GPU-eeeeeeee-0000-4000-8000-000000000003' }, 5, true);
// One small GPU per fault, each under its own job label.
const faultGpu = (job: string, seed: number) =>
  gpu(L4, { job, namespace: `${job}-co`, UUID: `GPU-${job}-0000-4000-8000-00000000000${seed}` }, seed, true, { from: T - 5 * 60_000, to: T + 2 * HOUR + 5 * 60_000 });
const STOP = faultGpu('stop', 6);
const FIVEXX = faultGpu('fivexx', 7);
const KILL = faultGpu('kill', 8);
const TWICE = faultGpu('twice', 9);

let prom: TestPrometheus;
const { db } = await freshDatabase();

beforeAll(async () => {
  if (skip) return;
  prom = await startPrometheus([
    ...[A, B, C, D, STOP, FIVEXX, KILL, TWICE].flatMap((g) => seriesOf(g)),
    ...seriesOf(E, (ts) => !(ts >= LATE_GAP[0] && ts < LATE_GAP[1])),
  ]);
}, 60_000);
afterAll(async () => prom?.destroy());

describe.skipIf(skip)('Prometheus with dcgm-exporter', () => {
  it('stores the readings and rollups the test computes: GR_ENGINE_ACTIVE preferred, labels mapped, assignments used', async () => {
    await sql`INSERT INTO customers (slug, name) VALUES ('gamma', 'Gamma')`.execute(db);
    const gamma = (await customerIds(db)).get('gamma')!;
    await sql`INSERT INTO gpu_assignments (customer_id, gpu_uuid, valid_from) VALUES (${gamma}, ${C.labels.UUID}, ${new Date(T - 86_400_000)})`.execute(db);
    const id = await addSource(db, {
      name: 'main',
      kind: 'prometheus-dcgm',
      url: prom.url,
      lookback_seconds: 3 * 3600,
      config: { customer_label: 'namespace', customer_map: { Team_B: 'beta' }, selector: 'job="main"' },
    });

    const [run] = await pullSource(db, id, { secret: SECRET, now: new Date(T + 3 * HOUR), retry: FAST_RETRY });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.windowFrom!.getTime()).toBe(T);
    expect(run.windowTo!.getTime()).toBe(T + 3 * HOUR);
    expect(run.customersCreated).toEqual(['beta', 'team-a']);

    const ids = await customerIds(db);
    const [l40s, l4, h100] = [await gpuTypeId(db, 'L40S'), await gpuTypeId(db, 'L4'), await gpuTypeId(db, 'H100')];
    const end = T + 3 * HOUR;
    const expected = [
      ...expectedSamples(A, ids.get('team-a')!, l40s, T, end),
      ...expectedSamples(B, ids.get('beta')!, l4, T, end),
      ...expectedSamples(C, gamma, h100, T, end),
    ];
    const rejectedD = times(D).filter((ts) => ts >= T && ts < end).length;
    expect(run.rowsStored).toBe(expected.length);
    expect(run.rowsRejected).toBe(rejectedD);
    expect(run.rowsRead).toBe(expected.length + rejectedD);

    const stored = await db.selectFrom('gpu_samples').select(['customer_id', 'gpu_uuid', 'gpu_type_id', 'ts', 'utilization_pct', 'hostname', 'source_id']).orderBy('customer_id').orderBy('gpu_uuid').orderBy('ts').execute();
    const key = (s: { customerId: number; gpu: string; ts: number }) => `${s.customerId}|${s.gpu}|${s.ts}`;
    expect(stored.map((s) => key({ customerId: s.customer_id, gpu: s.gpu_uuid, ts: s.ts.getTime() })).sort()).toEqual(expected.map(key).sort());
    const want = new Map(expected.map((s) => [key(s), s]));
    for (const s of stored) {
      const w = want.get(key({ customerId: s.customer_id, gpu: s.gpu_uuid, ts: s.ts.getTime() }))!;
      expect(Math.fround(s.utilization_pct)).toBe(Math.fround(w.util));
      expect(s.gpu_type_id).toBe(w.gpuTypeId);
      expect(s.source_id).toBe(id);
    }
    // GR_ENGINE_ACTIVE wins over GPU_UTIL where a GPU has both; the hostname comes from Hostname.
    const first = stored.find((s) => s.gpu_uuid === A.labels.UUID)!;
    expect(Math.fround(first.utilization_pct)).toBe(Math.fround(A.ratio!(first.ts.getTime()) * 100));
    expect(first.hostname).toBe(L40S.Hostname);

    expect(rollupDiff(await storedRollups(db), referenceRollups(expected))).toEqual([]);
    expect(await watermarkOf(db, id)).toBe(end);

    const rejected = await db.selectFrom('rejected_rows').selectAll().where('run_id', '=', run.runId!).execute();
    expect(rejected).toHaveLength(rejectedD);
    expect(rejected[0].reason).toContain('no namespace label, no GPU assignment');
    expect(rejected[0].raw).toContain(D.labels.UUID);

    // The next scheduled pull reads the lookback again: nothing new, nothing doubled.
    const samplesBefore = await count(db, 'gpu_samples');
    const rollupsBefore = await storedRollups(db);
    const [again] = await pullSource(db, id, { secret: SECRET, now: new Date(end + 10 * 60_000), retry: FAST_RETRY });
    expect(again.status).toBe('succeeded');
    expect(again.windowFrom!.getTime()).toBe(end - 3 * HOUR);
    expect(again.rowsStored).toBe(expectedSamples(A, 0, 0, end, end + 10 * 60_000).length + expectedSamples(B, 0, 0, end, end + 10 * 60_000).length + expectedSamples(C, 0, 0, end, end + 10 * 60_000).length);
    expect(await count(db, 'gpu_samples')).toBe(samplesBefore + again.rowsStored);
    const after = (await storedRollups(db)).filter((r) => r.hour < end - HOUR);
    expect(rollupDiff(after, rollupsBefore.filter((r) => r.hour < end - HOUR))).toEqual([]);
  });

  it('recomputes an hour whose readings arrive after it was rolled up', async () => {
    const id = await addSource(db, {
      name: 'late',
      kind: 'prometheus-dcgm',
      url: prom.url,
      lookback_seconds: 3 * 3600,
      config: { selector: 'job="late"' },
    });
    const end = T + 3 * HOUR;
    const [first] = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(first.status).toBe('succeeded');
    const customer = (await customerIds(db)).get('late-co')!;
    const type = await gpuTypeId(db, 'L40S');
    const mine = async () => (await storedRollups(db)).filter((r) => r.customer_id === customer);
    const partial = expectedSamples(E, customer, type, T, end).filter((s) => !(s.ts >= LATE_GAP[0] && s.ts < LATE_GAP[1]));
    expect(rollupDiff(await mine(), referenceRollups(partial))).toEqual([]);
    const hourWithGap = (await mine()).find((r) => r.hour === T + 2 * HOUR)!;
    expect(hourWithGap.allocated_gpu_seconds).toBeLessThan(3_600 - 1_000);

    // The missing readings reach Prometheus late; the next pull's lookback covers them.
    await prom.addSeries(seriesOf(E, (ts) => ts >= LATE_GAP[0] && ts < LATE_GAP[1]));
    const [second] = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(second.status).toBe('succeeded');
    expect(second.rowsStored).toBe(expectedSamples(E, 0, 0, LATE_GAP[0], LATE_GAP[1]).length);
    const full = expectedSamples(E, customer, type, T, end);
    expect(rollupDiff(await mine(), referenceRollups(full))).toEqual([]);
    // Complete now, but for the last reading before the pull's end, which stands for nothing until its successor.
    expect((await mine()).find((r) => r.hour === T + 2 * HOUR)!.allocated_gpu_seconds).toBeCloseTo(3_600 - 30, 6);
  });

  it('Prometheus stopping between windows fails the run, keeps the watermark, and the re-run stores everything once', async () => {
    const id = await addSource(db, { name: 'stop', kind: 'prometheus-dcgm', url: prom.url, lookback_seconds: 2 * 3600, config: { selector: 'job="stop"' } });
    const end = T + 2 * HOUR;
    const [failed] = await pullSource(db, id, {
      secret: SECRET,
      now: new Date(end),
      retry: FAST_RETRY,
      onProgress: async (done) => {
        if (done === 1) await prom.stop();
      },
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/connection refused.*gave up after 3 attempts/);
    expect(await watermarkOf(db, id)).toBeNull();
    expect((await customerIds(db)).has('stop-co')).toBe(false);
    const [recorded] = await runsOf(db, id);
    expect(recorded.status).toBe('failed');
    expect(recorded.error).toContain('connection refused');
    expect(recorded.finished_at).not.toBeNull();

    await prom.start();
    const [ok] = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(ok.status).toBe('succeeded');
    const customer = (await customerIds(db)).get('stop-co')!;
    const expected = expectedSamples(STOP, customer, await gpuTypeId(db, 'L4'), T, end);
    expect(ok.rowsStored).toBe(expected.length);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM gpu_samples WHERE customer_id = ${customer}`.execute(db);
    expect(rows[0].n).toBe(expected.length);
    expect(rollupDiff((await storedRollups(db)).filter((r) => r.customer_id === customer), referenceRollups(expected))).toEqual([]);
    expect(await watermarkOf(db, id)).toBe(end);
  });

  it('two 5xx answers then success: one run, the right rows', async () => {
    const proxy = await startFaultProxy(prom.url);
    const id = await addSource(db, { name: 'fivexx', kind: 'prometheus-dcgm', url: proxy.url, lookback_seconds: 2 * 3600, config: { selector: 'job="fivexx"' } });
    proxy.failNext(2, 503);
    const end = T + 2 * HOUR;
    const results = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(results.map((r) => r.status)).toEqual(['succeeded']);
    expect(await runsOf(db, id)).toHaveLength(1);
    // 2 windows × 2 queries, plus the 2 refused attempts.
    expect(proxy.requests).toBe(6);
    const customer = (await customerIds(db)).get('fivexx-co')!;
    const expected = expectedSamples(FIVEXX, customer, await gpuTypeId(db, 'L4'), T, end);
    expect(results[0].rowsStored).toBe(expected.length);
    expect(rollupDiff((await storedRollups(db)).filter((r) => r.customer_id === customer), referenceRollups(expected))).toEqual([]);
  });

  it('a database connection killed mid-run leaves nothing half-written; the re-run completes', async () => {
    const id = await addSource(db, { name: 'kill', kind: 'prometheus-dcgm', url: prom.url, lookback_seconds: 2 * 3600, config: { selector: 'job="kill"' } });
    const end = T + 2 * HOUR;
    const [failed] = await pullSource(db, id, {
      secret: SECRET,
      now: new Date(end),
      retry: FAST_RETRY,
      // Every row is written, the rollups refreshed: the transaction is about to commit.
      beforeCommit: async () => {
        expect(await killSourceConnection(db, id)).toBe(1);
      },
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/database connection was lost during the run.*nothing of it was stored/);
    const [recorded] = await runsOf(db, id);
    expect(recorded.status).toBe('failed');
    expect(await watermarkOf(db, id)).toBeNull();
    expect((await customerIds(db)).has('kill-co')).toBe(false);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM gpu_samples WHERE gpu_uuid = ${KILL.labels.UUID}`.execute(db);
    expect(rows[0].n).toBe(0);

    const [ok] = await pullSource(db, id, { secret: SECRET, now: new Date(end), retry: FAST_RETRY });
    expect(ok.status).toBe('succeeded');
    const customer = (await customerIds(db)).get('kill-co')!;
    const expected = expectedSamples(KILL, customer, await gpuTypeId(db, 'L4'), T, end);
    expect(ok.rowsStored).toBe(expected.length);
    expect(rollupDiff((await storedRollups(db)).filter((r) => r.customer_id === customer), referenceRollups(expected))).toEqual([]);
  });

  it('the same pull twice at once: one runs and the other is skipped (worker) or waits (command line); nothing doubles', async () => {
    const proxy = await startFaultProxy(prom.url);
    proxy.latencyMs = 300;
    const id = await addSource(db, { name: 'twice', kind: 'prometheus-dcgm', url: proxy.url, lookback_seconds: 2 * 3600, config: { selector: 'job="twice"' } });
    const end = T + 2 * HOUR;
    const options = { secret: SECRET, now: new Date(end), retry: FAST_RETRY };
    const both = await Promise.all([pullSource(db, id, { ...options, whenBusy: 'skip' }), pullSource(db, id, { ...options, whenBusy: 'skip' })]);
    expect(both.map(([r]) => r.status).sort()).toEqual(['skipped', 'succeeded']);
    expect(await runsOf(db, id)).toHaveLength(1);

    const waited = await Promise.all([pullSource(db, id, { ...options, whenBusy: 'wait' }), pullSource(db, id, { ...options, whenBusy: 'wait' })]);
    expect(waited.map(([r]) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(waited.map(([r]) => r.rowsStored)).toEqual([0, 0]);
    const customer = (await customerIds(db)).get('twice-co')!;
    const expected = expectedSamples(TWICE, customer, await gpuTypeId(db, 'L4'), T, end);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM gpu_samples WHERE customer_id = ${customer}`.execute(db);
    expect(rows[0].n).toBe(expected.length);
    expect(rollupDiff((await storedRollups(db)).filter((r) => r.customer_id === customer), referenceRollups(expected))).toEqual([]);
  });
});
