import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blocksToCover,
  changeAgainstCurrent,
  costsTie,
  evaluateOffer,
  optimumOf,
  recentGuard,
  recommend,
  reservedCurve,
  riskLevels,
  stability,
  type CostInputs,
} from '../../app/domain/recommend.js';
import { reservedCost } from '../../app/domain/scenarios.js';
import type { CurvePoint, OverflowPricing, ReservedOffer } from '../../app/domain/types.js';
import { anyDemand, close, dyadicDemand, FC } from './engine-helpers.js';

const d = [0, 1, 2, 4];
const api = [0, 1, 2, 8];
const onDemand: OverflowPricing = { mode: 'on_demand', usd_per_gpu_hour: 3.5 };
const inputs = (demand: ArrayLike<number>, overflow: 'on_demand' | 'api' = 'on_demand', apiUsd: ArrayLike<number> = api): CostInputs => ({
  demand,
  overflow,
  on_demand_usd_per_gpu_hour: 3.5,
  api_usd: apiUsd,
});
const offer = (block_size: number, usd_per_gpu_hour: number, provider = 'p', term_days = 30): ReservedOffer => ({
  provider,
  term_days,
  block_size,
  usd_per_gpu_hour,
});
const costs = (curve: CurvePoint[]) => curve.map((p) => Number(p.cost_usd.toFixed(9)));

describe('the cost curve', () => {
  it('prices every block of N with on-demand overflow', () => {
    const curve = reservedCurve(d, 1, 2.1, onDemand);
    expect(curve.map((p) => p.gpus)).toEqual([0, 1, 2, 3, 4]);
    // N=0: 7 GPU-h × $3.50 = $24.50
    // N=1: 1 × $2.10 × 4 h = $8.40 + overflow (0+0+1+3) × $3.50 = $14 → $22.40
    // N=2: $16.80 + 2 × $3.50 = $23.80;  N=3: $25.20 + $3.50 = $28.70;  N=4: $33.60 + 0
    expect(costs(curve)).toEqual([24.5, 22.4, 23.8, 28.7, 33.6]);
    expect(optimumOf(curve)).toEqual(curve[1]);
    // Block 2: N = 0, 2, 4 → $24.50, $23.80, $33.60
    expect(costs(reservedCurve(d, 2, 2.1, onDemand))).toEqual([24.5, 23.8, 33.6]);
    // Block 3 runs to 3·⌈4/3⌉ = 6: N=3 $25.20 + $3.50; N=6: 6 × $2.10 × 4 = $50.40
    expect(costs(reservedCurve(d, 3, 2.1, onDemand))).toEqual([24.5, 28.7, 50.4]);
  });

  it('prices every block of N with API overflow', () => {
    // N=0: all API $11; N=1: $8.40 + h2 (2−1)/2 × $2 + h3 (4−1)/4 × $8 = 8.40 + 1 + 6 = $15.40
    // N=2: $16.80 + h3 (2/4) × $8 = $20.80; N=3: $25.20 + $2 = $27.20; N=4: $33.60
    expect(costs(reservedCurve(d, 1, 2.1, { mode: 'api', api_usd: api }))).toEqual([11, 15.4, 20.8, 27.2, 33.6]);
  });

  it('takes the smaller N on a tie', () => {
    // demand 1, 0; r = $1, o = $2: N=0 costs 1 × $2 = $2, N=1 costs 1 × $1 × 2 h = $2
    const curve = reservedCurve([1, 0], 1, 1, { mode: 'on_demand', usd_per_gpu_hour: 2 });
    expect(costs(curve)).toEqual([2, 2]);
    expect(optimumOf(curve).gpus).toBe(0);
    expect(costsTie(1e6, 1e6 + 1e-4)).toBe(true); // a hundredth of a cent on a million is noise
    expect(costsTie(10, 10.01)).toBe(false);
  });

  it('has a single point for no demand and refuses bad input', () => {
    expect(reservedCurve([0, 0, 0], 8, 2, onDemand)).toEqual([{ gpus: 0, cost_usd: 0 }]);
    expect(() => reservedCurve(d, 0, 2, onDemand)).toThrow(/block size/);
    expect(() => reservedCurve([1, -1], 1, 2, onDemand)).toThrow(/demand/);
    expect(() => reservedCurve([1, NaN], 1, 2, onDemand)).toThrow(/demand/);
    expect(() => reservedCurve(d, 1, 2, { mode: 'api', api_usd: [1] })).toThrow(/hours/);
  });

  it('counts blocks exactly, even when division rounds', () => {
    expect(blocksToCover(0, 8)).toBe(0);
    expect(blocksToCover(8, 8)).toBe(1); // exactly one block: not idle, not overflowing
    expect(blocksToCover(8.000000000000002, 8)).toBe(2);
    // 0.1 + 0.2 = 0.30000000000000004 = 3 × 0.1 in float64, yet dividing by 0.1 gives 3.0000000000000004,
    // which ⌈⌉ would make 4 blocks: the correction brings it back to 3.
    expect(blocksToCover(0.1 + 0.2, 0.1)).toBe(3);
  });
});

