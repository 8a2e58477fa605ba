// `breakeven ingest file` as a user runs it, on hand-made files of each kind: stored rows and rollups equal
// the arithmetic written beside them; the same file twice changes nothing; a grown file adds only its new
// lines; refused files store nothing and exit 2 with one line; bad rows are quarantined by line.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { freshDatabase } from '../support/database.js';
import { runCli } from '../support/cli.js';
import { dumpData } from './helpers.js';

// Each test runs the real command (a Node process starting tsx) a few times: slow on a busy two-core machine.
vi.setConfig({ testTimeout: 120_000 });

let db: Db;
let env: Record<string, string>;
let folder: string;

beforeAll(async () => {
  const fresh = await freshDatabase();
  db = fresh.db;
  env = { DATABASE_URL: fresh.url };
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-ingest-'));
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const p = path.join(folder, name);
  await writeFile(p, content);
  return p;
}

const ingest = (kind: string, p: string, ...extra: string[]) => runCli(['ingest', 'file', '--kind', kind, p, ...extra], { env });

async function customerId(slug: string): Promise<number> {
  return (await db.selectFrom('customers').select('id').where('slug', '=', slug).executeTakeFirstOrThrow()).id;
}

async function gpuHours(slug: string) {
  const rows = await db
    .selectFrom('hourly_gpu_usage as h')
    .innerJoin('gpu_types as t', 't.id', 'h.gpu_type_id')
    .select(['t.name as type', 'h.hour', 'h.allocated_gpu_seconds', 'h.busy_gpu_seconds', 'h.samples'])
    .where('h.customer_id', '=', await customerId(slug))
    .orderBy('t.name')
    .orderBy('h.hour')
    .execute();
  return rows.map((r) => ({ ...r, hour: r.hour.toISOString(), busy_gpu_seconds: Math.round(r.busy_gpu_seconds * 1e6) / 1e6 }));
}

const H10 = '2026-11-20T10:00:00.000Z';
const H11 = '2026-11-20T11:00:00.000Z';

describe('gpu-samples', () => {
  const unix11 = Date.UTC(2026, 10, 20, 11) / 1000;
  const content = [
    'timestamp,gpu_uuid,gpu_type,customer,utilization_pct,memory_used_mib,power_w,hostname',
    '2026-11-20T10:58:00Z,GPU-1,NVIDIA H100 80GB HBM3,acme,50,1000,300.5,node-a',
    '2026-11-20T10:59:00Z,GPU-1,H100,acme,100,,,',
    '2026-11-20T12:00:30+01:00,GPU-1,H100,acme,25,,,',
    '2026-11-20T11:01:00.000Z,GPU-1,H100,acme,0,,,',
    `${unix11},GPU-2,NVIDIA L4,beta,40,,,`,
    `${unix11 + 60},GPU-2,L4,beta,60,,,`,
    `${unix11 + 240},GPU-2,L4,beta,10,,,`,
  ].join('\n');

  it('stores every row and rolls up by the sample-interval rule', async () => {
    const p = await file('samples.csv', `${content}\n`);
    const result = await ingest('gpu-samples', p, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 7, stored: 7, duplicates: 0, rejected: 0, customers_created: ['acme', 'beta'] });
    // acme, GPU-1: 10:58 (50 %) stands for 60 s → hour 10: 60 s, busy 30.
    //   10:59 (100 %) → 11:00:30 is 90 s ≤ 120: 60 s in hour 10 (busy 60), 30 s in hour 11 (busy 30).
    //   11:00:30 (25 %; written 12:00:30+01:00) → 11:01:00: 30 s in hour 11, busy 7.5. 11:01 is the newest: nothing.
    //   hour 10: 120 s, busy 90, 2 readings; hour 11: 60 s, busy 37.5, 2 readings.
    expect(await gpuHours('acme')).toEqual([
      { type: 'H100', hour: H10, allocated_gpu_seconds: 120, busy_gpu_seconds: 90, samples: 2 },
      { type: 'H100', hour: H11, allocated_gpu_seconds: 60, busy_gpu_seconds: 37.5, samples: 2 },
    ]);
    // beta, GPU-2 (Unix seconds): 11:00 (40 %) → 60 s, busy 24; 11:01 → 11:04 is 180 s > 120: nothing; 11:04 newest.
    expect(await gpuHours('beta')).toEqual([{ type: 'L4', hour: H11, allocated_gpu_seconds: 60, busy_gpu_seconds: 24, samples: 3 }]);
    const first = await db.selectFrom('gpu_samples').select(['memory_used_mib', 'power_w', 'hostname']).where('gpu_uuid', '=', 'GPU-1').orderBy('ts').executeTakeFirstOrThrow();
    expect(first).toEqual({ memory_used_mib: 1000, power_w: 300.5, hostname: 'node-a' });
  });

  it('importing the same file twice changes nothing', async () => {
    const p = await file('samples.csv', `${content}\n`);
    const before = await dumpData(db);
    const result = await ingest('gpu-samples', p, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 7, stored: 0, duplicates: 7, rejected: 0, customers_created: [] });
    expect(await dumpData(db)).toBe(before);
  });

  it('a late sample between stored ones changes its predecessor’s hour', async () => {
    // GPU-2 gets 11:02:30 (80 %): 11:01 (60 %) → 11:02:30 is 90 s: 90 s, busy 54; 11:02:30 → 11:04 is 90 s: busy 72.
    // hour 11: 60 + 90 + 90 = 240 s; busy 24 + 54 + 72 = 150; 4 readings.
    const p = await file('late.csv', `timestamp,gpu_uuid,gpu_type,customer,utilization_pct\n2026-11-20T11:02:30Z,GPU-2,L4,beta,80\n`);
    const result = await ingest('gpu-samples', p);
    expect(result.code).toBe(0);
    expect(await gpuHours('beta')).toEqual([{ type: 'L4', hour: H11, allocated_gpu_seconds: 240, busy_gpu_seconds: 150, samples: 4 }]);
  });

  it('quarantines bad rows by line, stores the good ones and exits 2', async () => {
    const p = await file(
      'mixed.csv',
      [
        'gpu_type,timestamp,customer,gpu_uuid,utilization_pct,extra',
        'H100,2026-11-21T10:00:00Z,gamma,GPU-9,140,x',
        'H100,yesterday,gamma,GPU-9,10,x',
        'H100,2026-11-21T10:00:10Z,Gamma Corp,GPU-9,10,x',
        'H100,2026-11-21T10:00:20Z,gamma,GPU-9',
        'H100,2026-11-21T10:00:30Z,gamma,GPU-9,10,x',
        '',
        'H100,2026-11-21T10:01:00Z,gamma,GPU-9,30,"quoted, with comma"',
        'H100,2026-11-21T10:01:30Z,gamma,GPU-9,abc,x',
      ].join('\r\n'),
    );
    const result = await ingest('gpu-samples', p);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('7 row(s) read, 2 stored, 0 already there, 5 rejected');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^mixed\.csv: 5 row\(s\) rejected and quarantined in run (\d+); the other rows were stored\. See them on \/ingestion or download \/exports\/quarantine\.csv\?run=\1$/);
    expect(lines.slice(1)).toEqual([
      'mixed.csv:2: utilization_pct: 140 is outside 0–100',
      'mixed.csv:3: timestamp: "yesterday" is not ISO 8601 with an offset, or Unix seconds',
      'mixed.csv:4: customer: "Gamma Corp" is not a customer slug (lower-case letters, digits and dashes)',
      'mixed.csv:5: expected 6 fields (as in the header), found 4',
      'mixed.csv:9: utilization_pct: "abc" is not a number',
    ]);
    const runId = Number(/run (\d+)/.exec(lines[0])![1]);
    const rejected = await db.selectFrom('rejected_rows').select(['line_number', 'field', 'raw']).where('run_id', '=', runId).orderBy('line_number').execute();
    expect(rejected.map((r) => [r.line_number, r.field])).toEqual([[2, 'utilization_pct'], [3, 'timestamp'], [4, 'customer'], [5, null], [9, 'utilization_pct']]);
    expect(rejected[1].raw).toBe('H100,yesterday,gamma,GPU-9,10,x');
    const run = await db.selectFrom('ingestion_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'succeeded', rows_read: 7, rows_stored: 2, rows_rejected: 5, customers_created: ['gamma'] });
    // 10:00:30 (10 %) → 10:01:00 is 30 s, busy 3; 10:01 is the newest.
    expect(await gpuHours('gamma')).toEqual([{ type: 'H100', hour: '2026-11-21T10:00:00.000Z', allocated_gpu_seconds: 30, busy_gpu_seconds: 3, samples: 2 }]);
  });
});

