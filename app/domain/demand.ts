// Hourly rollups → demand d(h) in GPUs and API cost api(h) for one customer, GPU type and window.
import type { ApiPriceLookup } from './effective.js';
import { DEFAULT_TARGET_UTILIZATION } from './gpu-types.js';
import { uncachedInputTokens } from './tokens.js';
import {
  HOUR_MS,
  HOUR_SECONDS,
  SOURCE_NONE,
  SOURCE_TELEMETRY,
  SOURCE_TOKENS,
  toMs,
  type CapacityProfile,
  type DemandSeries,
  type Instant,
  type TokenCounts,
} from './types.js';

export interface TelemetryHourRow {
  hour: Instant;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
}

export interface TokenHourRow extends TokenCounts {
  hour: Instant;
  model: string;
}

export interface HourlySeriesInput {
  /** Window start, a UTC hour (epoch ms). */
  from_ms: number;
  hours: number;
  /** Hourly telemetry of this customer and GPU type; several rows of one hour (one per GPU) add up. */
  telemetry: readonly TelemetryHourRow[];
  /** Hourly token usage of this customer, per model. */
  tokens: readonly TokenHourRow[];
  /** The GPU type's target_utilization (default 0.8). */
  gpu_target_utilization?: number | null;
  /** Capacity profiles of this GPU type, by model. */
  profiles: ReadonlyMap<string, CapacityProfile>;
  /** The API price of a model at an hour; effective-dated prices give each hour its own. */
  api_price: ApiPriceLookup;
}

/** Where telemetry and tokens meet: how fast the GPUs really served tokens, to calibrate profiles. */
export interface ObservedThroughput {
  hours: number;
  busy_gpu_seconds: number;
  uncached_input_tokens: number;
  output_tokens: number;
  /** uncached input tokens / busy GPU-second (null when no busy time was measured). */
  input_tokens_per_busy_gpu_second: number | null;
  /** output tokens / busy GPU-second (null when no busy time was measured). */
  output_tokens_per_busy_gpu_second: number | null;
  /** GPU-seconds the profiles predict for those tokens (profiled models only). */
  profile_gpu_seconds: number;
  /** profile_gpu_seconds / busy_gpu_seconds: 1 is calibrated, above 1 the profile is too pessimistic. */
  profile_over_observed: number | null;
}

export interface HourlySeriesResult extends DemandSeries {
  /** null when no hour has both telemetry and tokens. */
  observed: ObservedThroughput | null;
  /** Models with tokens but no capacity profile for this GPU type: their tokens add no demand. */
  unprofiled_models: string[];
  /** Models with tokens but no API price in force at some hour: those tokens add no API cost. */
  unpriced_models: string[];
}

/** Hour index of a row: (hour − from) / 1 h, which must be a whole number inside the window. */
function hourIndex(hour: Instant, fromMs: number, hours: number): number {
  const i = (toMs(hour) - fromMs) / HOUR_MS;
  if (!Number.isInteger(i) || i < 0 || i >= hours) {
    // The caller queried this window; a row outside it (or off the hour) is a bug upstream, not data.
    throw new RangeError(`row at ${new Date(toMs(hour)).toISOString()} is not an hour of the window`);
  }
  return i;
}

/**
 * d(h) = busy(h)/3600/u_gpu where telemetry exists, else Σ_models gpu_seconds_m(h)/3600/u_m (token-derived);
 * api(h) = Σ_models api cost of the hour's tokens at the prices in force at h. An hour with neither is
 * demand 0 and counted in hours_without_data.
 *
 * Decisions: telemetry exists for an hour iff its allocated_gpu_seconds > 0 (measured time, even if idle:
 * a measured idle hour is demand 0, not a gap). Each model's GPU-seconds are divided by its own profile's
 * target utilization (identical to the formula when all profiles share one u). Tokens of a model without a
 * profile add no demand and are reported; an hour whose only tokens are unprofiled is a gap.
 */
