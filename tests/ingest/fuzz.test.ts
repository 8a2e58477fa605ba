// Property tests of whole imports against the real database: files that mix good rows with random bytes,
// truncated lines, wrong types, huge numbers, invalid UTF-8, NUL and stray quotes. The import never crashes,
// stores exactly the good rows, and names every bad line in the quarantine.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { importFile } from '../../app/services/ingest/file-import.server.js';
import type { FileKind } from '../../app/domain/ingest/kinds.js';
import { freshDatabase } from '../support/database.js';

// Property tests against the database: dozens of imports each.
vi.setConfig({ testTimeout: 120_000 });

let db: Db;
let folder: string;
let seq = 0;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-fuzz-'));
});

const NOW = new Date('2026-11-28T12:00:00Z');
const BASE = Date.UTC(2026, 10, 25);

type Line = { kind: 'good'; bytes: Buffer; key: string } | { kind: 'bad'; bytes: Buffer } | { kind: 'blank'; bytes: Buffer };

const utf8 = (s: string) => Buffer.from(s, 'utf8');
/** Random bytes without line breaks or quotes (those are generated on purpose elsewhere), led by a letter so the first field is never a time. */
const garbage = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.concat([utf8('X'), Buffer.from(a.filter((b) => b !== 10 && b !== 13 && b !== 34))]));

interface Format {
  kind: FileKind;
  header: string;
  good(i: number, customer: string): { text: string; key: string };
  /** Lines that are certainly invalid, whatever else happens. */
  bad: fc.Arbitrary<(i: number, customer: string) => Buffer>;
  stored(customer: string): Promise<string[]>;
  extra?: string[];
}

const iso = (i: number) => new Date(BASE + i * 1000).toISOString();

const common = [
  garbage.map((g) => () => g),
  // Invalid UTF-8 inside an otherwise plausible line.
  fc.constant((i: number, c: string) => Buffer.concat([utf8(`${iso(i)},GPU-`), Buffer.from([0xff, 0xfe]), utf8(`,H100,${c},50,,,`)])),
  // A stray quote inside an unquoted field.
  fc.constant((i: number, c: string) => utf8(`${iso(i)},GPU-"x,H100,${c},50,,,`)),
];

const formats: Format[] = [
  {
    kind: 'gpu-samples',
    header: 'timestamp,gpu_uuid,gpu_type,customer,utilization_pct,memory_used_mib,power_w,hostname',
    good: (i, c) => ({ text: `${iso(i)},GPU-${i % 3},H100,${c},${(i * 7) % 101},${i},${i / 2},node-${i % 2}`, key: `GPU-${i % 3}@${BASE + i * 1000}:${(i * 7) % 101}` }),
    bad: fc.oneof(
      ...common,
      fc.constantFrom('100.5', '-1', '1e400', 'NaN', '5O', '').map((u) => (i: number, c: string) => utf8(`${iso(i)},GPU-1,H100,${c},${u},,,`)),
      fc.constantFrom('yesterday', '2026-11-25T10:00:00', '2026-02-30T00:00:00Z', '99999999999999').map((t) => (_i: number, c: string) => utf8(`${t},GPU-1,H100,${c},5,,,`)),
      fc.integer({ min: 1, max: 7 }).map((k) => (i: number, c: string) => utf8(`${iso(i)},GPU-1,H100,${c},5,1,1,h`.split(',').slice(0, k).join(','))),
      fc.constant((i: number) => utf8(`${iso(i)},GPU-1,H100,Not-A-Slug,5,,,`)),
      fc.constant((i: number, c: string) => utf8(`${iso(i)},GPU\u00001,H100,${c},5,,,`)),
      fc.constant((i: number, c: string) => utf8(`${iso(i)},GPU-1,H100,${c},5,99999999999,,`)),
    ),
    async stored(c) {
      const rows = await db.selectFrom('gpu_samples as s').innerJoin('customers as c', 'c.id', 's.customer_id').select(['s.gpu_uuid', 's.ts', 's.utilization_pct']).where('c.slug', '=', c).execute();
      return rows.map((r) => `${r.gpu_uuid}@${r.ts.getTime()}:${r.utilization_pct}`).sort();
    },
  },
  {
    kind: 'token-usage',
    header: 'timestamp,customer,model,input_tokens,cached_input_tokens,cache_write_input_tokens,output_tokens,requests',
    good: (i, c) => ({ text: `${iso(i)},${c},m-${i % 2},${i * 10},${i},${i},${i % 5},1`, key: `m-${i % 2}@${BASE + i * 1000}:${i * 10}/${i % 5}` }),
    bad: fc.oneof(
      ...common,
      fc.constantFrom('-1', '1.5', '1e3', '99999999999999999999', '1000000000001', 'ten').map((n) => (i: number, c: string) => utf8(`${iso(i)},${c},m,${n},0,0,1,1`)),
      fc.constant((i: number, c: string) => utf8(`${iso(i)},${c},m,10,6,5,1,1`)),
      fc.constant((i: number, c: string) => utf8(`${iso(i)},${c},,10,0,0,1,1`)),
      fc.integer({ min: 1, max: 7 }).map((k) => (i: number, c: string) => utf8(`${iso(i)},${c},m,10,0,0,1,1`.split(',').slice(0, k).join(','))),
    ),
    async stored(c) {
      const rows = await db.selectFrom('token_usage as t').innerJoin('customers as c', 'c.id', 't.customer_id').select(['t.model', 't.ts', 't.input_tokens', 't.output_tokens']).where('c.slug', '=', c).execute();
      return rows.map((r) => `${r.model}@${r.ts.getTime()}:${r.input_tokens}/${r.output_tokens}`).sort();
    },
  },
  {
    kind: 'nvidia-smi',
    header: 'timestamp, name, uuid, utilization.gpu [%], memory.used [MiB], power.draw [W]',
    good: (i) => {
      const d = new Date(BASE + i * 1000);
      const t = d.toISOString().replace('T', ' ').replace('Z', '').replaceAll('-', '/');
      return { text: `${t}, NVIDIA H100 80GB HBM3, GPU-${i % 2}, ${i % 101} %, ${i} MiB, [N/A]`, key: `GPU-${i % 2}@${d.getTime()}:${i % 101}` };
    },
    bad: fc.oneof(
      garbage.map((g) => () => g),
      fc.constantFrom('[N/A]', '101 %', '5 W', '-3 %', 'x %').map((u) => () => utf8(`2026/11/25 10:00:00.000, H100, GPU-1, ${u}, 1 MiB, 1 W`)),
      fc.constantFrom('2026-11-25 10:00:00', '25/11/2026 10:00', '').map((t) => () => utf8(`${t}, H100, GPU-1, 5 %, 1 MiB, 1 W`)),
      fc.constant(() => Buffer.concat([utf8('2026/11/25 10:00:00.000, H100, GPU-'), Buffer.from([0xc3]), utf8(', 5 %, 1 MiB, 1 W')])),
    ),
    async stored(c) {
      const rows = await db.selectFrom('gpu_samples as s').innerJoin('customers as c', 'c.id', 's.customer_id').select(['s.gpu_uuid', 's.ts', 's.utilization_pct']).where('c.slug', '=', c).execute();
      return rows.map((r) => `${r.gpu_uuid}@${r.ts.getTime()}:${r.utilization_pct}`).sort();
    },
  },
];

