// costs.csv and focus.csv evaluate their period pool by pool, from one sequential read of the rollups spilled to
// bucket files (app/services/exports/fleet-stream.server.ts, db/queries/rollups-by-pool.ts), so that memory
// holds one pool, not the fleet. Their files must be the very bytes one evaluation of the whole fleet gives:
// on the demo (a pool sharing a reservation, a pool whose reservation ended, a customer's own reservation,
// token-only customers, customers alone) and on the benchmark's fleet (pools of ten on three GPU types, each with
// a reservation, 40 % of customers token-only) over a period that needs two buckets.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateWindow } from '../../app/services/costing.server.js';
import { loadFleet } from '../../app/services/dashboard/fleet.server.js';
import { csvChunks, type CsvExport } from '../../app/services/exports/csv.server.js';
import { focusExport } from '../../app/services/exports/focus.server.js';
import { costsExport, type ExportPeriod } from '../../app/services/exports/tables.server.js';
import { generate, END } from '../../bench/pages-data.js';
import type { Db } from '../../db/client.js';
import { listScopeCustomers } from '../../db/queries/costing-scopes.js';
import { rollupsByPool } from '../../db/queries/rollups-by-pool.js';
import { seedDemo } from '../../seeds/demo.js';
import { freshDatabase } from '../support/database.js';

async function body(file: CsvExport): Promise<string> {
  let out = '';
  for await (const chunk of csvChunks(file)) out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return out;
}

const periodOf = (from: string, to: string): ExportPeriod => ({ from: new Date(`${from}T00:00:00Z`), to: new Date(`${to}T00:00:00Z`), fromParam: from, toParam: to });

/** The same files from pool-by-pool evaluation as from one evaluation of the whole fleet. */
async function expectSameFiles(db: Db, period: ExportPeriod): Promise<{ costs: string; focus: string }> {
  const window = { from: period.from, to: period.to };
  // Nothing cached yet for this period: costs.csv streams too.
  const costs = await body(await costsExport(db, period));
  const focus = await body(await focusExport(db, period));
  const whole = async function* () {
    yield await evaluateWindow(db, { ...window, overflow: 'on_demand' });
  };
  expect(focus === (await body(await focusExport(db, period, whole))), 'focus.csv: pool by pool = the whole fleet at once').toBe(true);
  // Once the dashboard holds the period, costs.csv reads its evaluation of the whole fleet instead.
  await loadFleet(db, window);
  expect(costs === (await body(await costsExport(db, period))), 'costs.csv: pool by pool = the dashboard’s evaluation').toBe(true);
  return { costs, focus };
}

/** Every rollup row of the window once, each pool's members in one group. */
async function expectEveryRowOnce(db: Db, window: { from: Date; to: Date }): Promise<number> {
  const customers = await listScopeCustomers(db);
  const poolOf = new Map(customers.map((c) => [c.id, c.pool_id]));
  const { rows } = await sql<{ n: number }>`
    SELECT ((SELECT count(*) FROM hourly_gpu_usage WHERE hour >= ${window.from} AND hour < ${window.to})
          + (SELECT count(*) FROM hourly_token_usage WHERE hour >= ${window.from} AND hour < ${window.to}))::int AS n`.execute(db);
  let seen = 0;
  const customersSeen = new Set<number>();
  const poolsSeen = new Set<number>();
  for await (const group of rollupsByPool(db, window, customers)) {
    if (group.poolId !== null) {
      expect(poolsSeen.has(group.poolId), `pool ${group.poolId} in one group`).toBe(false);
      poolsSeen.add(group.poolId);
    } else expect(group.customers.size).toBe(1);
    for (const [id, c] of group.customers) {
      expect(poolOf.get(id)).toBe(group.poolId);
      expect(customersSeen.has(id)).toBe(false);
      customersSeen.add(id);
      seen += c.tokens?.length ?? 0;
      for (const t of c.telemetry.values()) seen += t.length;
    }
  }
  expect(seen).toBe(rows[0].n);
  return customersSeen.size;
}

describe('pool-by-pool exports, on the demo', () => {
  let db: Db;
  beforeAll(async () => {
    db = (await freshDatabase()).db;
    await seedDemo(db, { days: 35, seed: 1, end: new Date('2026-11-28T00:00:00Z') });
  }, 180_000);

  it('read every rollup once, a pool’s members together', async () => {
    expect(await expectEveryRowOnce(db, { from: new Date('2026-10-24T00:00:00Z'), to: new Date('2026-11-28T00:00:00Z') })).toBe(12);
  });

  it('write the bytes one evaluation of the whole fleet gives, with shared and own reservations and token-only customers', async () => {
    const { focus } = await expectSameFiles(db, periodOf('2026-10-29', '2026-11-28'));
    // The cases the grouping must keep: a pool's shared purchase, a customer's own, and API usage.
    expect(focus).toContain(',Pool,');
    expect(focus).toMatch(/,Purchase,.*,wonka,/);
    expect(focus).toContain('1000000 Tokens');
  });
});

describe('pool-by-pool exports, on the benchmark’s fleet', () => {
  let db: Db;
  // 40 customers × 120 days = 115,200 customer-hours: two buckets of 100,000 at most.
  const days = 120;
  beforeAll(async () => {
    db = (await freshDatabase()).db;
    await generate(db, () => {}, { customers: 40, days });
  }, 180_000);

  it('read every rollup once, in two buckets', async () => {
    expect(await expectEveryRowOnce(db, { from: new Date(END.getTime() - days * 86_400_000), to: END })).toBe(40);
  });

  it('write the bytes one evaluation of the whole fleet gives', async () => {
    const from = new Date(END.getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const { costs, focus } = await expectSameFiles(db, periodOf(from, END.toISOString().slice(0, 10)));
    // 40 customers × 120 days × their scenarios; four pools' reservations with their members' usage.
    expect(costs.split('\r\n').length).toBeGreaterThan(40 * days * 3);
    expect(new Set(focus.match(/reservation-\d+/g)).size).toBe(4);
  }, 180_000);
});
