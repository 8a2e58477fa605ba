// The page benchmark's data: a year of hourly rollups for 1,000 customers on 3 GPU types, in pools of 10 that share
// a type, with a price book for the three types and two models. Deterministic (no random source), generated inside
// PostgreSQL with set-based INSERT … SELECT (the rows never cross the wire).
import { sql } from 'kysely';
import type { Db } from '../db/client.js';
import { importPriceBookDocument } from '../db/queries/price-books.js';

export const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
export const DAYS = Number(process.env.BENCH_DAYS ?? 365);
export const POOL_SIZE = 10;
export const END = new Date('2026-11-28T00:00:00Z');
export const FROM = new Date(END.getTime() - DAYS * 86_400_000);
export const TYPES = ['H100', 'A100-80GB', 'L40S'] as const;

const gpuOffers = (type: string, onDemand: number, reserved: [number, number, number], block: number) => [
  { kind: 'on_demand', provider: 'alpha', gpu_type: type, usd_per_gpu_hour: onDemand },
  { kind: 'on_demand', provider: 'beta', gpu_type: type, usd_per_gpu_hour: Math.round(onDemand * 92) / 100 },
  { kind: 'reserved', provider: 'alpha', gpu_type: type, term_days: 30, block_size: block, usd_per_gpu_hour: reserved[0] },
  { kind: 'reserved', provider: 'alpha', gpu_type: type, term_days: 365, block_size: block, usd_per_gpu_hour: reserved[1] },
  { kind: 'reserved', provider: 'beta', gpu_type: type, term_days: 90, block_size: 1, usd_per_gpu_hour: reserved[2] },
];

const profiles = (type: string, scale: number) => [
  { model: 'large', gpu_type: type, input_tokens_per_gpu_second: 9000 * scale, output_tokens_per_gpu_second: 750 * scale },
  { model: 'small', gpu_type: type, input_tokens_per_gpu_second: 60000 * scale, output_tokens_per_gpu_second: 5000 * scale },
];

export const BOOK = {
  name: 'bench-pages',
  effective_from: '2025-01-01T00:00:00Z',
  gpu_types: TYPES.map((name) => ({ name, target_utilization: 0.8 })),
  offers: [
    ...gpuOffers('H100', 3.49, [2.69, 2.19, 2.49], 8),
    ...gpuOffers('A100-80GB', 1.89, [1.49, 1.19, 1.39], 8),
    ...gpuOffers('L40S', 1.19, [0.95, 0.75, 0.89], 4),
    { kind: 'api', provider: 'alpha', model: 'large', usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44, usd_per_mtok_output: 0.88 },
    { kind: 'api', provider: 'beta', model: 'large', usd_per_mtok_input: 0.6, usd_per_mtok_output: 1.2 },
    { kind: 'api', provider: 'alpha', model: 'small', usd_per_mtok_input: 0.18, usd_per_mtok_output: 0.18 },
    { kind: 'api', provider: 'beta', model: 'small', usd_per_mtok_input: 0.1, usd_per_mtok_output: 0.25 },
  ],
  capacity_profiles: [...profiles('H100', 1), ...profiles('A100-80GB', 0.47), ...profiles('L40S', 0.3)],
};

/**
 * Customer c (1-based) is in pool ⌈c/10⌉, whose GPU type is TYPES[pool mod 3]; it wants base(c) = 1 + c mod 20 busy
 * GPUs with a daily cycle and deterministic noise; 60 % report telemetry, all report tokens of two models every hour,
 * sized so that token-derived demand is of the same order as the load. Every pool holds a reservation.
 */
