import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apiCost,
  breakEvenFillVsApi,
  breakEvenFillVsOnDemand,
  constantSchedule,
  fill,
  idleCost,
  onDemandCost,
  overflowCost,
  reservationSchedule,
  reservedCost,
  scheduleCost,
} from '../../app/domain/scenarios.js';
import { rateMean, type OverflowPricing } from '../../app/domain/types.js';
import { anyDemand, at, close, FC, H } from './engine-helpers.js';

// The worked example used throughout: 4 hours, demand 0, 1, 2, 4 GPUs; o = $3.50; r = $2.10.
const d = [0, 1, 2, 4];
const api = [0, 1, 2, 8];
const onDemand: OverflowPricing = { mode: 'on_demand', usd_per_gpu_hour: 3.5 };
const viaApi: OverflowPricing = { mode: 'api', api_usd: api };

describe('scenario costs', () => {
  it('prices all-API and all-on-demand', () => {
    expect(apiCost(api)).toBe(11); // 0 + 1 + 2 + 8
    expect(onDemandCost(d, 3.5)).toBe(24.5); // (0 + 1 + 2 + 4) GPU-h × $3.50
    // per-hour o: 0×1 + 1×2 + 2×3 + 4×4 = 24
    expect(onDemandCost(d, [1, 2, 3, 4])).toBe(24);
    expect(() => onDemandCost(d, [1, 2])).toThrow(/2 hours/);
  });

  it('prices a reservation with on-demand overflow', () => {
    // 2 GPUs × $2.10 × 4 h = $16.80; overflow only in h3: (4 − 2) × $3.50 = $7 → $23.80
    expect(reservedCost(d, 2, 2.1, onDemand)).toBeCloseTo(23.8, 12);
    expect(overflowCost(d, 2, onDemand)).toBe(7);
    expect(reservedCost(d, 0, 2.1, onDemand)).toBe(24.5); // N = 0 is all on-demand
  });

  it('prices a reservation with API overflow as the share of the hour’s tokens that did not fit', () => {
    // $16.80 + h3: (4 − 2)/4 × $8 = $4 → $20.80; an hour with d = 0 overflows nothing even with API cost
    expect(reservedCost(d, 2, 2.1, viaApi)).toBeCloseTo(20.8, 12);
    expect(overflowCost([0, 0], 0, { mode: 'api', api_usd: [5, 0] })).toBe(0);
    expect(reservedCost(d, 0, 2.1, viaApi)).toBe(11); // N = 0 is all API
  });

  it('measures fill and idle cost', () => {
    // Σ min(d, 2) = 0 + 1 + 2 + 2 = 5 of 2 × 4 = 8 reserved GPU-hours
    expect(fill(d, 2)).toBe(0.625);
    expect(fill(d, 0)).toBeNull();
    // idle GPU-hours (2−0) + (2−1) + 0 + 0 = 3 × $2.10 = $6.30
    expect(idleCost(d, 2, 2.1)).toBeCloseTo(6.3, 12);
    expect(idleCost(d, 0, 2.1)).toBe(0);
  });

  it('computes break-even fills', () => {
    expect(breakEvenFillVsOnDemand(2.1, 3.5, 4)).toBeCloseTo(0.6, 12); // $2.10 / $3.50
    // API per demand GPU-hour: $11 / 7 GPU-h; $2.10 / ($11/7) = 14.7/11 = 1.33636…
    expect(breakEvenFillVsApi(2.1, 11, 7, 4)).toBeCloseTo(14.7 / 11, 12);
    expect(breakEvenFillVsApi(2.1, 0, 7, 4)).toBeNull();
    expect(breakEvenFillVsApi(2.1, 11, 0, 4)).toBeNull();
    // per-hour rates average: mean r 2 / mean o 4 = 0.5
    expect(breakEvenFillVsOnDemand([1, 3], [4, 4], 2)).toBe(0.5);
  });
});

