// Token usage: COPY → staging → upsert on (customer_id, record_key), and the hourly rollup re-summed in SQL
// for exactly the (customer, model, hour) keys a run touched.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { copyFromText } from './ingestion-copy.js';

type Handle = Kysely<Database>;

/** Serialises transactions that write token usage or its rollup (see lockGpuSamples for why). */
export async function lockTokenUsage(trx: Handle): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('breakeven:token-usage'))`.execute(trx);
}

/** lockTokenUsage's lock held shared: waits for a running token writer, keeps new ones waiting until the end. */
export async function holdOffTokenWriters(trx: Handle): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock_shared(hashtext('breakeven:token-usage'))`.execute(trx);
}

const STAGE = 'ingest_token_usage_stage';

/** Columns of a staged usage row, in COPY order; seq is the row's position, so the last of equal keys wins a replace. */
export const TOKEN_COPY_COLUMNS = [
  'seq', 'customer_id', 'record_key', 'ts', 'model', 'input_tokens', 'cached_input_tokens', 'cache_write_input_tokens', 'output_tokens', 'requests',
] as const;

export interface TouchedTokenHour {
  customerId: number;
  model: string;
  hour: Date;
}

/**
 * COPYs rows into a staging table and upserts them on the natural key. `ignore` keeps the row already there;
 * `replace` overwrites it when anything differs (a re-pulled bucket that grew), and the hour it used to be in
 * is touched as well. Returns the rows written and the hours they touched.
 */
export async function copyAndUpsertTokenUsage(
  trx: Handle,
  copyText: string[],
  opts: { sourceId: number | null; onConflict: 'ignore' | 'replace' },
): Promise<{ staged: number; written: number; touched: TouchedTokenHour[] }> {
  await sql`
    CREATE TEMP TABLE IF NOT EXISTS ${sql.raw(STAGE)} (
      seq bigint, customer_id bigint, record_key text, ts timestamptz, model text, input_tokens bigint,
      cached_input_tokens bigint, cache_write_input_tokens bigint, output_tokens bigint, requests bigint
    ) ON COMMIT DROP`.execute(trx);
  await sql`TRUNCATE ${sql.raw(STAGE)}`.execute(trx);
  const staged = await copyFromText(trx, `COPY ${STAGE} (${TOKEN_COPY_COLUMNS.join(', ')}) FROM STDIN`, copyText);
  const touched: TouchedTokenHour[] = [];
  const hourly = (rows: { customer_id: number; model: string; hour: Date }[]) =>
    rows.forEach((r) => touched.push({ customerId: r.customer_id, model: r.model, hour: r.hour }));

  if (opts.onConflict === 'replace') {
    // The hours the rows being replaced are in now: a replaced row may move to another hour or model.
    const before = await sql<{ customer_id: number; model: string; hour: Date }>`
      SELECT DISTINCT t.customer_id, t.model, date_trunc('hour', t.ts, 'UTC') AS hour
      FROM token_usage t JOIN ${sql.raw(STAGE)} s ON s.customer_id = t.customer_id AND s.record_key = t.record_key`.execute(trx);
    hourly(before.rows);
  }
  const source = sql`${opts.sourceId}::bigint`;
  const conflict =
    opts.onConflict === 'ignore'
      ? sql`DO NOTHING`
      : sql`DO UPDATE SET ts = EXCLUDED.ts, model = EXCLUDED.model, input_tokens = EXCLUDED.input_tokens,
              cached_input_tokens = EXCLUDED.cached_input_tokens, cache_write_input_tokens = EXCLUDED.cache_write_input_tokens,
              output_tokens = EXCLUDED.output_tokens, requests = EXCLUDED.requests, source_id = EXCLUDED.source_id
            WHERE (token_usage.ts, token_usage.model, token_usage.input_tokens, token_usage.cached_input_tokens,
                   token_usage.cache_write_input_tokens, token_usage.output_tokens, token_usage.requests)
              IS DISTINCT FROM (EXCLUDED.ts, EXCLUDED.model, EXCLUDED.input_tokens, EXCLUDED.cached_input_tokens,
                   EXCLUDED.cache_write_input_tokens, EXCLUDED.output_tokens, EXCLUDED.requests)`;
  // DO UPDATE may not touch a row twice in one statement: of equal keys in one batch, the last one stands.
  const rows =
    opts.onConflict === 'ignore'
      ? sql`SELECT * FROM ${sql.raw(STAGE)} ORDER BY seq`
      : sql`SELECT DISTINCT ON (customer_id, record_key) * FROM ${sql.raw(STAGE)} ORDER BY customer_id, record_key, seq DESC`;
  const { rows: written } = await sql<{ customer_id: number; model: string; hour: Date; rows: number }>`
    WITH src AS (${rows}),
    ins AS (
      INSERT INTO token_usage (customer_id, record_key, ts, model, input_tokens, cached_input_tokens, cache_write_input_tokens,
                               output_tokens, requests, source_id)
      SELECT customer_id, record_key, ts, model, input_tokens, cached_input_tokens, cache_write_input_tokens,
             output_tokens, requests, ${source}
      FROM src
      ON CONFLICT (customer_id, record_key) ${conflict}
      RETURNING customer_id, model, ts
    )
    SELECT customer_id, model, date_trunc('hour', ts, 'UTC') AS hour, count(*)::int AS rows FROM ins GROUP BY 1, 2, 3`.execute(trx);
  hourly(written);
  return { staged, written: written.reduce((n, r) => n + r.rows, 0), touched };
}

/** Re-sums hourly_token_usage from token_usage for exactly these keys; a key with no rows left loses its row. */
export async function recomputeTokenHours(trx: Handle, keys: readonly { customerId: number; model: string; hour: number }[]): Promise<number> {
  if (keys.length === 0) return 0;
  const c = keys.map((k) => k.customerId);
  const m = keys.map((k) => k.model);
  const h = keys.map((k) => new Date(k.hour).toISOString());
  await sql`
    DELETE FROM hourly_token_usage u
    USING unnest(${c}::bigint[], ${m}::text[], ${h}::timestamptz[]) AS k(customer_id, model, hour)
    WHERE u.customer_id = k.customer_id AND u.model = k.model AND u.hour = k.hour`.execute(trx);
  await sql`
    INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens,
                                    output_tokens, requests)
    SELECT k.customer_id, k.model, k.hour, sum(t.input_tokens), sum(t.cached_input_tokens), sum(t.cache_write_input_tokens),
           sum(t.output_tokens), sum(t.requests)
    FROM (SELECT DISTINCT * FROM unnest(${c}::bigint[], ${m}::text[], ${h}::timestamptz[]) AS k(customer_id, model, hour)) k
    JOIN token_usage t ON t.customer_id = k.customer_id AND t.model = k.model
                      AND t.ts >= k.hour AND t.ts < k.hour + interval '1 hour'
    GROUP BY 1, 2, 3`.execute(trx);
  return new Set(keys.map((k) => `${k.customerId}\u0000${k.model}\u0000${k.hour}`)).size;
}
