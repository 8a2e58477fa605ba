// Corrupt and truncated uploads through the /ingestion form of the real HTTP server: a request whose body stops
// part-way (the browser or the network went away), a file cut off in the middle of a line, and binary garbage.
// None may leave partial rows: the first stores nothing and opens no run, the second stores exactly its complete
// rows and quarantines the cut line with its number, the third is refused whole.
import { readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';
import { freshDatabase } from '../support/database.js';
import { atEnd, cleanUp, SAMPLE_HEADER, sleep, tempFolder, waitUntil } from './helpers.js';

afterAll(cleanUp, 120_000);

let db: Db;
let app: TestApp;
let admin: Client;
let spool: string;

beforeAll(async () => {
  // Uploads are spooled under the system temp folder (os.tmpdir(), read per request): this file's own, so that
  // what a cut-off request leaves there can be looked at, and removed afterwards.
  spool = await tempFolder('breakeven-upload-spool-');
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = spool;
  atEnd(async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  });
  ({ db } = await freshDatabase());
  app = await startApp(db);
  await createUser(db, 'admin@example.com', 'admin');
  admin = new Client(app.url);
  await admin.signIn('admin@example.com');
});

/** `n` gpu-samples rows, one GPU of customer `customer`, 15 s apart from 20 November 2026. */
function sampleLines(customer: string, n: number): string[] {
  const start = Date.parse('2026-11-20T00:00:00Z');
  return Array.from({ length: n }, (_, i) => `${new Date(start + i * 15_000).toISOString()},GPU-${customer},H100,${customer},${(i * 7) % 101}`);
}

async function upload(content: Buffer | string, name: string): Promise<Response> {
  const form = new FormData();
  form.append('intent', 'upload');
  form.append('kind', 'gpu-samples');
  form.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: 'text/csv' }), name);
  return fetch(`${app.url}/ingestion`, { method: 'POST', redirect: 'manual', body: form, headers: { Cookie: admin.cookie, Origin: app.url } });
}

async function counts(customer: string): Promise<{ samples: number; rollups: number; customers: number }> {
  const { rows } = await sql<{ samples: number; rollups: number; customers: number }>`
    SELECT (SELECT count(*) FROM gpu_samples s JOIN customers c ON c.id = s.customer_id WHERE c.slug = ${customer})::int AS samples,
           (SELECT count(*) FROM hourly_gpu_usage h JOIN customers c ON c.id = h.customer_id WHERE c.slug = ${customer})::int AS rollups,
           (SELECT count(*) FROM customers WHERE slug = ${customer})::int AS customers`.execute(db);
  return rows[0];
}

const runsOf = (file: string) =>
  db.selectFrom('ingestion_runs').select(['id', 'status', 'rows_read', 'rows_stored', 'rows_rejected', 'error']).where('file_name', '=', file).execute();

