// Stored recommendations follow ingestion: a run that changes hours inside a recommendation's window marks it
// (and its pool's) stale in the run's own transaction and queues the recompute on the job queue, which the
// worker runs; hours outside every window, and a run that rolls back, leave them fresh.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { importPriceBookDocument } from '../../db/queries/price-books.js';
import { listRecommendations, type StoredRecommendation } from '../../db/queries/recommendations.js';
import { importFile } from '../../app/services/ingest/file-import.server.js';
import { storeGpuSamples } from '../../app/services/ingest/store.server.js';
import { recommendationTasks, recomputeRecommendations, recomputeStaleRecommendations } from '../../app/services/recommendations.server.js';
import { RECOMPUTE_RECOMMENDATIONS_TASK } from '../../app/services/recommendations-queue.server.js';
import { startWorker } from '../../server/worker.js';
import { freshDatabase } from '../support/database.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const FROM = new Date('2026-03-01T00:00:00Z');
const TO = new Date('2026-03-01T04:00:00Z');
const NOW = new Date('2026-11-28T12:00:00Z');
const H = 3_600_000;

let db: Db;
let url: string;
let folder: string;
let ids: { acme: number; globex: number; h100: number };

/** Samples of one GPU every 60 s from `from` to `to` inclusive, as gpu-samples CSV lines. */
function minuteLines(gpu: string, customer: string, from: number, to: number, util: number): string[] {
  const lines: string[] = [];
  for (let t = from; t <= to; t += 60_000) lines.push(`${new Date(t).toISOString()},${gpu},H100,${customer},${util}`);
  return lines;
}

async function importLines(name: string, lines: string[]) {
  const file = path.join(folder, name);
  await writeFile(file, ['timestamp,gpu_uuid,gpu_type,customer,utilization_pct', ...lines].join('\n'));
  return importFile(db, { kind: 'gpu-samples', path: file, now: NOW });
}

const scope = (r: StoredRecommendation) => r.customer ?? `pool:${r.pool}`;
async function staleScopes(): Promise<string[]> {
  return (await listRecommendations(db, { stale: true })).map(scope).sort();
}
async function recommendationOf(name: string): Promise<StoredRecommendation> {
  return (await listRecommendations(db, { windowFrom: FROM, windowTo: TO })).find((r) => scope(r) === name)!;
}
const meanGpus = (r: StoredRecommendation) => (r.result as { demand: { mean_gpus: number } }).demand.mean_gpus;

