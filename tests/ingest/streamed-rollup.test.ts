// The hourly rollups a sample file import sums while its rows stream in (new days, series in time order) are
// the rollups the SQL recompute makes from the stored rows: compared on the same database, with samples out
// of order, intervals across hour and day boundaries, gaps longer than max_gap, a repeated key, a GPU moving
// between customers, a re-import, and a later file meeting the stored days.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { recomputeGpuHours } from '../../db/queries/samples.js';
import { StreamingGpuRollup } from '../../app/domain/ingest/streaming-rollup.js';
import { importFile } from '../../app/services/ingest/file-import.server.js';
import { SampleBulkLoader } from '../../app/services/ingest/sample-loader.server.js';
import { refreshRollups, TouchedKeys } from '../../app/services/ingest/store.server.js';
import { freshDatabase } from '../support/database.js';
import { gpuRollups, HOUR, pureRollup, type GpuHourRow, type PureSample } from './helpers.js';

vi.setConfig({ testTimeout: 120_000 });

const GAP = 120_000;
const NOW = new Date('2026-11-28T12:00:00Z');

let db: Db;
let folder: string;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-streamed-'));
});

async function csv(name: string, lines: string[]): Promise<string> {
  const p = path.join(folder, name);
  await writeFile(p, ['timestamp,gpu_uuid,gpu_type,customer,utilization_pct', ...lines].join('\n'));
  return p;
}

/**
 * What the SQL recompute makes of the stored samples for every hour that has a rollup row or that the given
 * samples can touch: run in a transaction that is rolled back, so the table keeps what the import wrote.
 */
async function sqlRollups(touchedTimes: readonly { customerId: number; ts: number }[]): Promise<GpuHourRow[]> {
  const keys = new Map<string, { customerId: number; hour: number }>();
  for (const r of await gpuRollups(db)) keys.set(`${r.customer_id}:${r.hour}`, { customerId: r.customer_id, hour: r.hour });
  for (const t of touchedTimes) {
    for (let h = Math.floor((t.ts - GAP) / HOUR) * HOUR; h <= t.ts + GAP; h += HOUR) keys.set(`${t.customerId}:${h}`, { customerId: t.customerId, hour: h });
  }
  let rows: GpuHourRow[] = [];
  const rollback = new Error('rollback');
  await db
    .transaction()
    .execute(async (trx) => {
      await recomputeGpuHours(trx, [...keys.values()], GAP);
      rows = await gpuRollups(trx);
      throw rollback;
    })
    .catch((e) => {
      if (e !== rollback) throw e;
    });
  return rows;
}

/** Same keys and sample counts; seconds equal up to the order of floating-point additions. */
function expectSameRollups(actual: GpuHourRow[], expected: GpuHourRow[]): void {
  expect(actual.map((r) => `${r.customer_id}/${r.gpu_type_id}@${new Date(r.hour).toISOString()}:${r.samples}`)).toEqual(
    expected.map((r) => `${r.customer_id}/${r.gpu_type_id}@${new Date(r.hour).toISOString()}:${r.samples}`),
  );
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i].allocated_gpu_seconds - expected[i].allocated_gpu_seconds)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected[i].allocated_gpu_seconds));
    expect(Math.abs(actual[i].busy_gpu_seconds - expected[i].busy_gpu_seconds)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected[i].busy_gpu_seconds));
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
async function ids(table: 'customers' | 'gpu_types'): Promise<Map<string, number>> {
  if (table === 'customers') return new Map((await db.selectFrom('customers').select(['id', 'slug']).execute()).map((r) => [r.slug, r.id]));
  return new Map((await db.selectFrom('gpu_types').select(['id', 'name']).execute()).map((r) => [r.name, r.id]));
}
const byTime = (a: number, b: number) => a - b;

