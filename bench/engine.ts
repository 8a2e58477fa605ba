// `npm run bench:engine`: recommendations for 1,000 customers × 90 days of hourly demand × 3 reserved offers,
// plus pools of 10, computed (1) in memory from data already loaded and (2) end to end from PostgreSQL (read the
// rollups, prices and reservations, compute every customer's and pool's document). A bare `SELECT count(*)` of
// the same rollups, in the same process and database, is the baseline. Targets: (1) ≤ 1 s, (2) ≤ 10 s.
//
// Starts its own throwaway PostgreSQL in a temporary folder; nothing else is touched. `npm run bench` runs
// measureEngine on its own data at three sizes.
import { sql } from 'kysely';
import type { Db } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import { listScopeCustomers, listScopePools } from '../db/queries/costing-scopes.js';
import { loadHourlyDemandInputs } from '../db/queries/demand-inputs.js';
import { reservationsMeeting } from '../db/queries/reservations.js';
import { evaluateAll, SeriesCache } from '../app/services/costing/evaluate.js';
import { customerInputs, evaluateWindow, loadPriceContext } from '../app/services/costing.server.js';
import { createDb } from '../db/client.js';
import { CUSTOMERS, DAYS, FROM, generate, HOURS, POOL_SIZE, TO } from './engine-data.js';
import { benchPostgres, fmt, isMain, load, machine, repeat, time, type Timing } from './lib.js';
import { peakRssMb } from '../server/peak-memory.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

export const ENGINE_TARGETS = { inMemoryMs: 1000, endToEndMs: 10_000 };

export interface EngineFigures {
  baseline: Timing<unknown>;
  inMemory: Timing<unknown>;
  documentsOnly: Timing<unknown>;
  load: Timing<unknown>;
  endToEnd: Timing<unknown>;
  customers: number;
  pools: number;
  /** Customer-hours of the window. */
  customerHours: number;
  offers: number;
  recommendedGpus: number;
  aggregationSavingUsd: number;
}

/** Every customer's and pool's recommendation for the window, in memory and end to end; runs: timed repeats. */
export async function measureEngine(db: Db, window: { from: Date; to: Date }, runs = RUNS): Promise<EngineFigures> {
  // Baseline: a bare scan of the same rollups.
  const baseline = await repeat(async () => {
    await sql`SELECT count(*) FROM hourly_gpu_usage WHERE hour >= ${window.from} AND hour < ${window.to}`.execute(db);
    await sql`SELECT count(*) FROM hourly_token_usage WHERE hour >= ${window.from} AND hour < ${window.to}`.execute(db);
  }, runs);

  // Loaded once for the in-memory pass.
  const [ctx, scopeCustomers, scopePools, inputs, reservationRows] = await Promise.all([
    loadPriceContext(db, window),
    listScopeCustomers(db),
    listScopePools(db),
    loadHourlyDemandInputs(db, window),
    reservationsMeeting(db, window),
  ]);
  const customers = customerInputs(scopeCustomers, inputs);
  const reservations = reservationRows.map((r) => ({ ...r }));
  const inMemory = await repeat(() => evaluateAll(ctx, customers, scopePools, reservations, { overflow: 'on_demand' }), runs);
  // The same with every customer's hourly demand already computed: documents alone.
  const warm = new SeriesCache(ctx);
  evaluateAll(ctx, customers, scopePools, reservations, { overflow: 'on_demand', cache: warm });
  const documentsOnly = await repeat(() => evaluateAll(ctx, customers, scopePools, reservations, { overflow: 'on_demand', cache: warm }), runs);
  const loadOnly = await repeat(() => loadHourlyDemandInputs(db, window), runs);
  const endToEnd = await repeat(() => evaluateWindow(db, { ...window, overflow: 'on_demand' }), runs);

  const e = endToEnd.value as Awaited<ReturnType<typeof evaluateWindow>>;
  // At least one document per customer and pool (one per GPU type they can be costed on).
  if (e.customers.length < scopeCustomers.length || e.pools.length < scopePools.length || e.skipped.length) {
    throw new Error(
      `expected documents for ${scopeCustomers.length} customers and ${scopePools.length} pools, got ${e.customers.length} and ${e.pools.length} (${e.skipped.length} skipped)`,
    );
  }
  const hours = Math.round((window.to.getTime() - window.from.getTime()) / 3_600_000);
  return {
    baseline,
    inMemory,
    documentsOnly,
    load: loadOnly,
    endToEnd,
    customers: e.customers.length,
    pools: e.pools.length,
    customerHours: scopeCustomers.length * hours,
    offers: Math.max(...[...ctx.gpu_types.values()].map((t) => t.reserved.length)),
    recommendedGpus: e.customers.reduce((s, r) => s + (r.document.best?.gpus ?? 0), 0),
    aggregationSavingUsd: e.pools.reduce((s, r) => s + (r.document.aggregation?.saving_usd ?? 0), 0),
  };
}

