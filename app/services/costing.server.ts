// The cost engine's glue: hourly rollups + the prices in force at each hour + reservations → the pure engine
// (app/domain, app/services/costing) → recommend documents, summary rows and daily costs. The CLI, the views,
// the exports and the emails all come through here, so they show the same numbers.
import type { Db } from '../../db/client.js';
import { findCustomerBySlug } from '../../db/queries/customers.js';
import { findPoolByName, listScopeCustomers, listScopePools, type ScopeCustomer, type ScopePool } from '../../db/queries/costing-scopes.js';
import { loadHourlyDemandInputs, type HourlyDemandInputs } from '../../db/queries/demand-inputs.js';
import { findGpuTypeByName, listGpuTypes } from '../../db/queries/gpu-types.js';
import { listPriceBooks, offersInForce } from '../../db/queries/price-books.js';
import type { RecommendationRecord } from '../../db/queries/recommendations.js';
import { reservationsMeeting, type ReservationRow } from '../../db/queries/reservations.js';
import { noReservationCost } from '../domain/recommend.js';
import { HOUR_MS, type Overflow } from '../domain/types.js';
import {
  checkPrices,
  customerDocument,
  evaluateAll,
  poolDocument,
  PricingError,
  type CostingDocument,
  type CustomerInput,
  type Evaluation,
  type ReservationInput,
  type Skipped,
} from './costing/evaluate.js';
import { emptyTokens } from './costing/columns.js';
import { buildPriceContext, type PriceContext } from './costing/prices.js';
import { dailyCosts, summaryRow, type CostSummaryRow, type DailyCostRow } from './costing/summary.js';
import { checkWindow } from './costing/window.js';

export { PricingError, type CostingDocument, type CostSummaryRow, type DailyCostRow, type Skipped };
export type { Overflow };

/** A question the engine cannot answer as asked: an unknown customer, pool or GPU type. Exit status 2 in the CLI. */
export class CostingInputError extends Error {
  override name = 'CostingInputError';
}

export interface CostWindow {
  /** [from, to), whole UTC hours. */
  from: Date;
  to: Date;
}

/** The prices of a window, hour by hour (every book in force at some hour of it). */
export async function loadPriceContext(db: Db, window: CostWindow): Promise<PriceContext> {
  checkWindow(window.from, window.to);
  const [books, prices, gpuTypes] = await Promise.all([
    listPriceBooks(db),
    offersInForce(db, window.from, window.to),
    listGpuTypes(db),
  ]);
  const hours = (window.to.getTime() - window.from.getTime()) / HOUR_MS;
  return buildPriceContext(
    { from_ms: window.from.getTime(), hours },
    {
      books: books.filter((b) => b.effective_from < window.to && (b.effective_to === null || b.effective_to > window.from)),
      offers: prices.offers,
      capacity_profiles: prices.capacity_profiles,
      gpu_types: gpuTypes,
    },
  );
}

/** Scope rows joined with their loaded rollups. */
export function customerInputs(customers: readonly ScopeCustomer[], inputs: Pick<HourlyDemandInputs, 'telemetry' | 'tokens'>): CustomerInput[] {
  return customers.map((c) => ({
    id: c.id,
    slug: c.slug,
    pool_id: c.pool_id,
    pool: c.pool,
    telemetry: inputs.telemetry.get(c.id) ?? new Map(),
    tokens: inputs.tokens.get(c.id) ?? emptyTokens(),
  }));
}

/** The engine's input of each reservation. */
export function reservationInputs(rows: readonly ReservationRow[]): ReservationInput[] {
  return rows.map((r) => ({
    customer_id: r.customer_id,
    pool_id: r.pool_id,
    gpu_type_id: r.gpu_type_id,
    gpus: r.gpus,
    usd_per_gpu_hour: r.usd_per_gpu_hour,
    starts_at: r.starts_at,
    ends_at: r.ends_at,
  }));
}

/** The price book the stored row points at: the one in force at the window's last hour. */
function lastBookId(ctx: PriceContext): number | null {
  return ctx.segments.length > 0 ? ctx.segments[ctx.segments.length - 1].book.id : null;
}