describe('uploads that never arrive whole', () => {
  it('a request body cut off part-way through the file stores nothing and opens no run', async () => {
    const boundary = `----breakeven${randomBytes(8).toString('hex')}`;
    // 20,000 rows (~1.3 MB): far more than the part written before the connection is destroyed.
    const csv = [SAMPLE_HEADER, ...sampleLines('cut-body', 20_000)].join('\n') + '\n';
    const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const body = Buffer.from(
      part('intent', 'upload') +
        part('kind', 'gpu-samples') +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut-body.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
    );
    const sent = Math.floor(body.length / 2);
    const url = new URL(`${app.url}/ingestion`);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        path: '/ingestion',
        method: 'POST',
        headers: { Cookie: admin.cookie, Origin: app.url, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(body.length) },
      });
      req.on('response', (response) => resolve(`answered ${response.statusCode} before the body was complete`));
      req.on('error', () => resolve('cut'));
      req.write(body.subarray(0, sent), () => {
        // Let the server take in what was sent, then go away mid-file.
        setTimeout(() => {
          req.destroy();
          resolve('cut');
        }, 300);
      });
    });
    expect(outcome).toBe('cut');
    // The server has dealt with the aborted request once it answers the next one; give it a moment more.
    await waitUntil('the server to answer again', async () => ((await admin.get('/ingestion')).status === 200 ? true : undefined));
    await sleep(500);
    expect(await counts('cut-body')).toEqual({ samples: 0, rollups: 0, customers: 0 });
    // No run at all: the import starts only once the whole file is in, so nothing is left "running".
    expect(await runsOf('cut-body.csv')).toEqual([]);
    expect(await db.selectFrom('ingestion_runs').select('id').where('status', '=', 'running').execute()).toEqual([]);
    // Nor is the part of the file that did arrive left on disk.
    expect(await readdir(path.join(spool, 'breakeven-uploads')).catch(() => [])).toEqual([]);
  });

  it('a file truncated in the middle of a line stores its complete rows and quarantines the cut line by number', async () => {
    // 1,000 complete rows (lines 2–1001 after the header), then line 1002 cut off after its GPU type.
    const rows = sampleLines('cut-line', 1_001);
    const last = rows.pop()!;
    const cut = last.slice(0, last.indexOf(',H100,') + 5);
    const file = [SAMPLE_HEADER, ...rows, cut].join('\n');
    const response = await upload(file, 'cut-line.csv');
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('cut-line.csv: 1001 row(s) read, 1000 stored, 0 already there, 1 rejected');
    // 1,000 samples 15 s apart cover 1000 × 15 s = 15,000 s: hours 00:00–04:00, five hourly rollups.
    expect(await counts('cut-line')).toEqual({ samples: 1_000, rollups: 5, customers: 1 });
    const [run] = await runsOf('cut-line.csv');
    expect(run).toMatchObject({ status: 'succeeded', rows_read: 1_001, rows_stored: 1_000, rows_rejected: 1 });
    const quarantined = await db.selectFrom('rejected_rows').select(['line_number', 'raw']).where('run_id', '=', run.id).execute();
    expect(quarantined).toEqual([{ line_number: 1_002, raw: cut }]);
    // The stored rows are the complete ones, value for value: the last is line 1001's.
    const { rows: newest } = await sql<{ ts: Date; utilization_pct: number }>`
      SELECT ts, utilization_pct FROM gpu_samples WHERE gpu_uuid = 'GPU-cut-line' ORDER BY ts DESC LIMIT 1`.execute(db);
    expect(newest[0]).toEqual({ ts: new Date(Date.parse('2026-11-20T00:00:00Z') + 999 * 15_000), utilization_pct: (999 * 7) % 101 });
  });

  it('binary garbage is refused whole: random bytes, and a compressed CSV', async () => {
    // Random bytes with NULs in the first line; and a valid CSV gzipped (a .csv.gz uploaded as is).
    // The same bytes every run (a linear congruential sequence), so the refusal cannot depend on luck.
    let x = 12345;
    const garbage = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i < 4 ? [0x00, 0xff, 0x13, 0x00][i] : (x = (x * 1103515245 + 12345) % 2 ** 31) >> 16) & 0xff));
    const gzipped = gzipSync([SAMPLE_HEADER, ...sampleLines('gzipped', 5_000)].join('\n'));
    for (const [name, content] of [['garbage.csv', garbage], ['gzipped.csv', gzipped]] as const) {
      const response = await upload(content, name);
      expect(response.status, name).toBe(422);
      expect(await response.text(), name).toContain(`${name}: not a CSV file with a header row`);
      const runs = await runsOf(name);
      expect(runs, name).toMatchObject([{ status: 'failed', rows_stored: 0, rows_rejected: 0 }]);
      expect(await db.selectFrom('rejected_rows').select('id').where('run_id', '=', runs[0].id).execute(), name).toEqual([]);
    }
    expect(await counts('gzipped')).toEqual({ samples: 0, rollups: 0, customers: 0 });
    // Nothing at all was stored by either: no samples, no rollups, no customers in the whole database.
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM gpu_samples s JOIN customers c ON c.id = s.customer_id
      WHERE c.slug NOT IN ('cut-line')`.execute(db);
    expect(rows[0].n).toBe(0);
  });
});
