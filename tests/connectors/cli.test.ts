// `breakeven sources add|list|remove` and `breakeven ingest run`, run as a user would, against a local usage
// API server; and the Sources section of /ingestion.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase } from '../support/database.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';
import { startUsageServer, type UsageEntry } from '../support/openai-usage-server.js';
import { HOUR, hourAgo, SECRET } from './helpers.js';

const { db, url } = await freshDatabase();
const server = await startUsageServer({ maxBucketsPerPage: 6 });
afterAll(() => server.close());
const env = { DATABASE_URL: url, SESSION_SECRET: SECRET, BREAKEVEN_DEBUG: undefined };
const cli = (args: string[], input?: string) => runCli(args, { env, input });
/** The message a form post redirected back with. */
const flash = (response: Response) => new URL(response.headers.get('location')!, 'http://x').searchParams.get('sources');

const T = hourAgo(20);
server.entries = Array.from({ length: 20 }, (_, h): UsageEntry => ({
  hour: T + h * HOUR,
  project_id: h % 2 ? 'proj_one' : 'proj_two',
  model: 'gpt-4o',
  input_tokens: 1_000 + h,
  input_cached_tokens: 100,
  input_cache_write_tokens: 10,
  output_tokens: 50 + h,
  num_model_requests: 3,
}));

