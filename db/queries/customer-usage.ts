// One customer's rollups for its page: tokens by model (per UTC day and in total) and measured GPU time per
// hour of one GPU type. Both read the hourly rollups through their primary keys (customer first).
import { sql } from 'kysely';
import type { Db } from '../client.js';

export interface ModelDay {
  day: string;
  model: string;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

/** Token usage of a customer per UTC day and model in [from, to). */
export async function customerTokensByDay(db: Db, customerId: number, from: Date, to: Date): Promise<ModelDay[]> {
  const { rows } = await sql<ModelDay>`
    SELECT to_char(date_trunc('day', hour AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, model,
           sum(input_tokens)::bigint AS input_tokens, sum(cached_input_tokens)::bigint AS cached_input_tokens,
           sum(cache_write_input_tokens)::bigint AS cache_write_input_tokens, sum(output_tokens)::bigint AS output_tokens,
           sum(requests)::bigint AS requests
    FROM hourly_token_usage
    WHERE customer_id = ${customerId} AND hour >= ${from.toISOString()}::timestamptz AND hour < ${to.toISOString()}::timestamptz
    GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
  return rows;
}

export interface GpuHour {
  hour: Date;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
}

/** Measured GPU time of a customer on one GPU type, hour by hour, in [from, to). */
export async function customerGpuHours(db: Db, customerId: number, gpuTypeId: number, from: Date, to: Date): Promise<GpuHour[]> {
  return db
    .selectFrom('hourly_gpu_usage')
    .select(['hour', 'allocated_gpu_seconds', 'busy_gpu_seconds'])
    .where('customer_id', '=', customerId)
    .where('gpu_type_id', '=', gpuTypeId)
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .orderBy('hour')
    .execute();
}
