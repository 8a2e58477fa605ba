// Pools: customers who share reserved GPUs. Their demands add before the optimum is taken, which is
// where aggregation raises utilization.
import { noReservationCost, recommend, type CostInputs } from './recommend.js';
import { SOURCE_NONE, type DemandSeries, type ReservedOffer } from './types.js';

/** D(h) = Σ_c d_c(h), API(h) = Σ_c api_c(h); an hour is a gap only when no member has data for it. */
export function poolSeries(window: { from_ms: number; hours: number }, members: readonly DemandSeries[]): DemandSeries {
  const { from_ms: fromMs, hours } = window;
  const demand = new Float64Array(hours);
  const api = new Float64Array(hours);
  const source = new Uint8Array(hours);
  for (const m of members) {
    if (m.from_ms !== fromMs || m.hours !== hours) throw new RangeError('pool members must share the window');
    for (let h = 0; h < hours; h++) {
      demand[h] += m.demand[h];
      api[h] += m.api_usd[h];
      source[h] |= m.source[h];
    }
  }
  let gaps = 0;
  for (let h = 0; h < hours; h++) if (source[h] === SOURCE_NONE) gaps++;
  return { from_ms: fromMs, hours, demand, api_usd: api, source, hours_without_data: gaps };
}

/** Σ_members optimum cost − pooled optimum cost. */
export function aggregationSaving(memberOptimumCosts: readonly number[], pooledOptimumCost: number): number {
  let s = 0;
  for (const c of memberOptimumCosts) s += c;
  return s - pooledOptimumCost;
}

export interface MemberOptimum {
  customer: string;
  provider: string | null;
  gpus: number;
  cost_usd: number;
}

export interface Aggregation {
  members: MemberOptimum[];
  members_optimum_usd: number;
  pooled_gpus: number;
  pooled_optimum_usd: number;
  saving_usd: number;
}

/**
 * aggregation saving = Σ_c min_offer,N RESERVED_c(N) − min_offer,N RESERVED_pool(N): each member and the
 * pool take their own best offer; without offers a scope pays RESERVED(0).
 */
export function aggregation(
  members: readonly { customer: string; inputs: CostInputs }[],
  pooled: CostInputs,
  offers: readonly ReservedOffer[],
): Aggregation {
  const optimum = (inputs: CostInputs) => {
    const { best } = recommend(inputs, offers);
    return best
      ? { provider: best.provider, gpus: best.gpus, cost_usd: best.cost_usd }
      : { provider: null, gpus: 0, cost_usd: noReservationCost(inputs) };
  };
  const memberResults = members.map((m) => ({ customer: m.customer, ...optimum(m.inputs) }));
  const pool = optimum(pooled);
  const costs = memberResults.map((m) => m.cost_usd);
  return {
    members: memberResults,
    members_optimum_usd: aggregationSaving(costs, 0),
    pooled_gpus: pool.gpus,
    pooled_optimum_usd: pool.cost_usd,
    saving_usd: aggregationSaving(costs, pool.cost_usd),
  };
}