async function queuedRecomputes(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = ${RECOMPUTE_RECOMMENDATIONS_TASK}`.execute(db);
  return rows[0].n;
}

beforeAll(async () => {
  const fresh = await freshDatabase();
  db = fresh.db;
  url = fresh.url;
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-stale-'));
  const book = await importPriceBookDocument(db, {
    name: 'book', effective_from: '2026-01-01T00:00:00Z',
    gpu_types: [{ name: 'H100', target_utilization: 0.5 }],
    offers: [
      { kind: 'on_demand', provider: 'od', gpu_type: 'H100', usd_per_gpu_hour: 4 },
      { kind: 'reserved', provider: 'rc', gpu_type: 'H100', term_days: 30, block_size: 1, usd_per_gpu_hour: 2 },
    ],
    capacity_profiles: [],
  });
  expect(book.ok).toBe(true);
  const pool = await db.insertInto('pools').values({ name: 'p1' }).returning('id').executeTakeFirstOrThrow();
  const acme = await db.insertInto('customers').values({ slug: 'acme', name: 'Acme', pool_id: pool.id }).returning('id').executeTakeFirstOrThrow();
  const globex = await db.insertInto('customers').values({ slug: 'globex', name: 'Globex' }).returning('id').executeTakeFirstOrThrow();
  // acme and globex: one GPU each at 50 %, a sample a minute from 00:00 to 04:00. Each hour of the window holds
  // 3600 GPU-seconds, busy 1800 → d = 1800 / 3600 / 0.5 = 1 GPU.
  const first = await importLines('first.csv', [
    ...minuteLines('GPU-a', 'acme', FROM.getTime(), TO.getTime(), 50),
    ...minuteLines('GPU-g', 'globex', FROM.getTime(), TO.getTime(), 50),
  ]);
  expect(first).toMatchObject({ stored: 482, rejected: 0 });
  const h100 = (await db.selectFrom('gpu_types').select('id').where('name', '=', 'H100').executeTakeFirstOrThrow()).id;
  ids = { acme: acme.id, globex: globex.id, h100 };
  // Stored: acme, globex and the pool p1 (acme alone) on H100, on-demand overflow.
  expect(await recomputeRecommendations(db, { from: FROM, to: TO })).toMatchObject({ written: 3, skipped: [] });
  expect(meanGpus(await recommendationOf('acme'))).toBe(1);
  expect(await staleScopes()).toEqual([]);
});

describe('ingestion marks stored recommendations stale', () => {
  it('leaves them fresh when the hours changed are outside their window', async () => {
    // 04:02 onwards: the first new sample's hours reach back to 04:00 at most (04:02 − max_gap 2 min), the
    // window ends at 04:00 exclusive. And a day later.
    const r = await importLines('outside.csv', [
      ...minuteLines('GPU-a2', 'acme', TO.getTime() + 120_000, TO.getTime() + 600_000, 90),
      ...minuteLines('GPU-a', 'acme', TO.getTime() + 24 * H, TO.getTime() + 25 * H, 90),
    ]);
    expect(r.stored).toBe(9 + 61);
    expect(await staleScopes()).toEqual([]);
  });

  it('keeps them fresh when the run that changed their hours rolls back', async () => {
    const failed = new Error('stop');
    await expect(
      db.transaction().execute(async (trx) => {
        const rows = [{ customerId: ids.globex, gpuUuid: 'GPU-x', gpuTypeId: ids.h100, ts: new Date(FROM.getTime() + 2 * H), utilizationPct: 100, memoryUsedMib: null, powerW: null, hostname: null }];
        expect((await storeGpuSamples(trx, rows, { sourceId: null })).stored).toBe(1);
        // Inside the run's transaction the mark is there…
        expect((await listRecommendations(trx, { stale: true })).map(scope)).toEqual(['globex']);
        throw failed;
      }),
    ).rejects.toBe(failed);
    // …and goes with it.
    expect(await staleScopes()).toEqual([]);
  });

  it('marks a customer’s and its pool’s, queues the recompute, and the worker recomputes them', async () => {
    // The job queue's tables are created by the worker's first start.
    const tasks = recommendationTasks({ db, log: () => {} });
    await (await startWorker({ connectionString: url, tasks: tasks.tasks, log: () => {} })).stop();
    const globexBefore = await recommendationOf('globex');

    // A second acme GPU at 100 % through hour 01: 61 samples, 01:00 to 02:00 → 3600 s, all busy.
    const r = await importLines('inside.csv', minuteLines('GPU-b', 'acme', FROM.getTime() + H, FROM.getTime() + 2 * H, 100));
    expect(r.stored).toBe(61);
    expect(await staleScopes()).toEqual(['acme', 'pool:p1']);
    expect(await queuedRecomputes()).toBe(1);

    const worker = await startWorker({ connectionString: url, tasks: tasks.tasks, log: () => {}, pollIntervalMs: 200 });
    try {
      const deadline = Date.now() + 60_000;
      while ((await staleScopes()).length > 0 || (await queuedRecomputes()) > 0) {
        if (Date.now() > deadline) throw new Error('the recompute job did not run');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await worker.stop();
    }
    // Hour 01 now: busy 1800 + 3600 = 5400 → d = 5400 / 3600 / 0.5 = 3; the others stay 1.
    // mean = (1 + 3 + 1 + 1) / 4 = 1.5; peak 3. The pool has acme alone: the same.
    for (const name of ['acme', 'pool:p1']) {
      const after = await recommendationOf(name);
      expect(after.stale).toBe(false);
      expect(meanGpus(after)).toBe(1.5);
      expect((after.result as { demand: { peak_gpus: number } }).demand.peak_gpus).toBe(3);
    }
    // globex's hours did not change: its row was not rewritten.
    const globexAfter = await recommendationOf('globex');
    expect(globexAfter.computed_at).toEqual(globexBefore.computed_at);
    expect(globexAfter.stale).toBe(false);
  });

  it('through the storage API the pulls use: only the customer whose hours changed, recomputed by the function', async () => {
    // globex gets a second GPU for 30 minutes of hour 02, at 100 %: 31 samples 02:00–02:30 → 1800 s, busy 1800.
    const rows = [];
    for (let t = FROM.getTime() + 2 * H; t <= FROM.getTime() + 2.5 * H; t += 60_000) {
      rows.push({ customerId: ids.globex, gpuUuid: 'GPU-g2', gpuTypeId: ids.h100, ts: new Date(t), utilizationPct: 100, memoryUsedMib: null, powerW: null, hostname: null });
    }
    expect((await storeGpuSamples(db, rows, { sourceId: null })).stored).toBe(31);
    expect(await staleScopes()).toEqual(['globex']);
    const result = await recomputeStaleRecommendations(db);
    expect(result).toMatchObject({ written: 1, deleted: 0 });
    expect(await staleScopes()).toEqual([]);
    // Hour 02: busy 1800 + 1800 = 3600 → d = 2; mean = (1 + 1 + 2 + 1) / 4 = 1.25.
    expect(meanGpus(await recommendationOf('globex'))).toBe(1.25);
  });

  it('a recompute waits for a run still writing, so that run’s changes are not lost under a fresh mark', async () => {
    // Only acme's (and p1's) samples change here, in hour 03, all at 100 %: each GPU below brings 31 samples
    // 03:00–03:30 → 1800 s, busy 1800.
    const gpu = (uuid: string) => {
      const rows = [];
      for (let t = FROM.getTime() + 3 * H; t <= FROM.getTime() + 3.5 * H; t += 60_000) {
        rows.push({ customerId: ids.acme, gpuUuid: uuid, gpuTypeId: ids.h100, ts: new Date(t), utilizationPct: 100, memoryUsedMib: null, powerW: null, hostname: null });
      }
      return rows;
    };
    // Run 1 commits: acme and p1 are stale.
    await storeGpuSamples(db, gpu('GPU-c'), { sourceId: null });
    expect(await staleScopes()).toEqual(['acme', 'pool:p1']);
    // Run 2 writes more into hour 03 and has not committed: its marks change nothing (the rows are stale
    // already), so it queues no job of its own. A recompute started now must not write figures without it.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const run2 = db.transaction().execute(async (trx) => {
      await storeGpuSamples(trx, gpu('GPU-d'), { sourceId: null });
      written();
      await gate;
    });
    await wrote;
    let finished = false;
    const recompute = recomputeStaleRecommendations(db).finally(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(finished).toBe(false);
    release();
    await run2;
    expect(await recompute).toMatchObject({ written: 2, deleted: 0 });
    // Hour 03: busy 1800 (GPU-a at 50 %) + 1800 + 1800 = 5400 → d = 3. Hours: 1, 3, 1, 3 → mean 2, peak 3.
    // (Computed before run 2's commit it would be 1800 + 1800 = 3600 → d = 2 and mean 1.75.)
    expect(await staleScopes()).toEqual([]);
    for (const name of ['acme', 'pool:p1']) expect(meanGpus(await recommendationOf(name))).toBe(2);
  });
});
