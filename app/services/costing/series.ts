// A customer's hourly demand and API cost on one GPU type, each hour with the capacity profiles and API prices
// in force then. Two implementations of the same formulas: customerSeriesReference runs the pure engine's
// hourlySeries once per price-book segment on row objects and stitches the segments together; customerSeries
// does the same arithmetic, in the same order, straight on the loaded columns, without making an object per row
// (the batch views cost millions of rows). Tests hold the two to identical numbers.
import { hourlySeries, type ObservedThroughput, type TokenHourRow } from '../../domain/demand.js';
import type { ApiPriceLookup } from '../../domain/effective.js';
import { DEFAULT_TARGET_UTILIZATION } from '../../domain/gpu-types.js';
import { apiCostUsd, tokenClassPrices, uncachedInputTokens } from '../../domain/tokens.js';
import {
  HOUR_MS,
  HOUR_SECONDS,
  SOURCE_NONE,
  SOURCE_TELEMETRY,
  SOURCE_TOKENS,
  type ApiPrice,
  type CapacityProfile,
  type DemandSeries,
} from '../../domain/types.js';
import { telemetryRows, tokenRows, type TelemetryColumns, type TokenColumns, type TokenRowMs } from './columns.js';
import type { ApiCandidate, GpuTypePrices, PriceContext, Segment } from './prices.js';

export interface ScopeSeries extends DemandSeries {
  /** Telemetry against the profiles, where both exist (null: no such hour). */
  observed: ObservedThroughput | null;
  /** Models whose tokens add no demand on this GPU type (no capacity profile in force). */
  unprofiled_models: string[];
  /** Models whose tokens have no API price in force. */
  unpriced_models: string[];
  /** Hours whose demand is measured, and hours whose demand comes from tokens. */
  telemetry_hours: number;
  token_hours: number;
}

/** The API offer that prices these tokens lowest (the first listed on a tie). */
export function cheapestApiOffer(candidates: readonly ApiCandidate[], tokens: TokenHourRow): ApiCandidate {
  let best = candidates[0];
  let bestCost = apiCostUsd(tokens, best);
  for (let i = 1; i < candidates.length; i++) {
    const cost = apiCostUsd(tokens, candidates[i]);
    if (cost < bestCost) {
      best = candidates[i];
      bestCost = cost;
    }
  }
  return best;
}

/**
 * api_price(model, h) within a segment. Decision: when several providers offer a model's API, each hour's
 * tokens are priced by the offer that is cheapest for exactly those tokens (their mix of uncached, cached,
 * cache-write and output). It depends on that hour alone, so a day's API cost is the same whatever window
 * it is viewed in. A customer has one rollup row per model and hour, so the choice is made per row.
 */
function segmentApiLookup(segment: Segment, segFromMs: number, hours: number, tokens: readonly TokenRowMs[]): ApiPriceLookup {
  const chosen = new Map<string, (ApiPrice | undefined)[]>();
  for (const r of tokens) {
    const candidates = segment.api.get(r.model);
    if (!candidates || candidates.length < 2) continue;
    let perHour = chosen.get(r.model);
    if (!perHour) chosen.set(r.model, (perHour = new Array(hours)));
    perHour[(r.hour - segFromMs) / HOUR_MS] = cheapestApiOffer(candidates, r);
  }
  return (model, hourMs) => {
    const candidates = segment.api.get(model);
    if (!candidates) return undefined;
    if (candidates.length === 1) return candidates[0];
    return chosen.get(model)?.[(hourMs - segFromMs) / HOUR_MS];
  };
}

function mergeObserved(parts: (ObservedThroughput | null)[]): ObservedThroughput | null {
  const present = parts.filter((p): p is ObservedThroughput => p !== null);
  if (present.length === 0) return null;
  if (present.length === 1) return present[0];
  const sum = (f: (p: ObservedThroughput) => number) => present.reduce((s, p) => s + f(p), 0);
  const busy = sum((p) => p.busy_gpu_seconds);
  const uncached = sum((p) => p.uncached_input_tokens);
  const output = sum((p) => p.output_tokens);
  const profile = sum((p) => p.profile_gpu_seconds);
  return {
    hours: sum((p) => p.hours),
    busy_gpu_seconds: busy,
    uncached_input_tokens: uncached,
    output_tokens: output,
    input_tokens_per_busy_gpu_second: busy > 0 ? uncached / busy : null,
    output_tokens_per_busy_gpu_second: busy > 0 ? output / busy : null,
    profile_gpu_seconds: profile,
    profile_over_observed: busy > 0 ? profile / busy : null,
  };
}

