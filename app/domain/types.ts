// Shared vocabulary of the cost engine. Field names mirror the database columns and the price-book JSON
// (snake_case), so rows flow in without renaming. Everything here is pure data.

export const HOUR_MS = 3_600_000;
export const HOUR_SECONDS = 3_600;

/** A point in time: epoch milliseconds or a Date (database rows carry Dates). */
export type Instant = number | Date;

/** Where reserved capacity's overflow goes. */
export type Overflow = 'on_demand' | 'api';

/** A $/GPU-hour price that is either constant over the window or given per hour of it (index 0 = first hour). */
export type Rate = number | ArrayLike<number>;

/** Token counts of one model in one hour. `input_tokens` includes cached-read and cache-write tokens. */
export interface TokenCounts {
  input_tokens: number;
  cached_input_tokens?: number | null;
  cache_write_input_tokens?: number | null;
  output_tokens: number;
}

/** Per-million-token prices of an API offer; cached and cache-write default to the input price. */
export interface ApiPrice {
  usd_per_mtok_input: number;
  usd_per_mtok_cached_input?: number | null;
  usd_per_mtok_cache_write?: number | null;
  usd_per_mtok_output: number;
}

/** How many tokens per second one GPU of a type serves for a model. */
export interface CapacityProfile {
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
  target_utilization?: number | null;
}

/** A reserved offer of one GPU type. */
export interface ReservedOffer {
  provider: string;
  term_days: number;
  block_size: number;
  usd_per_gpu_hour: Rate;
}

/** A reservation that exists: `gpus` at `usd_per_gpu_hour`, active in every hour h with starts_at ≤ h < ends_at. */
export interface Reservation {
  gpus: number;
  usd_per_gpu_hour: number;
  starts_at: Instant;
  ends_at: Instant;
}

/**
 * How the part of demand that a reservation does not cover is paid for: on-demand GPUs at a rate, or the
 * API at the hour's token price (`api_usd[h]` = api(h)).
 */
export type OverflowPricing =
  | { mode: 'on_demand'; usd_per_gpu_hour: Rate }
  | { mode: 'api'; api_usd: ArrayLike<number> };

/** One point of the cost curve. */
export interface CurvePoint {
  gpus: number;
  cost_usd: number;
}

/** Bit flags of where an hour's demand came from; a pool ORs its members' flags. */
export const SOURCE_NONE = 0;
export const SOURCE_TELEMETRY = 1;
export const SOURCE_TOKENS = 2;

/** Hourly demand and API cost of one customer (or pool), GPU type and window. */
export interface DemandSeries {
  from_ms: number;
  hours: number;
  /** d(h), GPUs. */
  demand: Float64Array;
  /** api(h), USD: what the hour's tokens cost on the API. */
  api_usd: Float64Array;
  /** SOURCE_* flags per hour; SOURCE_NONE is a gap (demand 0). */
  source: Uint8Array;
  hours_without_data: number;
}

/** t as epoch milliseconds. */
export function toMs(t: Instant): number {
  return typeof t === 'number' ? t : t.getTime();
}

/** ⌊t / 1 h⌋ · 1 h: the UTC hour that contains t (hours have no leap seconds or zones in epoch time). */
export function hourStart(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** r(h): the rate in force at hour index h. */
export function rateAt(rate: Rate, h: number): number {
  return typeof rate === 'number' ? rate : rate[h];
}

/** Σ_{h<H} r(h). */
export function rateSum(rate: Rate, hours: number): number {
  if (typeof rate === 'number') return rate * hours;
  checkLength(rate, hours, 'rate');
  let s = 0;
  for (let h = 0; h < hours; h++) s += rate[h];
  return s;
}

/**
 * Σ_h r(h) / H: the window's average rate (null for an empty window). A rate that never changes in the window is
 * returned as it is: summing 744 copies of 1.45 and dividing gives 1.4499999999999997, which a reader of
 * `usd_per_gpu_hour` would rightly distrust.
 */
export function rateMean(rate: Rate, hours: number): number | null {
  if (!(hours > 0)) return null;
  if (typeof rate === 'number') return rate;
  checkLength(rate, hours, 'rate');
  let constant = true;
  for (let h = 1; h < hours && constant; h++) constant = rate[h] === rate[0];
  return constant ? rate[0] : rateSum(rate, hours) / hours;
}

/** x[start, end) without copying when x is a typed array. */
export function sliceHours(x: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  if (ArrayBuffer.isView(x)) return (x as unknown as Float64Array).subarray(start, end);
  return Array.prototype.slice.call(x, start, end) as number[];
}

/** The rate over hours [start, end). */
export function sliceRate(rate: Rate, start: number, end: number): Rate {
  return typeof rate === 'number' ? rate : sliceHours(rate, start, end);
}

/** The overflow pricing over hours [start, end). */
export function slicePricing(pricing: OverflowPricing, start: number, end: number): OverflowPricing {
  return pricing.mode === 'on_demand'
    ? { mode: 'on_demand', usd_per_gpu_hour: sliceRate(pricing.usd_per_gpu_hour, start, end) }
    : { mode: 'api', api_usd: sliceHours(pricing.api_usd, start, end) };
}

/** Throws unless a per-hour array covers exactly the window: a silent length mismatch would misprice hours. */
export function checkLength(x: ArrayLike<number>, hours: number, what: string): void {
  if (x.length !== hours) throw new RangeError(`${what} has ${x.length} hours, the window has ${hours}`);
}