describe('offers', () => {
  it('reports the optimum, fill, idle cost and break-even of an offer', () => {
    const r = evaluateOffer(inputs(d), offer(1, 2.1));
    expect(r.gpus).toBe(1);
    expect(r.cost_usd).toBeCloseTo(22.4, 12);
    expect(r.fill).toBe(0.75); // Σ min(d, 1) = 0 + 1 + 1 + 1 = 3 of 4 GPU-h
    expect(r.idle_cost_usd).toBeCloseTo(2.1, 12); // 1 idle GPU-hour (h0) × $2.10
    expect(r.break_even_fill).toBeCloseTo(0.6, 12); // on-demand overflow: $2.10/$3.50
    expect(r.break_even_fill_vs_api).toBeCloseTo(14.7 / 11, 12); // $2.10 / ($11 / 7 GPU-h)
    const viaApi = evaluateOffer(inputs(d, 'api'), offer(1, 2.1));
    expect(viaApi.gpus).toBe(0); // $11 all-API beats every reservation
    expect(viaApi.fill).toBeNull();
    expect(viaApi.break_even_fill).toBeCloseTo(14.7 / 11, 12);
  });

  it('picks the cheapest offer; ties go to fewer GPUs, then the shorter term', () => {
    // block 2 at $2.00: N=2 → 2 × $2 × 4 = $16 + $7 = $23 > $22.40 of block 1 at $2.10
    const { best, offers } = recommend(inputs(d), [offer(2, 2.0, 'two'), offer(1, 2.1, 'one')]);
    expect(offers.map((o) => o.provider)).toEqual(['two', 'one']);
    expect(best?.provider).toBe('one');
    // Same price, different terms: the one-year term loses the tie
    expect(recommend(inputs(d), [offer(1, 2.1, 'a', 365), offer(1, 2.1, 'b', 30)]).best?.provider).toBe('b');
    expect(recommend(inputs(d), []).best).toBeNull();
  });

  it('uses per-hour rates', () => {
    // r = $1 then $3 (mean $2); N=1 over demand [1, 1]: Σ r = $4 and no overflow
    const curve = reservedCurve([1, 1], 1, [1, 3], { mode: 'on_demand', usd_per_gpu_hour: [2, 4] });
    // N=0: 1 × $2 + 1 × $4 = $6; N=1: $1 + $3 = $4
    expect(costs(curve)).toEqual([6, 4]);
  });
});

