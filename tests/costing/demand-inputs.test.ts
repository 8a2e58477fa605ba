// loadHourlyDemandInputs against rows stored the way ingestion stores them (customers interleaved hour by
// hour, more rows per customer than one placement block): every row comes back once, to its customer.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { loadHourlyDemandInputs } from '../../db/queries/demand-inputs.js';
import { freshDatabase } from '../support/database.js';
import { addCustomer } from './helpers.js';

const FROM = new Date('2026-01-01T00:00:00Z');
const HOURS = 700; // more than the 256-row blocks rows are placed in
const TO = new Date(FROM.getTime() + HOURS * 3_600_000);

let db: Db;
let ids: number[];
let h100: number;
let a100: number;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  ids = [await addCustomer(db, 'one'), await addCustomer(db, 'two'), await addCustomer(db, 'three')];
  h100 = (await db.insertInto('gpu_types').values({ name: 'H100' }).returning('id').executeTakeFirstOrThrow()).id;
  a100 = (await db.insertInto('gpu_types').values({ name: 'A100-80GB' }).returning('id').executeTakeFirstOrThrow()).id;
  // Hour-major, customers interleaved; customer "two" on two GPU types; "three" has tokens only.
  await sql`
    INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples)
    SELECT c, t, ${FROM.toISOString()}::timestamptz + h * interval '1 hour', 3600 * (1 + c % 3), (h % 7) * 100 + c + t / 10.0, 60
    FROM generate_series(0, ${HOURS - 1}::int) h,
         (VALUES (${ids[0]}::bigint, ${h100}::bigint), (${ids[1]}, ${h100}), (${ids[1]}, ${a100})) AS x(c, t)
    ORDER BY h, c, t`.execute(db);
  await sql`
    INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests)
    SELECT c, m, ${FROM.toISOString()}::timestamptz + h * interval '1 hour', 1000 * h + c, h, 1, 7 * h + length(m), 2
    FROM generate_series(0, ${HOURS - 1}::int) h, unnest(${ids}::bigint[]) c, unnest(array['small', 'large-é']) m
    ORDER BY h, c, m`.execute(db);
  // One count past 2^32: the count columns switch to 64-bit floats.
  await sql`UPDATE hourly_token_usage SET input_tokens = 6000000000 WHERE customer_id = ${ids[2]} AND model = 'small' AND hour = ${FROM.toISOString()}::timestamptz`.execute(db);
});

/** Σ over a customer's rows of each column, read back through the columns. */
function tokenSums(c: any) {
  const s = { rows: c.length, input: 0, cached: 0, write: 0, output: 0, hours: 0, models: new Set<string>() };
  for (let k = 0; k < c.length; k++) {
    const i = c.rows[k];
    s.input += c.input_tokens[i];
    s.cached += c.cached_input_tokens[i];
    s.write += c.cache_write_input_tokens[i];
    s.output += c.output_tokens[i];
    s.hours += c.epoch_hour[i];
    s.models.add(c.models[c.model[i]]);
  }
  return s;
}

describe('loadHourlyDemandInputs', () => {
  it('returns every row once, to its customer and GPU type', async () => {
    const loaded = await loadHourlyDemandInputs(db, { from: FROM, to: TO });
    expect(loaded.rows).toEqual({ telemetry: 3 * HOURS, tokens: 6 * HOURS });

    const expected = await sql<{ customer_id: number; gpu_type_id: number; n: number; allocated: number; busy: number; hours: number }>`
      SELECT customer_id, gpu_type_id, count(*)::int AS n, sum(allocated_gpu_seconds) AS allocated, sum(busy_gpu_seconds) AS busy,
             sum(extract(epoch FROM hour) / 3600)::float8 AS hours
      FROM hourly_gpu_usage GROUP BY 1, 2`.execute(db);
    for (const e of expected.rows) {
      const c = loaded.telemetry.get(e.customer_id)!.get(e.gpu_type_id)!;
      let allocated = 0;
      let busy = 0;
      let hours = 0;
      for (let k = 0; k < c.length; k++) {
        const i = c.rows[k];
        allocated += c.allocated_gpu_seconds[i];
        busy += c.busy_gpu_seconds[i];
        hours += c.epoch_hour[i];
      }
      expect([c.length, allocated, hours]).toEqual([e.n, e.allocated, e.hours]);
      expect(busy).toBeCloseTo(e.busy, 6);
    }
    expect(loaded.telemetry.has(ids[2])).toBe(false);

    const tokens = await sql<{ customer_id: number; n: number; input: number; cached: number; write: number; output: number; requests: number; hours: number }>`
      SELECT customer_id, count(*)::int AS n, sum(input_tokens)::float8 AS input, sum(cached_input_tokens)::float8 AS cached,
             sum(cache_write_input_tokens)::float8 AS write, sum(output_tokens)::float8 AS output, sum(requests)::float8 AS requests,
             sum(extract(epoch FROM hour) / 3600)::float8 AS hours
      FROM hourly_token_usage GROUP BY 1`.execute(db);
    for (const e of tokens.rows) {
      const c = loaded.tokens.get(e.customer_id)!;
      const s = tokenSums(c);
      expect({ rows: s.rows, input: s.input, cached: s.cached, write: s.write, output: s.output, hours: s.hours }).toEqual({
        rows: e.n, input: e.input, cached: e.cached, write: e.write, output: e.output, hours: e.hours,
      });
      expect(c.requests).toBe(e.requests);
      expect([...s.models].sort()).toEqual(['large-é', 'small']);
    }
    expect(loaded.tokens.get(ids[0])!.input_tokens).toBeInstanceOf(Float64Array); // one count needed 64 bits
  });

  it('reads only the customers and GPU type asked for', async () => {
    const loaded = await loadHourlyDemandInputs(db, { from: FROM, to: new Date(FROM.getTime() + 10 * 3_600_000), customerIds: [ids[1]], gpuTypeId: a100 });
    expect([...loaded.telemetry.keys()]).toEqual([ids[1]]);
    expect([...loaded.telemetry.get(ids[1])!.keys()]).toEqual([a100]);
    expect(loaded.telemetry.get(ids[1])!.get(a100)!.length).toBe(10);
    expect([...loaded.tokens.keys()]).toEqual([ids[1]]);
    expect(loaded.tokens.get(ids[1])!.length).toBe(20);
    expect(loaded.tokens.get(ids[1])!.input_tokens).toBeInstanceOf(Uint32Array);
  });

  it('serves more concurrent callers than the pool has connections', async () => {
    // Each read holds one connection while it takes a second; twelve at once on this file's pool of five
    // would each hold one and wait for another (the pool gives up after 10 s) unless the paired reads are bounded.
    const window = { from: FROM, to: new Date(FROM.getTime() + 24 * 3_600_000) };
    const all = await Promise.all(Array.from({ length: 12 }, () => loadHourlyDemandInputs(db, window)));
    // 24 hours × 3 telemetry series; 24 hours × 3 customers × 2 models of tokens.
    for (const loaded of all) expect(loaded.rows).toEqual({ telemetry: 24 * 3, tokens: 24 * 3 * 2 });
  });
});