async function main(): Promise<void> {
  const pg = await benchPostgres('bench-engine');
  const db = createDb(pg.server.url, 4);
  try {
    await migrateToLatest(db);
    const generated = await time(() => generate(db));
    const counts = await sql<{ gpu: number; tokens: number; telemetry_customers: number }>`
      SELECT (SELECT count(*) FROM hourly_gpu_usage)::int AS gpu, (SELECT count(*) FROM hourly_token_usage)::int AS tokens,
             (SELECT count(DISTINCT customer_id) FROM hourly_gpu_usage)::int AS telemetry_customers`.execute(db);
    const { gpu, tokens, telemetry_customers: telemetryCustomers } = counts.rows[0];
    const seconds = (ms: number) => `${fmt(ms / 1000, 3)} s`;
    console.log(`Breakeven engine benchmark (${machine()})`);
    console.log(
      `data: ${CUSTOMERS} customers (${telemetryCustomers} with GPU telemetry, all with 2 models of tokens), ${Math.ceil(CUSTOMERS / POOL_SIZE)} pools of ${POOL_SIZE}, ` +
        `${HOURS} hours (${DAYS} days), 1 GPU type × 3 reserved offers; rollups: ${gpu.toLocaleString('en-US')} GPU + ` +
        `${tokens.toLocaleString('en-US')} token rows (generated in ${seconds(generated.ms)})`,
    );
    console.log(`runs: best and median of ${RUNS}, after one warm-up; load average before: ${load()}\n`);
    const f = await measureEngine(db, { from: FROM, to: TO });
    const perSecond = (ms: number) => `${fmt(f.customerHours / (ms / 1000) / 1e6, 2)} M hours/s`;
    const row = (label: string, r: Timing<unknown>, extra = '') =>
      console.log(
        `${label.padEnd(44)} best ${seconds(r.best).padStart(9)}  median ${seconds(r.median).padStart(9)}  ` +
          `${perSecond(r.best).padStart(16)}  node CPU ${seconds(r.cpu).padStart(9)}${extra}`,
      );
    row('baseline: SELECT count(*) of the rollups', f.baseline);
    row('in-memory pass (rollups loaded)', f.inMemory, f.inMemory.best <= ENGINE_TARGETS.inMemoryMs ? '   target ≤ 1 s: met' : '   target ≤ 1 s: MISSED');
    row('  of which: documents from demand series', f.documentsOnly);
    row('  of which: load rollups alone (binary COPY)', f.load);
    row('end-to-end from PostgreSQL', f.endToEnd, f.endToEnd.best <= ENGINE_TARGETS.endToEndMs ? '   target ≤ 10 s: met' : '   target ≤ 10 s: MISSED');
    console.log(`\nend-to-end / bare scan: ${fmt(f.endToEnd.best / f.baseline.best, 1)}×`);
    console.log(
      `documents: ${f.customers} customers + ${f.pools} pools (each: ${f.offers} offers' curves, stability, risk levels, 3-day guard, ` +
        `current cost; pools: aggregation and showback); ${f.recommendedGpus.toLocaleString('en-US')} GPUs recommended to customers, ` +
        `pools' aggregation saving $${fmt(f.aggregationSavingUsd)}`,
    );
    console.log(`hours/s counts customer-hours (${f.customerHours.toLocaleString('en-US')}); pools add ${(f.pools * HOURS).toLocaleString('en-US')} pool-hours on top.`);
    console.log(`peak RSS ${Math.round(peakRssMb())} MB; load average after: ${load()}`);
    if (f.inMemory.best > ENGINE_TARGETS.inMemoryMs || f.endToEnd.best > ENGINE_TARGETS.endToEndMs) process.exitCode = 1;
  } finally {
    await db.destroy();
    await pg.stop();
  }
}

if (isMain(import.meta.url)) await main();