describe('risk levels, stability, the recent guard and the change', () => {
  it('finds floor, knee and optimum', () => {
    const curve = [100, 80, 68, 62, 60, 61].map((cost_usd, gpus) => ({ gpus, cost_usd }));
    // savings 20, 12, 6, 2, −1; the first block saved 20, 40 % of it is 8;
    // at N=1 the next saves 12 ≥ 8, at N=2 the next saves 6 < 8 → balanced N=2; optimal N=4 ($60)
    // floor: min demand 1.5 GPUs, block 1 → 1
    const levels = riskLevels(curve, [3, 1.5, 4], 1);
    expect(levels.floor).toEqual({ gpus: 1, cost_usd: 80 });
    expect(levels.balanced).toEqual({ gpus: 2, cost_usd: 68 });
    expect(levels.optimal).toEqual({ gpus: 4, cost_usd: 60 });
  });

  it('rounds the floor down to a block and stays at 0 when reserving never pays', () => {
    const curve = reservedCurve([5, 7, 9], 2, 1, onDemand);
    // min demand 5 → 2·⌊5/2⌋ = 4
    expect(riskLevels(curve, [5, 7, 9], 2).floor.gpus).toBe(4);
    const rising = [10, 12, 14].map((cost_usd, i) => ({ gpus: 8 * i, cost_usd }));
    const levels = riskLevels(rising, [0, 20], 8);
    expect([levels.floor.gpus, levels.balanced.gpus, levels.optimal.gpus]).toEqual([0, 0, 0]);
  });

  it('never puts balanced above optimal (property)', () => {
    fc.assert(
      fc.property(anyDemand(), fc.integer({ min: 1, max: 8 }), fc.double({ min: 0.2, max: 5, noNaN: true }), (demand, b, r) => {
        const curve = reservedCurve(demand, b, r, onDemand);
        const l = riskLevels(curve, demand, b);
        expect(l.floor.gpus).toBeLessThanOrEqual(Math.min(...demand) + 1e-9);
        expect(l.floor.gpus % b).toBe(0);
        expect(l.balanced.gpus).toBeLessThanOrEqual(l.optimal.gpus);
      }),
      FC,
    );
  });

  const weeks = (...levels: number[]) => levels.flatMap((v) => new Array(168).fill(v));

  it('recomputes the optimum on the last four weeks', () => {
    // Flat demand under r < o: each week's optimum is its demand. A leading day is outside the last 4 weeks.
    const s = stability(inputs([...new Array(24).fill(50), ...weeks(1, 2, 4, 3)]), offer(1, 2.1));
    expect(s.weeks.map((w) => w.gpus)).toEqual([1, 2, 4, 3]);
    expect(s.weeks[0].start_hour).toBe(24);
    expect([s.min_gpus, s.max_gpus]).toEqual([1, 4]);
    // Two weeks and a bit: two sub-windows; under a week: the whole window
    expect(stability(inputs([7, ...weeks(5, 6)]), offer(1, 2.1)).weeks.map((w) => w.gpus)).toEqual([5, 6]);
    expect(stability(inputs(d), offer(1, 2.1))).toEqual({ min_gpus: 1, max_gpus: 1, weeks: [{ start_hour: 0, gpus: 1 }] });
  });

  it('flags a recommendation that the last 3 days no longer support', () => {
    // 600 h at 10 GPUs then 72 h at 2: over all 672 h, Σ clamp(d − N, 0, 1) = 600 > H·r/o = 403.2 for N < 10 → 10
    const demand = [...new Array(600).fill(10), ...new Array(72).fill(2)];
    const r = evaluateOffer(inputs(demand), offer(1, 2.1));
    expect(r.gpus).toBe(10);
    expect(recentGuard(inputs(demand), offer(1, 2.1), r.gpus)).toEqual({ hours: 72, gpus: 2, flagged: true });
    expect(recentGuard(inputs(d), offer(1, 2.1), 1)).toEqual({ hours: 4, gpus: 1, flagged: false });
  });

  it('labels the change against the current reservation', () => {
    expect(changeAgainstCurrent(8, 16, 'H100')).toEqual({ delta_gpus: 8, label: '+8 H100' });
    expect(changeAgainstCurrent(16, 8, 'H100')).toEqual({ delta_gpus: -8, label: '\u22128 H100' });
    expect(changeAgainstCurrent(8, 8, 'H100')).toEqual({ delta_gpus: 0, label: 'no change' });
  });
});

