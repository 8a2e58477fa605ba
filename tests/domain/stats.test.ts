import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demandStats, nearestRank } from '../../app/domain/stats.js';
import { anyDemand, close, FC } from './engine-helpers.js';

describe('demand statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const oneToTwenty = Array.from({ length: 20 }, (_, i) => i + 1).reverse();
    // mean (1 + … + 20)/20 = 10.5; p50 rank ⌈0.5·20⌉ = 10 → 10; p95 rank ⌈0.95·20⌉ = 19 → 19; peak 20
    expect(demandStats(oneToTwenty)).toEqual({ mean_gpus: 10.5, p50_gpus: 10, p95_gpus: 19, peak_gpus: 20 });
    // [3, 1, 2]: p50 rank ⌈1.5⌉ = 2 → 2; p95 rank ⌈2.85⌉ = 3 → 3
    expect(demandStats([3, 1, 2])).toEqual({ mean_gpus: 2, p50_gpus: 2, p95_gpus: 3, peak_gpus: 3 });
    expect(demandStats([])).toEqual({ mean_gpus: 0, p50_gpus: 0, p95_gpus: 0, peak_gpus: 0 });
    expect(nearestRank([1, 2, 3], 0)).toBe(1);
    expect(nearestRank([], 50)).toBeNaN();
  });

  it('agrees with sorting (property)', () => {
    fc.assert(
      fc.property(fc.oneof(anyDemand(300), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 300 })), (demand) => {
        const sorted = [...demand].sort((a, b) => a - b);
        const s = demandStats(Float64Array.from(demand));
        expect(s.p50_gpus).toBe(nearestRank(sorted, 50));
        expect(s.p95_gpus).toBe(nearestRank(sorted, 95));
        expect(s.peak_gpus).toBe(sorted.at(-1));
        expect(close(s.mean_gpus, sorted.reduce((a, b) => a + b, 0) / sorted.length)).toBe(true);
      }),
      FC,
    );
  });
});
