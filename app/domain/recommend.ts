// How many GPUs to reserve: the cost curve of each reserved offer, its optimum, the best offer, and the
// checks reported beside it (risk levels, stability, the recent-demand guard, the change to make).
import {
  apiCost,
  breakEvenFillVsApi,
  breakEvenFillVsOnDemand,
  checkPricing,
  fill,
  idleCost,
  overflowCost,
  sum,
} from './scenarios.js';
import {
  rateMean,
  rateSum,
  sliceHours,
  sliceRate,
  type CurvePoint,
  type Overflow,
  type OverflowPricing,
  type Rate,
  type ReservedOffer,
} from './types.js';

/** Hours in a stability sub-window, and how many of the latest ones are checked. */
export const WEEK_HOURS = 168;
export const STABILITY_WEEKS = 4;
/** Hours of recent demand that must still support a recommendation. */
export const RECENT_HOURS = 72;
/** The knee: a further block that saves less than this share of the first block's saving. */
export const KNEE_SHARE = 0.4;
/** Relative difference below which two costs are a tie (float noise, far below a cent on any bill). */
export const TIE_RELATIVE = 1e-9;

/** Everything a window's scenarios are priced with. */
export interface CostInputs {
  /** d(h), GPUs. */
  demand: ArrayLike<number>;
  overflow: Overflow;
  /** o(h); needed for on-demand overflow, the all-on-demand cost and break-even against on-demand. */
  on_demand_usd_per_gpu_hour: Rate | null;
  /** api(h); needed for API overflow, the all-API cost and break-even against the API. */
  api_usd: ArrayLike<number> | null;
}

/** The overflow pricing the inputs' mode asks for; throws when its price is missing. */
export function overflowPricing(inputs: CostInputs): OverflowPricing {
  if (inputs.overflow === 'on_demand') {
    if (inputs.on_demand_usd_per_gpu_hour === null) throw new RangeError('on-demand overflow needs an on-demand rate');
    return { mode: 'on_demand', usd_per_gpu_hour: inputs.on_demand_usd_per_gpu_hour };
  }
  if (inputs.api_usd === null) throw new RangeError('API overflow needs API costs');
  return { mode: 'api', api_usd: inputs.api_usd };
}

/** The inputs restricted to hours [start, end). */
export function sliceInputs(inputs: CostInputs, start: number, end: number): CostInputs {
  return {
    demand: sliceHours(inputs.demand, start, end),
    overflow: inputs.overflow,
    on_demand_usd_per_gpu_hour:
      inputs.on_demand_usd_per_gpu_hour === null ? null : sliceRate(inputs.on_demand_usd_per_gpu_hour, start, end),
    api_usd: inputs.api_usd === null ? null : sliceHours(inputs.api_usd, start, end),
  };
}

/** |a − b| ≤ 1e-9 · max(1, |a|, |b|): costs that differ only by summation order are equal. */
export function costsTie(a: number, b: number): boolean {
  return Math.abs(a - b) <= TIE_RELATIVE * Math.max(1, Math.abs(a), Math.abs(b));
}

/** k = ⌈d / b⌉, the number of blocks that cover d, corrected for division rounding so that k·b ≥ d > (k−1)·b. */
export function blocksToCover(d: number, block: number): number {
  if (!(d > 0)) return 0;
  let k = Math.ceil(d / block);
  while (k * block < d) k++;
  while (k > 0 && (k - 1) * block >= d) k--;
  return k;
}

/**
 * [(N, RESERVED(N))] for N = 0, b, 2b, … b·⌈max d/b⌉, RESERVED(N) = N·Σ_h r(h) + Σ_{h: d>N} (α_h − N·β_h)
 * with α = o·d, β = o (on-demand overflow) or α = api, β = api/d (API overflow).
 *
 * Why it is fast: d(h) > N = k·b exactly when ⌈d(h)/b⌉ > k, so hours are bucketed once by ⌈d/b⌉ (no sort)
 * and suffix sums of α and β give every point of the curve in O(1): O(H + K) in all, for either overflow.
 */