describe('breakeven sources', () => {
  it('adds a source with its API key from standard input, never shows it, audit-logs the change', async () => {
    const added = await cli(['sources', 'add', 'openai', '--kind', 'openai-usage', '--url', server.url, '--map', 'proj_one=acme,proj_two=globex', '--interval', '5m', '--lookback', '1h', '--delay', '0', '--token-stdin'], `${server.apiKey}\n`);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('Source openai added (openai-usage, every 300 s, credentials: set).\n');

    const json = JSON.parse((await cli(['sources', 'list', '--json'])).stdout);
    expect(json).toEqual([
      expect.objectContaining({ name: 'openai', kind: 'openai-usage', credentials: 'set', lookbackSeconds: 3600, delaySeconds: 0, config: { customer_map: { proj_one: 'acme', proj_two: 'globex' } } }),
    ]);
    expect(JSON.stringify(json)).not.toContain(server.apiKey);

    const audit = await db.selectFrom('audit_log').selectAll().where('entity', '=', 'ingestion_source').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'cli', action: 'create', entity_id: 'openai', after: expect.objectContaining({ credentials: 'changed', url: server.url }) });
    expect(JSON.stringify(audit)).not.toContain(server.apiKey);
  });

  it('refuses bad input with exit 2 and a message naming the option', { timeout: 60_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [['sources', 'add', 'x', '--kind', 'graphite', '--url', 'http://u:p@prom:9090', '--map', 'a=b'], /--kind: must be one of prometheus-dcgm, prometheus-vllm, openai-usage; --url: must not carry a user name or password/],
      [['sources', 'add', 'x', '--kind', 'prometheus-dcgm', '--url', 'http://prom', '--step', '5m', '--map', 'novalue'], /--map: "novalue" is not VALUE=SLUG/],
      [['ingest', 'run', '--from', '2026-01-01'], /--from and --to go together/],
    ];
    // In parallel: each is a process start.
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    cases.forEach(([args, message], i) => {
      expect(results[i].code, args.join(' ')).toBe(2);
      expect(results[i].stderr, args.join(' ')).toMatch(message);
    });
    expect(await db.selectFrom('ingestion_sources').select('name').execute()).toEqual([{ name: 'openai' }]);
  });

  it('ingest run backfills, prints a summary (or JSON), and moves the watermark', async () => {
    const from = new Date(T).toISOString();
    const to = new Date(T + 20 * HOUR).toISOString();
    const r = await cli(['ingest', 'run', '--source', 'openai', '--from', from, '--to', to, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.runs).toEqual([
      expect.objectContaining({ source: 'openai', status: 'succeeded', window_from: from, window_to: to, rows_read: 20, rows_stored: 20, rows_rejected: 0, customers_created: ['acme', 'globex'], error: null }),
    ]);
    const { rows } = await sql<{ input: number; n: number }>`SELECT sum(input_tokens)::int AS input, count(*)::int AS n FROM hourly_token_usage`.execute(db);
    expect(rows[0]).toEqual({ input: server.entries.reduce((s, e) => s + e.input_tokens, 0), n: 20 });
    const source = await db.selectFrom('ingestion_sources').select('watermark').where('name', '=', 'openai').executeTakeFirstOrThrow();
    expect(source.watermark!.toISOString()).toBe(to);

    // A scheduled pull now reads watermark − lookback to now: the last hour again, nothing doubled.
    const again = await cli(['ingest', 'run']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^openai: .* – .*: \d+ read, 0 stored, 0 rejected in [\d.]+ s \(run \d+\)\.$/m);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM token_usage`.execute(db)).rows[0].n).toBe(20);
  });

  it('a failing source: the run is recorded failed, exit 1, the error says why', async () => {
    await cli(['sources', 'add', 'broken', '--kind', 'openai-usage', '--url', server.url, '--delay', '0', '--token-stdin'], 'sk-wrong');
    const r = await cli(['ingest', 'run', '--source', 'broken']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/broken: .*FAILED \(run \d+\): GET .* authentication failed \(HTTP 401 Unauthorized\)/);
    expect(r.stderr).toContain('1 run(s) failed: broken');
    expect(r.stdout + r.stderr).not.toContain('sk-wrong');
    const list = await cli(['sources', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^broken\s+openai-usage\s+300s\s+set\s+-\s+failed .*authentication failed/m);
    expect(list.stdout).toMatch(/^openai\s+openai-usage\s+300s\s+set\s+20\d\d-\S+Z\s+succeeded /m);
    expect(list.stdout).not.toContain(server.apiKey);
  });

  it('a source whose credentials were stored under another secret fails with a clear message', async () => {
    const r = await runCli(['ingest', 'run', '--source', 'openai'], { env: { ...env, SESSION_SECRET: 'another-secret-that-is-long-enough-0123456789' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('cannot be decrypted: SESSION_SECRET changed since they were stored');
  });

  it('remove keeps what the source brought and the record of its runs', async () => {
    const r = await cli(['sources', 'remove', 'broken']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Source broken removed.\n');
    expect(await db.selectFrom('ingestion_sources').select('name').where('name', '=', 'broken').execute()).toEqual([]);
    const runs = await db.selectFrom('ingestion_runs').select(['source_id', 'status']).where('kind', '=', 'openai-usage').where('source_id', 'is', null).execute();
    expect(runs.length).toBeGreaterThan(0);
  });
});

describe('the Sources section of /ingestion', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp(db);
    await createUser(db, 'admin@example.com', 'admin');
    await createUser(db, 'viewer@example.com', 'viewer');
  });

  it('an admin adds a source with a token; the page shows "set", never the token', async () => {
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const saved = await admin.post('/ingestion/sources', {
      intent: 'source-save',
      name: 'prom-web',
      kind: 'prometheus-dcgm',
      url: 'http://prometheus.internal:9090',
      customer_label: 'namespace',
      customer_map: 'Team_B=beta\nteam_c=gamma',
      interval: '2m',
      lookback: '30m',
      delay: '0',
      auth: 'bearer',
      token: 'prom-token-secret-42',
    });
    expect(saved.status).toBe(302);
    expect(flash(saved)).toBe('Source prom-web added (credentials: set).');
    const page = await (await admin.get('/ingestion')).text();
    expect(page).toContain('prom-web');
    expect(page).toContain('Run now');
    expect(page).not.toContain('prom-token-secret-42');
    const row = await db.selectFrom('ingestion_sources').selectAll().where('name', '=', 'prom-web').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ interval_seconds: 120, lookback_seconds: 1800, delay_seconds: 0, config: { customer_label: 'namespace', customer_map: { Team_B: 'beta', team_c: 'gamma' } } });
    expect(row.credentials_encrypted!.includes(Buffer.from('prom-token-secret-42'))).toBe(false);

    const bad = await admin.post('/ingestion/sources', { intent: 'source-save', name: 'x', kind: 'prometheus-dcgm', url: 'not a url' });
    expect(flash(bad)).toBe('url: must be an http:// or https:// URL');
    const run = await admin.post('/ingestion/sources', { intent: 'source-run', name: 'prom-web' });
    expect(flash(run)).toContain('No worker has run against this database yet');
    const removed = await admin.post('/ingestion/sources', { intent: 'source-remove', name: 'prom-web' });
    expect(flash(removed)).toBe('Source prom-web removed; what it brought stays.');
  });

  it('a viewer sees the sources but no form, and cannot post', async () => {
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const page = await (await viewer.get('/ingestion')).text();
    expect(page).toContain('openai');
    expect(page).not.toContain('Save source');
    const before = await db.selectFrom('ingestion_sources').selectAll().execute();
    const refused = await viewer.post('/ingestion/sources', { intent: 'source-remove', name: 'openai' });
    expect(refused.status).toBe(403);
    expect(await db.selectFrom('ingestion_sources').selectAll().execute()).toEqual(before);
  });
});