describe('token-usage', () => {
  const unix = Date.UTC(2026, 10, 20, 8, 30) / 1000;
  const lines = [
    'timestamp,customer,model,input_tokens,cached_input_tokens,cache_write_input_tokens,output_tokens,requests',
    '2026-11-20T10:15:00Z,acme,llama-3.1-70b,1000,200,100,50,1',
    '2026-11-20T10:15:00Z,acme,llama-3.1-70b,1000,200,100,50,1',
    '2026-11-20T10:45:00+01:00,acme,llama-3.1-70b,500,,,20,',
    `${unix},acme,gpt-4o,10,0,0,5,3`,
  ];
  const hourly = async () =>
    (await db.selectFrom('hourly_token_usage').selectAll().where('customer_id', '=', await customerId('acme')).orderBy('hour').orderBy('model').execute()).map(
      ({ customer_id: _c, ...r }) => ({ ...r, hour: r.hour.toISOString() }),
    );

  it('stores every row (identical rows are separate requests) and sums hours', async () => {
    const result = await ingest('token-usage', await file('tokens.csv', `${lines.join('\n')}\n`), '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 4, stored: 4, duplicates: 0, rejected: 0 });
    expect(await hourly()).toEqual([
      // 1763627400 = 08:30Z: gpt-4o 10 in, 5 out, 3 requests (a pre-aggregated bucket)
      { model: 'gpt-4o', hour: '2026-11-20T08:00:00.000Z', input_tokens: 10, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 5, requests: 3 },
      // 10:45+01:00 = 09:45Z: 500 in, cached and cache-write default 0, 20 out, requests default 1
      { model: 'llama-3.1-70b', hour: '2026-11-20T09:00:00.000Z', input_tokens: 500, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 20, requests: 1 },
      // two identical requests at 10:15: input 2·1000, cached 2·200, cache-write 2·100, output 2·50, 2 requests
      { model: 'llama-3.1-70b', hour: '2026-11-20T10:00:00.000Z', input_tokens: 2000, cached_input_tokens: 400, cache_write_input_tokens: 200, output_tokens: 100, requests: 2 },
    ]);
  });

  it('the same file twice changes nothing; a grown log adds only its new lines', async () => {
    const before = await dumpData(db);
    const again = await ingest('token-usage', await file('tokens.csv', `${lines.join('\n')}\n`), '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ read: 4, stored: 0, duplicates: 4 });
    expect(await dumpData(db)).toBe(before);
    // Grown: a third identical 10:15 request and one at 10:20 (input 7, output 1).
    const grown = [...lines, lines[1], '2026-11-20T10:20:00Z,acme,llama-3.1-70b,7,0,0,1,1'];
    const result = await ingest('token-usage', await file('tokens.csv', `${grown.join('\n')}\n`), '--json');
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 6, stored: 2, duplicates: 4 });
    const h10 = (await hourly()).find((r) => r.hour === '2026-11-20T10:00:00.000Z');
    // 2000 + 1000 + 7 = 3007 in; 100 + 50 + 1 = 151 out; 4 requests
    expect(h10).toMatchObject({ input_tokens: 3007, output_tokens: 151, requests: 4, cached_input_tokens: 600 });
  });

  it('--customer overrides the column (which may then be absent) and creates the customer', async () => {
    const p = await file('nocustomer.csv', 'timestamp,model,input_tokens,output_tokens\n2026-11-20T10:00:00Z,m,5,5\n');
    const result = await ingest('token-usage', p, '--customer', 'delta', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ stored: 1, customers_created: ['delta'] });
  });

  it('rejects rows that break the cache convention or carry huge numbers', async () => {
    const p = await file(
      'badtokens.csv',
      [
        'timestamp,customer,model,input_tokens,cached_input_tokens,cache_write_input_tokens,output_tokens',
        '2026-11-20T10:00:00Z,acme,m,10,8,3,1',
        '2026-11-20T10:00:00Z,acme,m,99999999999999999999,0,0,1',
        '2026-11-20T10:00:00Z,acme,m,-5,0,0,1',
        '2026-11-20T10:00:00Z,acme,m,1.5,0,0,1',
      ].join('\n'),
    );
    const result = await ingest('token-usage', p);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('badtokens.csv:2: cached_input_tokens: cached_input_tokens + cache_write_input_tokens exceeds input_tokens (8 + 3 > 10)');
    expect(result.stderr).toContain('badtokens.csv:3: input_tokens: "99999999999999999999" is larger than 1000000000000 (10^12)');
    expect(result.stderr).toContain('badtokens.csv:4: input_tokens: "-5" is not a whole number');
    expect(result.stderr).toContain('badtokens.csv:5: input_tokens: "1.5" is not a whole number');
  });
});