export function hourlySeries(input: HourlySeriesInput): HourlySeriesResult {
  const { from_ms: fromMs, hours } = input;
  if (!Number.isInteger(hours) || hours < 0) throw new RangeError(`hours must be a whole number ≥ 0, got ${hours}`);
  const uGpu = input.gpu_target_utilization ?? DEFAULT_TARGET_UTILIZATION;
  if (!(uGpu > 0 && uGpu <= 1)) throw new RangeError(`target utilization ${uGpu} is outside (0, 1]`);

  const allocated = new Float64Array(hours);
  const busy = new Float64Array(hours);
  for (const r of input.telemetry) {
    const i = hourIndex(r.hour, fromMs, hours);
    allocated[i] += r.allocated_gpu_seconds;
    busy[i] += r.busy_gpu_seconds;
  }

  const tokenDemand = new Float64Array(hours); // Σ gpu_seconds/3600/u, GPUs
  const profileSeconds = new Float64Array(hours); // Σ gpu_seconds, for calibration
  const uncachedIn = new Float64Array(hours);
  const out = new Float64Array(hours);
  const hasTokens = new Uint8Array(hours);
  const api = new Float64Array(hours);
  const unprofiled = new Set<string>();
  const unpriced = new Set<string>();

  // The hot loop of a window (hours × models rows): one profile/price resolution per model and hour, the
  // formulas of tokens.ts inlined (tests hold both to the same numbers).
  const models = new Map<string, { profile: CapacityProfile | undefined; u: number }>();
  for (const r of input.tokens) {
    const i = hourIndex(r.hour, fromMs, hours);
    let model = models.get(r.model);
    if (!model) {
      const profile = input.profiles.get(r.model);
      model = { profile, u: profile?.target_utilization ?? DEFAULT_TARGET_UTILIZATION };
      models.set(r.model, model);
      if (!profile) unprofiled.add(r.model);
    }
    const cached = r.cached_input_tokens ?? 0;
    const written = r.cache_write_input_tokens ?? 0;
    const uncached = r.input_tokens - cached - written;
    if (uncached < 0) uncachedInputTokens(r); // throws with the full message
    const output = r.output_tokens;
    uncachedIn[i] += uncached;
    out[i] += output;
    const profile = model.profile;
    if (profile) {
      const seconds = uncached / profile.input_tokens_per_gpu_second + output / profile.output_tokens_per_gpu_second;
      profileSeconds[i] += seconds;
      tokenDemand[i] += seconds / HOUR_SECONDS / model.u;
      hasTokens[i] = 1;
    }
    const price = input.api_price(r.model, fromMs + i * HOUR_MS);
    if (price) {
      const pIn = price.usd_per_mtok_input;
      api[i] +=
        (uncached * pIn +
          cached * (price.usd_per_mtok_cached_input ?? pIn) +
          written * (price.usd_per_mtok_cache_write ?? pIn) +
          output * price.usd_per_mtok_output) /
        1e6;
    } else unpriced.add(r.model);
  }

  const demand = new Float64Array(hours);
  const source = new Uint8Array(hours);
  let gaps = 0;
  let both = 0;
  let bothBusy = 0;
  let bothIn = 0;
  let bothOut = 0;
  let bothProfile = 0;
  for (let h = 0; h < hours; h++) {
    if (allocated[h] > 0) {
      demand[h] = busy[h] / HOUR_SECONDS / uGpu;
      source[h] = SOURCE_TELEMETRY;
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
    } else {
      source[h] = SOURCE_NONE;
      gaps++;
    }
  }

  const observed: ObservedThroughput | null =
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
        };

  return {
    from_ms: fromMs,
    hours,
    demand,
    api_usd: api,
    source,
    hours_without_data: gaps,
    observed,
    unprofiled_models: [...unprofiled].sort(),
    unpriced_models: [...unpriced].sort(),
  };
}
