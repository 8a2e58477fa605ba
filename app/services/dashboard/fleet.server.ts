// Every customer's and pool's figures for a period, computed once per period and data version by the cost
// engine (evaluateWindow: the same documents as `breakeven recommend` and costSummary) and kept in memory:
// summary rows, documents without their hourly series, and per-day costs. The overview, /customers,
// /recommendations, /pools and the CSV exports all read this, so they show the same numbers.
import type { Db } from '../../../db/client.js';
import type { CostingDocument } from '../costing/evaluate.js';
import { dailyCosts, summaryRow, type CostSummaryRow, type DailyCostRow, type Scenario } from '../costing/summary.js';
import { evaluateWindow, type Overflow, type Skipped, type WindowEvaluation } from '../costing.server.js';
import { VersionedCache, type Cached } from './cache.server.js';
import { withEvaluationSlot } from './limit.server.js';

export interface PeriodWindow {
  from: Date;
  to: Date;
}

export interface FleetCustomer {
  id: number;
  slug: string;
  name: string;
  pool_id: number | null;
  pool: string | null;
  /** The row of the GPU type the customer runs on (null: no data in the period, or it could not be priced). */
  primary: CostSummaryRow | null;
  /** Every GPU type it was evaluated on (the primary first). */
  gpu_types: string[];
}

export interface FleetPool {
  id: number;
  name: string;
  members: string[];
  /** Its primary rows (the types its members run on), and every other type evaluated. */
  rows: CostSummaryRow[];
}

/** A scenario's cost per UTC day of the period (index = day), or null when the scenario does not apply. */
export type DailyArrays = Record<Scenario, Float64Array | null>;

export interface FleetEvaluation {
  from: string;
  to: string;
  hours: number;
  overflow: Overflow;
  /** Every customer, by slug. */
  customers: FleetCustomer[];
  pools: FleetPool[];
  /** Every customer × GPU type row and every pool × GPU type row (costSummary's rows). */
  customerRows: CostSummaryRow[];
  poolRows: CostSummaryRow[];
  /** The recommend documents (without hourly series), by documentKey. */
  documents: Map<string, CostingDocument>;
  /** UTC days of the period, and each primary customer's / primary pool's daily costs by id. */
  days: string[];
  customerDaily: Map<number, DailyArrays>;
  poolDaily: Map<string, DailyArrays>;
  skipped: Skipped[];
}

export const documentKey = (scope: { customer_id: number | null; pool_id: number | null }, gpuType: string): string =>
  scope.customer_id !== null ? `c${scope.customer_id}|${gpuType}` : `p${scope.pool_id}|${gpuType}`;

const SCENARIOS: Scenario[] = ['api', 'on_demand', 'reserved', 'current'];

function packDaily(rows: readonly DailyCostRow[], dayIndex: Map<string, number>, days: number): DailyArrays {
  const out: DailyArrays = { api: null, on_demand: null, reserved: null, current: null };
  for (const r of rows) {
    let a = out[r.scenario];
    if (!a) out[r.scenario] = a = new Float64Array(days);
    a[dayIndex.get(r.day)!] += r.cost_usd;
  }
  return out;
}

