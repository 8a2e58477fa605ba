// The demo seed: `recommend --json` for demo customers and a pool returns a valid document whose totals equal
// an independent recomputation from the rollups in the database and the bundled price book.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { costSummaryForAllCustomers, dailyCostByScenario } from '../../app/services/costing.server.js';
import { freshDatabase } from '../support/database.js';
import { root } from '../support/cli.js';
import { cliJson, expectClose, expectDesignShape } from './helpers.js';
import { currentCost, recompute, scenarios, type Book, type Recomputed } from './recompute.js';

// Every test runs the real CLI in a child process, which is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

const FROM = '2026-10-01T00:00:00Z';
const TO = '2026-11-01T00:00:00Z';
const HOURS = 744;
const fromMs = Date.parse(FROM);

let db: Db;
let env: Record<string, string>;
let book: Book;

beforeAll(async () => {
  const fresh = await freshDatabase();
  db = fresh.db;
  env = { DATABASE_URL: fresh.url };
  await cliJson(env, ['seed', 'demo', '--end', '2026-11-28', '--json']);
  book = JSON.parse(await readFile(path.join(root, 'seeds/default-price-book.json'), 'utf8'));
}, 120_000);

/** A customer's demand and API cost recomputed from its rollups in the window. */
async function recomputeCustomer(slug: string, gpuType: string): Promise<Recomputed> {
  const c = await db.selectFrom('customers').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
  const telemetry = await db
    .selectFrom('hourly_gpu_usage as u')
    .innerJoin('gpu_types as g', 'g.id', 'u.gpu_type_id')
    .select(['u.hour', 'u.allocated_gpu_seconds', 'u.busy_gpu_seconds'])
    .where('u.customer_id', '=', c.id)
    .where('g.name', '=', gpuType)
    .where('u.hour', '>=', new Date(FROM))
    .where('u.hour', '<', new Date(TO))
    .execute();
  const tokens = await db
    .selectFrom('hourly_token_usage')
    .selectAll()
    .where('customer_id', '=', c.id)
    .where('hour', '>=', new Date(FROM))
    .where('hour', '<', new Date(TO))
    .execute();
  return recompute({
    fromMs,
    hours: HOURS,
    gpuType,
    book,
    telemetry: telemetry.map((t) => ({ hour: t.hour.getTime(), allocated: t.allocated_gpu_seconds, busy: t.busy_gpu_seconds })),
    tokens: tokens.map((t) => ({ ...t, hour: t.hour.getTime() })),
  });
}

async function reservationsOf(scope: { customer: string } | { pool: string }) {
  let q = db.selectFrom('reservations as r').innerJoin('gpu_types as g', 'g.id', 'r.gpu_type_id').select(['r.gpus', 'r.usd_per_gpu_hour', 'r.starts_at', 'r.ends_at', 'g.name']);
  q = 'customer' in scope
    ? q.innerJoin('customers as c', 'c.id', 'r.customer_id').where('c.slug', '=', scope.customer)
    : q.innerJoin('pools as p', 'p.id', 'r.pool_id').where('p.name', '=', scope.pool);
  return q.execute();
}

function expectMatches(doc: any, x: Omit<Recomputed, 'demand' | 'api' | 'gaps'>, demand: number[]): void {
  expectDesignShape(doc);
  expect(doc.hours).toBe(HOURS);
  expectClose(doc.demand.mean_gpus, demand.reduce((s, d) => s + d, 0) / HOURS, 'mean');
  expectClose(doc.demand.peak_gpus, Math.max(...demand), 'peak');
  expectClose(doc.all_api_usd, x.allApi, 'all API');
  expectClose(doc.all_on_demand_usd, x.allOnDemand, 'all on-demand');
  expectClose(doc.best.cost_usd, x.best.cost, 'best cost');
  const offer = x.offers.find((o) => o.provider === doc.best.provider && o.term_days === doc.best.term_days)!;
  expect(doc.best.gpus).toBe(offer.best.gpus);
  doc.curve.forEach((p: any, i: number) => expectClose(p.cost_usd, offer.curve[i].cost, `curve[${i}]`));
  expectClose(doc.savings_vs_api_usd, x.allApi - x.best.cost, 'vs API');
  expectClose(doc.savings_vs_on_demand_usd, x.allOnDemand - x.best.cost, 'vs on-demand');
}

