// The packed days (decision 033) against the hourly rollups they copy: whatever writes the hourly tables — an
// insert across midnight, an upsert, a delete of one hour or of a whole day, a customer's deletion, TRUNCATE —
// the engine's reader (which reads only the packed days) returns exactly the hourly rows of its window, value
// for value. The expectation is read from the hourly tables with plain SQL, independently of the packing.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { loadHourlyDemandInputs } from '../../db/queries/demand-inputs.js';
import { freshDatabase } from '../support/database.js';

const HOUR_MS = 3_600_000;
let db: Db;
let acme: number;
let globex: number;
let h100: number;

const at = (iso: string) => new Date(iso);

/** The window's hourly rows as the reader returns them, one sorted line per row. */
async function readerRows(from: Date, to: Date): Promise<string[]> {
  const inputs = await loadHourlyDemandInputs(db, { from, to });
  const lines: string[] = [];
  for (const [customer, byType] of inputs.telemetry) {
    for (const [type, t] of byType) {
      for (let k = 0; k < t.length; k++) {
        const i = t.rows[k];
        lines.push(`gpu ${customer} ${type} ${new Date(t.epoch_hour[i] * HOUR_MS).toISOString()} ${t.allocated_gpu_seconds[i]} ${t.busy_gpu_seconds[i]}`);
      }
    }
  }
  for (const [customer, t] of inputs.tokens) {
    for (let k = 0; k < t.length; k++) {
      const i = t.rows[k];
      lines.push(
        `tok ${customer} ${t.models[t.model[i]]} ${new Date(t.epoch_hour[i] * HOUR_MS).toISOString()} ` +
          `${t.input_tokens[i]} ${t.cached_input_tokens[i]} ${t.cache_write_input_tokens[i]} ${t.output_tokens[i]}`,
      );
    }
  }
  expect(lines.length).toBe(inputs.rows.telemetry + inputs.rows.tokens);
  return lines.sort();
}

/** The same rows straight from the hourly tables. */
async function hourlyRows(from: Date, to: Date): Promise<string[]> {
  const gpu = await sql<{ line: string }>`
    SELECT format('gpu %s %s %s %s %s', customer_id, gpu_type_id, to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"'),
                  allocated_gpu_seconds, busy_gpu_seconds) AS line
    FROM hourly_gpu_usage WHERE hour >= ${from} AND hour < ${to}`.execute(db);
  const tok = await sql<{ line: string }>`
    SELECT format('tok %s %s %s %s %s %s %s', customer_id, model, to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"'),
                  input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens) AS line
    FROM hourly_token_usage WHERE hour >= ${from} AND hour < ${to}`.execute(db);
  return [...gpu.rows, ...tok.rows].map((r) => r.line).sort();
}

async function expectSame(from = at('2026-11-01T00:00:00Z'), to = at('2026-11-05T00:00:00Z')): Promise<string[]> {
  const expected = await hourlyRows(from, to);
  expect(await readerRows(from, to)).toEqual(expected);
  return expected;
}

const packedDays = async () =>
  (await sql<{ n: number }>`SELECT (SELECT count(*) FROM daily_gpu_usage) + (SELECT count(*) FROM daily_token_usage) AS n`.execute(db)).rows[0].n;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  const c = await sql<{ id: number }>`INSERT INTO customers (slug, name) VALUES ('acme', 'Acme'), ('globex', 'Globex') RETURNING id`.execute(db);
  [acme, globex] = c.rows.map((r) => Number(r.id));
  h100 = Number((await sql<{ id: number }>`INSERT INTO gpu_types (name) VALUES ('PACK-H100') RETURNING id`.execute(db)).rows[0].id);
});

