// `npm run bench:engine`: recommendations for 1,000 customers × 90 days of hourly demand × 3 reserved offers,
// plus pools of 10, computed (1) in memory from data already loaded and (2) end to end from PostgreSQL (read the
// rollups, prices and reservations, compute every customer's and pool's document). A bare `SELECT count(*)` of
// the same rollups, in the same process and database, is the baseline. Targets: (1) ≤ 1 s, (2) ≤ 10 s.
//
// Starts its own throwaway PostgreSQL in a temporary folder; nothing else is touched.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb } from '../db/client.js';
import { startLocalPostgres } from '../db/local-postgres.js';
import { migrateToLatest } from '../db/migrate.js';
import { listScopeCustomers, listScopePools } from '../db/queries/costing-scopes.js';
import { loadHourlyDemandInputs } from '../db/queries/demand-inputs.js';
import { reservationsMeeting } from '../db/queries/reservations.js';
import { evaluateAll, SeriesCache } from '../app/services/costing/evaluate.js';
import { customerInputs, evaluateWindow, loadPriceContext } from '../app/services/costing.server.js';
import { CUSTOMERS, DAYS, FROM, generate, HOURS, POOL_SIZE, TO } from './engine-data.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const seconds = (ms: number) => `${fmt(ms / 1000, 3)} s`;
const perSecond = (count: number, ms: number) => `${fmt(count / (ms / 1000) / 1e6, 2)} M hours/s`;

/** Wall time, and this process's CPU time (user + system): on a shared machine the second is the steadier. */
async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; cpu: number; value: T }> {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return { ms: performance.now() - start, cpu: (cpu.user + cpu.system) / 1000, value };
}

interface Timing<T> {
  best: number;
  median: number;
  /** Node CPU of the fastest run. */
  cpu: number;
  value: T;
}

/** Best and median of repeated runs (after one warm-up), each timed alone. */
async function repeat<T>(fn: () => Promise<T> | T): Promise<Timing<T>> {
  let value: T = await fn();
  const runs: { ms: number; cpu: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await time(fn);
    runs.push(r);
    value = r.value;
  }
  runs.sort((a, b) => a.ms - b.ms);
  return { best: runs[0].ms, median: runs[Math.floor(runs.length / 2)].ms, cpu: runs[0].cpu, value };
}

