// `npm run bench:pages`: the dashboard under load. A year of hourly rollups for 1,000 customers on 3 GPU types
// (bench/pages-data.ts) in a throwaway PostgreSQL; the real server (the compiled Remix build behind the Express
// app, in web processes as `npm start` runs them); a signed-in client; then, for each page, 20 concurrent
// clients for 30 s.
// Printed: p50/p95 of the time the server spent on each request and of the latency clients saw, requests/s, and
// the same run against /healthz (a trivial route: one `SELECT 1`) and /audit (a page of the app with nothing in
// it: sign-in check, layout, navigation) as baselines, and the CPU each request cost the web processes and
// PostgreSQL (the load generator is a process of its own).
// Target (issue 6): p95 ≤ 150 ms. Pages read cached engine figures (docs/decisions/030-dashboard.md); the cold
// computations that fill the cache are timed too.
//
// BENCH_SECONDS (30), BENCH_CLIENTS (20), BENCH_CUSTOMERS (1000), BENCH_DAYS (365) and BENCH_WEB_PROCESSES (what
// `npm start` runs here: one per core, at most 4) change the run; BENCH_PROFILE=DIR writes a CPU profile of each
// web process there.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb, setDb, type Db } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import { upsertUser } from '../db/queries/users.js';
import { hashPassword } from '../app/services/passwords.server.js';
import { evaluateFleet } from '../app/services/dashboard/fleet.server.js';
import { freePort } from '../db/local-postgres.js';
import { loadConfig } from '../server/config.js';
import { startWebProcesses } from '../server/web-processes.js';
import { CUSTOMERS, DAYS, END, generate } from './pages-data.js';
import { benchPostgres, cpuOf, isMain, load, machine, percentile, postgresCpu } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20);
/** As many web processes as `npm start` runs on this machine (server/config.ts). */
export const PROCESSES = Number(process.env.BENCH_WEB_PROCESSES ?? loadConfig({ NODE_ENV: process.env.NODE_ENV }).webProcesses);
const TARGET_P95_MS = 150;

const day = (d: Date) => d.toISOString().slice(0, 10);
const PERIOD = `from=${day(new Date(END.getTime() - 30 * 86_400_000))}&to=${day(END)}`;

// The load generator runs in a process of its own: it never queues behind the server, and the CPU this process
// uses during a run is the server's alone (printed per request: steadier than wall times on a shared machine).
const LOAD_GENERATOR = `
const { base, cookie, paths, seconds, clients } = JSON.parse(process.env.BENCH_LOAD);
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
Promise.all(Array.from({ length: clients }, client)).then(() => process.send({ latencies, errors }, () => process.disconnect()));
`;

function runLoad(base: string, cookie: string, paths: string[], seconds: number, clients: number): Promise<{ latencies: number[]; errors: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LOAD_GENERATOR], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '', BENCH_LOAD: JSON.stringify({ base, cookie, paths, seconds, clients }) },
    });
    let result: { latencies: number[]; errors: number } | undefined;
    child.once('message', (m) => (result = m as typeof result));
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`the load generator exited with ${code}`))));
  });
}

const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(10);
const cpuColumn = (r: PageRun) => `${r.nodeCpuMs.toFixed(2)} + ${r.postgresCpuMs === null ? '?' : r.postgresCpuMs.toFixed(2)} ms`.padStart(23);

export interface PageRun {
  label: string;
  /** Counts toward the target (the issue's three pages). */
  target: boolean;
  rps: number;
  serverP50: number;
  serverP95: number;
  latencyP50: number;
  latencyP95: number;
  errors: number;
  /** CPU milliseconds per request: the server's process, and PostgreSQL's (when its folder is known). */
  nodeCpuMs: number;
  postgresCpuMs: number | null;
}

export interface PageFigures {
  coldFleetMs: number;
  coldOverviewMs: number;
  coldCustomerMs: number;
  runs: PageRun[];
  /** The worst server p95 of the pages with a target. */
  worstP95: number;
}

export const PAGES_TARGET_P95_MS = TARGET_P95_MS;