export async function generate(
  db: Db,
  log: (line: string) => void = () => {},
  size: { customers: number; days: number } = { customers: CUSTOMERS, days: DAYS },
): Promise<{ gpuRows: number; tokenRows: number }> {
  const imported = await importPriceBookDocument(db, BOOK);
  if (!imported.ok) throw new Error(JSON.stringify(imported.problems));
  const pools = Math.ceil(size.customers / POOL_SIZE);
  const hours = size.days * 24;
  const from = new Date(END.getTime() - size.days * 86_400_000).toISOString();
  await sql`INSERT INTO pools (name) SELECT 'pool-' || lpad(i::text, 4, '0') FROM generate_series(1, ${pools}::int) i`.execute(db);
  await sql`
    INSERT INTO customers (slug, name, pool_id)
    SELECT 'c-' || lpad(i::text, 5, '0'), 'Customer ' || i,
           (SELECT id FROM pools WHERE name = 'pool-' || lpad(((i - 1) / ${POOL_SIZE}::int + 1)::text, 4, '0'))
    FROM generate_series(1, ${size.customers}::int) i`.execute(db);
  // Each customer's GPU type: its pool's.
  await sql`CREATE TEMP TABLE bench_customer_type AS
    SELECT c.id, g.id AS gpu_type_id FROM customers c
    JOIN gpu_types g ON g.name = (ARRAY[${TYPES[0]}, ${TYPES[1]}, ${TYPES[2]}])[((c.pool_id - 1) % 3) + 1]`.execute(db);
  await sql`SET session_replication_role = replica`.execute(db);
  // Keys and indexes are built once at the end, in one sort each, rather than row by row: several times faster
  // for tens of millions of rows. The same names and definitions as the migration's.
  await sql`
    ALTER TABLE hourly_gpu_usage DROP CONSTRAINT hourly_gpu_usage_pkey;
    ALTER TABLE hourly_token_usage DROP CONSTRAINT hourly_token_usage_pkey;
    DROP INDEX hourly_gpu_usage_hour;
    DROP INDEX hourly_token_usage_hour;`.execute(db);
  const load = sql`(1 + c.id % 20) * (1 + 0.35 * sin(2 * pi() * (h + c.id % 24) / 24)) * (0.85 + 0.3 * ((c.id * 7919 + h * 104729) % 1000) / 1000.0)`;
  // In slices of 30 days, so progress shows and no statement holds everything.
  let gpuRows = 0;
  let tokenRows = 0;
  for (let start = 0; start < hours; start += 720) {
    const end = Math.min(hours, start + 720);
    const series = sql`generate_series(${start}::int, ${end - 1}::int)`;
    const g = await sql`
      INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples)
      SELECT c.id, t.gpu_type_id, ${from}::timestamptz + h * interval '1 hour',
             ceil((1 + c.id % 20) * 1.6) * 3600, least(ceil((1 + c.id % 20) * 1.6) * 3600, ${load} * 3600), 60
      FROM customers c JOIN bench_customer_type t ON t.id = c.id, ${series} h
      WHERE c.id % 10 < 6`.execute(db);
    const k = await sql`
      INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests)
      SELECT c.id, m.model, ${from}::timestamptz + h * interval '1 hour',
             round(m.k * o.output), round(m.k * o.output * 0.3), round(m.k * o.output * 0.02), round(o.output), 1 + round(o.output / 200)
      FROM customers c, ${series} h,
           (VALUES ('large', 0.7, 4.0, 9000.0, 750.0), ('small', 0.3, 12.0, 60000.0, 5000.0)) AS m(model, share, k, in_tps, out_tps),
           LATERAL (SELECT ${load} * 3600 * m.share / (m.k * 0.68 / m.in_tps + 1 / m.out_tps) AS output) o`.execute(db);
    gpuRows += Number(g.numAffectedRows ?? 0);
    tokenRows += Number(k.numAffectedRows ?? 0);
    log(`  generated days ${start / 24}–${end / 24} of ${size.days}: ${gpuRows.toLocaleString('en-US')} GPU + ${tokenRows.toLocaleString('en-US')} token rows`);
  }
  log('  building keys and indexes…');
  await sql`SET maintenance_work_mem = '1GB'`.execute(db);
  await sql`
    ALTER TABLE hourly_gpu_usage ADD PRIMARY KEY (customer_id, gpu_type_id, hour);
    ALTER TABLE hourly_token_usage ADD PRIMARY KEY (customer_id, model, hour);
    CREATE INDEX hourly_gpu_usage_hour ON hourly_gpu_usage (hour);
    CREATE INDEX hourly_token_usage_hour ON hourly_token_usage (hour);`.execute(db);
  // The replica role also kept the packed days' triggers quiet: the days are packed in one pass instead.
  await sql`SELECT rebuild_daily_gpu_usage(), rebuild_daily_token_usage()`.execute(db);
  await sql`SET session_replication_role = DEFAULT`.execute(db);
  // Every pool holds 8 GPUs of its type for the whole year; one pool in ten renews within the month.
  await sql`
    INSERT INTO reservations (pool_id, gpu_type_id, provider, gpus, usd_per_gpu_hour, starts_at, ends_at)
    SELECT p.id, g.id, 'alpha', 8, CASE g.name WHEN 'H100' THEN 2.19 WHEN 'A100-80GB' THEN 1.19 ELSE 0.75 END,
           ${from}::timestamptz, ${END.toISOString()}::timestamptz + CASE WHEN p.id % 10 = 0 THEN interval '20 days' ELSE interval '200 days' END
    FROM pools p JOIN gpu_types g ON g.name = (ARRAY[${TYPES[0]}, ${TYPES[1]}, ${TYPES[2]}])[((p.id - 1) % 3) + 1]`.execute(db);
  await sql`VACUUM ANALYZE`.execute(db);
  return { gpuRows, tokenRows };
}
