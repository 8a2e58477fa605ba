// `npm run bench:pages`: the dashboard under load. A year of hourly rollups for 1,000 customers on 3 GPU types
// (bench/pages-data.ts) in a throwaway PostgreSQL; the real server (the compiled Remix build behind the Express
// app, as `npm start` serves it); a signed-in client; then, for each page, 20 concurrent clients for 30 s.
// Printed: p50/p95 of the time the server spent on each request and of the latency clients saw, requests/s, and
// the same run against /healthz (a trivial route: one `SELECT 1`) and /audit (a page of the app with nothing in
// it: sign-in check, layout, navigation) in the same process as baselines.
// Target (issue 6): p95 ≤ 150 ms. Pages read cached engine figures (docs/decisions/030-dashboard.md); the cold
// computations that fill the cache are timed too.
//
// BENCH_SECONDS (30), BENCH_CLIENTS (20), BENCH_CUSTOMERS (1000), BENCH_DAYS (365) change the run;
// BENCH_PROFILE=FILE.cpuprofile writes a CPU profile of the server's thread during the page runs.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import express from 'express';
import { sql } from 'kysely';
import { createDb, setDb } from '../db/client.js';
import { startLocalPostgres } from '../db/local-postgres.js';
import { migrateToLatest } from '../db/migrate.js';
import { upsertUser } from '../db/queries/users.js';
import { setRuntime } from '../app/lib/runtime.server.js';
import { hashPassword } from '../app/services/passwords.server.js';
import { evaluateFleet } from '../app/services/dashboard/fleet.server.js';
import { createApp, loadBuild } from '../server/http.js';
import { CUSTOMERS, DAYS, END, generate } from './pages-data.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20);
const TARGET_P95_MS = 150;

const day = (d: Date) => d.toISOString().slice(0, 10);
const PERIOD = `from=${day(new Date(END.getTime() - 30 * 86_400_000))}&to=${day(END)}`;