/** The row a document is stored as. */
export function recommendationRecord(
  ctx: PriceContext,
  document: CostingDocument,
  scope: { customer_id: number | null; pool_id: number | null },
  gpuTypeId: number,
  series: { demand: ArrayLike<number>; api_usd: ArrayLike<number> },
): RecommendationRecord {
  const o = document.all_on_demand_usd === null ? null : ctx.gpu_types.get(document.gpu_type)!.on_demand;
  // Without a reserved offer the "recommendation" is to reserve nothing: everything overflows.
  const cost =
    document.best?.cost_usd ??
    noReservationCost({ demand: series.demand, overflow: document.overflow, on_demand_usd_per_gpu_hour: o, api_usd: series.api_usd });
  return {
    customer_id: scope.customer_id,
    pool_id: scope.pool_id,
    gpu_type_id: gpuTypeId,
    overflow: document.overflow,
    window_from: new Date(ctx.from_ms),
    window_to: new Date(ctx.from_ms + ctx.hours * HOUR_MS),
    price_book_id: lastBookId(ctx),
    gpus: document.best?.gpus ?? 0,
    cost_usd: cost,
    result: document,
  };
}

export interface ScopeQuestion extends CostWindow {
  /** A customer's slug, or a pool's name (exactly one). */
  customer?: string;
  pool?: string;
  /** A GPU type name, normalised as everywhere ("NVIDIA H100 80GB HBM3" → H100). */
  gpuType: string;
  overflow: Overflow;
}

/**
 * `recommend`: the document of one customer or pool on one GPU type over a window, and the row it is stored
 * as. Throws CostingInputError (unknown customer, pool or GPU type; a pool without customers) or
 * PricingError (no book, or no rate the question needs, in force at some hour; no reserved offer to recommend).
 */
