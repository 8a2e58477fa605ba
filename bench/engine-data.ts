// The benchmark's synthetic data: 1,000 customers × 90 days of hourly demand, pools of 10, one GPU type with
// 3 reserved offers. Deterministic (no random source), generated inside PostgreSQL.
import { sql } from 'kysely';
import type { Db } from '../db/client.js';
import { importPriceBookDocument } from '../db/queries/price-books.js';

export const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
export const DAYS = Number(process.env.BENCH_DAYS ?? 90);
export const POOL_SIZE = 10;
export const FROM = new Date('2026-08-01T00:00:00Z');
export const TO = new Date(FROM.getTime() + DAYS * 24 * 3_600_000);
export const HOURS = DAYS * 24;

export const BOOK = {
  name: 'bench',
  effective_from: '2026-01-01T00:00:00Z',
  gpu_types: [{ name: 'H100', target_utilization: 0.8 }],
  offers: [
    { kind: 'on_demand', provider: 'alpha', gpu_type: 'H100', usd_per_gpu_hour: 3.49 },
    { kind: 'on_demand', provider: 'beta', gpu_type: 'H100', usd_per_gpu_hour: 3.19 },
    { kind: 'reserved', provider: 'alpha', gpu_type: 'H100', term_days: 30, block_size: 8, usd_per_gpu_hour: 2.69 },
    { kind: 'reserved', provider: 'alpha', gpu_type: 'H100', term_days: 365, block_size: 8, usd_per_gpu_hour: 2.19 },
    { kind: 'reserved', provider: 'beta', gpu_type: 'H100', term_days: 90, block_size: 1, usd_per_gpu_hour: 2.49 },
    { kind: 'api', provider: 'alpha', model: 'large', usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44, usd_per_mtok_output: 0.88 },
    { kind: 'api', provider: 'beta', model: 'large', usd_per_mtok_input: 0.6, usd_per_mtok_output: 1.2 },
    { kind: 'api', provider: 'alpha', model: 'small', usd_per_mtok_input: 0.18, usd_per_mtok_output: 0.18 },
    { kind: 'api', provider: 'beta', model: 'small', usd_per_mtok_input: 0.1, usd_per_mtok_output: 0.25 },
  ],
  capacity_profiles: [
    { model: 'large', gpu_type: 'H100', input_tokens_per_gpu_second: 9000, output_tokens_per_gpu_second: 750 },
    { model: 'small', gpu_type: 'H100', input_tokens_per_gpu_second: 60000, output_tokens_per_gpu_second: 5000 },
  ],
};

/**
 * Deterministic synthetic demand, generated in SQL and stored hour by hour (customers interleaved, as ingestion
 * appends them): customer c wants base(c) = 1 + c mod 20 busy GPUs with a
 * daily cycle and noise; 60 % report GPU telemetry (H100), all report tokens of two models every hour, sized so
 * a token-only customer's profile-derived demand is of the same order as its load.
 */
export async function generate(pool: Db): Promise<void> {
  // One connection: the bulk-load settings below are per session.
  await pool.connection().execute((db) => fill(db));
}

