// evaluateAll's `current` detail (what the FOCUS export evaluates with) must give today's cost exactly as the full
// evaluation does — the same primary type for every scope, the same current, all-API and all-on-demand figures and
// hourly demand — while skipping what only a recommendation needs. The fleet below has each way a primary is
// chosen: a measured customer whose busiest type cannot be priced (no on-demand A100 offer), a pool whose members
// are all token-only (its primary chosen by its best offer on each type), a pool with a shared reservation and a
// token-only member, and a token-only customer alone.
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateAll, type Evaluation, type ScopeResult } from '../../app/services/costing/evaluate.js';
import { summaryRow } from '../../app/services/costing/summary.js';
import { customerInputs, loadPriceContext, reservationInputs } from '../../app/services/costing.server.js';
import { listScopeCustomers, listScopePools } from '../../db/queries/costing-scopes.js';
import { loadHourlyDemandInputs } from '../../db/queries/demand-inputs.js';
import { importPriceBookDocument } from '../../db/queries/price-books.js';
import { reservationsMeeting } from '../../db/queries/reservations.js';
import { freshDatabase } from '../support/database.js';
import { addCustomer, addPool, addTelemetry, addTokens, gpuTypeId } from './helpers.js';

const FROM = Date.parse('2026-06-01T00:00:00Z');
const HOURS = 48;
const hour = (h: number) => new Date(FROM + h * 3_600_000).toISOString();
const hours = Array.from({ length: HOURS }, (_, h) => h);

const BOOK = {
  name: 'detail',
  effective_from: '2026-01-01T00:00:00Z',
  gpu_types: ['H100', 'A100', 'L40S'].map((name) => ({ name, target_utilization: 0.8 })),
  offers: [
    { kind: 'on_demand', provider: 'od', gpu_type: 'H100', usd_per_gpu_hour: 3.5 },
    { kind: 'reserved', provider: 'res', gpu_type: 'H100', term_days: 30, block_size: 1, usd_per_gpu_hour: 2.2 },
    // No on-demand A100 offer: with on-demand overflow, A100 cannot be priced.
    { kind: 'reserved', provider: 'res', gpu_type: 'A100', term_days: 30, block_size: 1, usd_per_gpu_hour: 1.2 },
    { kind: 'on_demand', provider: 'od', gpu_type: 'L40S', usd_per_gpu_hour: 1.2 },
    { kind: 'reserved', provider: 'res', gpu_type: 'L40S', term_days: 30, block_size: 2, usd_per_gpu_hour: 0.8 },
    { kind: 'api', provider: 'api', model: 'm', usd_per_mtok_input: 0.5, usd_per_mtok_output: 1.5 },
  ],
  capacity_profiles: ['H100', 'A100', 'L40S'].map((gpu_type, i) => ({
    model: 'm', gpu_type, input_tokens_per_gpu_second: 4000 / (i + 1), output_tokens_per_gpu_second: 400 / (i + 1),
  })),
};

let full: Evaluation;
let current: Evaluation;
let slugOf: Map<number, string>;
let poolNameOf: Map<number, string>;

beforeAll(async () => {
  const { db } = await freshDatabase();
  const imported = await importPriceBookDocument(db, BOOK);
  expect(imported.ok).toBe(true);
  const [h100, a100] = [await gpuTypeId(db, 'H100'), await gpuTypeId(db, 'A100')];
  const tokens = (scale: number) => hours.map((h) => ({ hour: hour(h), model: 'm', input: scale * (2 + (h % 5)) * 1e6, output: scale * 2e5 }));

  const measured = await addCustomer(db, 'measured');
  await addTelemetry(db, measured, a100, hours.map((h) => ({ hour: hour(h), allocated: 4 * 3600, busy: 3 * 3600 })));
  await addTelemetry(db, measured, h100, hours.map((h) => ({ hour: hour(h), allocated: 2 * 3600, busy: 3600 })));

  const tokensPool = await addPool(db, 'tokens-pool');
  await addTokens(db, await addCustomer(db, 'tok-1', tokensPool), tokens(3));
  await addTokens(db, await addCustomer(db, 'tok-2', tokensPool), tokens(5));

  const mixed = await addPool(db, 'mixed');
  const gpu = await addCustomer(db, 'gpu-1', mixed);
  await addTelemetry(db, gpu, h100, hours.map((h) => ({ hour: hour(h), allocated: 3 * 3600, busy: (1 + (h % 3)) * 3600 })));
  await addTokens(db, await addCustomer(db, 'tok-3', mixed), tokens(2));
  await db.insertInto('reservations').values({
    pool_id: mixed, gpu_type_id: h100, provider: 'res', gpus: 2, usd_per_gpu_hour: 2.2, starts_at: hour(-24), ends_at: hour(30),
  }).execute();

  await addTokens(db, await addCustomer(db, 'alone', null), tokens(1));

  const window = { from: new Date(FROM), to: new Date(FROM + HOURS * 3_600_000) };
  const [ctx, customers, pools, inputs, reservations] = await Promise.all([
    loadPriceContext(db, window),
    listScopeCustomers(db),
    listScopePools(db),
    loadHourlyDemandInputs(db, window),
    reservationsMeeting(db, window),
  ]);
  const loaded = customerInputs(customers, inputs);
  slugOf = new Map(customers.map((c) => [c.id, c.slug]));
  poolNameOf = new Map(pools.map((p) => [p.id, p.name]));
  full = evaluateAll(ctx, loaded, pools, reservationInputs(reservations), { overflow: 'on_demand' });
  current = evaluateAll(ctx, loaded, pools, reservationInputs(reservations), { overflow: 'on_demand', detail: 'current' });
});

