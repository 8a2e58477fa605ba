import { sql } from 'kysely';
import type { Db } from '../client.js';

export interface FleetSummary {
  customers: number;
  pools: number;
  gpuHours: number;
  busyGpuHours: number;
  inputTokens: number;
  outputTokens: number;
  requests: number;
  /** First and last hour with any data (inclusive start of the last hour), null when there is none. */
  from: Date | null;
  to: Date | null;
}

/** Counts and totals over every hourly rollup: what the database holds and the period it covers. */
export async function fleetSummary(db: Db): Promise<FleetSummary> {
  const { rows } = await sql<FleetSummary>`
    WITH gpu AS (
      SELECT coalesce(sum(allocated_gpu_seconds), 0) / 3600 AS gpu_hours,
             coalesce(sum(busy_gpu_seconds), 0) / 3600 AS busy_gpu_hours,
             min(hour) AS first_hour, max(hour) AS last_hour
      FROM hourly_gpu_usage),
    tokens AS (
      SELECT coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
             coalesce(sum(requests), 0) AS requests, min(hour) AS first_hour, max(hour) AS last_hour
      FROM hourly_token_usage)
    SELECT (SELECT count(*) FROM customers) AS "customers",
           (SELECT count(*) FROM pools) AS "pools",
           gpu.gpu_hours AS "gpuHours", gpu.busy_gpu_hours AS "busyGpuHours",
           tokens.input_tokens::bigint AS "inputTokens", tokens.output_tokens::bigint AS "outputTokens",
           tokens.requests::bigint AS "requests",
           least(gpu.first_hour, tokens.first_hour) AS "from",
           greatest(gpu.last_hour, tokens.last_hour) AS "to"
    FROM gpu, tokens`.execute(db);
  return rows[0];
}
