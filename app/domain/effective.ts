// Effective-dated prices: the price in force at an hour is the one with effective_from ≤ h < effective_to.
import { HOUR_MS, toMs, type ApiPrice, type Instant, type Rate } from './types.js';

export interface Effective<T> {
  effective_from: Instant;
  /** null: open-ended. */
  effective_to: Instant | null;
  value: T;
}

export interface ApiPriceEntry extends ApiPrice {
  model: string;
  effective_from: Instant;
  effective_to: Instant | null;
}

/** The API price of a model at an hour (epoch ms), or undefined when none is in force. */
export type ApiPriceLookup = (model: string, hourMs: number) => ApiPrice | undefined;

/**
 * value(t) = the entry with effective_from ≤ t < effective_to; where entries overlap, the latest
 * effective_from wins (a newer price book supersedes), and on equal effective_from the later entry.
 * Built once as a timeline of disjoint segments; a lookup is a binary search, O(1) when hours are asked in
 * order (the last segment is tried first).
 */
export function effectiveLookup<T>(entries: readonly Effective<T>[]): (t: number) => T | undefined {
  const items = entries.map((e, i) => ({
    from: toMs(e.effective_from),
    to: e.effective_to === null ? Infinity : toMs(e.effective_to),
    value: e.value,
    i,
  }));
  const cuts = [...new Set(items.flatMap((e) => [e.from, e.to]))].filter(Number.isFinite).sort((a, b) => a - b);
  const starts: number[] = [];
  const ends: number[] = [];
  const values: T[] = [];
  const edges = [...cuts, Infinity];
  for (let k = 0; k < edges.length - 1; k++) {
    const s = edges[k];
    let winner: (typeof items)[number] | undefined;
    for (const e of items) {
      if (e.from <= s && s < e.to && (!winner || e.from > winner.from || (e.from === winner.from && e.i > winner.i))) {
        winner = e;
      }
    }
    if (winner) {
      starts.push(s);
      ends.push(edges[k + 1]);
      values.push(winner.value);
    }
  }
  let last = -1;
  return (t: number): T | undefined => {
    if (last >= 0 && starts[last] <= t && t < ends[last]) return values[last];
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || t >= ends[found]) return undefined;
    last = found;
    return values[found];
  };
}

/** api_price(model, h) = the model's entry in force at h (see effectiveLookup). */
export function apiPriceLookup(entries: readonly ApiPriceEntry[]): ApiPriceLookup {
  const byModel = new Map<string, Effective<ApiPrice>[]>();
  for (const e of entries) {
    const list = byModel.get(e.model) ?? [];
    list.push({ effective_from: e.effective_from, effective_to: e.effective_to, value: e });
    byModel.set(e.model, list);
  }
  const lookups = new Map([...byModel].map(([model, list]) => [model, effectiveLookup(list)]));
  return (model, hourMs) => lookups.get(model)?.(hourMs);
}

/**
 * r(h) for h = 0…H−1 from effective-dated rates: a number when one rate holds the whole window, else
 * per-hour values; null when some hour has no rate in force.
 */
export function hourlyRate(entries: readonly Effective<number>[], fromMs: number, hours: number): Rate | null {
  const at = effectiveLookup(entries);
  const out = new Float64Array(hours);
  let constant = true;
  for (let h = 0; h < hours; h++) {
    const r = at(fromMs + h * HOUR_MS);
    if (r === undefined) return null;
    out[h] = r;
    if (r !== out[0]) constant = false;
  }
  return constant && hours > 0 ? out[0] : out;
}
