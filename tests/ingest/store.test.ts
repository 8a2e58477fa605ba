// The storage API shared by file imports and connectors: COPY + upsert, rollups recomputed in SQL for exactly
// the touched hours (equal to the pure rollupSamples, late samples included), retention by partition.
import fc from 'fast-check';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { ensureGpuType } from '../../db/queries/gpu-types.js';
import {
  dropExpiredSamplePartitions,
  finishRun,
  quarantine,
  refreshRollups,
  resolveCustomer,
  startRun,
  storeGpuSamples,
  storeTokenUsage,
  TouchedKeys,
  type SampleRow,
  type TokenRow,
} from '../../app/services/ingest/store.server.js';
import { freshDatabase } from '../support/database.js';
import { expectRollupsEqual, gpuRollups, HOUR, pureRollup, type PureSample } from './helpers.js';

// Property tests against the database: dozens of imports each.
vi.setConfig({ testTimeout: 120_000 });

let db: Db;
let h100: number;
let l4: number;
let customerSeq = 0;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  h100 = await ensureGpuType(db, 'NVIDIA H100 80GB HBM3');
  l4 = await ensureGpuType(db, 'NVIDIA L4');
});

async function newCustomer(): Promise<number> {
  return resolveCustomer(db, `store-${++customerSeq}`, new Set());
}

const T0 = Date.parse('2026-11-20T10:00:00Z');

function sample(customerId: number, gpu: string, ts: number, util: number, gpuTypeId = h100): SampleRow {
  return { customerId, gpuUuid: gpu, gpuTypeId, ts: new Date(ts), utilizationPct: util, memoryUsedMib: null, powerW: null, hostname: null };
}