// The load generator runs on its own thread (its own event loop), so it does not queue behind the server.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { base, cookie, paths, seconds, clients } = workerData;
const latencies = [];
let errors = 0;
let i = 0;
const deadline = performance.now() + seconds * 1000;
async function client() {
  while (performance.now() < deadline) {
    const path = paths[i++ % paths.length];
    const started = performance.now();
    try {
      const response = await fetch(base + path, { headers: { Cookie: cookie } });
      await response.arrayBuffer();
      if (response.status !== 200) errors++;
      latencies.push(performance.now() - started);
    } catch {
      errors++;
    }
  }
}
Promise.all(Array.from({ length: clients }, client)).then(() => parentPort.postMessage({ latencies, errors }));
`;

function runLoad(base: string, cookie: string, paths: string[], seconds: number, clients: number): Promise<{ latencies: number[]; errors: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { base, cookie, paths, seconds, clients } });
    worker.once('message', (m) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(10);

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-bench-pages-'));
  await chmod(folder, 0o755);
  const server = await startLocalPostgres({
    dir: path.join(folder, 'pg'),
    database: 'bench',
    auth: 'trust',
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', shared_buffers: '512MB', max_wal_size: '4GB' },
  });
  const db = createDb(server.url, 10);
  let http: Server | undefined;
  try {
    await migrateToLatest(db);
    log(`Breakeven page benchmark (node ${process.version}, PostgreSQL 15, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    // React renders several times faster in production mode; `npm run bench:pages` sets it.
    if (process.env.NODE_ENV !== 'production') log('warning: NODE_ENV is not "production": React renders in development mode and pages are slower');
    log(`generating ${CUSTOMERS} customers × ${DAYS} days of hourly rollups on 3 GPU types…`);
    const started = performance.now();
    const rows = await generate(db, log);
    const size = await sql<{ size: string }>`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`.execute(db);
    log(
      `data: ${rows.gpuRows.toLocaleString('en-US')} GPU + ${rows.tokenRows.toLocaleString('en-US')} token rollup rows, ${size.rows[0].size}, ` +
        `generated in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );

    // An admin, so that /audit (the app's frame around an empty table) can serve as a second baseline.
    await upsertUser(db, 'bench@example.com', 'admin', await hashPassword('bench password 123'));
    setDb(db);
    setRuntime({ sessionSecret: 'bench-session-secret-that-is-long-enough-0123', appUrl: 'http://localhost', dataDir: folder });
    const build = await loadBuild();

    // Server time: from the request's arrival to the last byte of the response, per path.
    const serverTimes = new Map<string, number[]>();
    const outer = express();
    outer.use((req, res, next) => {
      const t0 = process.hrtime.bigint();
      res.once('finish', () => {
        const key = req.path;
        const list = serverTimes.get(key) ?? [];
        list.push(Number(process.hrtime.bigint() - t0) / 1e6);
        serverTimes.set(key, list);
      });
      next();
    });
    outer.use(createApp(build));
    http = await new Promise<Server>((resolve) => {
      const s = outer.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const signIn = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Origin: base, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'bench@example.com', password: 'bench password 123', redirectTo: '/' }),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    if (signIn.status !== 302 || !cookie) throw new Error(`sign-in answered ${signIn.status}`);

    // The cold costs behind the cache: the fleet's evaluation of the period, and one customer's page.
    const [fromText, toText] = PERIOD.split('&').map((p) => p.split('=')[1]);
    const window = { from: new Date(`${fromText}T00:00:00Z`), to: new Date(`${toText}T00:00:00Z`) };
    const uncached = performance.now();
    const fleet = await evaluateFleet(db, window);
    const uncachedMs = performance.now() - uncached;
    const timeFirst = async (p: string) => {
      const t0 = performance.now();
      const r = await fetch(base + p, { headers: { Cookie: cookie } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${p} answered ${r.status}`);
      return performance.now() - t0;
    };
    log(`\nperiod: the last 30 days (${PERIOD}); ${fleet.customers.length} customers, ${fleet.customerRows.length} customer and ${fleet.poolRows.length} pool documents`);
    log(`cold: the fleet's evaluation of the period (every customer and pool, from the rollups) ${ms(uncachedMs)}`);
    const firstOverview = await timeFirst(`/?${PERIOD}`);
    log(`cold: first overview request (computes and caches the evaluation)          ${ms(firstOverview)}`);
    log(`cold: first customer page (one customer's evaluation, tokens, heatmap)      ${ms(await timeFirst(`/customers/c-00001?${PERIOD}`))}`);
    log(`warm: customers page (sorted, first page, from the cache)                   ${ms(await timeFirst(`/customers?${PERIOD}`))}`);

    const runs: { label: string; paths: string[]; target?: false }[] = [
      { label: 'baseline /healthz (SELECT 1)', paths: ['/healthz'] },
      { label: 'baseline /audit (the frame, an empty table)', paths: ['/audit'], target: false },
      { label: 'overview /', paths: [`/?${PERIOD}`] },
      { label: 'customers /customers', paths: [`/customers?${PERIOD}`, `/customers?${PERIOD}&sort=-tokens&page=2`, `/customers?${PERIOD}&q=c-001`] },
      { label: 'a customer /customers/c-00001', paths: [`/customers/c-00001?${PERIOD}`] },
      {
        label: 'any of 200 customers (their first visits cold)',
        paths: Array.from({ length: 200 }, (_, i) => `/customers/c-${String(1 + ((i * 37) % CUSTOMERS)).padStart(5, '0')}?${PERIOD}`),
        // Beyond the issue's three pages: how the customer page behaves when visits spread over many customers.
        target: false,
      },
    ];
    log(`\n${CLIENTS} concurrent clients, ${SECONDS} s per page; server time = arrival to last byte in the server, latency = what clients saw`);
    log(`${'page'.padEnd(48)} ${'requests/s'.padStart(10)} ${'server p50'.padStart(10)} ${'server p95'.padStart(10)} ${'latency p50'.padStart(11)} ${'latency p95'.padStart(11)}  errors`);
    let worst = 0;
    let baselineRps = 0;
    let framePageRps = 0;
    const profiler = process.env.BENCH_PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    for (const run of runs) {
      serverTimes.clear();
      const { latencies, errors } = await runLoad(base, cookie, run.paths, SECONDS, CLIENTS);
      const server = [...serverTimes.values()].flat();
      const rps = latencies.length / SECONDS;
      if (run.paths[0] === '/healthz') baselineRps = rps;
      if (run.paths[0] === '/audit') framePageRps = rps;
      else if (run.target !== false) worst = Math.max(worst, percentile(server, 95));
      log(
        `${run.label.padEnd(48)} ${rps.toFixed(0).padStart(10)} ${ms(percentile(server, 50))} ${ms(percentile(server, 95))} ${ms(percentile(latencies, 50)).padStart(11)} ${ms(percentile(latencies, 95)).padStart(11)}  ${errors}` +
          (run.paths[0] === '/healthz' ? '' : `   (${(baselineRps / rps).toFixed(1)}× /healthz${framePageRps && run.paths[0] !== '/audit' ? `, ${(framePageRps / rps).toFixed(1)}× /audit` : ''})`),
      );
    }
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(process.env.BENCH_PROFILE!, JSON.stringify(profile));
      profiler.disconnect();
    }
    log(`\nworst server p95 of the three pages: ${worst.toFixed(1)} ms — target ≤ ${TARGET_P95_MS} ms: ${worst <= TARGET_P95_MS ? 'met' : 'MISSED'}`);
    log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
    if (worst > TARGET_P95_MS) process.exitCode = 1;
  } finally {
    if (http) await new Promise((resolve) => http!.close(resolve));
    setDb(undefined);
    await db.destroy();
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