/**
 * d(h) and api(h) of one customer on one GPU type over the context's window (DESIGN.md "From raw data to
 * hourly demand"): telemetry of that type where it exists, else the customer's tokens through that type's
 * capacity profiles in force at h; api(h) from every token at the API prices in force at h. The window must
 * be covered by price books (callers check PriceContext.uncovered first). The reference: hourlySeries per
 * segment.
 */
export function customerSeriesReference(
  ctx: PriceContext,
  type: GpuTypePrices,
  telemetry: TelemetryColumns,
  tokens: TokenColumns,
): ScopeSeries {
  if (ctx.uncovered > 0) throw new RangeError('the window has hours without a price book in force');
  const { from_ms: fromMs, hours } = ctx;
  const demand = new Float64Array(hours);
  const api = new Float64Array(hours);
  const source = new Uint8Array(hours);
  const observed: (ObservedThroughput | null)[] = [];
  const unprofiled = new Set<string>();
  const unpriced = new Set<string>();
  let gaps = 0;
  for (const segment of ctx.segments) {
    const segFrom = fromMs + segment.start * HOUR_MS;
    const segHours = segment.end - segment.start;
    const segTo = segFrom + segHours * HOUR_MS;
    // Row objects for this customer and segment only: made, used and dropped here.
    const segTelemetry = telemetryRows(telemetry, segFrom, segTo);
    const segTokens = tokenRows(tokens, segFrom, segTo);
    const part = hourlySeries({
      from_ms: segFrom,
      hours: segHours,
      telemetry: segTelemetry,
      tokens: segTokens,
      gpu_target_utilization: type.target_utilization,
      profiles: segment.profiles.get(type.name) ?? new Map(),
      api_price: segmentApiLookup(segment, segFrom, segHours, segTokens),
    });
    demand.set(part.demand, segment.start);
    api.set(part.api_usd, segment.start);
    source.set(part.source, segment.start);
    gaps += part.hours_without_data;
    observed.push(part.observed);
    for (const m of part.unprofiled_models) unprofiled.add(m);
    for (const m of part.unpriced_models) unpriced.add(m);
  }
  let telemetryHours = 0;
  let tokenHours = 0;
  for (let h = 0; h < hours; h++) {
    if (source[h] & SOURCE_TELEMETRY) telemetryHours++;
    if (source[h] & SOURCE_TOKENS) tokenHours++;
  }
  return {
    from_ms: fromMs,
    hours,
    demand,
    api_usd: api,
    source,
    hours_without_data: gaps,
    observed: mergeObserved(observed),
    unprofiled_models: [...unprofiled].sort(),
    unpriced_models: [...unpriced].sort(),
    telemetry_hours: telemetryHours,
    token_hours: tokenHours,
  };
}

/** Scratch arrays for the per-hour sums, reused from call to call (fresh memory is costly; these never escape). */
const scratch = {
  hours: 0,
  allocated: new Float64Array(0),
  busy: new Float64Array(0),
  tokenDemand: new Float64Array(0),
  profileSeconds: new Float64Array(0),
  uncachedIn: new Float64Array(0),
  out: new Float64Array(0),
  hasTokens: new Uint8Array(0),
};

function scratchFor(hours: number): typeof scratch {
  if (scratch.hours < hours) {
    scratch.hours = hours;
    scratch.allocated = new Float64Array(hours);
    scratch.busy = new Float64Array(hours);
    scratch.tokenDemand = new Float64Array(hours);
    scratch.profileSeconds = new Float64Array(hours);
    scratch.uncachedIn = new Float64Array(hours);
    scratch.out = new Float64Array(hours);
    scratch.hasTokens = new Uint8Array(hours);
  } else {
    scratch.allocated.fill(0, 0, hours);
    scratch.busy.fill(0, 0, hours);
    scratch.tokenDemand.fill(0, 0, hours);
    scratch.profileSeconds.fill(0, 0, hours);
    scratch.uncachedIn.fill(0, 0, hours);
    scratch.out.fill(0, 0, hours);
    scratch.hasTokens.fill(0, 0, hours);
  }
  return scratch;
}

const segmentIndexes = new WeakMap<PriceContext, Int32Array>();

/** The segment of each hour of the window. */
function segmentOf(ctx: PriceContext): Int32Array {
  let seg = segmentIndexes.get(ctx);
  if (!seg) {
    seg = new Int32Array(ctx.hours).fill(-1);
    ctx.segments.forEach((s, k) => seg!.fill(k, s.start, s.end));
    segmentIndexes.set(ctx, seg);
  }
  return seg;
}

interface ModelInfo {
  profile: CapacityProfile | undefined;
  u: number;
  candidates: readonly ApiCandidate[] | undefined;
  /** The candidates' prices with the defaults applied, 4 per candidate: input, cached, cache write, output. */
  prices: Float64Array;
}