describe('nvidia-smi', () => {
  it('reads units, [N/A] and a local time zone; the customer comes from the GPU assignment', async () => {
    const acme = await customerId('acme');
    await db.insertInto('gpu_assignments').values({ customer_id: acme, gpu_uuid: 'GPU-aaa', valid_from: '2026-11-01T00:00:00Z', valid_to: null }).execute();
    const p = await file(
      'smi.csv',
      [
        'timestamp, name, uuid, utilization.gpu [%], memory.used [MiB], power.draw [W]',
        '2026/11/20 11:58:00.000, NVIDIA H100 80GB HBM3, GPU-aaa, 86 %, 17902 MiB, 300.5 W',
        '2026/11/20 11:59:00.000, NVIDIA H100 80GB HBM3, GPU-aaa, 50 %, [N/A], [Not Supported]',
        '2026/11/20 12:00:00.000, NVIDIA H100 80GB HBM3, GPU-aaa, [N/A], 1 MiB, 1 W',
      ].join('\n'),
    );
    const before = await gpuHours('acme');
    const result = await ingest('nvidia-smi', p, '--tz', 'Europe/Paris');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('smi.csv:4: utilization.gpu: "[N/A]" is not a reading');
    // Paris is UTC+1 in November: 11:58 → 10:58Z (86 %) stands for 60 s until 10:59Z, busy 51.6;
    // 10:59Z is the newest stored (12:00 had no reading). Hour 10 of acme's H100 gains 60 s / 51.6 / 2 readings.
    const after = await gpuHours('acme');
    const h10 = (rows: typeof before) => rows.find((r) => r.type === 'H100' && r.hour === H10)!;
    expect(h10(after).allocated_gpu_seconds - h10(before).allocated_gpu_seconds).toBeCloseTo(60, 9);
    expect(h10(after).busy_gpu_seconds - h10(before).busy_gpu_seconds).toBeCloseTo(51.6, 9);
    expect(h10(after).samples - h10(before).samples).toBe(2);
    const stored = await db.selectFrom('gpu_samples').select(['ts', 'memory_used_mib', 'power_w']).where('gpu_uuid', '=', 'GPU-aaa').orderBy('ts').execute();
    expect(stored).toEqual([
      { ts: new Date('2026-11-20T10:58:00Z'), memory_used_mib: 17902, power_w: 300.5 },
      { ts: new Date('2026-11-20T10:59:00Z'), memory_used_mib: null, power_w: null },
    ]);
  });

  it('a nounits log with neither name nor uuid takes --gpu-type and --gpu-uuid', async () => {
    const p = await file('smi-bare.csv', 'timestamp, utilization.gpu [%]\n2026/11/20 10:00:00.000, 10\n2026/11/20 10:00:30.000, 20\n');
    const result = await ingest('nvidia-smi', p, '--gpu-type', 'L40S', '--gpu-uuid', 'GPU-bbb', '--customer', 'beta');
    expect(result.code).toBe(0);
    // 10:00:00 (10 %) → 10:00:30: 30 s, busy 3; the second is the newest.
    expect((await gpuHours('beta')).find((r) => r.type === 'L40S')).toEqual({ type: 'L40S', hour: H10, allocated_gpu_seconds: 30, busy_gpu_seconds: 3, samples: 2 });
  });

  it('a sample of a GPU without assignment and without --customer is quarantined', async () => {
    const p = await file('smi-orphan.csv', 'timestamp, uuid, name, utilization.gpu [%]\n2026/11/20 10:00:00.000, GPU-zzz, H100, 10\n');
    const result = await ingest('nvidia-smi', p);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('smi-orphan.csv:2: customer: no --customer given and GPU GPU-zzz has no assignment at 2026-11-20T10:00:00.000Z');
  });
});

