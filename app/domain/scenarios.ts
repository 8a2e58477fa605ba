// Scenario costs over a window of H hours: all-API, all-on-demand, reserved with overflow, and the
// reservations that exist today. Straight O(H) sums; the optimizer's fast curve lives in recommend.ts.
import {
  checkLength,
  HOUR_MS,
  rateAt,
  rateMean,
  rateSum,
  toMs,
  type OverflowPricing,
  type Rate,
  type Reservation,
} from './types.js';

/** A GPU count that is constant over the window or given per hour. */
export type Gpus = number | ArrayLike<number>;

function gpusAt(n: Gpus, h: number): number {
  return typeof n === 'number' ? n : n[h];
}

/** Σ_h x(h). */
export function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let h = 0; h < x.length; h++) s += x[h];
  return s;
}

/** API = Σ_h api(h). */
export function apiCost(apiUsd: ArrayLike<number>): number {
  return sum(apiUsd);
}

/** ON_DEMAND = Σ_h d(h) · o(h). */
export function onDemandCost(demand: ArrayLike<number>, o: Rate): number {
  if (typeof o !== 'number') checkLength(o, demand.length, 'on-demand rate');
  let s = 0;
  for (let h = 0; h < demand.length; h++) s += demand[h] * rateAt(o, h);
  return s;
}

/** overflow(h, N) = max(0, d − N)·o(h) (on-demand) or max(0, d − N)/d · api(h) (API; 0 when d = 0). */
export function hourOverflow(d: number, n: number, h: number, pricing: OverflowPricing): number {
  if (d <= n) return 0;
  return pricing.mode === 'on_demand' ? (d - n) * rateAt(pricing.usd_per_gpu_hour, h) : ((d - n) / d) * pricing.api_usd[h];
}

/** Σ_h overflow(h, N(h)). */
export function overflowCost(demand: ArrayLike<number>, n: Gpus, pricing: OverflowPricing): number {
  checkPricing(pricing, demand.length);
  let s = 0;
  for (let h = 0; h < demand.length; h++) s += hourOverflow(demand[h], gpusAt(n, h), h, pricing);
  return s;
}

/** RESERVED(N) = N · Σ_h r(h) + Σ_h overflow(h, N)  (= N·r·H + … at a constant rate). */
export function reservedCost(demand: ArrayLike<number>, n: number, r: Rate, pricing: OverflowPricing): number {
  return n * rateSum(r, demand.length) + overflowCost(demand, n, pricing);
}

/** fill(N) = Σ_h min(d(h), N(h)) / Σ_h N(h)  (= … / (N·H) at a constant N); null when no GPU is reserved. */
export function fill(demand: ArrayLike<number>, n: Gpus): number | null {
  let used = 0;
  let reserved = 0;
  for (let h = 0; h < demand.length; h++) {
    const nh = gpusAt(n, h);
    used += Math.min(demand[h], nh);
    reserved += nh;
  }
  return reserved > 0 ? used / reserved : null;
}

/** idle_cost(N) = Σ_h r(h) · (N − min(d(h), N))  (= r · Σ_h (N − min(d, N)) at a constant rate). */
export function idleCost(demand: ArrayLike<number>, n: number, r: Rate): number {
  let s = 0;
  for (let h = 0; h < demand.length; h++) s += rateAt(r, h) * (n - Math.min(demand[h], n));
  return s;
}

/**
 * Break-even fill against on-demand = r / o. With per-hour rates: mean r / mean o (exact at constant rates).
 * null when o is 0 or the window empty.
 */
export function breakEvenFillVsOnDemand(r: Rate, o: Rate, hours: number): number | null {
  const rm = rateMean(r, hours);
  const om = rateMean(o, hours);
  return rm === null || om === null || om <= 0 ? null : rm / om;
}