/** The UTC days a window covers, "YYYY-MM-DD". */
export function windowDays(from: Date, to: Date): string[] {
  const days: string[] = [];
  const DAY = 86_400_000;
  for (let t = Math.floor(from.getTime() / DAY) * DAY; t < to.getTime(); t += DAY) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** One evaluation of the whole fleet over a window (not cached). */
export async function evaluateFleet(db: Db, window: PeriodWindow, overflow: Overflow = 'on_demand'): Promise<FleetEvaluation> {
  const e = await withEvaluationSlot(() => evaluateWindow(db, { from: window.from, to: window.to, overflow }));
  return fleetOf(e, window, overflow);
}

/**
 * The fleet's figures from an evaluation already made (the FOCUS export keeps the evaluation's hourly series too).
 * Without `daily`, no scope's per-day costs are worked out (customerDaily and poolDaily stay empty).
 */
export function fleetOf(e: WindowEvaluation, window: PeriodWindow, overflow: Overflow, { daily = true } = {}): FleetEvaluation {
  const days = windowDays(window.from, window.to);
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  const documents = new Map<string, CostingDocument>();
  const customerRows: CostSummaryRow[] = [];
  const byCustomer = new Map<number, CostSummaryRow[]>();
  const customerDaily = new Map<number, DailyArrays>();
  for (const r of e.customers) {
    const c = e.customersById.get(r.scope.customer_id!)!;
    const row = summaryRow(r, { customer: c.slug, pool: c.pool });
    customerRows.push(row);
    documents.set(documentKey(r.scope, row.gpu_type), r.document);
    const list = byCustomer.get(c.id) ?? [];
    list.push(row);
    byCustomer.set(c.id, list);
    if (daily && r.primary) customerDaily.set(c.id, packDaily(dailyCosts(r, { id: c.id, slug: c.slug }, r.gpu_type.on_demand), dayIndex, days.length));
  }
  const poolRows: CostSummaryRow[] = [];
  const byPool = new Map<number, CostSummaryRow[]>();
  const poolDaily = new Map<string, DailyArrays>();
  for (const r of e.pools) {
    const p = e.poolsById.get(r.scope.pool_id!)!;
    const row = summaryRow(r, { customer: null, pool: p.name });
    poolRows.push(row);
    documents.set(documentKey(r.scope, row.gpu_type), r.document);
    const list = byPool.get(p.id) ?? [];
    list.push(row);
    byPool.set(p.id, list);
    if (daily && r.primary) poolDaily.set(documentKey(r.scope, row.gpu_type), packDaily(dailyCosts(r, { id: p.id, slug: p.name }, r.gpu_type.on_demand), dayIndex, days.length));
  }
  const customers: FleetCustomer[] = [...e.customersById.values()]
    .map((c) => {
      const rows = byCustomer.get(c.id) ?? [];
      const primary = rows.find((r) => r.primary) ?? null;
      return {
        id: c.id,
        slug: c.slug,
        name: c.name,
        pool_id: c.pool_id,
        pool: c.pool,
        primary,
        gpu_types: [...(primary ? [primary.gpu_type] : []), ...rows.filter((r) => r !== primary).map((r) => r.gpu_type)],
      };
    })
    .sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  const pools: FleetPool[] = [...e.poolsById.values()]
    .map((p) => ({
      id: p.id,
      name: p.name,
      members: customers.filter((c) => c.pool_id === p.id).map((c) => c.slug),
      rows: (byPool.get(p.id) ?? []).sort((a, b) => Number(b.primary) - Number(a.primary) || (a.gpu_type < b.gpu_type ? -1 : 1)),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    hours: (window.to.getTime() - window.from.getTime()) / 3_600_000,
    overflow,
    customers,
    pools,
    customerRows,
    poolRows,
    documents,
    days,
    customerDaily,
    poolDaily,
    skipped: e.skipped,
  };
}

const fleetCache = new VersionedCache<FleetEvaluation>('fleet', Number(process.env.BREAKEVEN_DASHBOARD_PERIODS ?? 8));

const fleetKey = (window: PeriodWindow, overflow: Overflow) => `${window.from.toISOString()}|${window.to.toISOString()}|${overflow}`;

/** The fleet's evaluation of a period, from the cache when the data have not changed since. */
export async function loadFleet(db: Db, window: PeriodWindow, overflow: Overflow = 'on_demand'): Promise<Cached<FleetEvaluation>> {
  return fleetCache.get(db, fleetKey(window, overflow), () => evaluateFleet(db, window, overflow));
}

/** The fleet's evaluation if one is already in memory (any data version), without computing it. */
export function peekFleet(db: Db, window: PeriodWindow, overflow: Overflow = 'on_demand'): FleetEvaluation | undefined {
  return fleetCache.peek(db, fleetKey(window, overflow));
}

export { SCENARIOS };

/** costs.csv's rows for a period (one customer's when named), from the cached evaluation. */
export async function loadDailyCosts(db: Db, window: PeriodWindow, filter: { customer?: string | null } = {}): Promise<DailyCostRow[]> {
  return dailyRows((await loadFleet(db, window)).value, filter);
}

/** Daily costs as rows: one per customer, UTC day and scenario, primary GPU type; the same as dailyCostByScenario. */
export function dailyRows(fleet: FleetEvaluation, filter: { customer?: string | null } = {}): DailyCostRow[] {
  const rows: DailyCostRow[] = [];
  for (const { customer, daily } of dailySeries(fleet, filter)) {
    for (let i = 0; i < fleet.days.length; i++) {
      for (const scenario of SCENARIOS) {
        const a = daily[scenario];
        if (a) rows.push({ day: fleet.days[i], customer_id: customer.id, customer: customer.slug, gpu_type: customer.primary!.gpu_type, scenario, cost_usd: a[i] });
      }
    }
  }
  return rows.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0));
}

/** Each priced customer's daily arrays (by slug), without making a row object per day: costs.csv reads these. */
export function dailySeries(fleet: FleetEvaluation, filter: { customer?: string | null } = {}): { customer: FleetCustomer; daily: DailyArrays }[] {
  const out: { customer: FleetCustomer; daily: DailyArrays }[] = [];
  for (const c of fleet.customers) {
    if (filter.customer && c.slug !== filter.customer) continue;
    const daily = fleet.customerDaily.get(c.id);
    if (daily && c.primary) out.push({ customer: c, daily });
  }
  return out;
}