describe('refused files store nothing, exit 2, one line', () => {
  const refused = async (name: string, content: string | Buffer, kind: string, expected: string, ...extra: string[]) => {
    const before = await dumpData(db);
    const result = await ingest(kind, await file(name, content), ...extra);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expected]);
    expect(await dumpData(db)).toBe(before);
    const run = await db.selectFrom('ingestion_runs').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(run).toMatchObject({ file_name: name, status: 'failed', rows_stored: 0, error: expected });
  };

  it('missing columns are named, with the columns found', async () => {
    await refused(
      'short.csv',
      'timestamp,customer,model,input_tokens\n2026-11-20T10:00:00Z,acme,m,1\n',
      'token-usage',
      'short.csv: missing column output_tokens (found: timestamp, customer, model, input_tokens)',
    );
    await refused(
      'samples-short.csv',
      'time,gpu,util\n1,2,3\n',
      'gpu-samples',
      'samples-short.csv: missing columns timestamp, gpu_uuid, gpu_type, customer, utilization_pct (found: time, gpu, util)',
    );
  });

  it('a file that is not CSV', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x0a, 0xff, 0xfe]);
    await refused('image.csv', png, 'token-usage', 'image.csv: missing columns timestamp, customer, model, input_tokens, output_tokens (found: ?PNG)');
    await refused(
      'json.csv',
      '{"timestamp": 1, "customer": "acme"}\n',
      'token-usage',
      'json.csv: not a CSV file with a header row (line 1: not valid CSV (Invalid Opening Quote: a quote is found on field 0 at line 1, value is "{"))',
    );
    await refused('empty.csv', '', 'gpu-samples', 'empty.csv: empty (expected a header row and rows)');
  });

  it('nvidia-smi without its header, or without uuid and --gpu-uuid', async () => {
    await refused(
      'noheader.csv',
      '2026/11/20 10:00:00.000, NVIDIA H100 80GB HBM3, 86 %\n',
      'nvidia-smi',
      'noheader.csv: missing columns timestamp, utilization.gpu, uuid (or --gpu-uuid), name (or --gpu-type) (found: 2026/11/20 10:00:00.000, NVIDIA H100 80GB HBM3, 86 %); the first line is data: run nvidia-smi without `noheader`, or add its header line',
    );
    await refused(
      'nouuid.csv',
      'timestamp, name, utilization.gpu [%]\n2026/11/20 10:00:00.000, H100, 86 %\n',
      'nvidia-smi',
      'nouuid.csv: missing column uuid (or --gpu-uuid) (found: timestamp, name, utilization.gpu [%])',
      '--customer',
      'acme',
    );
  });

  it('bad options are bad usage', async () => {
    const p = await file('ok.csv', 'timestamp,customer,model,input_tokens,output_tokens\n');
    const tz = await ingest('token-usage', p, '--tz', 'Europe/Paris');
    expect(tz.code).toBe(2);
    expect(tz.stderr.trim()).toBe('--tz applies to --kind nvidia-smi only');
    const zone = await ingest('nvidia-smi', p, '--tz', 'Mars/Olympus');
    expect(zone.stderr.trim()).toBe('--tz "Mars/Olympus" is not a time zone (e.g. UTC, Europe/Paris)');
    const kind = await runCli(['ingest', 'file', p, '--kind', 'parquet'], { env });
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--kind must be one of token-usage, gpu-samples, nvidia-smi');
    const missing = await runCli(['ingest', 'file', path.join(folder, 'nope.csv'), '--kind', 'token-usage'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('nope.csv: no such file');
  });

  it('a header-only file is an empty import, not an error', async () => {
    const result = await ingest('token-usage', await file('header-only.csv', 'timestamp,customer,model,input_tokens,output_tokens\n'), '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 0, stored: 0, rejected: 0 });
  });
});

describe('a failed import leaves nothing and records its error', () => {
  it('a sample file failing after new days were loaded leaves no partition, row or rollup', async () => {
    await sql`ALTER TABLE gpu_samples ADD CONSTRAINT test_no_gpu_x CHECK (gpu_uuid <> 'GPU-explode')`.execute(db);
    try {
      const before = await dumpData(db);
      const p = await file(
        'explode-samples.csv',
        'timestamp,gpu_uuid,gpu_type,customer,utilization_pct\n2026-10-02T10:00:00Z,GPU-ok,H100,boom,5\n2026-10-03T10:00:00Z,GPU-explode,H100,boom,5\n',
      );
      const result = await ingest('gpu-samples', p);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('test_no_gpu_x');
      expect(await dumpData(db)).toBe(before);
      const { rows } = await sql<{ t: string | null }>`SELECT to_regclass('gpu_samples_20261002')::text AS t`.execute(db);
      expect(rows[0].t).toBeNull();
    } finally {
      await sql`ALTER TABLE gpu_samples DROP CONSTRAINT test_no_gpu_x`.execute(db);
    }
  });

  it('rolls back everything when the database refuses mid-run', async () => {
    // A constraint the import does not know about makes its insert fail after rows were copied.
    await sql`ALTER TABLE token_usage ADD CONSTRAINT test_no_model_x CHECK (model <> 'explode')`.execute(db);
    try {
      const before = await dumpData(db);
      const p = await file('explode.csv', 'timestamp,customer,model,input_tokens,output_tokens\n2026-11-20T10:00:00Z,newco,ok,1,1\n2026-11-20T10:00:00Z,newco,explode,1,1\n');
      const result = await ingest('token-usage', p);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('test_no_model_x');
      expect(await dumpData(db)).toBe(before);
      const run = await db.selectFrom('ingestion_runs').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
      expect(run.status).toBe('failed');
      expect(run.error).toContain('test_no_model_x');
    } finally {
      await sql`ALTER TABLE token_usage DROP CONSTRAINT test_no_model_x`.execute(db);
    }
  });
});

