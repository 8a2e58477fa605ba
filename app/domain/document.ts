// The `recommend --json` document of DESIGN.md, built from plain arrays. The CLI, the views and the
// recommendations table all store or print this one shape.
import { aggregation, type Aggregation } from './pooling.js';
import {
  changeAgainstCurrent,
  overflowPricing,
  recentGuard,
  recommend,
  riskLevels,
  stability,
  type Change,
  type CostInputs,
  type RecentGuard,
  type RiskLevels,
} from './recommend.js';
import { apiCost, onDemandCost, reservationSchedule, scheduleCost, type ScheduleCost } from './scenarios.js';
import { demandStats, type DemandStats } from './stats.js';
import { checkLength, HOUR_MS, type CurvePoint, type Overflow, type Rate, type Reservation, type ReservedOffer } from './types.js';

export interface SeriesArrays {
  demand: ArrayLike<number>;
  api_usd: ArrayLike<number>;
}

export interface RecommendDocumentInput {
  scope: { customer: string | null; pool: string | null };
  gpu_type: string;
  /** Window [from, to), ISO 8601 instants on whole UTC hours. */
  from: string;
  to: string;
  overflow: Overflow;
  series: SeriesArrays & { hours_without_data: number };
  /** o(h); null when no on-demand offer exists (then only API overflow is possible). */
  on_demand_usd_per_gpu_hour: Rate | null;
  /** Every reserved offer of the GPU type in force for the window. */
  offers: readonly ReservedOffer[];
  /** Reservations of this scope and GPU type that exist (any that meet the window). */
  reservations: readonly Reservation[];
  /** A pool's members, for the aggregation saving. */
  members?: readonly ({ customer: string } & SeriesArrays)[];
  /**
   * How much of the recommendation to work out: `full` (the default); `best` — every offer's optimum and the best,
   * without stability, risk levels or the 3-day guard; `none` — no recommendation at all (no offers, best null).
   * The lesser levels are for readers of today's cost alone (the FOCUS export), which would otherwise pay for
   * curves they never read; such a document is not a recommendation and is never shown as one.
   */
  recommendation?: Recommendation;
}

export type Recommendation = 'full' | 'best' | 'none';

export interface OfferSummary {
  provider: string;
  term_days: number;
  block_size: number;
  usd_per_gpu_hour: number | null;
  gpus: number;
  cost_usd: number;
  fill: number | null;
  idle_cost_usd: number;
  break_even_fill: number | null;
}

export interface RecommendDocument {
  scope: { customer: string | null; pool: string | null };
  gpu_type: string;
  from: string;
  to: string;
  hours: number;
  overflow: Overflow;
  demand: DemandStats & { hours_without_data: number };
  all_api_usd: number;
  /** null when no on-demand rate is known. */
  all_on_demand_usd: number | null;
  /** null when no reservation is active in any hour of the window; gpus = N in the window's last hour. */
  current: ScheduleCost | null;
  /** null when the GPU type has no reserved offer. */
  best: (OfferSummary & { break_even_fill_vs_on_demand: number | null; break_even_fill_vs_api: number | null }) | null;
  savings_vs_api_usd: number | null;
  savings_vs_on_demand_usd: number | null;
  stability: { min_gpus: number; max_gpus: number; weeks: { from: string; gpus: number }[] } | null;
  curve: CurvePoint[];
  // Beyond DESIGN.md's example:
  risk_levels: RiskLevels | null;
  recent: RecentGuard | null;
  change: Change | null;
  offers: OfferSummary[];
  aggregation: Aggregation | null;
}

/** An ISO instant on a whole UTC hour → epoch ms; anything else is bad input. */
export function parseHour(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`${iso} is not an ISO 8601 instant`);
  if (ms % HOUR_MS !== 0) throw new RangeError(`${iso} is not on a whole UTC hour`);
  return ms;
}

