// Flat rows for tables, charts and CSV exports, read off the same documents the CLI prints: one row per scope
// and GPU type, and one per customer, day and scenario.
import { overflowPricing } from '../../domain/recommend.js';
import { hourOverflow, reservationSchedule } from '../../domain/scenarios.js';
import { HOUR_MS, rateAt, type Overflow } from '../../domain/types.js';
import type { ScopeResult } from './evaluate.js';

export interface CostSummaryRow {
  customer_id: number | null;
  customer: string | null;
  pool_id: number | null;
  pool: string | null;
  gpu_type: string;
  /** The type the scope runs on; total over primary rows only, or a customer's API cost counts once per type. */
  primary: boolean;
  overflow: Overflow;
  hours: number;
  hours_without_data: number;
  telemetry_hours: number;
  token_hours: number;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
  /** Measured GPU time of this type (telemetry): held, and busy. */
  gpu_hours: number;
  busy_gpu_hours: number;
  /** Σ_h d(h): demand in GPU-hours at the target utilization. */
  demand_gpu_hours: number;
  api_usd: number;
  on_demand_usd: number | null;
  current_gpus: number | null;
  current_usd: number | null;
  recommended_provider: string | null;
  recommended_term_days: number | null;
  recommended_block_size: number | null;
  recommended_usd_per_gpu_hour: number | null;
  recommended_gpus: number | null;
  recommended_usd: number | null;
  fill: number | null;
  break_even_fill: number | null;
  /** What the scope pays today: its reservations when it has some, else the API when it has no telemetry (token-only), else on-demand GPUs. */
  baseline: 'current' | 'api' | 'on_demand';
  baseline_usd: number;
  /** baseline − recommended (null when there is nothing to recommend). */
  saving_usd: number | null;
  savings_vs_api_usd: number | null;
  savings_vs_on_demand_usd: number | null;
  change: string | null;
  /** The last 3 days' demand no longer supports the recommendation. */
  recent_flagged: boolean | null;
}

/** One row per scope and GPU type, from its document. */
export function summaryRow(result: ScopeResult, names: { customer: string | null; pool: string | null }): CostSummaryRow {
  const d = result.document;
  const s = result.series;
  const best = d.best;
  let baseline: CostSummaryRow['baseline'];
  let baselineUsd: number;
  if (d.current) {
    baseline = 'current';
    baselineUsd = d.current.cost_usd;
  } else if (s.telemetry_hours === 0 || d.all_on_demand_usd === null) {
    baseline = 'api';
    baselineUsd = d.all_api_usd;
  } else {
    baseline = 'on_demand';
    baselineUsd = d.all_on_demand_usd;
  }
  return {
    customer_id: result.scope.customer_id,
    customer: names.customer,
    pool_id: result.scope.pool_id,
    pool: names.pool,
    gpu_type: d.gpu_type,
    primary: result.primary,
    overflow: d.overflow,
    hours: d.hours,
    hours_without_data: d.demand.hours_without_data,
    telemetry_hours: s.telemetry_hours,
    token_hours: s.token_hours,
    ...d.inputs.tokens,
    gpu_hours: d.inputs.telemetry.gpu_hours,
    busy_gpu_hours: d.inputs.telemetry.busy_gpu_hours,
    demand_gpu_hours: d.demand.mean_gpus * d.hours,
    api_usd: d.all_api_usd,
    on_demand_usd: d.all_on_demand_usd,
    current_gpus: d.current?.gpus ?? null,
    current_usd: d.current?.cost_usd ?? null,
    recommended_provider: best?.provider ?? null,
    recommended_term_days: best?.term_days ?? null,
    recommended_block_size: best?.block_size ?? null,
    recommended_usd_per_gpu_hour: best?.usd_per_gpu_hour ?? null,
    recommended_gpus: best?.gpus ?? null,
    recommended_usd: best?.cost_usd ?? null,
    fill: best?.fill ?? null,
    break_even_fill: best?.break_even_fill ?? null,
    baseline,
    baseline_usd: baselineUsd,
    saving_usd: best ? baselineUsd - best.cost_usd : null,
    savings_vs_api_usd: d.savings_vs_api_usd,
    savings_vs_on_demand_usd: d.savings_vs_on_demand_usd,
    change: d.change?.label ?? null,
    recent_flagged: d.recent?.flagged ?? null,
  };
}

export type Scenario = 'api' | 'on_demand' | 'reserved' | 'current';

export interface DailyCostRow {
  /** The UTC day, YYYY-MM-DD (the window's first and last days may be partial). */
  day: string;
  customer_id: number;
  customer: string;
  gpu_type: string;
  scenario: Scenario;
  cost_usd: number;
}

const DAY_MS = 24 * HOUR_MS;

/**
 * A scope's cost per UTC day under each scenario, hour by hour with the document's own inputs: api(h);
 * d(h)·o(h); the recommended N·r(h) + overflow(h, N); the current reservations' usd(h) + overflow(h, N(h)).
 * Over all days each scenario adds up to the document's total (up to float summation order). on_demand is
 * left out when some hour has no on-demand rate, reserved when there is no offer, current without reservations.
 */
export function dailyCosts(result: ScopeResult, customer: { id: number; slug: string }, onDemand: ArrayLike<number>): DailyCostRow[] {
  const d = result.document;
  const { demand, api_usd: api, from_ms: fromMs, hours } = result.series;
  const hasOnDemand = d.all_on_demand_usd !== null;
  const pricing = overflowPricing({
    demand,
    overflow: d.overflow,
    on_demand_usd_per_gpu_hour: hasOnDemand ? onDemand : null,
    api_usd: api,
  });
  const best = d.best;
  const offer = best
    ? result.gpu_type.reserved.find((r) => r.provider === best.provider && r.term_days === best.term_days && r.block_size === best.block_size)
    : undefined;
  const schedule = d.current ? reservationSchedule(result.reservations, fromMs, hours) : null;

  const firstDay = Math.floor(fromMs / DAY_MS);
  const days = Math.floor((fromMs + (hours - 1) * HOUR_MS) / DAY_MS) - firstDay + 1;
  const sums: Record<Scenario, Float64Array> = {
    api: new Float64Array(days),
    on_demand: new Float64Array(days),
    reserved: new Float64Array(days),
    current: new Float64Array(days),
  };
  for (let h = 0; h < hours; h++) {
    const day = Math.floor((fromMs + h * HOUR_MS) / DAY_MS) - firstDay;
    sums.api[day] += api[h];
    if (hasOnDemand) sums.on_demand[day] += demand[h] * onDemand[h];
    if (best && offer) sums.reserved[day] += best.gpus * rateAt(offer.usd_per_gpu_hour, h) + hourOverflow(demand[h], best.gpus, h, pricing);
    if (schedule) sums.current[day] += schedule.usd[h] + hourOverflow(demand[h], schedule.gpus[h], h, pricing);
  }
  const scenarios: Scenario[] = ['api'];
  if (hasOnDemand) scenarios.push('on_demand');
  if (best && offer) scenarios.push('reserved');
  if (schedule) scenarios.push('current');
  const rows: DailyCostRow[] = [];
  for (let k = 0; k < days; k++) {
    const day = new Date((firstDay + k) * DAY_MS).toISOString().slice(0, 10);
    for (const scenario of scenarios) {
      rows.push({ day, customer_id: customer.id, customer: customer.slug, gpu_type: d.gpu_type, scenario, cost_usd: sums[scenario][k] });
    }
  }
  return rows;
}