describe('the optimizer (properties)', () => {
  const pricingArb = (hours: number) =>
    fc.oneof(
      fc.double({ min: 0.5, max: 8, noNaN: true }).map((o): OverflowPricing => ({ mode: 'on_demand', usd_per_gpu_hour: o })),
      fc
        .array(fc.double({ min: 0.5, max: 8, noNaN: true }), { minLength: hours, maxLength: hours })
        .map((o): OverflowPricing => ({ mode: 'on_demand', usd_per_gpu_hour: o })),
      fc
        .array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 400, noNaN: true })), { minLength: hours, maxLength: hours })
        .map((a): OverflowPricing => ({ mode: 'api', api_usd: a })),
    );
  const caseArb = anyDemand(100).chain((demand) =>
    fc.record({
      demand: fc.constant(demand),
      pricing: pricingArb(demand.length),
      block: fc.integer({ min: 1, max: 10 }),
      r: fc.double({ min: 0.1, max: 6, noNaN: true }),
    }),
  );

  it('equals a brute-force sweep of RESERVED(N), point by point and at the optimum', () => {
    fc.assert(
      fc.property(caseArb, ({ demand, pricing, block, r }) => {
        const curve = reservedCurve(demand, block, r, pricing);
        // block·⌈max d / block⌉, counted rather than divided: a subnormal max d / block underflows to 0
        const peak = Math.max(...demand);
        let top = 0;
        while (top < peak) top += block;
        expect(curve.at(-1)!.gpus).toBe(top);
        const brute: CurvePoint[] = [];
        for (let n = 0; n <= top; n += block) brute.push({ gpus: n, cost_usd: reservedCost(demand, n, r, pricing) });
        expect(curve.map((p) => p.gpus)).toEqual(brute.map((p) => p.gpus));
        curve.forEach((p, i) => expect(close(p.cost_usd, brute[i].cost_usd)).toBe(true));
        // The brute-force minimum, smaller N on a tie
        const min = Math.min(...brute.map((p) => p.cost_usd));
        const expected = brute.find((p) => close(p.cost_usd, min))!;
        expect(optimumOf(curve).gpus).toBe(expected.gpus);
      }),
      FC,
    );
  });

  it('equals the newsvendor quantile with block size 1 and on-demand overflow (exact arithmetic)', () => {
    // Demand in eighths and rates in eighths of a dollar: every sum is exact, so ties are exact too.
    const eighths = fc.integer({ min: 1, max: 64 }).map((i) => i / 8);
    fc.assert(
      fc.property(dyadicDemand(), eighths, eighths, (demand, r, o) => {
        const hours = demand.length;
        // Smallest N with Σ_h clamp(d − N, 0, 1) ≤ H·r/o (compared as o·Σ ≤ H·r: the same, without a division)
        let newsvendor = 0;
        for (; ; newsvendor++) {
          const s = demand.reduce((acc, x) => acc + Math.min(1, Math.max(0, x - newsvendor)), 0);
          if (o * s <= hours * r) break;
        }
        const curve = reservedCurve(demand, 1, r, { mode: 'on_demand', usd_per_gpu_hour: o });
        expect(optimumOf(curve).gpus).toBe(newsvendor);
      }),
      { ...FC, numRuns: 300 },
    );
  });

  it('is convex in N with on-demand overflow', () => {
    fc.assert(
      fc.property(anyDemand(), fc.double({ min: 0.1, max: 6, noNaN: true }), fc.double({ min: 0.5, max: 8, noNaN: true }), (demand, r, o) => {
        const c = reservedCurve(demand, 1, r, { mode: 'on_demand', usd_per_gpu_hour: o }).map((p) => p.cost_usd);
        for (let k = 1; k + 1 < c.length; k++) {
          const second = c[k - 1] + c[k + 1] - 2 * c[k];
          expect(second).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, c[k]));
        }
      }),
      FC,
    );
  });

  it('lets the cheaper of two otherwise equal offers win', () => {
    fc.assert(
      fc.property(
        anyDemand(),
        fc.integer({ min: 1, max: 8 }),
        fc.double({ min: 0.1, max: 6, noNaN: true }),
        fc.double({ min: 0.01, max: 3, noNaN: true }),
        fc.boolean(),
        (demand, block, r, extra, cheapFirst) => {
          const cheap = offer(block, r, 'cheap');
          const dear = offer(block, r + extra, 'dear');
          const { best, offers } = recommend(inputs(demand), cheapFirst ? [cheap, dear] : [dear, cheap]);
          const cheapCost = offers.find((x) => x.provider === 'cheap')!.cost_usd;
          const dearCost = offers.find((x) => x.provider === 'dear')!.cost_usd;
          expect(cheapCost).toBeLessThanOrEqual(dearCost + 1e-9);
          expect(best!.cost_usd).toBe(Math.min(cheapCost, dearCost));
          // When it reserves anything the cheaper rate is strictly cheaper, so it must be the one chosen
          if (best!.gpus > 0) expect(best!.provider).toBe('cheap');
        },
      ),
      FC,
    );
  });

  it('scales RESERVED(N) by k with demand, rates and API cost (property)', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 2, max: 9 }), ({ demand, pricing, r }, k) => {
        // Scaling demand by k with block 1 moves the grid; keep N fixed and compare cost at k·N.
        const scaledPricing: OverflowPricing =
          pricing.mode === 'api' ? { mode: 'api', api_usd: Array.from(pricing.api_usd, (x) => x * k) } : pricing;
        const n = Math.ceil(Math.max(...demand) / 2);
        const base = reservedCost(demand, n, r, pricing);
        const scaled = reservedCost(
          demand.map((x) => x * k),
          n * k,
          r,
          scaledPricing,
        );
        expect(close(scaled, k * base)).toBe(true);
      }),
      FC,
    );
  });
});