/** Break-even fill against the API = r / (API / Σ_h d(h)); null when there is no demand or no API cost. */
export function breakEvenFillVsApi(r: Rate, apiUsd: number, demandGpuHours: number, hours: number): number | null {
  const rm = rateMean(r, hours);
  return rm === null || apiUsd <= 0 || demandGpuHours <= 0 ? null : rm / (apiUsd / demandGpuHours);
}

/** Reserved capacity per hour: N(h) GPUs costing usd(h) = Σ_active gpus·r in that hour. */
export interface ReservedSchedule {
  gpus: Float64Array;
  usd: Float64Array;
}

/**
 * N(h) = Σ gpus, usd(h) = Σ gpus·r over the reservations active at h (starts_at ≤ h < ends_at, the rule
 * prices use); overlapping reservations add up, a reservation covering part of the window counts only in
 * its hours. Decision: activity is decided per whole hour by its start, like effective-dated prices.
 */
export function reservationSchedule(reservations: readonly Reservation[], fromMs: number, hours: number): ReservedSchedule {
  const gpus = new Float64Array(hours);
  const usd = new Float64Array(hours);
  for (const r of reservations) {
    // First hour index whose start is ≥ starts_at, first whose start is ≥ ends_at.
    const a = Math.max(0, Math.ceil((toMs(r.starts_at) - fromMs) / HOUR_MS));
    const b = Math.min(hours, Math.ceil((toMs(r.ends_at) - fromMs) / HOUR_MS));
    const cost = r.gpus * r.usd_per_gpu_hour;
    for (let h = a; h < b; h++) {
      gpus[h] += r.gpus;
      usd[h] += cost;
    }
  }
  return { gpus, usd };
}

/** A constant reservation of N GPUs at rate r over H hours, as a schedule. */
export function constantSchedule(n: number, r: Rate, hours: number): ReservedSchedule {
  const gpus = new Float64Array(hours).fill(n);
  const usd = new Float64Array(hours);
  for (let h = 0; h < hours; h++) usd[h] = n * rateAt(r, h);
  return { gpus, usd };
}

export interface ScheduleCost {
  /** N in the window's last hour: what is in force now, what a change applies to. */
  gpus: number;
  /** Σ_h usd(h) + Σ_h overflow(h, N(h)). */
  cost_usd: number;
  reserved_usd: number;
  overflow_usd: number;
  /** Σ_h N(h): reserved GPU-hours. */
  gpu_hours: number;
  fill: number | null;
  /** Σ_h usd(h) · (N(h) − min(d, N(h))) / N(h). */
  idle_cost_usd: number;
}

/** cost = Σ_h usd(h) + overflow(h, N(h)): existing reservations costed like RESERVED, with their own N, r and dates. */
export function scheduleCost(demand: ArrayLike<number>, schedule: ReservedSchedule, pricing: OverflowPricing): ScheduleCost {
  const hours = demand.length;
  checkLength(schedule.gpus, hours, 'reservation schedule');
  checkPricing(pricing, hours);
  let reserved = 0;
  let overflow = 0;
  let idle = 0;
  for (let h = 0; h < hours; h++) {
    const n = schedule.gpus[h];
    const d = demand[h];
    reserved += schedule.usd[h];
    overflow += hourOverflow(d, n, h, pricing);
    if (n > 0) idle += (schedule.usd[h] * (n - Math.min(d, n))) / n;
  }
  return {
    gpus: hours > 0 ? schedule.gpus[hours - 1] : 0,
    cost_usd: reserved + overflow,
    reserved_usd: reserved,
    overflow_usd: overflow,
    gpu_hours: sum(schedule.gpus),
    fill: fill(demand, schedule.gpus),
    idle_cost_usd: idle,
  };
}

/** Throws unless the pricing's per-hour arrays cover the window. */
export function checkPricing(pricing: OverflowPricing, hours: number): void {
  if (pricing.mode === 'api') checkLength(pricing.api_usd, hours, 'api cost');
  else if (typeof pricing.usd_per_gpu_hour !== 'number') checkLength(pricing.usd_per_gpu_hour, hours, 'on-demand rate');
}
