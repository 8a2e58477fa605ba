// The file import's bulk path (new days loaded into tables of their own, then attached) and its staging path
// (days that already have a partition) against the pure rollupSamples: random samples across midnight, split
// into files imported one after the other, so later files bring samples between, before and after stored ones.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { importFile } from '../../app/services/ingest/file-import.server.js';
import { freshDatabase } from '../support/database.js';
import { expectRollupsEqual, gpuRollups, pureRollup, type PureSample } from './helpers.js';

// Property tests against the database: dozens of imports each.
vi.setConfig({ testTimeout: 120_000 });

let db: Db;
let folder: string;
let run = 0;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-rollup-'));
});

const NOW = new Date('2026-11-28T12:00:00Z');
const DAY = 86_400_000;

describe('file imports roll up as rollupSamples does', () => {
  it('on random samples across midnight, imported in several files (late samples included)', async () => {
    const gpu = fc.record({
      type: fc.constantFrom('H100', 'L4'),
      start: fc.integer({ min: 0, max: 3 * 3600 }),
      steps: fc.array(
        fc.record({ gap: fc.integer({ min: 1, max: 200 }), util: fc.integer({ min: 0, max: 1000 }).map((u) => u / 10), file: fc.integer({ min: 0, max: 2 }) }),
        { minLength: 1, maxLength: 60 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(gpu, { minLength: 1, maxLength: 4 }), async (gpus) => {
        const n = ++run;
        const customer = `roll-${n}`;
        // Each run on days of its own, starting 22:00 UTC so samples cross midnight: the first file finds no
        // partition (bulk path), later ones find them (staging path).
        const t0 = Date.UTC(2026, 0, 1) + n * 3 * DAY + 22 * 3_600_000;
        const types = new Map<string, number>();
        const all: { gpu: string; type: string; ts: number; util: number }[] = [];
        const files: string[][] = [[], [], []];
        gpus.forEach((g, i) => {
          let t = t0 + g.start * 1000;
          for (const s of g.steps) {
            t += s.gap * 1000;
            all.push({ gpu: `GPU-${i}`, type: g.type, ts: t, util: s.util });
            files[s.file].push(`${new Date(t).toISOString()},GPU-${i},${g.type},${customer},${s.util}`);
          }
        });
        for (let f = 0; f < files.length; f++) {
          const file = path.join(folder, `${customer}-${f}.csv`);
          await writeFile(file, ['timestamp,gpu_uuid,gpu_type,customer,utilization_pct', ...files[f]].join('\n'));
          const summary = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW, batchBytes: 1_000 });
          expect(summary).toMatchObject({ read: files[f].length, stored: files[f].length, rejected: 0 });
        }
        for (const t of await db.selectFrom('gpu_types').select(['id', 'name']).execute()) types.set(t.name, t.id);
        const { id } = await db.selectFrom('customers').select('id').where('slug', '=', customer).executeTakeFirstOrThrow();
        const pure: PureSample[] = all.map((s) => ({ gpu: s.gpu, gpuTypeId: types.get(s.type)!, ts: s.ts, util: s.util }));
        expectRollupsEqual(await gpuRollups(db, id), pureRollup(pure), expect);
      }),
      { numRuns: 30 },
    );
  });

  it('a file that repeats a key keeps the first row, in a new day as in an existing one', async () => {
    const file = path.join(folder, 'dups.csv');
    const rows = ['2026-06-01T10:00:00Z,GPU-d,H100,dup,10', '2026-06-01T10:01:00Z,GPU-d,H100,dup,20', '2026-06-01T10:00:00Z,GPU-d,H100,dup,90'];
    await writeFile(file, ['timestamp,gpu_uuid,gpu_type,customer,utilization_pct', ...rows].join('\n'));
    const first = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW });
    expect(first).toMatchObject({ read: 3, stored: 2, duplicates: 1 });
    const stored = await db.selectFrom('gpu_samples').select(['ts', 'utilization_pct']).where('gpu_uuid', '=', 'GPU-d').orderBy('ts').execute();
    expect(stored.map((r) => r.utilization_pct)).toEqual([10, 20]);
    // 10:00 (10 %) → 10:01: 60 s, busy 6; the partition exists now, so the second import takes the staging path.
    const again = await importFile(db, { kind: 'gpu-samples', path: file, now: NOW });
    expect(again).toMatchObject({ read: 3, stored: 0, duplicates: 3 });
    const [hour] = await db.selectFrom('hourly_gpu_usage').selectAll().where('customer_id', '=', (await db.selectFrom('customers').select('id').where('slug', '=', 'dup').executeTakeFirstOrThrow()).id).execute();
    expect(hour).toMatchObject({ allocated_gpu_seconds: 60, busy_gpu_seconds: 6, samples: 2 });
  });
});