/** The hour index of an epoch hour, which must be a whole hour of the window (as hourlySeries insists). */
function hourIndexOf(epochHour: number, fromHour: number, hours: number): number {
  const h = epochHour - fromHour;
  if (!(h >= 0 && h < hours) || h !== Math.floor(h)) {
    throw new RangeError(`row at ${new Date(epochHour * HOUR_MS).toISOString()} is not an hour of the window`);
  }
  return h;
}

/**
 * Arrays for series, handed out again after `reset` — which says that every series made from them has been
 * dropped. Why: an export evaluating a year pool by pool made ~150 kB of arrays per customer and GPU type, garbage
 * as soon as the pool was priced, and the collector's lag behind them was most of the export's peak memory.
 */
export class SeriesArrays {
  private readonly float64s: Float64Array[] = [];
  private readonly uint8s: Uint8Array[] = [];
  private nextFloat64 = 0;
  private nextUint8 = 0;

  /** Zeroed, as a new array is. */
  float64(n: number): Float64Array {
    return zeroed(this.float64s, this.nextFloat64++, n, (k) => new Float64Array(k));
  }

  uint8(n: number): Uint8Array {
    return zeroed(this.uint8s, this.nextUint8++, n, (k) => new Uint8Array(k));
  }

  reset(): void {
    this.nextFloat64 = 0;
    this.nextUint8 = 0;
  }
}

function zeroed<A extends Float64Array | Uint8Array>(pool: A[], i: number, n: number, make: (n: number) => A): A {
  const a = pool[i];
  if (a && a.length === n) return a.fill(0) as A;
  return (pool[i] = make(n));
}

/** What a series is made of when no SeriesArrays are given. */
const newArrays = { float64: (n: number) => new Float64Array(n), uint8: (n: number) => new Uint8Array(n) };

/**
 * customerSeriesReference's numbers, computed on the columns: per hour, the same sums in the same row order,
 * the same formulas (hourlySeries's, inlined there from tokens.ts), the same API choice per row. api(h) does not
 * depend on the GPU type: `api`, the customer's series on another type of the same window, lends its own.
 * `arrays`: where the series' arrays come from (default new ones).
 */