describe('packed days follow the hourly rollups', () => {
  it('after one insert across midnight, of both customers', async () => {
    // 22:00, 23:00 on the 1st and 00:00 on the 2nd: two days of acme, one hour of globex. Values with fractions
    // and a token count above 2^32, so the bytes carry every bit.
    await sql`
      INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples) VALUES
        (${acme}, ${h100}, '2026-11-01T22:00:00Z', 7200, 3600.125, 240),
        (${acme}, ${h100}, '2026-11-01T23:00:00Z', 7200, 7199.5, 240),
        (${acme}, ${h100}, '2026-11-02T00:00:00Z', 3600, 0.1, 120),
        (${globex}, ${h100}, '2026-11-02T05:00:00Z', 14400, 14000, 480)`.execute(db);
    await sql`
      INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests) VALUES
        (${acme}, 'llama-3.1-8b', '2026-11-01T23:00:00Z', 5000000000, 1000, 10, 400, 3),
        (${acme}, 'gpt-oss-120b', '2026-11-01T23:00:00Z', 900, 0, 0, 80, 1),
        (${acme}, 'llama-3.1-8b', '2026-11-02T00:00:00Z', 700, 100, 0, 60, 2)`.execute(db);
    expect(await expectSame()).toHaveLength(7);
    // acme: H100 on two days, 8b on two days, 120b on one; globex: H100 on one day.
    expect(await packedDays()).toBe(6);
  });

  it('after an upsert changes an hour and adds one', async () => {
    await sql`
      INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples) VALUES
        (${acme}, ${h100}, '2026-11-01T23:00:00Z', 10800, 10000.25, 360),
        (${acme}, ${h100}, '2026-11-01T03:00:00Z', 3600, 1800, 120)
      ON CONFLICT (customer_id, gpu_type_id, hour) DO UPDATE
      SET allocated_gpu_seconds = EXCLUDED.allocated_gpu_seconds, busy_gpu_seconds = EXCLUDED.busy_gpu_seconds`.execute(db);
    await sql`UPDATE hourly_token_usage SET output_tokens = output_tokens + 5 WHERE model = 'gpt-oss-120b'`.execute(db);
    const rows = await expectSame();
    expect(rows).toContain(`gpu ${acme} ${h100} 2026-11-01T23:00:00.000Z 10800 10000.25`);
    expect(rows).toContain(`tok ${acme} gpt-oss-120b 2026-11-01T23:00:00.000Z 900 0 0 85`);
  });

  it('after an update that moves an hour to another day', async () => {
    await sql`UPDATE hourly_gpu_usage SET hour = '2026-11-03T01:00:00Z' WHERE customer_id = ${globex}`.execute(db);
    await expectSame();
    expect(await packedDays()).toBe(6);
  });

  it('after deleting one hour, then every hour of a day', async () => {
    await sql`DELETE FROM hourly_gpu_usage WHERE customer_id = ${acme} AND hour = '2026-11-01T22:00:00Z'`.execute(db);
    await expectSame();
    expect(await packedDays()).toBe(6);
    await sql`DELETE FROM hourly_token_usage WHERE model = 'gpt-oss-120b'`.execute(db);
    await expectSame();
    expect(await packedDays()).toBe(5);
  });

  it('reads only the hours of a window that cuts days', async () => {
    const rows = await expectSame(at('2026-11-01T23:00:00Z'), at('2026-11-02T00:00:00Z'));
    // acme's H100 hour and its 8b hour at 23:00; not 03:00, not midnight.
    expect(rows).toHaveLength(2);
  });

  it('after a customer is deleted (the rollups go by cascade)', async () => {
    await sql`DELETE FROM customers WHERE id = ${globex}`.execute(db);
    await expectSame();
    expect(await packedDays()).toBe(4);
  });

  it('after TRUNCATE, and packed again in one pass by the rebuild functions', async () => {
    await sql`INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests)
              VALUES (${acme}, 'llama-3.3-70b', '2026-11-04T10:00:00Z', 10, 0, 0, 1, 1)`.execute(db);
    const before = await expectSame();
    await sql`TRUNCATE hourly_gpu_usage, hourly_token_usage`.execute(db);
    expect(await packedDays()).toBe(0);
    await expectSame();

    // A bulk load with triggers off (as the benchmark's generators load), then one rebuild.
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await sql`INSERT INTO hourly_token_usage (customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests)
                VALUES (${acme}, 'llama-3.3-70b', '2026-11-04T10:00:00Z', 10, 0, 0, 1, 1), (${acme}, 'llama-3.3-70b', '2026-11-04T11:00:00Z', 20, 0, 0, 2, 1)`.execute(trx);
    });
    expect(await packedDays()).toBe(0);
    await sql`SELECT rebuild_daily_gpu_usage(), rebuild_daily_token_usage()`.execute(db);
    expect(await expectSame()).toHaveLength(2);
    expect(before.length).toBeGreaterThan(0);
  });
});
