import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { listPriceBooks } from '../../db/queries/price-books.js';
import { DEMO_CUSTOMERS } from '../../seeds/demo-usage.js';
import { SeedError, isDatabaseEmpty, seedDemo, type SeedSummary } from '../../seeds/demo.js';
import { freshDatabase } from '../support/database.js';

const END = new Date('2026-11-28T00:00:00Z');
const DAY = 86_400_000;

// Every stored column except the ones the database fills with now().
const DUMPS: Record<string, string> = {
  pools: 'SELECT id, name FROM pools',
  customers: 'SELECT id, slug, name, pool_id, owner_email FROM customers',
  gpu_types: 'SELECT * FROM gpu_types',
  gpu_type_aliases: 'SELECT * FROM gpu_type_aliases',
  price_books: 'SELECT id, name, effective_from, effective_to, document FROM price_books',
  offers: 'SELECT * FROM offers',
  capacity_profiles: 'SELECT * FROM capacity_profiles',
  reservations: 'SELECT id, customer_id, pool_id, gpu_type_id, provider, gpus, usd_per_gpu_hour, starts_at, ends_at, note FROM reservations',
  hourly_gpu_usage: 'SELECT * FROM hourly_gpu_usage',
  token_usage: 'SELECT * FROM token_usage',
  hourly_token_usage: 'SELECT * FROM hourly_token_usage',
};

/** table → md5 of its rows as text, in a fixed order. */
async function digest(db: Db): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, query] of Object.entries(DUMPS)) {
    const { rows } = await sql<{ md5: string; n: number }>`
      SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) AS md5, count(*) AS n FROM (${sql.raw(query)}) t`.execute(db);
    out[table] = `${rows[0].n}:${rows[0].md5}`;
  }
  return out;
}

async function scalar<T>(db: Db, query: ReturnType<typeof sql<{ v: T }>>): Promise<T> {
  const { rows } = await query.execute(db);
  return rows[0].v;
}

