// Showback: a pool's reserved cost split to its customers so the parts add up to the whole to the cent.
import type { ReservedSchedule } from './scenarios.js';

export interface ShowbackMember {
  customer: string;
  /** d_c(h), GPUs, over the schedule's hours. */
  demand: ArrayLike<number>;
}

export interface ShowbackLine {
  customer: string;
  /** Unrounded shares. */
  used_usd: number;
  idle_usd: number;
  total_usd: number;
  /** The same in whole cents: Σ over customers equals the pool's rounded totals exactly. */
  used_cents: number;
  idle_cents: number;
  total_cents: number;
}

export interface Showback {
  total_usd: number;
  used_usd: number;
  idle_usd: number;
  /** round(total · 100) = Σ customers' total_cents; used_cents + idle_cents = total_cents. */
  total_cents: number;
  used_cents: number;
  idle_cents: number;
  customers: ShowbackLine[];
}

/**
 * Integer parts of `total` in proportion to weights (Hamilton / largest remainder): ⌊w_i·T/Σw⌋, then one
 * more unit to the largest remainders (ties to the earlier item) until Σ = T. All weights 0: equal shares.
 */
export function largestRemainder(weights: readonly number[], total: number): number[] {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total must be a whole number ≥ 0, got ${total}`);
  const n = weights.length;
  if (n === 0) return [];
  let sumW = 0;
  for (const w of weights) {
    if (!(w >= 0 && w < Infinity)) throw new RangeError(`weight ${w} is not a finite number ≥ 0`);
    sumW += w;
  }
  const quotas = sumW > 0 ? weights.map((w) => (w * total) / sumW) : weights.map(() => total / n);
  const parts = quotas.map(Math.floor);
  let left = total - parts.reduce((s, p) => s + p, 0);
  const order = quotas.map((q, i) => i).sort((a, b) => quotas[b] - parts[b] - (quotas[a] - parts[a]) || a - b);
  for (let j = 0; left > 0; j = (j + 1) % n, left--) parts[order[j]] += 1;
  return parts;
}

/**
 * Each hour: used(h) = usd(h)·min(D, N)/N split by d_c(h)/D(h); idle(h) = usd(h) − used(h), summed over the
 * window and split by Σ_h d_c / Σ_h D (all equal when the pool had no demand). Cents: the whole is
 * round(Σ usd·100), its used part round(used·100), its idle part the difference; each is split by
 * largest remainder, so customers' cents add up to the whole exactly and used + idle = total per customer.
 * A pool without members allocates nothing.
 */
export function showback(members: readonly ShowbackMember[], schedule: ReservedSchedule): Showback {
  const hours = schedule.gpus.length;
  const m = members.length;
  for (const c of members) {
    if (c.demand.length !== hours) throw new RangeError(`demand of ${c.customer} does not cover the schedule's hours`);
  }
  const used = new Float64Array(m);
  const weight = new Float64Array(m);
  let total = 0;
  let usedTotal = 0;
  for (let h = 0; h < hours; h++) {
    let dSum = 0;
    for (let c = 0; c < m; c++) {
      const d = members[c].demand[h];
      dSum += d;
      weight[c] += d;
    }
    const n = schedule.gpus[h];
    const cost = schedule.usd[h];
    total += cost;
    const usedCost = n > 0 ? (cost * Math.min(dSum, n)) / n : 0;
    usedTotal += usedCost;
    if (usedCost > 0 && dSum > 0) for (let c = 0; c < m; c++) used[c] += (usedCost * members[c].demand[h]) / dSum;
  }
  // Float noise must not make an empty idle share negative.
  const idleTotal = Math.max(0, total - usedTotal);
  let weightSum = 0;
  for (let c = 0; c < m; c++) weightSum += weight[c];
  const idle = Array.from(weight, (w) => (weightSum > 0 ? (idleTotal * w) / weightSum : idleTotal / m));

  const totalCents = Math.round(total * 100);
  const usedCents = Math.min(totalCents, Math.round(usedTotal * 100));
  const idleCents = totalCents - usedCents;
  const usedSplit = largestRemainder(Array.from(used), usedCents);
  const idleSplit = largestRemainder(Array.from(weight), idleCents);
  return {
    total_usd: total,
    used_usd: usedTotal,
    idle_usd: idleTotal,
    total_cents: totalCents,
    used_cents: usedCents,
    idle_cents: idleCents,
    customers: members.map((c, i) => ({
      customer: c.customer,
      used_usd: used[i],
      idle_usd: idle[i],
      total_usd: used[i] + idle[i],
      used_cents: usedSplit[i],
      idle_cents: idleSplit[i],
      total_cents: usedSplit[i] + idleSplit[i],
    })),
  };
}