describe('storeGpuSamples', () => {
  it('stores samples, skips duplicates and rolls up by hand-computed seconds', async () => {
    const c = await newCustomer();
    // GPU-a at 10:59:00 (50 %), 10:59:40 (100 %), 11:00:20 (0 %): the first stands for 40 s in hour 10;
    // the second for 20 s in hour 10 and 20 s in hour 11 (split at 11:00); the newest stands for nothing.
    const rows = [sample(c, 'GPU-a', T0 + 59 * 60_000, 50), sample(c, 'GPU-a', T0 + 59 * 60_000 + 40_000, 100), sample(c, 'GPU-a', T0 + HOUR + 20_000, 0)];
    const first = await db.transaction().execute((trx) => storeGpuSamples(trx, rows, { sourceId: null }));
    expect(first).toEqual({ stored: 3, duplicates: 0, rejected: [] });
    const again = await db.transaction().execute((trx) => storeGpuSamples(trx, rows, { sourceId: null }));
    expect(again).toEqual({ stored: 0, duplicates: 3, rejected: [] });
    expect(await gpuRollups(db, c)).toEqual([
      // hour 10: allocated 40 + 20 = 60 s; busy 0.5·40 + 1·20 = 40 s; two readings
      { customer_id: c, gpu_type_id: h100, hour: T0, allocated_gpu_seconds: 60, busy_gpu_seconds: 40, samples: 2 },
      // hour 11: allocated 20 s (the second sample's tail); busy 1·20 = 20 s; one reading (the newest)
      { customer_id: c, gpu_type_id: h100, hour: T0 + HOUR, allocated_gpu_seconds: 20, busy_gpu_seconds: 20, samples: 1 },
    ]);
  });

  it('a late sample changes the hour of its predecessor, and a gap over 120 s counts nothing', async () => {
    const c = await newCustomer();
    await storeGpuSamples(db, [sample(c, 'GPU-b', T0 + 30 * 60_000, 80)], { sourceId: null });
    // Alone, the sample stands for nothing: hour 10 has one reading and no seconds.
    expect((await gpuRollups(db, c)).map((r) => [r.allocated_gpu_seconds, r.samples])).toEqual([[0, 1]]);
    // Its successor arrives 90 s later: the first now stands for 90 s at 80 % = 72 busy seconds.
    await storeGpuSamples(db, [sample(c, 'GPU-b', T0 + 31 * 60_000 + 30_000, 20)], { sourceId: null });
    expect((await gpuRollups(db, c)).map((r) => [r.allocated_gpu_seconds, r.busy_gpu_seconds, r.samples])).toEqual([[90, 72, 2]]);
    // A sample 121 s after the last: the last stays at nothing (gap over max_gap).
    await storeGpuSamples(db, [sample(c, 'GPU-b', T0 + 33 * 60_000 + 31_000, 20)], { sourceId: null });
    expect((await gpuRollups(db, c)).map((r) => [r.allocated_gpu_seconds, r.busy_gpu_seconds, r.samples])).toEqual([[90, 72, 3]]);
  });

  it('returns bad rows instead of storing them', async () => {
    const c = await newCustomer();
    const result = await storeGpuSamples(
      db,
      [{ ...sample(c, 'GPU-c', T0, 140), line: 7, raw: 'x' }, sample(c, 'GPU\u0000c', T0, 1), sample(c, 'GPU-c', Number.NaN, 1)],
      { sourceId: null },
    );
    expect(result.stored).toBe(0);
    expect(result.rejected).toEqual([
      { line: 7, field: 'utilization_pct', reason: '140 is outside 0–100', raw: 'x' },
      expect.objectContaining({ line: 0, field: 'gpu_uuid', reason: 'contains a NUL character' }),
      expect.objectContaining({ line: 0, field: 'timestamp' }),
    ]);
  });

  it('SQL rollups equal the pure rollupSamples on random data, late samples included', async () => {
    const gpuArb = fc.record({
      type: fc.constantFrom('h100', 'l4'),
      // Gaps of 1 s to 200 s: some over max_gap (120 s); starts anywhere in the first two hours.
      start: fc.integer({ min: 0, max: 2 * 3600 }),
      steps: fc.array(fc.record({ gap: fc.integer({ min: 1, max: 200 }), util: fc.double({ min: 0, max: 100, noNaN: true }), batch: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 80 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(gpuArb, { minLength: 1, maxLength: 4 }), fc.boolean(), async (gpus, deferred) => {
        const c = await newCustomer();
        const all: PureSample[] = [];
        const batches: SampleRow[][] = [[], [], [], []];
        gpus.forEach((g, i) => {
          let t = T0 + g.start * 1000;
          for (const s of g.steps) {
            t += s.gap * 1000;
            const typeId = g.type === 'h100' ? h100 : l4;
            all.push({ gpu: `GPU-${i}`, gpuTypeId: typeId, ts: t, util: s.util });
            batches[s.batch].push(sample(c, `GPU-${i}`, t, s.util, typeId));
          }
        });
        // Each batch is a separate run after the previous one was rolled up: batches 1–3 are late arrivals
        // that fall between, before and after samples already stored.
        for (const batch of batches) {
          if (deferred) {
            await db.transaction().execute(async (trx) => {
              const touched = new TouchedKeys();
              const half = Math.floor(batch.length / 2);
              await storeGpuSamples(trx, batch.slice(0, half), { sourceId: null, touched });
              await storeGpuSamples(trx, batch.slice(half), { sourceId: null, touched });
              await refreshRollups(trx, touched);
            });
          } else {
            await storeGpuSamples(db, batch, { sourceId: null });
          }
        }
        expectRollupsEqual(await gpuRollups(db, c), pureRollup(all), expect);
      }),
      { numRuns: 40 },
    );
  });

  it('rolls up a run that touches many customers (windows joined from arrays) the same way', async () => {
    const customers: number[] = [];
    for (let i = 0; i < 205; i++) customers.push(await newCustomer());
    // Per customer: 10:00:00 (60 %) → 10:01:00 (20 %) → 10:01:30: 60 s busy 36, 30 s busy 6; hour 10: 90 s, 42 busy, 3 readings.
    const rows = customers.flatMap((c) => [sample(c, 'GPU-m', T0, 60), sample(c, 'GPU-m', T0 + 60_000, 20), sample(c, 'GPU-m', T0 + 90_000, 0)]);
    const result = await storeGpuSamples(db, rows, { sourceId: null });
    expect(result.stored).toBe(615);
    for (const c of [customers[0], customers[204]]) {
      expect(await gpuRollups(db, c)).toEqual([{ customer_id: c, gpu_type_id: h100, hour: T0, allocated_gpu_seconds: 90, busy_gpu_seconds: 42, samples: 3 }]);
    }
  });

  it('quarantines a sample older than the dropped partitions, and drops whole partitions only', async () => {
    const c = await newCustomer();
    const old = Date.parse('2026-09-01T12:00:00Z');
    await storeGpuSamples(db, [sample(c, 'GPU-r', old, 10), sample(c, 'GPU-r', old + 60_000, 10)], { sourceId: null });
    const rollupBefore = await gpuRollups(db, c);
    expect(rollupBefore).toHaveLength(1);
    const { dropped } = await dropExpiredSamplePartitions(db, new Date('2026-11-28T00:00:00Z'), 35);
    expect(dropped).toContain('gpu_samples_20260901');
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM gpu_samples WHERE customer_id = ${c}`.execute(db);
    expect(rows[0].n).toBe(0);
    // The rollup stays; a late sample for that day cannot be rolled up again and is quarantined.
    const late = await storeGpuSamples(db, [{ ...sample(c, 'GPU-r', old + 30_000, 90), line: 3 }], { sourceId: null });
    expect(late.stored).toBe(0);
    expect(late.rejected[0]).toMatchObject({ line: 3, field: 'timestamp' });
    expect(late.rejected[0].reason).toContain('retention horizon');
    expect(await gpuRollups(db, c)).toEqual(rollupBefore);
  });
});

describe('storeTokenUsage', () => {
  const row = (c: number, key: string, ts: number, input: number, output: number, extra: Partial<TokenRow> = {}): TokenRow => ({
    customerId: c, recordKey: key, ts: new Date(ts), model: 'llama-3.1-70b', inputTokens: input, cachedInputTokens: 0,
    cacheWriteInputTokens: 0, outputTokens: output, requests: 1, ...extra,
  });
  const hourly = (c: number) =>
    db.selectFrom('hourly_token_usage').select(['model', 'hour', 'input_tokens', 'output_tokens', 'requests']).where('customer_id', '=', c).orderBy('hour').execute();

  it('ignore keeps the first row; replace overwrites and moves the hour', async () => {
    const c = await newCustomer();
    await storeTokenUsage(db, [row(c, 'k1', T0 + 60_000, 100, 10), row(c, 'k2', T0 + 120_000, 50, 5)], { sourceId: null, onConflict: 'ignore' });
    // hour 10: input 100 + 50 = 150, output 10 + 5 = 15, 2 requests
    expect(await hourly(c)).toEqual([{ model: 'llama-3.1-70b', hour: new Date(T0), input_tokens: 150, output_tokens: 15, requests: 2 }]);
    const ignored = await storeTokenUsage(db, [row(c, 'k1', T0 + 60_000, 999, 99)], { sourceId: null, onConflict: 'ignore' });
    expect(ignored).toMatchObject({ stored: 0, duplicates: 1 });
    // k2 moves to hour 11 with new counts: hour 10 keeps k1 only; hour 11 has k2's 70/7.
    const replaced = await storeTokenUsage(db, [row(c, 'k2', T0 + HOUR + 5, 70, 7), row(c, 'k1', T0 + 60_000, 100, 10)], { sourceId: null, onConflict: 'replace' });
    expect(replaced).toMatchObject({ stored: 1, duplicates: 1 });
    expect(await hourly(c)).toEqual([
      { model: 'llama-3.1-70b', hour: new Date(T0), input_tokens: 100, output_tokens: 10, requests: 1 },
      { model: 'llama-3.1-70b', hour: new Date(T0 + HOUR), input_tokens: 70, output_tokens: 7, requests: 1 },
    ]);
  });

  it('rejects counts that break the token convention', async () => {
    const c = await newCustomer();
    const result = await storeTokenUsage(db, [row(c, 'k', T0, 10, 1, { cachedInputTokens: 8, cacheWriteInputTokens: 3, line: 4 })], { sourceId: null, onConflict: 'ignore' });
    expect(result.rejected).toEqual([
      expect.objectContaining({ line: 4, field: 'cached_input_tokens', reason: 'cached_input_tokens + cache_write_input_tokens exceeds input_tokens' }),
    ]);
  });
});

describe('runs and quarantine', () => {
  it('records a run, its rejected rows (numbering pulled rows after the last line) and its outcome', async () => {
    const runId = await startRun(db, { sourceId: null, kind: 'test' });
    await quarantine(db, runId, [
      { line: 5, field: 'x', reason: 'bad', raw: 'a\u0000b' },
      { line: 0, field: null, reason: 'no line', raw: '{}' },
    ]);
    await finishRun(db, runId, { status: 'failed', rowsRead: 2, rowsStored: 0, rowsRejected: 2, customersCreated: [], error: 'boom' });
    const rejected = await db.selectFrom('rejected_rows').select(['line_number', 'raw']).where('run_id', '=', runId).orderBy('line_number').execute();
    expect(rejected).toEqual([{ line_number: 5, raw: 'a\uFFFDb' }, { line_number: 6, raw: '{}' }]);
    const run = await db.selectFrom('ingestion_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', rows_read: 2, rows_rejected: 2, error: 'boom' });
    expect(run.finished_at).not.toBeNull();
  });

  it('resolveCustomer creates unknown customers once', async () => {
    const created = new Set<string>();
    const a = await resolveCustomer(db, 'brand-new', created);
    const b = await resolveCustomer(db, 'brand-new', created);
    expect(a).toBe(b);
    expect([...created]).toEqual(['brand-new']);
    await expect(resolveCustomer(db, 'Not A Slug', created)).rejects.toThrow(/slug/);
  });
});
