// Bulk inserts of usage rows: `INSERT … SELECT * FROM unnest($1::bigint[], …)`, one statement per chunk, a few
// bind parameters however many rows (a multi-row VALUES list stops at 65 535 parameters). Plain inserts: a
// row that is already there is an error, so these fill new data (the demo seed), they do not merge.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;

/** Rows per statement: large enough to amortise the round trip, small enough to bound memory. */
export const BULK_CHUNK_ROWS = 20_000;

export interface HourlyGpuUsageRow {
  customer_id: number;
  gpu_type_id: number;
  hour: Date;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
  samples: number;
}

export interface TokenUsageRow {
  customer_id: number;
  record_key: string;
  ts: Date;
  model: string;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

export interface HourlyTokenUsageRow {
  customer_id: number;
  model: string;
  hour: Date;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

type OnChunk = (rowsWritten: number) => void;

/** Runs insert on consecutive chunks of rows; returns how many rows were written. */
async function inChunks<T>(rows: readonly T[], insert: (chunk: readonly T[]) => Promise<unknown>, onChunk?: OnChunk): Promise<number> {
  for (let i = 0; i < rows.length; i += BULK_CHUNK_ROWS) {
    const chunk = rows.slice(i, i + BULK_CHUNK_ROWS);
    await insert(chunk);
    onChunk?.(chunk.length);
  }
  return rows.length;
}

// Timestamps go as ISO strings: unambiguous whatever the session's or the process's time zone.
const iso = (d: Date) => d.toISOString();

export function insertHourlyGpuUsage(db: Handle, rows: readonly HourlyGpuUsageRow[], onChunk?: OnChunk): Promise<number> {
  return inChunks(rows, (c) => sql`
    INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples)
    SELECT * FROM unnest(
      ${c.map((r) => r.customer_id)}::bigint[], ${c.map((r) => r.gpu_type_id)}::bigint[], ${c.map((r) => iso(r.hour))}::timestamptz[],
      ${c.map((r) => r.allocated_gpu_seconds)}::float8[], ${c.map((r) => r.busy_gpu_seconds)}::float8[], ${c.map((r) => r.samples)}::int[])
  `.execute(db), onChunk);
}

export function insertTokenUsage(db: Handle, rows: readonly TokenUsageRow[], onChunk?: OnChunk): Promise<number> {
  return inChunks(rows, (c) => sql`
    INSERT INTO token_usage (customer_id, record_key, ts, model, input_tokens, cached_input_tokens, cache_write_input_tokens,
                             output_tokens, requests)
    SELECT * FROM unnest(
      ${c.map((r) => r.customer_id)}::bigint[], ${c.map((r) => r.record_key)}::text[], ${c.map((r) => iso(r.ts))}::timestamptz[],
      ${c.map((r) => r.model)}::text[], ${c.map((r) => r.input_tokens)}::bigint[], ${c.map((r) => r.cached_input_tokens)}::bigint[],
      ${c.map((r) => r.cache_write_input_tokens)}::bigint[], ${c.map((r) => r.output_tokens)}::bigint[], ${c.map((r) => r.requests)}::bigint[])
  `.execute(db), onChunk);
}

export function insertHourlyTokenUsage(db: Handle, rows: readonly HourlyTokenUsageRow[], onChunk?: OnChunk): Promise<number> {
  return inChunks(rows, (c) => sql`
    INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens,
                                    output_tokens, requests)
    SELECT * FROM unnest(
      ${c.map((r) => r.customer_id)}::bigint[], ${c.map((r) => r.model)}::text[], ${c.map((r) => iso(r.hour))}::timestamptz[],
      ${c.map((r) => r.input_tokens)}::bigint[], ${c.map((r) => r.cached_input_tokens)}::bigint[],
      ${c.map((r) => r.cache_write_input_tokens)}::bigint[], ${c.map((r) => r.output_tokens)}::bigint[], ${c.map((r) => r.requests)}::bigint[])
  `.execute(db), onChunk);
}