export function reservedCurve(demand: ArrayLike<number>, blockSize: number, r: Rate, pricing: OverflowPricing): CurvePoint[] {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`block size must be a whole number ≥ 1, got ${blockSize}`);
  const hours = demand.length;
  checkPricing(pricing, hours);
  let maxD = 0;
  for (let h = 0; h < hours; h++) {
    const d = demand[h];
    if (!(d >= 0 && d < Infinity)) throw new RangeError(`demand ${d} at hour ${h} is not a finite number ≥ 0`);
    if (d > maxD) maxD = d;
  }
  const top = blocksToCover(maxD, blockSize);
  const alpha = new Float64Array(top + 1);
  const beta = new Float64Array(top + 1);
  const onDemand = pricing.mode === 'on_demand';
  const o = onDemand ? pricing.usd_per_gpu_hour : 0;
  const oPerHour = typeof o === 'number' ? null : o;
  const api = onDemand ? null : pricing.api_usd;
  for (let h = 0; h < hours; h++) {
    const d = demand[h];
    if (d <= 0) continue;
    // blocksToCover, inlined: this loop is the engine's hottest.
    let k = Math.ceil(d / blockSize);
    if (k * blockSize < d) k++;
    else if ((k - 1) * blockSize >= d) k--;
    if (api === null) {
      const oh = oPerHour === null ? (o as number) : oPerHour[h];
      alpha[k] += oh * d;
      beta[k] += oh;
    } else {
      const a = api[h];
      alpha[k] += a;
      beta[k] += a / d;
    }
  }
  const reservedPerGpu = rateSum(r, hours);
  const curve: CurvePoint[] = new Array(top + 1);
  let sa = 0;
  let sb = 0;
  for (let k = top; k >= 0; k--) {
    const n = k * blockSize;
    // Each term α − N·β is ≥ 0; the max only removes float noise of the cancellation. At N = 0 the β sum
    // is not needed (and api/d of a near-zero d may have overflowed to Infinity, and 0·∞ is NaN).
    const overflow = n === 0 ? sa : Math.max(0, sa - n * sb);
    curve[k] = { gpus: n, cost_usd: n * reservedPerGpu + overflow };
    sa += alpha[k];
    sb += beta[k];
  }
  return curve;
}

/** argmin_N RESERVED(N), the smaller N on a tie (costs within TIE_RELATIVE of the minimum). */
export function optimumOf(curve: readonly CurvePoint[]): CurvePoint {
  if (curve.length === 0) throw new RangeError('empty cost curve');
  let min = Infinity;
  for (const p of curve) if (p.cost_usd < min) min = p.cost_usd;
  // The curve is in increasing N, so the first point tied with the minimum is the smallest N.
  return curve.find((p) => p.cost_usd <= min || costsTie(p.cost_usd, min)) as CurvePoint;
}

export interface OfferResult {
  provider: string;
  term_days: number;
  block_size: number;
  /** The offer's rate, averaged over the window when it changes. */
  usd_per_gpu_hour: number | null;
  gpus: number;
  cost_usd: number;
  fill: number | null;
  idle_cost_usd: number;
  /** Against what overflow goes to: on-demand (r/o) or the API (r/(API/Σd)). */
  break_even_fill: number | null;
  break_even_fill_vs_on_demand: number | null;
  break_even_fill_vs_api: number | null;
  curve: CurvePoint[];
}

/** Σ_h d(h) and API = Σ_h api(h), shared by every offer of a window. */
export function windowTotals(inputs: CostInputs): { demand_gpu_hours: number; api_usd: number | null } {
  return { demand_gpu_hours: sum(inputs.demand), api_usd: inputs.api_usd === null ? null : apiCost(inputs.api_usd) };
}

/** One offer: its curve, optimum N* = argmin RESERVED(N), fill(N*), idle_cost(N*) and break-even fills. */
export function evaluateOffer(inputs: CostInputs, offer: ReservedOffer, totals = windowTotals(inputs)): OfferResult {
  const { demand } = inputs;
  const hours = demand.length;
  const curve = reservedCurve(demand, offer.block_size, offer.usd_per_gpu_hour, overflowPricing(inputs));
  const best = optimumOf(curve);
  const o = inputs.on_demand_usd_per_gpu_hour;
  const vsOnDemand = o === null ? null : breakEvenFillVsOnDemand(offer.usd_per_gpu_hour, o, hours);
  const vsApi =
    totals.api_usd === null ? null : breakEvenFillVsApi(offer.usd_per_gpu_hour, totals.api_usd, totals.demand_gpu_hours, hours);
  return {
    provider: offer.provider,
    term_days: offer.term_days,
    block_size: offer.block_size,
    usd_per_gpu_hour: rateMean(offer.usd_per_gpu_hour, hours),
    gpus: best.gpus,
    cost_usd: best.cost_usd,
    fill: fill(demand, best.gpus),
    idle_cost_usd: idleCost(demand, best.gpus, offer.usd_per_gpu_hour),
    break_even_fill: inputs.overflow === 'on_demand' ? vsOnDemand : vsApi,
    break_even_fill_vs_on_demand: vsOnDemand,
    break_even_fill_vs_api: vsApi,
    curve,
  };
}

/**
 * best = argmin over offers of min_N RESERVED(N). Ties (within TIE_RELATIVE) go to fewer GPUs, then the
 * shorter term (less commitment for the same money), then provider name, then input order.
 */
export function recommend(inputs: CostInputs, offers: readonly ReservedOffer[]): { offers: OfferResult[]; best: OfferResult | null } {
  const totals = windowTotals(inputs);
  const results = offers.map((o) => evaluateOffer(inputs, o, totals));
  let best: OfferResult | null = null;
  for (const r of results) {
    if (!best) best = r;
    else if (costsTie(r.cost_usd, best.cost_usd)) {
      const better =
        r.gpus !== best.gpus
          ? r.gpus < best.gpus
          : r.term_days !== best.term_days
            ? r.term_days < best.term_days
            : r.provider < best.provider;
      if (better) best = r;
    } else if (r.cost_usd < best.cost_usd) best = r;
  }
  return { offers: results, best };
}