describe('StreamingGpuRollup (no database)', () => {
  it('sums in-order series as rollupSamples does, and leaves a series that goes back in time to SQL', () => {
    const gpu = fc.record({
      customer: fc.integer({ min: 1, max: 2 }),
      type: fc.integer({ min: 1, max: 2 }),
      start: fc.integer({ min: 0, max: 7_200 }),
      gaps: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }),
      utils: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 40, maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(gpu, { minLength: 1, maxLength: 5 }), fc.array(fc.nat()), fc.boolean(), (gpus, order, disorder) => {
        const t0 = Date.UTC(2026, 0, 1, 22);
        const series = gpus.map((g, i) => {
          let t = t0 + g.start * 1000;
          return g.gaps.map((d, j) => ({ customer: g.customer, gpu: `G${i}`, type: g.type, ts: (t += d * 1000), util: Math.fround(g.utils[j] / 10) }));
        });
        // Disordered: the first GPU's first two samples swapped (only when it has two).
        const swapped = disorder && series[0].length > 1;
        if (swapped) [series[0][0], series[0][1]] = [series[0][1], series[0][0]];
        // An arbitrary interleaving that keeps each GPU's own order.
        const at = series.map(() => 0);
        const rollup = new StreamingGpuRollup(GAP);
        let k = 0;
        for (;;) {
          const open = series.map((s, i) => i).filter((i) => at[i] < series[i].length);
          if (open.length === 0) break;
          const i = open[(order[k++] ?? 0) % open.length];
          const s = series[i][at[i]++];
          expect(rollup.add(s.customer, s.gpu, s.type, s.ts, s.util)).toBe(true);
        }
        rollup.close();
        const streamed = [...rollup.rows()];
        for (const c of [1, 2]) {
          const mine = series.flat().filter((s) => s.customer === c);
          const sqlHours = rollup.hoursForSql.get(c) ?? new Set<number>();
          if (swapped && series[0][0].customer === c) {
            // Every hour the disordered GPU's samples touch is the SQL's.
            for (const s of series[0]) expect(sqlHours.has(Math.floor((s.ts - GAP) / HOUR) * HOUR)).toBe(true);
          } else expect(sqlHours.size).toBe(0);
          const expected = pureRollup(mine.map((s) => ({ gpu: s.gpu, gpuTypeId: s.type, ts: s.ts, util: s.util })));
          for (const { gpu_type_id, rows } of expected) {
            for (const r of rows) {
              if (sqlHours.has(r.hour)) continue;
              const got = streamed.find((x) => x.customerId === c && x.gpuTypeId === gpu_type_id && x.hour === r.hour);
              expect(got?.samples).toBe(r.samples);
              expect(Math.abs(got!.allocated - r.allocated_gpu_seconds)).toBeLessThan(1e-9);
              expect(Math.abs(got!.busy - r.busy_gpu_seconds)).toBeLessThan(1e-9);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reports a sample repeating its series’ latest time, and counts it for nothing', () => {
    const r = new StreamingGpuRollup(GAP);
    const t = Date.UTC(2026, 0, 1, 10);
    expect(r.add(1, 'G', 1, t, 50)).toBe(true);
    expect(r.add(1, 'G', 1, t, 90)).toBe(false);
    expect(r.add(1, 'G', 1, t + 60_000, 10)).toBe(true);
    // The first reading (50 %) stands for the 60 s: busy 30; two samples, not three.
    expect([...r.rows()]).toEqual([{ customerId: 1, gpuTypeId: 1, hour: t, allocated: 60, busy: 30, samples: 2 }]);
    expect(r.repeats).toBe(1);
  });
});

describe('a file import sums its new days’ rollups as the SQL recompute does', () => {
  it('on a hand-computed GPU: an interval across the hour, a gap over max_gap', async () => {
    const file = await csv('hand.csv', [
      '2026-04-01T09:59:30Z,GPU-h,H100,hand,50',
      '2026-04-01T10:00:30Z,GPU-h,H100,hand,100',
      '2026-04-01T10:01:30Z,GPU-h,H100,hand,0',
      '2026-04-01T10:10:00Z,GPU-h,H100,hand,20',
      '2026-04-01T10:11:00Z,GPU-h,H100,hand,20',
    ]);
    expect(await importFile(db, { kind: 'gpu-samples', path: file, now: NOW })).toMatchObject({ stored: 5, rejected: 0 });
    const c = (await ids('customers')).get('hand')!;
    const rows = await gpuRollups(db, c);
    // 09: 09:59:30 → 10:00:30 is 60 s, 30 s before 10:00 at 50 % → allocated 30, busy 15; one sample.
    // 10: the other 30 s (busy 15) + 10:00:30 → 10:01:30 at 100 % (60, busy 60) + 10:01:30 → 10:10:00 is 510 s
    //     > 120 s: nothing + 10:10:00 → 10:11:00 at 20 % (60, busy 12); the last stands for nothing.
    //     allocated 30 + 60 + 60 = 150, busy 15 + 60 + 12 = 87; four samples.
    expect(rows.map((r) => [iso(r.hour), r.allocated_gpu_seconds, r.busy_gpu_seconds, r.samples])).toEqual([
      ['2026-04-01T09:00:00.000Z', 30, 15, 1],
      ['2026-04-01T10:00:00.000Z', 150, 87, 4],
    ]);
    expectSameRollups(rows, (await sqlRollups([])).filter((r) => r.customer_id === c));
  });

  // Two customers, three days from 2026-05-01. GPU-a1 runs across midnight with a gap; GPU-a2 arrives out of
  // order; GPU-b1 repeats a line; GPU-m moves from customer a to customer b at 23:00.
  const D = Date.UTC(2026, 4, 1);
  function firstFile(): { lines: string[]; samples: { customer: string; gpu: string; type: string; ts: number; util: number }[] } {
    const samples: { customer: string; gpu: string; type: string; ts: number; util: number }[] = [];
    const add = (customer: string, gpu: string, type: string, ts: number, util: number) => samples.push({ customer, gpu, type, ts, util });
    for (let t = D + 22 * HOUR; t < D + 26 * HOUR; t += 45_000) {
      // A 10-minute hole in GPU-a1 at 00:30.
      if (!(t >= D + 24.5 * HOUR && t < D + 24.5 * HOUR + 600_000)) add('sa', 'GPU-a1', 'H100', t, ((t / 1000) % 97) + 0.5);
      add('sb', 'GPU-b1', 'L4', t + 7_000, ((t / 1000) % 89) + 0.25);
      add(t < D + 23 * HOUR ? 'sa' : 'sb', 'GPU-m', 'H100', t + 13_000, 40);
    }
    const lines = samples.map((s) => `${iso(s.ts)},${s.gpu},${s.type},${s.customer},${s.util}`);
    // GPU-a2: in order, except one sample at 23:30 that comes after 23:40.
    const a2 = [D + 23 * HOUR, D + 23 * HOUR + 60_000, D + 23 * HOUR + 40 * 60_000, D + 23 * HOUR + 30 * 60_000, D + 23 * HOUR + 31 * 60_000, D + 23 * HOUR + 41 * 60_000];
    for (const ts of a2) {
      samples.push({ customer: 'sa', gpu: 'GPU-a2', type: 'L4', ts, util: 70 });
      lines.push(`${iso(ts)},GPU-a2,L4,sa,70`);
    }
    // GPU-b1's line at 22:00:07 again, straight after itself: a repeated key (the first stays).
    lines.splice(2, 0, lines[1].replace(/,[\d.]+$/, ',99'));
    // GPU-e: one reading at 05-02 23:59:30, whose successor only the later file brings (on a new day).
    samples.push({ customer: 'sb', gpu: 'GPU-e', type: 'L4', ts: D + 48 * HOUR - 30_000, util: 80 });
    lines.push(`${iso(D + 48 * HOUR - 30_000)},GPU-e,L4,sb,80`);
    return { lines, samples };
  }

  it('new days, then the same file again, then a file meeting the stored days', async () => {
    const { lines, samples } = firstFile();
    const first = await importFile(db, { kind: 'gpu-samples', path: await csv('first.csv', lines), now: NOW, batchBytes: 4_000 });
    expect(first).toMatchObject({ read: samples.length + 1, stored: samples.length, duplicates: 1, rejected: 0 });
    const customers = await ids('customers');
    const types = await ids('gpu_types');
    const times = (list: typeof samples) => list.map((s) => ({ customerId: customers.get(s.customer)!, ts: s.ts }));
    const afterFirst = await gpuRollups(db);
    expectSameRollups(afterFirst, await sqlRollups(times(samples)));
    // And the pure reference, customer by customer (the repeated line's 99 % is not stored).
    for (const slug of ['sa', 'sb']) {
      const pure: PureSample[] = samples.filter((s) => s.customer === slug).map((s) => ({ gpu: s.gpu, gpuTypeId: types.get(s.type)!, ts: s.ts, util: s.util }));
      const expected = pureRollup(pure).flatMap((t) => t.rows.map((r) => ({ customer_id: customers.get(slug)!, gpu_type_id: t.gpu_type_id, hour: r.hour, allocated_gpu_seconds: r.allocated_gpu_seconds, busy_gpu_seconds: r.busy_gpu_seconds, samples: r.samples })));
      expectSameRollups(afterFirst.filter((r) => r.customer_id === customers.get(slug)), expected);
    }

    // The same file again: every row is there already, nothing changes.
    const again = await importFile(db, { kind: 'gpu-samples', path: await csv('first.csv', lines), now: NOW });
    expect(again).toMatchObject({ stored: 0, duplicates: samples.length + 1 });
    expect(await gpuRollups(db)).toEqual(afterFirst);

    // A later file: samples between stored ones on the stored days (the staging path) and a new third day
    // right after them, whose first hours' windows reach back into a stored day. GPU-e's samples on the new
    // day follow its stored 23:59:30 reading, whose 60 s to 00:00:30 put 30 s into 05-03 00:00: only the SQL,
    // reading the stored day, can count them.
    const later: typeof samples = [];
    for (let t = D + 23 * HOUR + 20_000; t < D + 49 * HOUR; t += 90_000) later.push({ customer: 'sa', gpu: 'GPU-a1', type: 'H100', ts: t, util: 12.5 });
    for (const dt of [30_000, 90_000, 150_000]) later.push({ customer: 'sb', gpu: 'GPU-e', type: 'L4', ts: D + 48 * HOUR + dt, util: 60 });
    const second = await importFile(db, {
      kind: 'gpu-samples', now: NOW, batchBytes: 4_000,
      path: await csv('second.csv', later.map((s) => `${iso(s.ts)},${s.gpu},${s.type},${s.customer},${s.util}`)),
    });
    expect(second).toMatchObject({ stored: later.length, duplicates: 0 });
    expectSameRollups(await gpuRollups(db), await sqlRollups(times([...samples, ...later])));
  });

  it('hands the SQL exactly the hours a disordered series or a stored day makes uncertain', async () => {
    await db.transaction().execute(async (trx) => {
      const customerId = (await trx.insertInto('customers').values({ slug: 'sq', name: 'sq' }).returning('id').executeTakeFirstOrThrow()).id;
      const h100 = (await ids('gpu_types')).get('H100')!;
      // 2026-06-01 has a partition already (one stored sample at 12:00); 2026-06-02 and 06-03 are new.
      const stored = new TouchedKeys();
      const seed = await SampleBulkLoader.begin(trx, { sourceId: null, touched: stored, maxGapMs: GAP });
      seed.add({ customerId, gpuUuid: 'GPU-x', gpuTypeId: h100, tsMs: Date.UTC(2026, 5, 1, 12), utilizationPct: 10, memoryUsedMib: null, powerW: null, hostname: null });
      await seed.finish();
      await refreshRollups(trx, stored);

      const touched = new TouchedKeys();
      const loader = await SampleBulkLoader.begin(trx, { sourceId: null, touched, maxGapMs: GAP });
      const row = (gpu: string, ms: number) => ({ customerId, gpuUuid: gpu, gpuTypeId: h100, tsMs: ms, utilizationPct: 50, memoryUsedMib: null, powerW: null, hostname: null });
      // GPU-y: 06-02 00:00:30 … 03:00 each minute, in order. Its first hour's window starts 06-01 23:58: a stored day.
      for (let t = Date.UTC(2026, 5, 2, 0, 0, 30); t <= Date.UTC(2026, 5, 2, 3); t += 60_000) expect(loader.add(row('GPU-y', t))).toBeNull();
      // GPU-z on 06-03: 10:00, 10:01, then 09:59 (back in time), then 11:30.
      for (const t of [Date.UTC(2026, 5, 3, 10), Date.UTC(2026, 5, 3, 10, 1), Date.UTC(2026, 5, 3, 9, 59), Date.UTC(2026, 5, 3, 11, 30)]) expect(loader.add(row('GPU-z', t))).toBeNull();
      await loader.finish();
      const h = (d: number, hh: number) => Date.UTC(2026, 5, d, hh);
      // SQL: 06-01 23:00 (reached by 00:00:30 − 2 min) and 06-02 00:00 (window back into 06-01); GPU-z's hours
      // 09:00 (09:59 − 2 min … 10:01 + 2 min) to 10:00, and 11:00 (11:30 ± 2 min).
      expect([...(touched.gpuHours.get(customerId) ?? [])].sort(byTime)).toEqual([h(1, 23), h(2, 0), h(3, 9), h(3, 10), h(3, 11)]);
      // Streamed: GPU-y's other hours, 01:00–03:00 (its last sample, 02:59:30, reaches 03:01:30).
      expect([...(touched.streamedGpuHours.get(customerId)?.keys() ?? [])].sort(byTime)).toEqual([h(2, 1), h(2, 2), h(2, 3)]);
      await refreshRollups(trx, touched);
      const written = await gpuRollups(trx, customerId);
      // 01:00: 30 s from 00:59:30 + 59 intervals of 60 s (01:00:30 → 01:59:30) + 30 s to 02:00:30 = 3600 s at
      // 50 % → busy 1800; 60 samples. 02:00: 30 + 59 × 60 = 3570 s, busy 1785: its last sample (02:59:30) is
      // the GPU's last and stands for nothing.
      expect(written.filter((r) => r.hour === h(2, 1) || r.hour === h(2, 2)).map((r) => [r.allocated_gpu_seconds, r.busy_gpu_seconds, r.samples])).toEqual([[3600, 1800, 60], [3570, 1785, 60]]);
      const keys = written.map((r) => ({ customerId, hour: r.hour }));
      await recomputeGpuHours(trx, keys, GAP);
      expectSameRollups(written, await gpuRollups(trx, customerId));
    });
  });
});
