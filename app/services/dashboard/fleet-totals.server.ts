// The fleet's totals under each scenario, from the per-scope figures of one evaluation. Pure (no I/O).
//
// Accounting (docs/decisions/030-dashboard.md): API and on-demand add up every customer once (its primary GPU
// type). "Current" and "recommended" add up *units*: a pool on a GPU type its members run on (its shared
// reservation today, its pooled optimum recommended) covers those members; every other customer is its own unit
// (its reservations, else what it pays without one — the API when it has no telemetry, else on-demand GPUs — and
// its own optimum). The saving available adds only the units where the recommendation costs less than today.
import type { CostingDocument } from '../costing/evaluate.js';
import type { CostSummaryRow, Scenario } from '../costing/summary.js';
import { documentKey, type DailyArrays, type FleetEvaluation } from './fleet.server.js';

export interface Unit {
  key: string;
  kind: 'pool' | 'customer';
  /** A pool's name or a customer's slug. */
  name: string;
  gpu_type: string;
  members: string[];
  /** What it pays in the period today, and how that is made up. */
  current_usd: number;
  current_basis: 'reservation' | 'api' | 'on_demand' | 'members';
  recommended_usd: number;
  /** N of the recommendation (null: no reserved offer). */
  recommended_gpus: number | null;
  saving_usd: number;
  daily_current: Float64Array;
  daily_recommended: Float64Array;
  document: CostingDocument | undefined;
}

export interface FleetTotals {
  api_usd: number;
  on_demand_usd: number;
  /** Customers without an on-demand price in force are left out of on_demand_usd. */
  on_demand_missing: number;
  current_usd: number;
  recommended_usd: number;
  saving_available_usd: number;
  /** Units whose recommendation saves money. */
  units_saving: number;
  current_fill: { reserved_gpu_hours: number; used_gpu_hours: number; fill: number | null; idle_usd: number };
  recommended_fill: { reserved_gpu_hours: number; used_gpu_hours: number; fill: number | null; idle_usd: number };
  gpu_hours: number;
  busy_gpu_hours: number;
  input_tokens: number;
  output_tokens: number;
  requests: number;
  customers_with_data: number;
  units: Unit[];
}

const zeros = (n: number) => new Float64Array(n);

function add(into: Float64Array, from: Float64Array | null | undefined): void {
  if (!from) return;
  for (let i = 0; i < into.length; i++) into[i] += from[i];
}

const baselineScenario = (row: CostSummaryRow): Scenario => (row.baseline === 'current' ? 'current' : row.baseline);

function baselineDaily(daily: DailyArrays | undefined, row: CostSummaryRow, days: number): Float64Array {
  return daily?.[baselineScenario(row)] ?? zeros(days);
}