export function customerSeries(
  ctx: PriceContext,
  type: GpuTypePrices,
  telemetry: TelemetryColumns,
  tokens: TokenColumns,
  { api, arrays = newArrays }: { api?: Pick<ScopeSeries, 'api_usd' | 'unpriced_models'>; arrays?: Pick<SeriesArrays, 'float64' | 'uint8'> } = {},
): ScopeSeries {
  if (ctx.uncovered > 0) throw new RangeError('the window has hours without a price book in force');
  const hours = ctx.hours;
  const fromHour = ctx.from_ms / HOUR_MS;
  const uGpu = type.target_utilization ?? DEFAULT_TARGET_UTILIZATION;
  if (!(uGpu > 0 && uGpu <= 1)) throw new RangeError(`target utilization ${uGpu} is outside (0, 1]`);
  const { allocated, busy, tokenDemand, profileSeconds, uncachedIn, out, hasTokens } = scratchFor(hours);
  const apiUsd = api ? api.api_usd : arrays.float64(hours);
  const seg = segmentOf(ctx);

  {
    const { rows, epoch_hour: epochHours, allocated_gpu_seconds: held, busy_gpu_seconds: used } = telemetry;
    for (let k = 0; k < telemetry.length; k++) {
      const i = rows[k];
      const h = epochHours[i] - fromHour;
      if (!(h >= 0 && h < hours) || h !== Math.floor(h)) hourIndexOf(epochHours[i], fromHour, hours); // throws
      allocated[h] += held[i];
      busy[h] += used[i];
    }
  }

  // What a model means in a segment, resolved once per (segment, model) as hourlySeries does once per model.
  const infos: (ModelInfo | undefined)[][] = ctx.segments.map(() => []);
  const unprofiled: Set<string>[] = ctx.segments.map(() => new Set());
  const unpriced = new Set<string>();
  const info = (s: number, m: number): ModelInfo => {
    let x = infos[s][m];
    if (!x) {
      const segment = ctx.segments[s];
      const name = tokens.models[m];
      const profile = segment.profiles.get(type.name)?.get(name);
      const candidates = segment.api.get(name);
      const prices = new Float64Array(4 * (candidates?.length ?? 0));
      candidates?.forEach((c, j) => prices.set(tokenClassPrices(c), 4 * j));
      x = { profile, u: profile?.target_utilization ?? DEFAULT_TARGET_UTILIZATION, candidates, prices };
      if (!profile) unprofiled[s].add(name);
      infos[s][m] = x;
    }
    return x;
  };

  const { input_tokens: inputs, cached_input_tokens: cachedIn, cache_write_input_tokens: written, output_tokens: outputs } = tokens;
  let lastSegment = -1;
  let lastModel = -1;
  let segmentInfos: (ModelInfo | undefined)[] = [];
  let x: ModelInfo = { profile: undefined, u: DEFAULT_TARGET_UTILIZATION, candidates: undefined, prices: new Float64Array(0) };
  const rows = tokens.rows;
  const epochHours = tokens.epoch_hour;
  const modelOf = tokens.model;
  for (let k = 0; k < tokens.length; k++) {
    const i = rows[k];
    const h = epochHours[i] - fromHour;
    if (!(h >= 0 && h < hours) || h !== Math.floor(h)) hourIndexOf(epochHours[i], fromHour, hours); // throws
    const m = modelOf[i];
    const s = seg[h];
    if (s !== lastSegment) {
      lastSegment = s;
      segmentInfos = infos[s];
      lastModel = -1;
    }
    if (m !== lastModel) {
      lastModel = m;
      x = segmentInfos[m] ?? info(s, m);
    }
    const cached = cachedIn[i];
    const write = written[i];
    const uncached = inputs[i] - cached - write;
    if (uncached < 0) {
      uncachedInputTokens({ input_tokens: inputs[i], cached_input_tokens: cached, cache_write_input_tokens: write, output_tokens: outputs[i] });
    }
    const output = outputs[i];
    uncachedIn[h] += uncached;
    out[h] += output;
    const profile = x.profile;
    if (profile) {
      const seconds = uncached / profile.input_tokens_per_gpu_second + output / profile.output_tokens_per_gpu_second;
      profileSeconds[h] += seconds;
      tokenDemand[h] += seconds / HOUR_SECONDS / x.u;
      hasTokens[h] = 1;
    }
    if (api) continue;
    // api(h) by hourlySeries's formula; with several offers, cheapestApiOffer's choice by apiCostUsd's formula
    // (the same one), so the cheapest cost is the very number hourlySeries adds for the chosen offer.
    const p = x.prices;
    if (p.length > 0) {
      let best = (uncached * p[0] + cached * p[1] + write * p[2] + output * p[3]) / 1e6;
      for (let j = 4; j < p.length; j += 4) {
        const cost = (uncached * p[j] + cached * p[j + 1] + write * p[j + 2] + output * p[j + 3]) / 1e6;
        if (cost < best) best = cost;
      }
      apiUsd[h] += best;
    } else unpriced.add(tokens.models[m]);
  }

  const demand = arrays.float64(hours);
  const source = arrays.uint8(hours);
  let gaps = 0;
  let telemetryHours = 0;
  let tokenHours = 0;
  const observed: (ObservedThroughput | null)[] = [];
  for (const segment of ctx.segments) {
    let both = 0;
    let bothBusy = 0;
    let bothIn = 0;
    let bothOut = 0;
    let bothProfile = 0;
    for (let h = segment.start; h < segment.end; h++) {
      if (allocated[h] > 0) {
        demand[h] = busy[h] / HOUR_SECONDS / uGpu;
        source[h] = SOURCE_TELEMETRY;
        telemetryHours++;
        if (uncachedIn[h] > 0 || out[h] > 0) {
          both++;
          bothBusy += busy[h];
          bothIn += uncachedIn[h];
          bothOut += out[h];
          bothProfile += profileSeconds[h];
        }
      } else if (hasTokens[h]) {
        demand[h] = tokenDemand[h];
        source[h] = SOURCE_TOKENS;
        tokenHours++;
      } else {
        source[h] = SOURCE_NONE;
        gaps++;
      }
    }
    observed.push(
      both === 0
        ? null
        : {
            hours: both,
            busy_gpu_seconds: bothBusy,
            uncached_input_tokens: bothIn,
            output_tokens: bothOut,
            input_tokens_per_busy_gpu_second: bothBusy > 0 ? bothIn / bothBusy : null,
            output_tokens_per_busy_gpu_second: bothBusy > 0 ? bothOut / bothBusy : null,
            profile_gpu_seconds: bothProfile,
            profile_over_observed: bothBusy > 0 ? bothProfile / bothBusy : null,
          },
    );
  }
  const allUnprofiled = new Set<string>();
  for (const set of unprofiled) for (const m of set) allUnprofiled.add(m);
  return {
    from_ms: ctx.from_ms,
    hours,
    demand,
    api_usd: apiUsd,
    source,
    hours_without_data: gaps,
    observed: mergeObserved(observed),
    unprofiled_models: [...allUnprofiled].sort(),
    unpriced_models: api ? api.unpriced_models : [...unpriced].sort(),
    telemetry_hours: telemetryHours,
    token_hours: tokenHours,
  };
}
