// End to end: `breakeven serve` (what npm start runs) starts the worker beside the web server, and the worker
// pulls a usage API and a real Prometheus on their schedule, again and again, without doubling anything;
// SIGTERM stops the web server, then the worker, then the database.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../db/local-postgres.js';
import { bin, root } from '../support/cli.js';
import { freshDatabase } from '../support/database.js';
import { startUsageServer, type UsageEntry } from '../support/openai-usage-server.js';
import { prometheusMissing, startPrometheus, type TestPrometheus } from '../support/prometheus.js';
import { addSource, HOUR, runsOf, SECRET } from './helpers.js';

const children: ChildProcess[] = [];
let prom: TestPrometheus | undefined;
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await prom?.destroy();
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, output: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; server output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the worker of breakeven serve', () => {
  it('pulls its sources on their schedule, end to end', { timeout: 90_000 }, async () => {
    const { db, url } = await freshDatabase();
    // A customer already: serve seeds the demo only into an empty database.
    await sql`INSERT INTO customers (slug, name) VALUES ('existing', 'Existing')`.execute(db);

    const now = Date.now();
    const thisHour = Math.floor(now / HOUR) * HOUR;
    const usage = await startUsageServer();
    afterAll(() => usage.close());
    usage.entries = [3, 2, 1].map((h): UsageEntry => ({
      hour: thisHour - h * HOUR,
      project_id: 'proj_worker',
      model: 'gpt-4o-mini',
      input_tokens: 1_000 * h,
      input_cached_tokens: 10,
      input_cache_write_tokens: 0,
      output_tokens: 100,
      num_model_requests: 2,
    }));
    const openai = await addSource(db, { name: 'usage', kind: 'openai-usage', url: usage.url, interval_seconds: 10, lookback_seconds: 4 * 3600, delay_seconds: 0 }, { type: 'bearer', token: usage.apiKey });

    let dcgm: number | undefined;
    if (!prometheusMissing()) {
      const start = Math.floor((now - 3 * HOUR) / 30_000) * 30_000;
      const samples: [number, number][] = [];
      for (let ts = start; ts < now - 60_000; ts += 30_000) samples.push([ts, 50]);
      prom = await startPrometheus([{ name: 'DCGM_FI_DEV_GPU_UTIL', labels: { UUID: 'GPU-worker-1', modelName: 'NVIDIA L4', Hostname: 'w1', namespace: 'worker-co' }, samples }]);
      dcgm = await addSource(db, { name: 'gpus', kind: 'prometheus-dcgm', url: prom.url, interval_seconds: 10, lookback_seconds: 2 * 3600, delay_seconds: 0 });
    } else {
      console.warn(`the worker test pulls the usage API only: ${prometheusMissing()}`);
    }

    const dataDir = await mkdtemp(path.join(tmpdir(), 'breakeven-worker-'));
    afterAll(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = { ...process.env, DATABASE_URL: url, PORT: String(port), SESSION_SECRET: SECRET, BREAKEVEN_DATA_DIR: dataDir };
    const child = spawn(process.execPath, [bin, 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const log = () => output;

    await until('the server to start', async () => output.includes('is running at'), 40_000, log);
    // The first pull at start, the next one an interval (10 s) later.
    const runs = await until(
      'two scheduled pulls of the usage API',
      async () => {
        const r = await runsOf(db, openai);
        return r.filter((x) => x.status === 'succeeded').length >= 2 && r;
      },
      45_000,
      log,
    );
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(runs[0].rows_stored).toBe(3);
    expect(runs[1].window_from!.getTime()).toBeLessThan(runs[0].window_to!.getTime());
    const tokens = await sql<{ n: number; input: number }>`SELECT count(*)::int AS n, sum(input_tokens)::int AS input FROM hourly_token_usage`.execute(db);
    expect(tokens.rows[0]).toEqual({ n: 3, input: 6_000 });
    expect(output).toMatch(/ingest usage: .* 3 read, 3 stored, 0 rejected/);

    if (dcgm !== undefined) {
      const [first] = await until('a pull of Prometheus', async () => {
        const r = (await runsOf(db, dcgm!)).filter((x) => x.status !== 'running');
        return r.length > 0 && r;
      }, 20_000, log);
      expect(first.error).toBeNull();
      expect(first.rows_stored).toBeGreaterThan(200);
      const { rows } = await sql<{ busy: number; allocated: number }>`SELECT sum(busy_gpu_seconds) AS busy, sum(allocated_gpu_seconds) AS allocated FROM hourly_gpu_usage`.execute(db);
      expect(rows[0].busy / rows[0].allocated).toBeCloseTo(0.5, 6);
    }

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('stopping the web server');
    expect(output).toContain('Stopped.');
    // Nothing left running, nothing doubled.
    const after = await runsOf(db, openai);
    expect(after.every((r) => r.status !== 'running')).toBe(true);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM token_usage`.execute(db)).rows[0].n).toBe(3);
  });
});