const label = (r: ScopeResult) => `${r.scope.customer_id !== null ? slugOf.get(r.scope.customer_id) : `pool ${poolNameOf.get(r.scope.pool_id!)}`} on ${r.gpu_type.name}`;

describe('evaluateAll in `current` detail', () => {
  it('has each scope on its primary types only, the ones the full evaluation chooses', () => {
    const primaries = (rs: ScopeResult[]) => rs.filter((r) => r.primary).map(label);
    expect(current.customers.map(label)).toEqual(primaries(full.customers));
    expect(current.pools.map(label)).toEqual(primaries(full.pools));
    expect(current.customers.every((r) => r.primary) && current.pools.every((r) => r.primary)).toBe(true);
    // The fleet has each way of choosing: the measured customer falls back from A100 (no on-demand price) to
    // H100; the all-token pool and the token-only customers are chosen among several types.
    expect(current.customers.map(label)).toContain('measured on H100');
    expect(full.customers.filter((r) => slugOf.get(r.scope.customer_id!) === 'alone').length).toBeGreaterThan(1);
    expect(full.pools.filter((r) => poolNameOf.get(r.scope.pool_id!) === 'tokens-pool').length).toBeGreaterThan(1);
    expect(current.skipped.map((s) => `${s.scope.customer ?? s.scope.pool} on ${s.gpu_type}`)).toContain('measured on A100');
  });

  it('costs today as the full evaluation does: current, all-API, all-on-demand, demand and the baseline', () => {
    const byLabel = new Map([...full.customers, ...full.pools].map((r) => [label(r), r]));
    for (const r of [...current.customers, ...current.pools]) {
      const f = byLabel.get(label(r))!;
      expect(r.document.current, label(r)).toEqual(f.document.current);
      expect(r.document.all_api_usd, label(r)).toBe(f.document.all_api_usd);
      expect(r.document.all_on_demand_usd, label(r)).toBe(f.document.all_on_demand_usd);
      expect(Array.from(r.series.demand), label(r)).toEqual(Array.from(f.series.demand));
      const names = { customer: null, pool: null };
      const [a, b] = [summaryRow(r, names), summaryRow(f, names)];
      expect([a.baseline, a.baseline_usd], label(r)).toEqual([b.baseline, b.baseline_usd]);
    }
    expect(current.pools.some((r) => r.document.current !== null)).toBe(true);
  });

  it('works out a best offer only where the primary choice compares them, and no stability, showback or aggregation', () => {
    for (const r of [...current.customers, ...current.pools]) {
      const tokenOnly = r.series.telemetry_hours === 0;
      // Token-only scopes were chosen by their best offer; measured ones carry no recommendation.
      expect(r.document.best !== null, label(r)).toBe(tokenOnly);
      expect([r.document.stability, r.document.risk_levels, r.document.recent, r.document.aggregation, r.document.showback ?? null], label(r)).toEqual([
        null, null, null, null, null,
      ]);
    }
    const byLabel = new Map([...full.customers, ...full.pools].map((r) => [label(r), r]));
    for (const r of current.customers.filter((x) => x.document.best)) expect(r.document.best!.cost_usd).toBe(byLabel.get(label(r))!.document.best!.cost_usd);
  });
});