describe('current reservations', () => {
  const from = at('2026-10-01T00:00:00Z');
  const schedule = reservationSchedule(
    [
      { gpus: 2, usd_per_gpu_hour: 2, starts_at: from + H, ends_at: from + 4 * H }, // hours 1, 2, 3
      { gpus: 1, usd_per_gpu_hour: 3, starts_at: new Date(from + 3 * H), ends_at: new Date(from + 10 * H) }, // hours 3, 4, 5 (ends after)
      { gpus: 4, usd_per_gpu_hour: 9, starts_at: from - 9 * H, ends_at: from }, // ended before the window
      { gpus: 1, usd_per_gpu_hour: 1, starts_at: from + 4.5 * H, ends_at: from + 6 * H }, // starts mid-hour: hour 5 only
    ],
    from,
    6,
  );

  it('adds overlapping reservations hour by hour, each only in its own hours', () => {
    expect(Array.from(schedule.gpus)).toEqual([0, 2, 2, 3, 1, 2]);
    // $/h: 2×$2 = 4 in h1–h3, + 1×$3 in h3–h5, + 1×$1 in h5
    expect(Array.from(schedule.usd)).toEqual([0, 4, 4, 7, 3, 4]);
  });

  it('costs them like RESERVED, with their own N and r', () => {
    const demand = [1, 1, 3, 3, 0, 2];
    const cost = scheduleCost(demand, schedule, { mode: 'on_demand', usd_per_gpu_hour: 5 });
    // reserved Σ usd = 0 + 4 + 4 + 7 + 3 + 4 = $22
    // overflow: h0 (1 − 0) × $5 = $5, h2 (3 − 2) × $5 = $5 → $10; total $32
    // fill: Σ min(d, N) = 0 + 1 + 2 + 3 + 0 + 2 = 8 of 10 GPU-hours
    // idle: h1 $4 × (2 − 1)/2 = $2, h4 $3 × (1 − 0)/1 = $3 → $5
    expect(cost).toEqual({
      gpus: 2,
      cost_usd: 32,
      reserved_usd: 22,
      overflow_usd: 10,
      gpu_hours: 10,
      fill: 0.8,
      idle_cost_usd: 5,
    });
  });

  it('agrees with RESERVED(N) for a constant reservation (property)', () => {
    fc.assert(
      fc.property(anyDemand(), fc.integer({ min: 0, max: 40 }), fc.double({ min: 0.1, max: 10, noNaN: true }), fc.boolean(), (demand, n, r, useApi) => {
        const pricing: OverflowPricing = useApi
          ? { mode: 'api', api_usd: demand.map((x) => x * 1.7) }
          : { mode: 'on_demand', usd_per_gpu_hour: 3.5 };
        const c = scheduleCost(demand, constantSchedule(n, r, demand.length), pricing);
        expect(close(c.cost_usd, reservedCost(demand, n, r, pricing))).toBe(true);
        expect(close(c.idle_cost_usd, idleCost(demand, n, r))).toBe(true);
        expect(c.fill === null ? null : Number(c.fill.toFixed(9))).toBe(n === 0 ? null : Number(fill(demand, n)!.toFixed(9)));
      }),
      FC,
    );
  });

  it('scales all-API and all-on-demand cost by k when demand scales by k (property)', () => {
    fc.assert(
      fc.property(anyDemand(), fc.double({ min: 0.5, max: 20, noNaN: true }), (demand, k) => {
        const apiUsd = demand.map((x) => x * 0.9);
        expect(close(onDemandCost(demand.map((x) => x * k), 3.5), k * onDemandCost(demand, 3.5))).toBe(true);
        expect(close(apiCost(apiUsd.map((x) => x * k)), k * apiCost(apiUsd))).toBe(true);
      }),
      FC,
    );
  });
});

describe('rateMean', () => {
  it('gives a rate that never changes exactly as it is, and averages one that does', () => {
    // 744 hours at $1.45: the float sum divided back gives 1.4499999999999997; the mean is the rate itself.
    expect(rateMean(new Float64Array(744).fill(1.45), 744)).toBe(1.45);
    expect(rateMean(1.45, 744)).toBe(1.45);
    // 2 hours at $2 and 2 at $3: (2 + 2 + 3 + 3) / 4 = 2.5.
    expect(rateMean([2, 2, 3, 3], 4)).toBe(2.5);
    expect(rateMean([], 0)).toBeNull();
  });
});