async function fill(db: Db): Promise<void> {
  const imported = await importPriceBookDocument(db, BOOK);
  if (!imported.ok) throw new Error(JSON.stringify(imported.problems));
  const pools = Math.ceil(CUSTOMERS / POOL_SIZE);
  await sql`INSERT INTO pools (name) SELECT 'pool-' || lpad(i::text, 4, '0') FROM generate_series(1, ${pools}::int) i`.execute(db);
  await sql`
    INSERT INTO customers (slug, name, pool_id)
    SELECT 'c-' || lpad(i::text, 5, '0'), 'Customer ' || i, (SELECT id FROM pools WHERE name = 'pool-' || lpad(((i - 1) / ${POOL_SIZE}::int + 1)::text, 4, '0'))
    FROM generate_series(1, ${CUSTOMERS}::int) i`.execute(db);
  // Bulk load, the usual way: no per-row foreign-key triggers (the ids come from the tables just filled), and
  // the rollups' indexes built once afterwards rather than updated row by row. The schema ends as migrated.
  await sql`SET session_replication_role = replica`.execute(db);
  await sql`SET maintenance_work_mem = '512MB'`.execute(db);
  await sql`ALTER TABLE hourly_gpu_usage DROP CONSTRAINT hourly_gpu_usage_pkey`.execute(db);
  await sql`DROP INDEX hourly_gpu_usage_hour`.execute(db);
  await sql`ALTER TABLE hourly_token_usage DROP CONSTRAINT hourly_token_usage_pkey`.execute(db);
  await sql`DROP INDEX hourly_token_usage_hour`.execute(db);
  const hours = sql`generate_series(0, ${HOURS - 1}::int)`;
  const load = sql`(1 + c.id % 20) * (1 + 0.35 * sin(2 * pi() * (h + c.id % 24) / 24)) * (0.85 + 0.3 * ((c.id * 7919 + h * 104729) % 1000) / 1000.0)`;
  await sql`
    INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples)
    SELECT c.id, g.id, ${FROM.toISOString()}::timestamptz + h * interval '1 hour',
           ceil((1 + c.id % 20) * 1.6) * 3600, least(ceil((1 + c.id % 20) * 1.6) * 3600, ${load} * 3600), 60
    FROM customers c, ${hours} h, gpu_types g
    WHERE g.name = 'H100' AND c.id % 10 < 6
    ORDER BY h, c.id`.execute(db);
  // Per model, tokens for share × load GPU-hours at the profile: output = s / (k·(1−cached)/in + 1/out), input = k·output.
  await sql`
    INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests)
    SELECT c.id, m.model, ${FROM.toISOString()}::timestamptz + h * interval '1 hour',
           round(m.k * o.output), round(m.k * o.output * 0.3), round(m.k * o.output * 0.02), round(o.output), 1 + round(o.output / 200)
    FROM customers c, ${hours} h,
         (VALUES ('large', 0.7, 4.0, 9000.0, 750.0), ('small', 0.3, 12.0, 60000.0, 5000.0)) AS m(model, share, k, in_tps, out_tps),
         LATERAL (SELECT ${load} * 3600 * m.share / (m.k * 0.68 / m.in_tps + 1 / m.out_tps) AS output) o
    ORDER BY h, c.id, m.model`.execute(db);
  await sql`ALTER TABLE hourly_gpu_usage ADD PRIMARY KEY (customer_id, gpu_type_id, hour)`.execute(db);
  await sql`CREATE INDEX hourly_gpu_usage_hour ON hourly_gpu_usage (hour)`.execute(db);
  await sql`ALTER TABLE hourly_token_usage ADD PRIMARY KEY (customer_id, model, hour)`.execute(db);
  await sql`CREATE INDEX hourly_token_usage_hour ON hourly_token_usage (hour)`.execute(db);
  // The replica role also kept the packed days' triggers quiet: the days are packed in one pass instead.
  await sql`SELECT rebuild_daily_gpu_usage(), rebuild_daily_token_usage()`.execute(db);
  await sql`SET session_replication_role = DEFAULT`.execute(db);
  // Reservations: every pool holds 8 GPUs for the year; every 7th customer holds 8 of its own.
  await sql`
    INSERT INTO reservations (pool_id, gpu_type_id, provider, gpus, usd_per_gpu_hour, starts_at, ends_at)
    SELECT p.id, g.id, 'alpha', 8, 2.19, '2026-01-01', '2027-01-01' FROM pools p, gpu_types g WHERE g.name = 'H100'`.execute(db);
  await sql`
    INSERT INTO reservations (customer_id, gpu_type_id, provider, gpus, usd_per_gpu_hour, starts_at, ends_at)
    SELECT c.id, g.id, 'alpha', 8, 2.69, '2026-07-15', '2026-09-15' FROM customers c, gpu_types g WHERE g.name = 'H100' AND c.id % 7 = 0`.execute(db);
  await sql`VACUUM ANALYZE`.execute(db);
}