/** epoch ms → "YYYY-MM-DDTHH:MM:SSZ", DESIGN.md's spelling (no milliseconds). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The `recommend --json` document: demand stats, all-API = Σ api(h), all-on-demand = Σ d·o, current =
 * existing reservations costed like RESERVED, best = the cheapest offer's optimum, savings = all-X − best,
 * stability, the best offer's curve, plus risk levels, the 3-day guard, the change and every offer's result.
 * Amounts are unrounded.
 */
export function buildRecommendDocument(input: RecommendDocumentInput): RecommendDocument {
  const fromMs = parseHour(input.from);
  const toMs = parseHour(input.to);
  const hours = (toMs - fromMs) / HOUR_MS;
  if (hours < 1) throw new RangeError(`the window ${input.from} – ${input.to} is empty`);
  const { demand, api_usd: apiUsd } = input.series;
  checkLength(demand, hours, 'demand');
  checkLength(apiUsd, hours, 'api cost');

  const o = input.on_demand_usd_per_gpu_hour;
  const inputs: CostInputs = { demand, overflow: input.overflow, on_demand_usd_per_gpu_hour: o, api_usd: apiUsd };
  const allApi = apiCost(apiUsd);
  const allOnDemand = o === null ? null : onDemandCost(demand, o);

  const pricing = overflowPricing(inputs);
  // No schedule to build without reservations (most scopes): it would be two arrays of zeros.
  const schedule = input.reservations.length > 0 ? reservationSchedule(input.reservations, fromMs, hours) : null;
  const current = schedule && schedule.gpus.some((n) => n > 0) ? scheduleCost(demand, schedule, pricing) : null;

  const level = input.recommendation ?? 'full';
  const { offers, best } = level === 'none' ? { offers: [], best: null } : recommend(inputs, input.offers);
  const full = level === 'full';
  const bestOffer = best ? input.offers[offers.indexOf(best)] : null;
  const summary = (r: (typeof offers)[number]): OfferSummary => ({
    provider: r.provider,
    term_days: r.term_days,
    block_size: r.block_size,
    usd_per_gpu_hour: r.usd_per_gpu_hour,
    gpus: r.gpus,
    cost_usd: r.cost_usd,
    fill: r.fill,
    idle_cost_usd: r.idle_cost_usd,
    break_even_fill: r.break_even_fill,
  });

  const stable = full && bestOffer ? stability(inputs, bestOffer) : null;
  const members = input.members;
  return {
    scope: { customer: input.scope.customer, pool: input.scope.pool },
    gpu_type: input.gpu_type,
    from: formatInstant(fromMs),
    to: formatInstant(toMs),
    hours,
    overflow: input.overflow,
    demand: { ...demandStats(demand), hours_without_data: input.series.hours_without_data },
    all_api_usd: allApi,
    all_on_demand_usd: allOnDemand,
    current,
    best: best
      ? {
          ...summary(best),
          break_even_fill_vs_on_demand: best.break_even_fill_vs_on_demand,
          break_even_fill_vs_api: best.break_even_fill_vs_api,
        }
      : null,
    savings_vs_api_usd: best ? allApi - best.cost_usd : null,
    savings_vs_on_demand_usd: best && allOnDemand !== null ? allOnDemand - best.cost_usd : null,
    stability: stable
      ? {
          min_gpus: stable.min_gpus,
          max_gpus: stable.max_gpus,
          weeks: stable.weeks.map((w) => ({ from: formatInstant(fromMs + w.start_hour * HOUR_MS), gpus: w.gpus })),
        }
      : null,
    curve: best ? best.curve : [],
    risk_levels: full && best && bestOffer ? riskLevels(best.curve, demand, bestOffer.block_size) : null,
    recent: full && best && bestOffer ? recentGuard(inputs, bestOffer, best.gpus) : null,
    change: best ? changeAgainstCurrent(current?.gpus ?? 0, best.gpus, input.gpu_type) : null,
    offers: offers.map(summary),
    aggregation:
      full && members && members.length > 0
        ? aggregation(
            members.map((m) => ({
              customer: m.customer,
              inputs: { demand: m.demand, overflow: input.overflow, on_demand_usd_per_gpu_hour: o, api_usd: m.api_usd },
            })),
            inputs,
            input.offers,
          )
        : null,
  };
}