describe('recommend on the demo seed', () => {
  it('globex: its 30-hour telemetry gap is filled from its tokens', async () => {
    const doc = await cliJson(env, ['recommend', '--customer', 'globex', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json']);
    const x = await recomputeCustomer('globex', 'H100');
    expectMatches(doc, x, x.demand);
    expect(doc.demand.hours_without_data).toBe(x.gaps);
    expect(doc.inputs.hours.tokens).toBe(30);
    expect(doc.current).toBeNull();
  });

  it('wonka: its current reservation costed like RESERVED', async () => {
    const doc = await cliJson(env, ['recommend', '--customer', 'wonka', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json']);
    const x = await recomputeCustomer('wonka', 'H100');
    expectMatches(doc, x, x.demand);
    const reservations = await reservationsOf({ customer: 'wonka' });
    expect(reservations).toHaveLength(1);
    expect(doc.current.gpus).toBe(16);
    expectClose(doc.current.cost_usd, currentCost(x.demand, fromMs, x.o, reservations), 'current');
  });

  it('hooli (token-only, on the API): demand from its tokens through the H100 profiles', async () => {
    const doc = await cliJson(env, ['recommend', '--customer', 'hooli', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json', '--no-save']);
    const x = await recomputeCustomer('hooli', 'H100');
    expectMatches(doc, x, x.demand);
    expect(doc.inputs.hours.telemetry).toBe(0);
  });

  it('the shared-h100 pool: D = Σ members’ demand, showback to the cent', async () => {
    const doc = await cliJson(env, ['recommend', '--pool', 'shared-h100', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json']);
    const members = ['acme', 'globex', 'umbrella', 'vandelay'];
    expect(doc.inputs.members).toEqual(members);
    const parts = await Promise.all(members.map((m) => recomputeCustomer(m, 'H100')));
    const demand = Array.from({ length: HOURS }, (_, h) => parts.reduce((s, p) => s + p.demand[h], 0));
    const api = Array.from({ length: HOURS }, (_, h) => parts.reduce((s, p) => s + p.api[h], 0));
    const x = scenarios(demand, api, book, 'H100');
    expectMatches(doc, x, demand);
    const reservations = await reservationsOf({ pool: 'shared-h100' });
    expectClose(doc.current.cost_usd, currentCost(demand, fromMs, x.o, reservations), 'current');
    // aggregation saving: Σ members' own optima − the pool's
    const alone = parts.map((p) => p.best.cost);
    expectClose(doc.aggregation.members_optimum_usd, alone.reduce((s, c) => s + c, 0), 'members apart');
    expectClose(doc.aggregation.saving_usd, alone.reduce((s, c) => s + c, 0) - x.best.cost, 'aggregation saving');
    // showback: the current reservation's cost in cents, split so the parts add up exactly
    const reservedCents = Math.round(doc.current.reserved_usd * 100);
    expect(doc.showback.total_cents).toBe(reservedCents);
    expect(doc.showback.customers.reduce((s: number, c: any) => s + c.total_cents, 0)).toBe(reservedCents);
    for (const c of doc.showback.customers) expect(Math.abs(c.total_cents / 100 - c.total_usd)).toBeLessThanOrEqual(0.02);
  });
});

describe('the batch path on the demo seed', () => {
  it('gives each customer one primary type, with the CLI’s numbers', async () => {
    const rows = await costSummaryForAllCustomers(db, { from: new Date(FROM), to: new Date(TO) });
    const primary = rows.filter((r) => r.primary);
    expect(primary.map((r) => r.customer).sort()).toEqual(
      ['acme', 'cyberdyne', 'globex', 'hooli', 'initech', 'oceanic', 'pied-piper', 'tyrell', 'umbrella', 'vandelay', 'wayne', 'wonka'],
    );
    const types = Object.fromEntries(primary.filter((r) => r.telemetry_hours > 0).map((r) => [r.customer, r.gpu_type]));
    expect(types).toEqual({ acme: 'H100', globex: 'H100', umbrella: 'H100', wonka: 'H100', initech: 'A100-80GB', oceanic: 'A100-80GB', wayne: 'L40S' });
    const x = await recomputeCustomer('wonka', 'H100');
    const wonka = rows.find((r) => r.customer === 'wonka')!;
    expectClose(wonka.api_usd, x.allApi, 'api');
    expectClose(wonka.recommended_usd, x.best.cost, 'recommended');
    // A token-only customer is costed on every type its models are profiled for; its primary is the cheapest.
    const hooli = rows.filter((r) => r.customer === 'hooli');
    expect(hooli.map((r) => r.gpu_type).sort()).toEqual(['A100-80GB', 'H100', 'L40S']);
    const cheapest = Math.min(...hooli.map((r) => r.recommended_usd!));
    expect(hooli.find((r) => r.primary)!.recommended_usd).toBe(cheapest);
  });

  it('daily costs add up to the window’s totals', async () => {
    const wonkaId = (await db.selectFrom('customers').select('id').where('slug', '=', 'wonka').executeTakeFirstOrThrow()).id;
    const rows = await dailyCostByScenario(db, { from: new Date(FROM), to: new Date(TO), customerId: wonkaId });
    expect(new Set(rows.map((r) => r.day)).size).toBe(31);
    const x = await recomputeCustomer('wonka', 'H100');
    const total = (s: string) => rows.filter((r) => r.scenario === s).reduce((sum, r) => sum + r.cost_usd, 0);
    expectClose(total('api'), x.allApi, 'api');
    expectClose(total('on_demand'), x.allOnDemand, 'on-demand');
    expectClose(total('reserved'), x.best.cost, 'reserved');
    expectClose(total('current'), currentCost(x.demand, fromMs, x.o, await reservationsOf({ customer: 'wonka' })), 'current');
  });
});