describe('seedDemo', () => {
  let first: Db;
  let second: Db;
  let other: Db;
  let summary: SeedSummary;

  beforeAll(async () => {
    [first, second, other] = (await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()])).map((d) => d.db);
  });

  it('fills 90 days into an empty database', async () => {
    expect(await isDatabaseEmpty(first)).toBe(true);
    const progress: [number, number][] = [];
    const started = performance.now();
    summary = await seedDemo(first, { days: 90, seed: 1, end: END, onProgress: (done, total) => progress.push([done, total]) });
    console.log(`seedDemo: 90 days, ${summary.token_rows} token rows ×2, ${summary.gpu_rollup_rows} GPU rollup rows in ${((performance.now() - started) / 1000).toFixed(2)} s`);

    expect(await isDatabaseEmpty(first)).toBe(false);
    const telemetryCustomers = DEMO_CUSTOMERS.filter((c) => c.telemetry).length;
    expect(telemetryCustomers).toBe(7);
    expect(summary).toMatchObject({
      customers: 12, pools: 2, gpu_types: 3, hours: 2160, reservations: 4, seed: 1,
      from: '2026-08-30T00:00:00.000Z', to: '2026-11-28T00:00:00.000Z',
      // Seven telemetry customers every hour, less globex's 30-hour collector outage and wayne's five missed hours.
      gpu_rollup_rows: 7 * 2160 - 30 - 5,
    });
    expect(summary.token_rows).toBeGreaterThan(30_000);
    expect(progress.at(-1)).toEqual([summary.gpu_rollup_rows + 2 * summary.token_rows, summary.gpu_rollup_rows + 2 * summary.token_rows]);
    expect(progress.map(([done]) => done)).toEqual([...progress.map(([done]) => done)].sort((a, b) => a - b));
  });

  it('stores what the summary says', async () => {
    const counts = await digest(first);
    const n = (table: string) => Number(counts[table].split(':')[0]);
    expect(n('customers')).toBe(12);
    expect(n('pools')).toBe(2);
    expect(n('reservations')).toBe(4);
    expect(n('hourly_gpu_usage')).toBe(summary.gpu_rollup_rows);
    expect(n('token_usage')).toBe(summary.token_rows);
    expect(n('hourly_token_usage')).toBe(summary.token_rows);
    expect(n('offers')).toBe(26);
    expect(n('capacity_profiles')).toBe(12);

    const pools = await sql<{ pool: string; members: string[] }>`
      SELECT p.name AS pool, array_agg(c.slug ORDER BY c.slug) AS members FROM pools p JOIN customers c ON c.pool_id = p.id
      GROUP BY p.name ORDER BY p.name`.execute(first);
    expect(pools.rows).toEqual([
      { pool: 'batch-a100', members: ['initech', 'oceanic'] },
      { pool: 'shared-h100', members: ['acme', 'globex', 'umbrella', 'vandelay'] },
    ]);
    const books = await listPriceBooks(first);
    expect(books).toEqual([expect.objectContaining({ id: summary.price_book_id, name: 'default-2026', effective_to: null })]);
    const models = await sql<{ model: string }>`SELECT DISTINCT model FROM hourly_token_usage ORDER BY model`.execute(first);
    expect(models.rows.map((r) => r.model)).toEqual(['gpt-oss-120b', 'llama-3.1-70b', 'llama-3.1-8b', 'llama-3.3-70b']);
    const types = await sql<{ name: string }>`
      SELECT DISTINCT g.name FROM hourly_gpu_usage u JOIN gpu_types g ON g.id = u.gpu_type_id ORDER BY g.name`.execute(first);
    expect(types.rows.map((r) => r.name)).toEqual(['A100-80GB', 'H100', 'L40S']);
    const alias = await sql<{ name: string }>`
      SELECT g.name FROM gpu_type_aliases a JOIN gpu_types g ON g.id = a.gpu_type_id WHERE a.alias = 'nvidia a100-sxm4-80gb'`.execute(first);
    expect(alias.rows).toEqual([{ name: 'A100-80GB' }]);
  });

  it('keeps the invariants of the data', async () => {
    expect(await scalar(first, sql<{ v: number }>`
      SELECT count(*) AS v FROM token_usage WHERE cached_input_tokens + cache_write_input_tokens > input_tokens
        OR cache_write_input_tokens > cached_input_tokens OR output_tokens <= 0 OR requests < 1`)).toBe(0);
    expect(await scalar(first, sql<{ v: number }>`
      SELECT count(*) AS v FROM hourly_gpu_usage WHERE busy_gpu_seconds > allocated_gpu_seconds OR busy_gpu_seconds <= 0
        OR allocated_gpu_seconds::numeric % 3600 <> 0 OR samples <> allocated_gpu_seconds / 60`)).toBe(0);
    const cachedShare = await scalar(first, sql<{ v: number }>`SELECT sum(cached_input_tokens)::float8 / sum(input_tokens) AS v FROM token_usage`);
    expect(cachedShare).toBeGreaterThan(0.1);
    expect(cachedShare).toBeLessThan(0.6);

    // The hourly rollup holds the same sums as the rows.
    expect(await scalar(first, sql<{ v: number }>`
      SELECT count(*) AS v FROM (
        (SELECT customer_id, model, date_trunc('hour', ts) AS hour, sum(input_tokens), sum(cached_input_tokens),
                sum(cache_write_input_tokens), sum(output_tokens), sum(requests)
         FROM token_usage GROUP BY 1, 2, 3
         EXCEPT SELECT customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests
         FROM hourly_token_usage)
        UNION ALL
        (SELECT customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests
         FROM hourly_token_usage
         EXCEPT SELECT customer_id, model, date_trunc('hour', ts), sum(input_tokens), sum(cached_input_tokens),
                sum(cache_write_input_tokens), sum(output_tokens), sum(requests)
         FROM token_usage GROUP BY 1, 2, 3)) d`)).toBe(0);
    expect(await scalar(first, sql<{ v: number }>`
      SELECT count(*) AS v FROM token_usage t JOIN customers c ON c.id = t.customer_id
      WHERE t.record_key <> 'seed:' || c.slug || ':' || t.model || ':' || to_char(t.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`)).toBe(0);

    // Everything lies in the window, on hour boundaries.
    const span = await sql<{ lo: Date; hi: Date }>`
      SELECT min(hour) AS lo, max(hour) AS hi FROM (SELECT hour FROM hourly_gpu_usage UNION ALL SELECT hour FROM hourly_token_usage) h`.execute(first);
    expect(span.rows[0].lo.toISOString()).toBe(summary.from);
    expect(span.rows[0].hi.getTime()).toBe(END.getTime() - 3_600_000);

    // Every customer has data; telemetry customers have GPU rows, token-only ones none.
    const perCustomer = await sql<{ slug: string; gpu_hours: number; token_hours: number }>`
      SELECT c.slug,
             (SELECT count(*) FROM hourly_gpu_usage u WHERE u.customer_id = c.id) AS gpu_hours,
             (SELECT count(DISTINCT hour) FROM hourly_token_usage u WHERE u.customer_id = c.id) AS token_hours
      FROM customers c ORDER BY c.id`.execute(first);
    for (const row of perCustomer.rows) {
      const customer = DEMO_CUSTOMERS.find((c) => c.slug === row.slug)!;
      expect(row.token_hours, row.slug).toBeGreaterThan(0);
      if (customer.telemetry) expect(row.gpu_hours, row.slug).toBeGreaterThan(2000);
      else expect(row.gpu_hours, row.slug).toBe(0);
    }
    const byslug = Object.fromEntries(perCustomer.rows.map((r) => [r.slug, r]));
    expect(byslug.globex.gpu_hours).toBe(2160 - 30);
    expect(byslug.globex.token_hours).toBe(2160);
    expect(byslug.tyrell.token_hours).toBe(2160 - 48);
    expect(byslug['pied-piper'].token_hours).toBeLessThan(2000);
    expect(byslug.wonka.token_hours).toBe(2160);
  });

  it('gives the shapes their character', async () => {
    // Weekday business hours against weekend for globex; Sunday batch for oceanic; growth for umbrella.
    const busy = async (slug: string, where: string) => scalar(first, sql<{ v: number }>`
      SELECT avg(busy_gpu_seconds / 3600) AS v FROM hourly_gpu_usage u JOIN customers c ON c.id = u.customer_id
      WHERE c.slug = ${slug} AND ${sql.raw(where)}`);
    expect(await busy('globex', "extract(isodow from hour - interval '5 hours') <= 5 AND extract(hour from hour - interval '5 hours') BETWEEN 10 AND 16"))
      .toBeGreaterThan(10 * (await busy('globex', "extract(isodow from hour - interval '5 hours') >= 6")));
    expect(await busy('umbrella', `hour >= '${new Date(END.getTime() - 7 * DAY).toISOString()}'`))
      .toBeGreaterThan(5 * (await busy('umbrella', `hour < '${new Date(END.getTime() - 83 * DAY).toISOString()}'`)));
    expect(await busy('initech', 'extract(hour from hour) BETWEEN 1 AND 4')).toBeGreaterThan(10);
    expect(await busy('initech', 'extract(hour from hour) BETWEEN 6 AND 23')).toBeLessThan(0.2);
  });

  it('has a reservation ending within 30 days of the end and one already ended', async () => {
    const rows = await sql<{ scope: string; gpu_type: string; gpus: number; starts_at: Date; ends_at: Date; usd_per_gpu_hour: number }>`
      SELECT coalesce(c.slug, p.name) AS scope, g.name AS gpu_type, r.gpus, r.starts_at, r.ends_at, r.usd_per_gpu_hour
      FROM reservations r LEFT JOIN customers c ON c.id = r.customer_id LEFT JOIN pools p ON p.id = r.pool_id
      JOIN gpu_types g ON g.id = r.gpu_type_id ORDER BY r.id`.execute(first);
    const endsSoon = rows.rows.filter((r) => r.ends_at > END && r.ends_at.getTime() <= END.getTime() + 30 * DAY);
    const ended = rows.rows.filter((r) => r.ends_at <= END);
    expect(endsSoon.length).toBeGreaterThanOrEqual(1);
    expect(ended.length).toBeGreaterThanOrEqual(1);
    expect(rows.rows.some((r) => r.scope === 'shared-h100')).toBe(true);
    expect(rows.rows.some((r) => r.scope === 'wonka')).toBe(true);
    // Rates are the price book's.
    const rates = await scalar(first, sql<{ v: number }>`
      SELECT count(*) AS v FROM reservations r WHERE NOT EXISTS (
        SELECT 1 FROM offers o WHERE o.kind = 'reserved' AND o.provider = r.provider AND o.gpu_type_id = r.gpu_type_id
          AND o.usd_per_gpu_hour = r.usd_per_gpu_hour)`);
    expect(rates).toBe(0);
  });

  it('gives identical data for the same seed and end, and different data for another seed', async () => {
    await Promise.all([seedDemo(second, { days: 90, seed: 1, end: END }), seedDemo(other, { days: 90, seed: 2, end: END })]);
    const [a, b, c] = await Promise.all([digest(first), digest(second), digest(other)]);
    expect(b).toEqual(a);
    // Another seed: the same customers, prices and reservations, other usage.
    for (const table of ['pools', 'customers', 'offers', 'capacity_profiles', 'reservations']) expect(c[table], table).toBe(a[table]);
    for (const table of ['hourly_gpu_usage', 'token_usage', 'hourly_token_usage']) expect(c[table], table).not.toBe(a[table]);
  });

  it('refuses a database that has customers, changing nothing', async () => {
    const before = await digest(first);
    await expect(seedDemo(first, { end: END })).rejects.toThrow(SeedError);
    await expect(seedDemo(first, { end: END })).rejects.toThrow(/already has customers/);
    expect(await digest(first)).toEqual(before);
  });

  it('refuses bad options', async () => {
    await expect(seedDemo(first, { end: new Date('2026-11-28T00:30:00Z') })).rejects.toThrow(/hour boundary/);
    await expect(seedDemo(first, { end: END, days: 0 })).rejects.toThrow(/days must be/);
    await expect(seedDemo(first, { end: END, days: 1.5 })).rejects.toThrow(/days must be/);
  });
});