async function main(): Promise<void> {
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-bench-'));
  await chmod(folder, 0o755);
  const server = await startLocalPostgres({
    dir: path.join(folder, 'pg'),
    database: 'bench',
    auth: 'trust',
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', shared_buffers: '512MB' },
  });
  const db = createDb(server.url, 4);
  try {
    await migrateToLatest(db);
    const generated = await time(() => generate(db));
    const counts = await sql<{ gpu: number; tokens: number; telemetry_customers: number }>`
      SELECT (SELECT count(*) FROM hourly_gpu_usage)::int AS gpu, (SELECT count(*) FROM hourly_token_usage)::int AS tokens,
             (SELECT count(DISTINCT customer_id) FROM hourly_gpu_usage)::int AS telemetry_customers`.execute(db);
    const { gpu, tokens, telemetry_customers: telemetryCustomers } = counts.rows[0];
    const pools = Math.ceil(CUSTOMERS / POOL_SIZE);
    const customerHours = CUSTOMERS * HOURS;
    console.log(`Breakeven engine benchmark (node ${process.version}, PostgreSQL 15, ${(await import('node:os')).cpus().length} CPUs)`);
    console.log(
      `data: ${CUSTOMERS} customers (${telemetryCustomers} with GPU telemetry, all with 2 models of tokens), ${pools} pools of ${POOL_SIZE}, ` +
        `${HOURS} hours (${DAYS} days), 1 GPU type × 3 reserved offers; rollups: ${gpu.toLocaleString('en-US')} GPU + ` +
        `${tokens.toLocaleString('en-US')} token rows (generated in ${seconds(generated.ms)})`,
    );
    const { loadavg } = await import('node:os');
    console.log(`runs: best and median of ${RUNS}, after one warm-up; load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

    // Baseline: a bare scan of the same rollups.
    const baseline = await repeat(async () => {
      await sql`SELECT count(*) FROM hourly_gpu_usage WHERE hour >= ${FROM} AND hour < ${TO}`.execute(db);
      await sql`SELECT count(*) FROM hourly_token_usage WHERE hour >= ${FROM} AND hour < ${TO}`.execute(db);
    });

    // Loaded once for the in-memory pass.
    const window = { from: FROM, to: TO };
    const [ctx, scopeCustomers, scopePools, inputs, reservationRows] = await Promise.all([
      loadPriceContext(db, window),
      listScopeCustomers(db),
      listScopePools(db),
      loadHourlyDemandInputs(db, window),
      reservationsMeeting(db, window),
    ]);
    const customers = customerInputs(scopeCustomers, inputs);
    const reservations = reservationRows.map((r) => ({ ...r }));
    const inMemory = await repeat(() => evaluateAll(ctx, customers, scopePools, reservations, { overflow: 'on_demand' }));
    // The same with every customer's hourly demand already computed: documents alone.
    const warm = new SeriesCache(ctx);
    evaluateAll(ctx, customers, scopePools, reservations, { overflow: 'on_demand', cache: warm });
    const documentsOnly = await repeat(() => evaluateAll(ctx, customers, scopePools, reservations, { overflow: 'on_demand', cache: warm }));
    const load = await repeat(() => loadHourlyDemandInputs(db, window));
    const endToEnd = await repeat(() => evaluateWindow(db, { ...window, overflow: 'on_demand' }));

    const e = endToEnd.value;
    if (e.customers.length !== CUSTOMERS || e.pools.length !== pools || e.skipped.length) {
      throw new Error(`expected ${CUSTOMERS} customer and ${pools} pool documents, got ${e.customers.length} and ${e.pools.length} (${e.skipped.length} skipped)`);
    }
    const recommended = e.customers.reduce((s, r) => s + (r.document.best?.gpus ?? 0), 0);
    const saving = e.pools.reduce((s, r) => s + (r.document.aggregation?.saving_usd ?? 0), 0);

    const row = (label: string, r: Timing<unknown>, extra = '') =>
      console.log(
        `${label.padEnd(44)} best ${seconds(r.best).padStart(9)}  median ${seconds(r.median).padStart(9)}  ` +
          `${perSecond(customerHours, r.best).padStart(16)}  node CPU ${seconds(r.cpu).padStart(9)}${extra}`,
      );
    row('baseline: SELECT count(*) of the rollups', baseline);
    row('in-memory pass (rollups loaded)', inMemory, inMemory.best <= 1000 ? '   target ≤ 1 s: met' : '   target ≤ 1 s: MISSED');
    row('  of which: documents from demand series', documentsOnly);
    row('  of which: load rollups alone (binary COPY)', load);
    row('end-to-end from PostgreSQL', endToEnd, endToEnd.best <= 10_000 ? '   target ≤ 10 s: met' : '   target ≤ 10 s: MISSED');
    console.log(`\nend-to-end / bare scan: ${fmt(endToEnd.best / baseline.best, 1)}×`);
    console.log(
      `documents: ${e.customers.length} customers + ${e.pools.length} pools (each: ${ctx.gpu_types.get('H100')!.reserved.length} offers' curves, ` +
        `stability, risk levels, 3-day guard, current cost; pools: aggregation and showback); ` +
        `${recommended.toLocaleString('en-US')} GPUs recommended to customers, pools' aggregation saving $${fmt(saving)}`,
    );
    console.log(`hours/s counts customer-hours (${customerHours.toLocaleString('en-US')}); pools add ${(pools * HOURS).toLocaleString('en-US')} pool-hours on top.`);
    console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB; load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    if (inMemory.best > 1000 || endToEnd.best > 10_000) process.exitCode = 1;
  } finally {
    await db.destroy();
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