/** RESERVED(0) = Σ_h overflow(h, 0): everything overflows (all on-demand, or all API). What a scope without offers pays. */
export function noReservationCost(inputs: CostInputs): number {
  return overflowCost(inputs.demand, 0, overflowPricing(inputs));
}

export interface RiskLevels {
  floor: CurvePoint;
  balanced: CurvePoint;
  optimal: CurvePoint;
}

/**
 * floor = b·⌊min_h d(h) / b⌋ (rounded *down*, so the reservation is never idle; gaps are demand 0, so a
 * window with a gap has floor 0); balanced = the knee: with s_k = RESERVED(N_{k−1}) − RESERVED(N_k), the
 * smallest N_k (k ≥ 1) whose next block saves s_{k+1} < 40 % · s_1 (0 when the first block saves nothing;
 * past the curve's end a further block saves nothing), never above optimal; optimal = the optimum.
 */
export function riskLevels(curve: readonly CurvePoint[], demand: ArrayLike<number>, blockSize: number): RiskLevels {
  const optimal = optimumOf(curve);
  let minD = Infinity;
  for (let h = 0; h < demand.length; h++) if (demand[h] < minD) minD = demand[h];
  let kFloor = minD === Infinity ? 0 : Math.floor(minD / blockSize);
  while (kFloor > 0 && kFloor * blockSize > minD) kFloor--;
  kFloor = Math.min(kFloor, curve.length - 1);

  const saving = (k: number): number => (k < curve.length ? curve[k - 1].cost_usd - curve[k].cost_usd : 0);
  let balanced = curve[0];
  const first = curve.length > 1 ? saving(1) : 0;
  if (first > 0 && !costsTie(curve[0].cost_usd, curve[1].cost_usd)) {
    for (let k = 1; k < curve.length; k++) {
      if (saving(k + 1) < KNEE_SHARE * first) {
        balanced = curve[k];
        break;
      }
    }
  }
  if (balanced.gpus > optimal.gpus) balanced = optimal;
  return { floor: curve[kFloor], balanced, optimal };
}

export interface Stability {
  min_gpus: number;
  max_gpus: number;
  /** The optimum of each sub-window, oldest first. */
  weeks: { start_hour: number; gpus: number }[];
}

/**
 * min–max of the optimum recomputed on each of the last four complete 168-hour sub-windows, counted back
 * from the window's end (fewer when the window is shorter; the whole window when it is under a week).
 */
export function stability(inputs: CostInputs, offer: ReservedOffer): Stability {
  const hours = inputs.demand.length;
  const count = Math.min(STABILITY_WEEKS, Math.floor(hours / WEEK_HOURS));
  const windows: [number, number][] = [];
  if (count === 0) windows.push([0, hours]);
  for (let j = count; j >= 1; j--) windows.push([hours - j * WEEK_HOURS, hours - (j - 1) * WEEK_HOURS]);
  const weeks = windows.map(([s, e]) => ({ start_hour: s, gpus: optimumInWindow(inputs, offer, s, e) }));
  const gpus = weeks.map((w) => w.gpus);
  return { min_gpus: Math.min(...gpus), max_gpus: Math.max(...gpus), weeks };
}

function optimumInWindow(inputs: CostInputs, offer: ReservedOffer, start: number, end: number): number {
  const sub = sliceInputs(inputs, start, end);
  const r = sliceRate(offer.usd_per_gpu_hour, start, end);
  return optimumOf(reservedCurve(sub.demand, offer.block_size, r, overflowPricing(sub))).gpus;
}

export interface RecentGuard {
  hours: number;
  /** The optimum on the last 72 hours alone. */
  gpus: number;
  /** Recent demand no longer supports the recommendation: its optimum is lower. */
  flagged: boolean;
}

/** Optimum over the last min(72, H) hours; flagged when it is below the recommended N. */
export function recentGuard(inputs: CostInputs, offer: ReservedOffer, recommendedGpus: number): RecentGuard {
  const hours = inputs.demand.length;
  const n = Math.min(RECENT_HOURS, hours);
  const gpus = n === 0 ? 0 : optimumInWindow(inputs, offer, hours - n, hours);
  return { hours: n, gpus, flagged: gpus < recommendedGpus };
}

export interface Change {
  delta_gpus: number;
  /** "+8 H100", "−8 H100" (U+2212 minus) or "no change". */
  label: string;
}

/** Δ = recommended − current: "+Δ TYPE", "−|Δ| TYPE" or "no change". */
export function changeAgainstCurrent(currentGpus: number, recommendedGpus: number, gpuType: string): Change {
  const delta = recommendedGpus - currentGpus;
  const label = delta === 0 ? 'no change' : `${delta > 0 ? '+' : '\u2212'}${Math.abs(delta)} ${gpuType}`;
  return { delta_gpus: delta, label };
}
