// Summary statistics of a demand series.

export interface DemandStats {
  mean_gpus: number;
  p50_gpus: number;
  p95_gpus: number;
  peak_gpus: number;
}

/**
 * Nearest-rank percentile of ascending values: x[⌈p/100 · n⌉ − 1] (p = 0 → the minimum). Chosen because it
 * is always an observed hour's demand and needs no interpolation convention. NaN for no values.
 */
export function nearestRank(sortedAscending: ArrayLike<number>, p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sortedAscending[rank - 1];
}

/**
 * The k-th smallest (0-based) of x[lo..hi], rearranging x in place (Hoare quickselect, median-of-three
 * pivot): O(n) on average, where a full sort of a window's hours would be O(n log n).
 */
function select(x: Float64Array, k: number, lo: number, hi: number): number {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as the pivot keeps sorted or constant demand (common: a flat reservation) linear.
    const a = x[lo];
    const b = x[mid];
    const c = x[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (x[i] < pivot) i++;
      while (x[j] > pivot) j--;
      if (i <= j) {
        const t = x[i];
        x[i] = x[j];
        x[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return x[k];
  }
  return x[k];
}

/** The values selection rearranges, reused from call to call (a window's hours each time; they never escape). */
let scratch = new Float64Array(0);

function scratchFor(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  return scratch.length === n ? scratch : scratch.subarray(0, n);
}

/**
 * mean = Σ d / H, p50 and p95 by nearest rank, peak = max d, over every hour of the window (gaps count as
 * demand 0, like everywhere else). All 0 for an empty window.
 */
export function demandStats(demand: ArrayLike<number>): DemandStats {
  const n = demand.length;
  if (n === 0) return { mean_gpus: 0, p50_gpus: 0, p95_gpus: 0, peak_gpus: 0 };
  // Summed in hour order, as every other total is, so mean·H matches them to the last bit.
  let s = 0;
  let peak = -Infinity;
  const x = scratchFor(n);
  for (let i = 0; i < n; i++) {
    const d = demand[i];
    s += d;
    if (d > peak) peak = d;
    x[i] = d;
  }
  const rank = (p: number) => Math.min(n, Math.max(1, Math.ceil((p / 100) * n))) - 1;
  const k50 = rank(50);
  const k95 = rank(95);
  const p50 = select(x, k50, 0, n - 1);
  // After selecting k50 every value right of it is ≥ x[k50], so p95 is found in that part alone.
  const p95 = select(x, k95, k50, n - 1);
  return { mean_gpus: s / n, p50_gpus: p50, p95_gpus: p95, peak_gpus: peak };
}