describe.each(formats)('$kind files with random damage', (format) => {
  it('never crash, store exactly the good rows, and name every bad line', async () => {
    const lineArb = fc.oneof(
      { weight: 3, arbitrary: fc.constant('good' as const) },
      { weight: 2, arbitrary: format.bad.map((make) => ({ make })) },
      { weight: 1, arbitrary: fc.constant('blank' as const) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 40 }), fc.boolean(), async (plan, crlf) => {
        const customer = `fuzz-${++seq}`;
        const lines: Line[] = plan.map((p, i) => {
          if (p === 'good') {
            const g = format.good(i, customer);
            return { kind: 'good', bytes: utf8(g.text), key: g.key };
          }
          if (p === 'blank') return { kind: 'blank', bytes: utf8(i % 2 ? '' : '   ') };
          return { kind: 'bad', bytes: p.make(i, customer) };
        });
        const eol = utf8(crlf ? '\r\n' : '\n');
        const content = Buffer.concat([utf8(format.header), eol, ...lines.flatMap((l) => [l.bytes, eol])]);
        const file = path.join(folder, `${customer}.csv`);
        await writeFile(file, content);
        const summary = await importFile(db, {
          kind: format.kind,
          path: file,
          now: NOW,
          ...(format.kind === 'gpu-samples' ? {} : { customer }),
          batchRows: 7,
          batchBytes: 300,
        });
        const good = lines.filter((l) => l.kind === 'good');
        const bad = lines.map((l, i) => ({ l, line: i + 2 })).filter((x) => x.l.kind === 'bad');
        expect(summary.read).toBe(good.length + bad.length);
        expect(summary.stored).toBe(good.length);
        expect(summary.rejected).toBe(bad.length);
        expect(await format.stored(customer)).toEqual(good.map((l) => (l.kind === 'good' ? l.key : '')).sort());
        const rejected = await db.selectFrom('rejected_rows').select(['line_number', 'raw', 'reason']).where('run_id', '=', summary.runId).orderBy('line_number').execute();
        expect(rejected.map((r) => r.line_number)).toEqual(bad.map((b) => b.line));
        for (const r of rejected) expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 25 },
    );
  });
});

describe('a file of random bytes', () => {
  it('is refused whole or quarantined line by line, never crashes, never stores a row', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.constantFrom<FileKind>('token-usage', 'gpu-samples', 'nvidia-smi'), async (bytes, kind) => {
        const file = path.join(folder, `random-${++seq}.bin`);
        await writeFile(file, bytes);
        const before = await db.selectFrom('gpu_samples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        try {
          const summary = await importFile(db, { kind, path: file, now: NOW, ...(kind === 'nvidia-smi' ? { gpuUuid: 'G', gpuType: 'H100', customer: 'rnd' } : { customer: 'rnd' }) });
          expect(summary.stored).toBe(0);
        } catch (error) {
          expect((error as Error).constructor.name).toBe('InputProblems');
          expect((error as Error).message).toMatch(new RegExp(`^random-${seq}\\.bin: `));
        }
        const after = await db.selectFrom('gpu_samples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        expect(after.n).toBe(before.n);
      }),
      { numRuns: 40 },
    );
  });
});
