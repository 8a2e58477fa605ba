// A new day is COPYed into a table without keys whose primary key is built afterwards; the loader drops a row
// repeating its series' latest key, but a GPU going back in time onto an earlier timestamp is only found when
// the key's build fails, and then the later rows are removed and the key built again. The outcome (stored and
// duplicate counts, the rows kept, the quarantine, the rollups, the partition's key) must be an insert's, and
// must not depend on whether the repeated key came in the batch of the row it repeats or many batches later.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { importFile } from '../../app/services/ingest/file-import.server.js';
import { freshDatabase } from '../support/database.js';
import { expectRollupsEqual, gpuRollups, pureRollup } from './helpers.js';

vi.setConfig({ testTimeout: 120_000 });

const NOW = new Date('2026-11-28T12:00:00Z');
const MIN = 60_000;

let db: Db;
let folder: string;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-bulk-key-'));
});

const iso = (ms: number) => new Date(ms).toISOString();

/** Whether the table has a primary key, and whether it is a partition of gpu_samples. */
async function tableState(handle: Db, table: string): Promise<{ key: boolean; partition: boolean } | null> {
  const { rows } = await sql<{ key: boolean; partition: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = c.oid AND contype = 'p') AS key,
           c.relispartition AS partition
    FROM pg_class c WHERE c.relname = ${table} AND c.relkind = 'r'`.execute(handle);
  return rows[0] ?? null;
}

/**
 * Two GPUs a minute apart from 10:00 for 40 minutes on `day`; after 30 minutes GPU-k goes back to 10:05 (a key
 * it has sent: util 99 must not replace the stored 10:05) and 10:05:30 (new), then on; one row with 150 %.
 */
function lines(day: number, customer: string): { lines: string[]; kept: { gpu: string; ts: number; util: number }[] } {
  const out: string[] = [];
  const kept: { gpu: string; ts: number; util: number }[] = [];
  const add = (gpu: string, ts: number, util: number, stored = true) => {
    out.push(`${iso(ts)},${gpu},H100,${customer},${util}`);
    if (stored) kept.push({ gpu, ts, util });
  };
  const t0 = day + 10 * 3_600_000;
  for (let i = 0; i < 40; i++) {
    add('GPU-k', t0 + i * MIN, (i * 7) % 100);
    add('GPU-l', t0 + i * MIN + 10_000, (i * 3) % 100);
    if (i === 30) {
      add('GPU-k', t0 + 5 * MIN, 99, false);
      add('GPU-k', t0 + 5 * MIN + 30_000, 42);
    }
    if (i === 35) add('GPU-l', t0 + 35 * MIN + 20_000, 150, false);
  }
  return { lines: out, kept };
}

describe('a new day whose GPU goes back in time onto a key it sent', () => {
  it('keeps the first row and gives the same counts, rows, quarantine and rollups in small batches as in one', async () => {
    const results = [];
    // batchBytes 400: the row GPU-k repeats was sent many batches before the repeat. Default: one batch.
    for (const [n, batchBytes] of [[0, 400], [1, undefined]] as const) {
      const day = Date.UTC(2026, 3, 1 + n);
      const customer = `back-${n}`;
      const { lines: rows, kept } = lines(day, customer);
      const file = path.join(folder, `${customer}.csv`);
      await writeFile(file, ['timestamp,gpu_uuid,gpu_type,customer,utilization_pct', ...rows].join('\n'));
      const summary = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW, batchBytes });
      expect(summary).toMatchObject({ read: rows.length, stored: kept.length, duplicates: 1, rejected: 1 });
      expect(summary.firstRejections).toEqual([expect.objectContaining({ line: 2 + rows.findIndex((l) => l.endsWith(',150')), field: 'utilization_pct' })]);
      const quarantined = await db.selectFrom('rejected_rows').select(['line_number as line', 'field']).where('run_id', '=', summary.runId).execute();
      expect(quarantined).toEqual([{ line: summary.firstRejections[0].line, field: 'utilization_pct' }]);

      const { id } = await db.selectFrom('customers').select('id').where('slug', '=', customer).executeTakeFirstOrThrow();
      const stored = await db.selectFrom('gpu_samples').select(['gpu_uuid', 'ts', 'utilization_pct']).where('customer_id', '=', id).orderBy('gpu_uuid').orderBy('ts').execute();
      const expected = [...kept].sort((a, b) => a.gpu.localeCompare(b.gpu) || a.ts - b.ts);
      expect(stored.map((r) => [r.gpu_uuid, new Date(r.ts).getTime(), r.utilization_pct])).toEqual(expected.map((k) => [k.gpu, k.ts, Math.fround(k.util)]));
      const table = `gpu_samples_${iso(day).slice(0, 10).replaceAll('-', '')}`;
      expect(await tableState(db, table)).toEqual({ key: true, partition: true });

      const h100 = (await db.selectFrom('gpu_types').select('id').where('name', '=', 'H100').executeTakeFirstOrThrow()).id;
      const rollups = await gpuRollups(db, id);
      expectRollupsEqual(rollups, pureRollup(kept.map((k) => ({ gpu: k.gpu, gpuTypeId: h100, ts: k.ts, util: k.util }))), expect);
      results.push({ counts: [summary.read, summary.stored, summary.duplicates, summary.rejected], rollups: rollups.map((r) => ({ ...r, customer_id: 0, hour: r.hour - day })) });

      // Imported again: every row is there (the staging path now), nothing changes.
      const again = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW, batchBytes });
      expect(again).toMatchObject({ stored: 0, duplicates: kept.length + 1, rejected: 1 });
      expect(await gpuRollups(db, id)).toEqual(rollups);
    }
    expect(results[0]).toEqual(results[1]);
  });
});