export function fleetTotals(fleet: FleetEvaluation): FleetTotals {
  const days = fleet.days.length;
  const primaryPoolRows = new Map<string, CostSummaryRow>();
  for (const row of fleet.poolRows) if (row.primary) primaryPoolRows.set(`${row.pool_id}|${row.gpu_type}`, row);

  let api = 0;
  let onDemand = 0;
  let onDemandMissing = 0;
  let gpuHours = 0;
  let busy = 0;
  let input = 0;
  let output = 0;
  let requests = 0;
  let withData = 0;
  for (const row of fleet.customerRows) {
    gpuHours += row.gpu_hours;
    busy += row.busy_gpu_hours;
  }

  const units: Unit[] = [];
  const poolUnits = new Map<string, { row: CostSummaryRow; members: CostSummaryRow[] }>();
  for (const c of fleet.customers) {
    const row = c.primary;
    if (!row) continue;
    withData++;
    api += row.api_usd;
    if (row.on_demand_usd === null) onDemandMissing++;
    else onDemand += row.on_demand_usd;
    input += row.input_tokens;
    output += row.output_tokens;
    requests += row.requests;
    const poolRow = c.pool_id !== null ? primaryPoolRows.get(`${c.pool_id}|${row.gpu_type}`) : undefined;
    if (poolRow) {
      const key = `${poolRow.pool_id}|${poolRow.gpu_type}`;
      const unit = poolUnits.get(key) ?? { row: poolRow, members: [] };
      unit.members.push(row);
      poolUnits.set(key, unit);
      continue;
    }
    const dailyArrays = fleet.customerDaily.get(c.id);
    const current = baselineDaily(dailyArrays, row, days);
    const recommended = row.recommended_usd ?? row.baseline_usd;
    units.push({
      key: documentKey({ customer_id: c.id, pool_id: null }, row.gpu_type),
      kind: 'customer',
      name: c.slug,
      gpu_type: row.gpu_type,
      members: [c.slug],
      current_usd: row.baseline_usd,
      current_basis: row.baseline === 'current' ? 'reservation' : row.baseline,
      recommended_usd: recommended,
      recommended_gpus: row.recommended_gpus,
      saving_usd: row.baseline_usd - recommended,
      daily_current: current,
      daily_recommended: dailyArrays?.reserved ?? current,
      document: fleet.documents.get(documentKey({ customer_id: c.id, pool_id: null }, row.gpu_type)),
    });
  }
  for (const [, { row, members }] of poolUnits) {
    const key = documentKey({ customer_id: null, pool_id: row.pool_id }, row.gpu_type);
    const document = fleet.documents.get(key);
    const daily = fleet.poolDaily.get(key);
    let currentUsd: number;
    let current: Float64Array;
    if (row.current_usd !== null) {
      currentUsd = row.current_usd;
      current = daily?.current ?? zeros(days);
    } else {
      currentUsd = 0;
      current = zeros(days);
      for (const m of members) {
        currentUsd += m.baseline_usd;
        add(current, baselineDaily(fleet.customerDaily.get(m.customer_id!), m, days));
      }
    }
    const recommended = row.recommended_usd ?? currentUsd;
    units.push({
      key,
      kind: 'pool',
      name: row.pool!,
      gpu_type: row.gpu_type,
      members: members.map((m) => m.customer!),
      current_usd: currentUsd,
      current_basis: row.current_usd !== null ? 'reservation' : 'members',
      recommended_usd: recommended,
      recommended_gpus: row.recommended_gpus,
      saving_usd: currentUsd - recommended,
      daily_current: current,
      daily_recommended: daily?.reserved ?? current,
      document,
    });
  }
  units.sort((a, b) => b.current_usd - a.current_usd || (a.name < b.name ? -1 : 1));

  const currentFill = { reserved_gpu_hours: 0, used_gpu_hours: 0, fill: null as number | null, idle_usd: 0 };
  const recommendedFill = { reserved_gpu_hours: 0, used_gpu_hours: 0, fill: null as number | null, idle_usd: 0 };
  let currentUsd = 0;
  let recommendedUsd = 0;
  let saving = 0;
  let unitsSaving = 0;
  for (const u of units) {
    currentUsd += u.current_usd;
    recommendedUsd += u.recommended_usd;
    if (u.saving_usd > 0) {
      saving += u.saving_usd;
      unitsSaving++;
    }
    const d = u.document;
    if (d?.current && d.current.gpu_hours > 0) {
      currentFill.reserved_gpu_hours += d.current.gpu_hours;
      currentFill.used_gpu_hours += (d.current.fill ?? 0) * d.current.gpu_hours;
      currentFill.idle_usd += d.current.idle_cost_usd;
    }
    if (d?.best && d.best.gpus > 0) {
      const reserved = d.best.gpus * d.hours;
      recommendedFill.reserved_gpu_hours += reserved;
      recommendedFill.used_gpu_hours += (d.best.fill ?? 0) * reserved;
      recommendedFill.idle_usd += d.best.idle_cost_usd;
    }
  }
  currentFill.fill = currentFill.reserved_gpu_hours > 0 ? currentFill.used_gpu_hours / currentFill.reserved_gpu_hours : null;
  recommendedFill.fill = recommendedFill.reserved_gpu_hours > 0 ? recommendedFill.used_gpu_hours / recommendedFill.reserved_gpu_hours : null;

  return {
    api_usd: api,
    on_demand_usd: onDemand,
    on_demand_missing: onDemandMissing,
    current_usd: currentUsd,
    recommended_usd: recommendedUsd,
    saving_available_usd: saving,
    units_saving: unitsSaving,
    current_fill: currentFill,
    recommended_fill: recommendedFill,
    gpu_hours: gpuHours,
    busy_gpu_hours: busy,
    input_tokens: input,
    output_tokens: output,
    requests,
    customers_with_data: withData,
    units,
  };
}

/** Per UTC day: the fleet's API and on-demand cost (every customer once), today's and the recommended cost (units). */
export function fleetDaily(fleet: FleetEvaluation, totals: FleetTotals): { api: Float64Array; on_demand: Float64Array; current: Float64Array; recommended: Float64Array } {
  const days = fleet.days.length;
  const api = zeros(days);
  const onDemand = zeros(days);
  const current = zeros(days);
  const recommended = zeros(days);
  for (const c of fleet.customers) {
    const d = fleet.customerDaily.get(c.id);
    if (!d) continue;
    add(api, d.api);
    add(onDemand, d.on_demand);
  }
  for (const u of totals.units) {
    add(current, u.daily_current);
    add(recommended, u.daily_recommended);
  }
  return { api, on_demand: onDemand, current, recommended };
}
