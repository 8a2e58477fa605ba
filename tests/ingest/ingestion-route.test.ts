// /ingestion and /exports/quarantine.csv through the real HTTP server (the compiled build: run
// `npx remix build` first): an admin uploads a file and sees its quarantine; a viewer reads but gets 403 on
// upload; the CSV download escapes cells a spreadsheet would run as formulas.
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';
import { freshDatabase } from '../support/database.js';
import { dumpData } from './helpers.js';

// Each test runs the real command (a Node process starting tsx) a few times: slow on a busy two-core machine.
vi.setConfig({ testTimeout: 120_000 });

let db: Db;
let app: TestApp;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  app = await startApp(db);
  await createUser(db, 'admin@example.com', 'admin');
  await createUser(db, 'viewer@example.com', 'viewer');
});

const FILE = [
  'timestamp,customer,model,input_tokens,output_tokens',
  '2026-11-20T10:00:00Z,web-co,llama-3.1-70b,100,10',
  '=SUM(1+2)*cmd|calc,web-co,m,1,1',
  '2026-11-20T10:05:00Z,web-co,llama-3.1-70b,-4,1',
].join('\n');

async function upload(client: Client, fields: Record<string, string>, content: string, name = 'usage.csv'): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content], { type: 'text/csv' }), name);
  return fetch(`${app.url}/ingestion`, { method: 'POST', redirect: 'manual', body: form, headers: { Cookie: client.cookie, Origin: app.url } });
}

describe('/ingestion', () => {
  it('is in the route manifest with a loader and an action, and the export beside it', () => {
    expect(app.routes.find((r) => r.path === '/ingestion')).toMatchObject({ hasLoader: true, hasAction: true });
    expect(app.routes.map((r) => r.path)).toContain('/exports/quarantine.csv');
  });

  it('an admin uploads a file: good rows stored, bad rows listed with line, field, reason and raw text', async () => {
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const page = await admin.get('/ingestion');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Import a file');
    const response = await upload(admin, { intent: 'upload', kind: 'token-usage' }, FILE);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('usage.csv: 3 row(s) read, 1 stored, 0 already there, 2 rejected');
    const stored = await db.selectFrom('token_usage').select(['input_tokens', 'output_tokens']).execute();
    expect(stored).toEqual([{ input_tokens: 100, output_tokens: 10 }]);
    const run = await db.selectFrom('ingestion_runs').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(run).toMatchObject({ file_name: 'usage.csv', status: 'succeeded', rows_read: 3, rows_stored: 1, rows_rejected: 2, customers_created: ['web-co'] });
    const listing = await (await admin.get(`/ingestion?run=${run.id}`)).text();
    expect(listing).toContain('Quarantined rows of run');
    expect(listing).toContain('is not ISO 8601 with an offset, or Unix seconds');
    expect(listing).toContain('input_tokens');
    expect(listing).toContain('&quot;-4&quot; is not a whole number');
    expect(listing).toContain(`/exports/quarantine.csv?run=${run.id}`);
  });

  it('a refused file is shown with its problem and stores nothing', async () => {
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const before = await dumpData(db);
    const response = await upload(admin, { intent: 'upload', kind: 'gpu-samples' }, 'a,b\n1,2\n', 'wrong.csv');
    expect(response.status).toBe(422);
    expect(await response.text()).toContain('wrong.csv: missing columns timestamp, gpu_uuid, gpu_type, customer, utilization_pct (found: a, b)');
    expect(await dumpData(db)).toBe(before);
  });

  it('a viewer reads the page without the form and gets 403 on upload; nothing is stored', async () => {
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const page = await viewer.get('/ingestion');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Recent runs');
    expect(html).not.toContain('Import a file');
    const before = await dumpData(db);
    const runsBefore = await db.selectFrom('ingestion_runs').select('id').execute();
    const response = await upload(viewer, { intent: 'upload', kind: 'token-usage' }, FILE.replaceAll('web-co', 'viewer-co'));
    expect(response.status).toBe(403);
    expect(await dumpData(db)).toBe(before);
    expect(await db.selectFrom('ingestion_runs').select('id').execute()).toEqual(runsBefore);
  });
});

describe('/exports/quarantine.csv', () => {
  it('downloads the rejected rows as CSV, formula-looking cells prefixed with a quote', async () => {
    const run = await db.selectFrom('ingestion_runs').select('id').where('rows_rejected', '>', 0).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const response = await viewer.get(`/exports/quarantine.csv?run=${run.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const rows = parse(await response.text()) as string[][];
    expect(rows[0]).toEqual(['run', 'line', 'field', 'reason', 'raw']);
    expect(rows.slice(1).map((r) => [r[1], r[2]])).toEqual([['3', 'timestamp'], ['4', 'input_tokens']]);
    expect(rows[1][3]).toBe('"=SUM(1+2)*cmd|calc" is not ISO 8601 with an offset, or Unix seconds');
    expect(rows[1][4]).toBe(`'=SUM(1+2)*cmd|calc,web-co,m,1,1`);
    expect(rows[2][4]).toBe('2026-11-20T10:05:00Z,web-co,llama-3.1-70b,-4,1');
  });

  it('needs a run that exists, and a session', async () => {
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    expect((await viewer.get('/exports/quarantine.csv')).status).toBe(400);
    expect((await viewer.get('/exports/quarantine.csv?run=999999')).status).toBe(404);
    expect((await new Client(app.url).get('/exports/quarantine.csv?run=1')).status).toBe(401);
  });
});