/**
 * The real server against `db` (whose data bench/pages-data.ts generated; `databaseUrl` reaches it), as `npm start`
 * runs it — `processes` web processes (server/web-processes.ts) — signed in, then every page under `clients`
 * concurrent clients for `seconds` each. `log` receives the lines the standalone run prints.
 */
export async function measurePages(
  db: Db,
  options: {
    databaseUrl: string;
    seconds: number;
    clients: number;
    customers: number;
    dataDir: string;
    processes: number;
    postgresDir?: string;
    /** A folder for a CPU profile of each web process (written when it stops). */
    profileDir?: string;
    log?: (line: string) => void;
  },
): Promise<PageFigures> {
  const log = options.log ?? (() => {});
  const { seconds, clients } = options;
  // An admin, so that /audit (the app's frame around an empty table) can serve as a second baseline.
  await upsertUser(db, 'bench@example.com', 'admin', await hashPassword('bench password 123'));
  setDb(db);
  const port = await freePort();
  const heap = ['--max-semi-space-size=64'];
  const web = await startWebProcesses(
    options.processes,
    { databaseUrl: options.databaseUrl, sessionSecret: 'bench-session-secret-that-is-long-enough-0123', appUrl: 'http://localhost', dataDir: options.dataDir, port, recordRequestTimes: true },
    log,
    options.profileDir ? [...heap, '--cpu-prof', `--cpu-prof-dir=${path.resolve(options.profileDir)}`] : heap,
  );
  const webCpu = async () => (await Promise.all(web.pids.map((pid) => cpuOf(pid).then((c) => c.own)))).reduce((a, b) => a + b, 0);
  try {
    const base = `http://127.0.0.1:${port}`;
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
    const coldFleetMs = performance.now() - uncached;
    // A new connection per request: node:cluster hands connections to the web processes in turn.
    const timeFirst = async (p: string) => {
      const t0 = performance.now();
      const r = await fetch(base + p, { headers: { Cookie: cookie, Connection: 'close' } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${p} answered ${r.status}`);
      return performance.now() - t0;
    };
    log(`\nperiod: the last 30 days (${PERIOD}); ${fleet.customers.length} customers, ${fleet.customerRows.length} customer and ${fleet.poolRows.length} pool documents`);
    log(`cold: the fleet's evaluation of the period (every customer and pool, from the rollups) ${ms(coldFleetMs)}`);
    const coldOverviewMs = await timeFirst(`/?${PERIOD}`);
    log(`cold: first overview request (computes and caches the evaluation)          ${ms(coldOverviewMs)}`);
    const coldCustomerMs = await timeFirst(`/customers/c-00001?${PERIOD}`);
    log(`cold: first customer page (one customer's evaluation, tokens, heatmap)      ${ms(coldCustomerMs)}`);
    log(`warm: customers page (sorted, first page, from the cache)                   ${ms(await timeFirst(`/customers?${PERIOD}`))}`);
    // Every web process computes its own cache: each is warmed before the runs.
    for (let i = 0; i < 2 * options.processes; i++) {
      for (const p of [`/?${PERIOD}`, `/customers/c-00001?${PERIOD}`, `/customers?${PERIOD}`]) await timeFirst(p);
    }
    await web.requestTimes();

    const plan: { label: string; paths: string[]; target: boolean }[] = [
      { label: 'baseline /healthz (SELECT 1)', paths: ['/healthz'], target: false },
      { label: 'baseline /audit (the frame, an empty table)', paths: ['/audit'], target: false },
      { label: 'overview /', paths: [`/?${PERIOD}`], target: true },
      { label: 'customers /customers', paths: [`/customers?${PERIOD}`, `/customers?${PERIOD}&sort=-tokens&page=2`, `/customers?${PERIOD}&q=c-001`], target: true },
      { label: 'a customer /customers/c-00001', paths: [`/customers/c-00001?${PERIOD}`], target: true },
      {
        label: 'any of 200 customers (their first visits cold)',
        paths: Array.from({ length: 200 }, (_, i) => `/customers/c-${String(1 + ((i * 37) % options.customers)).padStart(5, '0')}?${PERIOD}`),
        // Beyond the issue's three pages: how the customer page behaves when visits spread over many customers.
        target: false,
      },
    ];
    log(
      `\n${clients} concurrent clients, ${seconds} s per page, ${options.processes} web process${options.processes === 1 ? '' : 'es'}; ` +
        'server time = arrival to last byte in the server, latency = what clients saw',
    );
    log(`${'page'.padEnd(48)} ${'requests/s'.padStart(10)} ${'server p50'.padStart(10)} ${'server p95'.padStart(10)} ${'latency p50'.padStart(11)} ${'latency p95'.padStart(11)} ${'CPU/request (Node + PG)'.padStart(23)}  errors`);
    const runs: PageRun[] = [];
    for (const step of plan) {
      const cpu0 = await webCpu();
      const pg0 = options.postgresDir ? await postgresCpu(options.postgresDir) : null;
      const { latencies, errors } = await runLoad(base, cookie, step.paths, seconds, clients);
      const cpuSeconds = (await webCpu()) - cpu0;
      const pgSeconds = pg0 === null ? null : (await postgresCpu(options.postgresDir!)) - pg0;
      const server = [...(await web.requestTimes()).values()].flat();
      const run: PageRun = {
        label: step.label,
        target: step.target,
        rps: latencies.length / seconds,
        serverP50: percentile(server, 50),
        serverP95: percentile(server, 95),
        latencyP50: percentile(latencies, 50),
        latencyP95: percentile(latencies, 95),
        errors,
        nodeCpuMs: (cpuSeconds * 1000) / Math.max(1, latencies.length),
        postgresCpuMs: pgSeconds === null ? null : (pgSeconds * 1000) / Math.max(1, latencies.length),
      };
      runs.push(run);
      const healthz = runs[0].rps;
      const frame = runs[1]?.rps;
      log(
        `${run.label.padEnd(48)} ${run.rps.toFixed(0).padStart(10)} ${ms(run.serverP50)} ${ms(run.serverP95)} ${ms(run.latencyP50).padStart(11)} ${ms(run.latencyP95).padStart(11)} ${cpuColumn(run)}  ${errors}` +
          (runs.length === 1 ? '' : `   (${(healthz / run.rps).toFixed(1)}× /healthz${frame && runs.length > 2 ? `, ${(frame / run.rps).toFixed(1)}× /audit` : ''})`),
      );
    }
    const peaks = await Promise.all(web.pids.map(async (pid) => Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024));
    log(`peak RSS of the web processes: ${peaks.map((mb) => `${Math.round(mb)} MB`).join(', ')}`);
    const worstP95 = Math.max(...runs.filter((r) => r.target).map((r) => r.serverP95));
    return { coldFleetMs, coldOverviewMs, coldCustomerMs, runs, worstP95 };
  } finally {
    await web.stop();
    setDb(undefined);
  }
}

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const pg = await benchPostgres('bench-pages');
  const db = createDb(pg.server.url, 10);
  try {
    await migrateToLatest(db);
    log(`Breakeven page benchmark (${machine()}, load average ${load()})`);
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
    const figures = await measurePages(db, {
      databaseUrl: pg.server.url,
      seconds: SECONDS,
      clients: CLIENTS,
      customers: CUSTOMERS,
      dataDir: pg.folder,
      processes: PROCESSES,
      postgresDir: path.join(pg.folder, 'pg'),
      profileDir: process.env.BENCH_PROFILE,
      log,
    });
    log(`\nworst server p95 of the three pages: ${figures.worstP95.toFixed(1)} ms — target ≤ ${TARGET_P95_MS} ms: ${figures.worstP95 <= TARGET_P95_MS ? 'met' : 'MISSED'}`);
    if (figures.worstP95 > TARGET_P95_MS) process.exitCode = 1;
  } finally {
    await db.destroy();
    await pg.stop();
  }
}

if (isMain(import.meta.url)) await main();