export async function recommendForScope(db: Db, q: ScopeQuestion): Promise<{ document: CostingDocument; record: RecommendationRecord }> {
  if ((q.customer === undefined) === (q.pool === undefined)) throw new CostingInputError('name either a customer or a pool');
  checkWindow(q.from, q.to);
  const type = await findGpuTypeByName(db, q.gpuType);
  if (!type) {
    const known = (await listGpuTypes(db)).map((t) => t.name);
    throw new CostingInputError(`unknown GPU type "${q.gpuType}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
  let scopeCustomers: ScopeCustomer[];
  let pool: ScopePool | undefined;
  if (q.customer !== undefined) {
    const customer = await findCustomerBySlug(db, q.customer);
    if (!customer) throw new CostingInputError(`unknown customer "${q.customer}"`);
    scopeCustomers = await listScopeCustomers(db, { customerIds: [customer.id] });
  } else {
    pool = await findPoolByName(db, q.pool!);
    if (!pool) throw new CostingInputError(`unknown pool "${q.pool}"`);
    scopeCustomers = await listScopeCustomers(db, { poolId: pool.id });
    if (scopeCustomers.length === 0) throw new CostingInputError(`pool "${pool.name}" has no customers`);
  }

  const ctx = await loadPriceContext(db, q);
  const prices = ctx.gpu_types.get(type.name)!;
  checkPrices(ctx, prices, q.overflow);
  if (prices.reserved.length === 0) {
    throw new PricingError(`no reserved ${type.name} offer is in force for every hour of the window, so there is nothing to recommend`);
  }
  const ids = scopeCustomers.map((c) => c.id);
  const [inputs, reservations] = await Promise.all([
    loadHourlyDemandInputs(db, { from: q.from, to: q.to, customerIds: ids, gpuTypeId: type.id }),
    reservationsMeeting(db, {
      from: q.from,
      to: q.to,
      gpuTypeId: type.id,
      ...(pool ? { poolIds: [pool.id] } : { customerIds: ids }),
    }),
  ]);
  const customers = customerInputs(scopeCustomers, inputs);
  const own = reservationInputs(reservations);
  const { document, series } = pool
    ? poolDocument(ctx, q.overflow, prices, pool, customers, own)
    : customerDocument(ctx, q.overflow, prices, customers[0], own);
  const record = recommendationRecord(ctx, document, { customer_id: pool ? null : ids[0], pool_id: pool?.id ?? null }, type.id, series);
  return { document, record };
}

export interface BatchQuestion extends CostWindow {
  overflow?: Overflow;
  /** Only these customers' documents (pools still see all their members). */
  customerIds?: readonly number[];
  /** Only these pools' documents; an empty list: no pool. */
  poolIds?: readonly number[];
}

export interface WindowEvaluation extends Evaluation {
  ctx: PriceContext;
  customersById: Map<number, ScopeCustomer>;
  poolsById: Map<number, ScopePool>;
  rows: { telemetry: number; tokens: number };
  /** What was costed: each customer's loaded rollups and the reservation rows (ids, providers) behind the documents. */
  inputs: CustomerInput[];
  reservations: ReservationRow[];
}

/**
 * Every customer on each of its GPU types and every pool on each of its members' types, from one read of the
 * rollups (two set-based binary COPYs, grouped by customer in memory), one of prices and one of reservations.
 * See evaluateAll for which types and which is primary.
 */
export async function evaluateWindow(db: Db, q: BatchQuestion): Promise<WindowEvaluation> {
  checkWindow(q.from, q.to);
  // Customers only, and named: nothing else needs reading.
  const only = q.customerIds && q.poolIds?.length === 0 ? [...q.customerIds] : undefined;
  const [ctx, customers, pools, inputs, reservations] = await Promise.all([
    loadPriceContext(db, q),
    listScopeCustomers(db, only ? { customerIds: only } : {}),
    only ? Promise.resolve([]) : listScopePools(db),
    loadHourlyDemandInputs(db, { from: q.from, to: q.to, ...(only ? { customerIds: only } : {}) }),
    reservationsMeeting(db, { from: q.from, to: q.to, ...(only ? { customerIds: only } : {}) }),
  ]);
  const loaded = customerInputs(customers, inputs);
  const evaluation = evaluateAll(ctx, loaded, pools, reservationInputs(reservations), {
    overflow: q.overflow ?? 'on_demand',
    customerIds: q.customerIds ? new Set(q.customerIds) : undefined,
    poolIds: q.poolIds ? new Set(q.poolIds) : undefined,
  });
  return {
    ...evaluation,
    ctx,
    customersById: new Map(customers.map((c) => [c.id, c])),
    poolsById: new Map(pools.map((p) => [p.id, p])),
    rows: inputs.rows,
    inputs: loaded,
    reservations,
  };
}

export interface CostSummary {
  from: Date;
  to: Date;
  overflow: Overflow;
  customers: CostSummaryRow[];
  pools: CostSummaryRow[];
  /** Scopes and types that could not be priced (no on-demand rate in force, no price book…). */
  skipped: Skipped[];
}

function summarise(e: WindowEvaluation, q: CostWindow, overflow: Overflow): CostSummary {
  const customerRows = e.customers.map((r) => {
    const c = e.customersById.get(r.scope.customer_id!)!;
    return summaryRow(r, { customer: c.slug, pool: c.pool });
  });
  const poolRows = e.pools.map((r) => summaryRow(r, { customer: null, pool: e.poolsById.get(r.scope.pool_id!)!.name }));
  return { from: q.from, to: q.to, overflow, customers: customerRows, pools: poolRows, skipped: e.skipped };
}

/** Per customer and GPU type, and per pool and GPU type: tokens, GPU-hours, every scenario's cost, the recommendation. */
export async function costSummary(db: Db, q: CostWindow & { overflow?: Overflow }): Promise<CostSummary> {
  const overflow = q.overflow ?? 'on_demand';
  return summarise(await evaluateWindow(db, { ...q, overflow }), q, overflow);
}

/**
 * The dashboard's table: one row per customer and GPU type (filter `primary` to count each customer once),
 * from one batch evaluation. Same numbers as `breakeven recommend` for the same customer, type and window.
 */
export async function costSummaryForAllCustomers(db: Db, q: CostWindow & { overflow?: Overflow }): Promise<CostSummaryRow[]> {
  const overflow = q.overflow ?? 'on_demand';
  return summarise(await evaluateWindow(db, { ...q, overflow, poolIds: [] }), q, overflow).customers;
}

/**
 * Cost per customer, UTC day and scenario (api, on_demand, reserved = the window's recommendation, current =
 * existing reservations) on each customer's primary GPU type: the stacked chart and costs.csv. A scenario's
 * days add up to the document's total for the window.
 */
export async function dailyCostByScenario(
  db: Db,
  q: CostWindow & { customerId?: number; overflow?: Overflow },
): Promise<DailyCostRow[]> {
  const e = await evaluateWindow(db, {
    ...q,
    overflow: q.overflow ?? 'on_demand',
    customerIds: q.customerId === undefined ? undefined : [q.customerId],
    poolIds: [],
  });
  const rows: DailyCostRow[] = [];
  for (const r of e.customers) {
    if (!r.primary) continue;
    const c = e.customersById.get(r.scope.customer_id!)!;
    rows.push(...dailyCosts(r, { id: c.id, slug: c.slug }, r.gpu_type.on_demand));
  }
  return rows.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0));
}
