// An independent recomputation of a recommend document straight from DESIGN.md's formulas: plain loops over
// plain rows, no engine code, so a test can hold the engine's figures against it. One price book, one GPU type.

export interface Book {
  offers: any[];
  capacity_profiles: any[];
  gpu_types?: { name: string; target_utilization?: number }[];
}

export interface TokenRow {
  hour: number;
  model: string;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
}

export interface Recomputed {
  demand: number[];
  api: number[];
  gaps: number;
  allApi: number;
  allOnDemand: number;
  o: number;
  /** Per reserved offer: [(N, RESERVED(N))] over block multiples by brute force, and its optimum. */
  offers: { provider: string; term_days: number; block_size: number; r: number; curve: { gpus: number; cost: number }[]; best: { gpus: number; cost: number } }[];
  best: { provider: string; term_days: number; gpus: number; cost: number };
}

const HOUR = 3_600_000;

/**
 * d(h) = busy/3600/u where telemetry exists, else Σ_models (uncached/in_tps + output/out_tps)/3600/u_profile;
 * api(h) = Σ rows min over the model's API offers of (uncached·p_in + cached·p_cached + cw·p_cw + out·p_out)/1e6;
 * o = the lowest on-demand rate; RESERVED(N) = N·r·H + Σ max(0, d − N)·o.
 */
export function recompute(input: {
  fromMs: number;
  hours: number;
  gpuType: string;
  book: Book;
  telemetry: { hour: number; allocated: number; busy: number }[];
  tokens: TokenRow[];
}): Recomputed {
  const { fromMs, hours, gpuType, book } = input;
  const u = book.gpu_types?.find((t) => t.name === gpuType)?.target_utilization ?? 0.8;
  const allocated = new Array(hours).fill(0);
  const busy = new Array(hours).fill(0);
  for (const t of input.telemetry) {
    const h = (t.hour - fromMs) / HOUR;
    allocated[h] += t.allocated;
    busy[h] += t.busy;
  }
  const tokenDemand = new Array(hours).fill(0);
  const hasTokens = new Array(hours).fill(false);
  const api = new Array(hours).fill(0);
  for (const r of input.tokens) {
    const h = (r.hour - fromMs) / HOUR;
    const uncached = r.input_tokens - r.cached_input_tokens - r.cache_write_input_tokens;
    const profile = book.capacity_profiles.find((p) => p.model === r.model && p.gpu_type === gpuType);
    if (profile) {
      tokenDemand[h] += (uncached / profile.input_tokens_per_gpu_second + r.output_tokens / profile.output_tokens_per_gpu_second) / 3600 / (profile.target_utilization ?? 0.8);
      hasTokens[h] = true;
    }
    const costs = book.offers
      .filter((o) => o.kind === 'api' && o.model === r.model)
      .map(
        (o) =>
          (uncached * o.usd_per_mtok_input +
            r.cached_input_tokens * (o.usd_per_mtok_cached_input ?? o.usd_per_mtok_input) +
            r.cache_write_input_tokens * (o.usd_per_mtok_cache_write ?? o.usd_per_mtok_input) +
            r.output_tokens * o.usd_per_mtok_output) /
          1e6,
      );
    if (costs.length) api[h] += Math.min(...costs);
  }
  const demand = new Array(hours).fill(0);
  let gaps = 0;
  for (let h = 0; h < hours; h++) {
    if (allocated[h] > 0) demand[h] = busy[h] / 3600 / u;
    else if (hasTokens[h]) demand[h] = tokenDemand[h];
    else gaps++;
  }
  return { demand, api, gaps, ...scenarios(demand, api, book, gpuType) };
}

/** The scenario costs of a demand series under one book: all-API, all-on-demand and every reserved offer's curve. */
export function scenarios(demand: number[], api: number[], book: Book, gpuType: string): Omit<Recomputed, 'demand' | 'api' | 'gaps'> {
  const hours = demand.length;
  const o = Math.min(...book.offers.filter((x) => x.kind === 'on_demand' && x.gpu_type === gpuType).map((x) => x.usd_per_gpu_hour));
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const peak = Math.max(...demand);
  const offers = book.offers
    .filter((x) => x.kind === 'reserved' && x.gpu_type === gpuType)
    .map((x) => {
      const curve: { gpus: number; cost: number }[] = [];
      const top = x.block_size * Math.ceil(peak / x.block_size);
      for (let n = 0; n <= top; n += x.block_size) {
        curve.push({ gpus: n, cost: n * x.usd_per_gpu_hour * hours + sum(demand.map((d) => Math.max(0, d - n) * o)) });
      }
      const min = Math.min(...curve.map((p) => p.cost));
      const best = curve.find((p) => p.cost <= min * (1 + 1e-9))!;
      return { provider: x.provider, term_days: x.term_days, block_size: x.block_size, r: x.usd_per_gpu_hour, curve, best };
    });
  const winner = offers.reduce((a, b) => (b.best.cost < a.best.cost * (1 - 1e-9) ? b : a));
  return {
    allApi: sum(api),
    allOnDemand: sum(demand.map((d) => d * o)),
    o,
    offers,
    best: { provider: winner.provider, term_days: winner.term_days, gpus: winner.best.gpus, cost: winner.best.cost },
  };
}

/** Existing reservations: Σ_h N(h)·r + max(0, d − N(h))·o, N(h) the GPUs of those with starts ≤ h < ends. */
export function currentCost(demand: number[], fromMs: number, o: number, reservations: { gpus: number; usd_per_gpu_hour: number; starts_at: Date; ends_at: Date }[]): number {
  let cost = 0;
  demand.forEach((d, h) => {
    const t = fromMs + h * HOUR;
    let n = 0;
    for (const r of reservations) {
      if (r.starts_at.getTime() <= t && t < r.ends_at.getTime()) {
        n += r.gpus;
        cost += r.gpus * r.usd_per_gpu_hour;
      }
    }
    cost += Math.max(0, d - n) * o;
  });
  return cost;
}

/** Nearest-rank percentile of the values. */
export function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}
