// A file's new day is attached without its key when no series in the file went back in time (each series'
// repeats are dropped as the rows stream, so the day holds no repeated key), and the key is built after the
// commit: by the worker's job, which the import queues, or first thing by the next run writing into that day.
// Either way the outcome is an insert's: the same rows, counts and rollups, and a second import changes nothing.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { ingestionTasks } from '../../app/services/connectors/schedule.server.js';
import { importFile } from '../../app/services/ingest/file-import.server.js';
import { buildMissingSampleKeys, SAMPLE_KEYS_TASK, storeGpuSamples } from '../../app/services/ingest/store.server.js';
import { startWorker } from '../../server/worker.js';
import { freshDatabase } from '../support/database.js';
import { gpuRollups } from './helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const NOW = new Date('2026-11-28T12:00:00Z');
const MIN = 60_000;

let db: Db;
let url: string;
let folder: string;

beforeAll(async () => {
  ({ db, url } = await freshDatabase());
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-sample-keys-'));
});

const iso = (ms: number) => new Date(ms).toISOString();
const table = (day: number) => `gpu_samples_${iso(day).slice(0, 10).replaceAll('-', '')}`;

/** Whether the partition has its primary key. */
async function hasKey(name: string): Promise<boolean> {
  const { rows } = await sql<{ key: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = c.oid AND contype = 'p') AS key
    FROM pg_class c WHERE c.relname = ${name} AND c.relispartition`.execute(db);
  if (rows.length === 0) throw new Error(`${name} is not a partition`);
  return rows[0].key;
}

/** Two GPUs, a sample a minute from 10:00 for `minutes` minutes, in time order (one repeated row). */
async function writeDay(name: string, day: number, customer: string, minutes: number): Promise<string> {
  const lines = ['timestamp,gpu_uuid,gpu_type,customer,utilization_pct'];
  for (let i = 0; i < minutes; i++) {
    const t = day + 10 * 3_600_000 + i * MIN;
    lines.push(`${iso(t)},GPU-a,H100,${customer},${(i * 7) % 100}`, `${iso(t)},GPU-b,H100,${customer},${(i * 3) % 100}`);
    if (i === 5) lines.push(`${iso(t)},GPU-a,H100,${customer},99`);
  }
  const file = path.join(folder, name);
  await writeFile(file, lines.join('\n'));
  return file;
}

async function storedRows(customer: string) {
  return db
    .selectFrom('gpu_samples')
    .innerJoin('customers', 'customers.id', 'gpu_samples.customer_id')
    .select(['gpu_uuid', 'ts', 'utilization_pct'])
    .where('customers.slug', '=', customer)
    .orderBy('gpu_uuid')
    .orderBy('ts')
    .execute();
}

async function queuedKeyBuilds(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = ${SAMPLE_KEYS_TASK}`.execute(db);
  return rows[0].n;
}

describe('the key of a new day', () => {
  it('is built by the next import into that day, which then finds every row already there', async () => {
    const day = Date.UTC(2026, 4, 1);
    const file = await writeDay('next-import.csv', day, 'keys-a', 30);
    // 30 minutes × 2 GPUs = 60 rows stored, plus the repeat of GPU-a at 10:05 (the first stays).
    const first = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW });
    expect(first).toMatchObject({ read: 61, stored: 60, duplicates: 1, rejected: 0 });
    expect(await hasKey(table(day))).toBe(false);
    // Meanwhile a time range of the day is found through a block range index.
    const { rows: indexes } = await sql<{ method: string; columns: string }>`
      SELECT am.amname AS method, pg_get_indexdef(x.indexrelid) AS columns
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
      WHERE x.indrelid = ${table(day)}::regclass`.execute(db);
    expect(indexes).toEqual([{ method: 'brin', columns: expect.stringContaining('USING brin (ts)') }]);
    const rows = await storedRows('keys-a');
    expect(rows).toHaveLength(60);
    expect(rows.find((r) => r.gpu_uuid === 'GPU-a' && new Date(r.ts).getTime() === day + 10 * 3_600_000 + 5 * MIN)?.utilization_pct).toBe(35);
    const { id } = await db.selectFrom('customers').select('id').where('slug', '=', 'keys-a').executeTakeFirstOrThrow();
    const rollups = await gpuRollups(db, id);

    const again = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW });
    expect(again).toMatchObject({ read: 61, stored: 0, duplicates: 61, rejected: 0 });
    expect(await hasKey(table(day))).toBe(true);
    expect(await storedRows('keys-a')).toEqual(rows);
    expect(await gpuRollups(db, id)).toEqual(rollups);
  });

  it('is built by a pull writing into that day (the storage API every connector uses)', async () => {
    const day = Date.UTC(2026, 4, 2);
    await importFile(db, { kind: 'gpu-samples', path: await writeDay('pull.csv', day, 'keys-b', 10), now: NOW });
    expect(await hasKey(table(day))).toBe(false);
    const { id } = await db.selectFrom('customers').select('id').where('slug', '=', 'keys-b').executeTakeFirstOrThrow();
    const h100 = (await db.selectFrom('gpu_types').select('id').where('name', '=', 'H100').executeTakeFirstOrThrow()).id;
    const sample = (ts: number, util: number) => ({ customerId: id, gpuUuid: 'GPU-a', gpuTypeId: h100, ts: new Date(ts), utilizationPct: util, memoryUsedMib: null, powerW: null, hostname: null });
    // 10:00 is stored (util 0) and stays; 10:10 is new.
    const r = await storeGpuSamples(db, [sample(day + 10 * 3_600_000, 80), sample(day + 10 * 3_600_000 + 10 * MIN, 80)], { sourceId: null });
    expect(r).toMatchObject({ stored: 1, duplicates: 1 });
    expect(await hasKey(table(day))).toBe(true);
    expect((await storedRows('keys-b')).filter((x) => x.gpu_uuid === 'GPU-a').map((x) => x.utilization_pct)).toEqual([0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 80]);
  });

  it('is built by the worker’s job, which the import queues', async () => {
    // The job queue's tables are created by the worker's first start; the first start's job keys every day so far.
    const { tasks } = ingestionTasks({ db, secret: 'x'.repeat(32), log: () => {} });
    const keyTask = { [SAMPLE_KEYS_TASK]: tasks[SAMPLE_KEYS_TASK] };
    await (await startWorker({ connectionString: url, tasks: keyTask, log: () => {} })).stop();
    await buildMissingSampleKeys(db);

    const day = Date.UTC(2026, 4, 3);
    await importFile(db, { kind: 'gpu-samples', path: await writeDay('worker.csv', day, 'keys-c', 10), now: NOW });
    expect(await hasKey(table(day))).toBe(false);
    expect(await queuedKeyBuilds()).toBe(1);
    const worker = await startWorker({ connectionString: url, tasks: keyTask, log: () => {}, pollIntervalMs: 200 });
    try {
      const deadline = Date.now() + 60_000;
      while (!(await hasKey(table(day))) || (await queuedKeyBuilds()) > 0) {
        if (Date.now() > deadline) throw new Error('the key job did not run');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await worker.stop();
    }
    expect(await storedRows('keys-c')).toHaveLength(20);
    expect(await buildMissingSampleKeys(db)).toEqual([]);
  });
});
