import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregation, aggregationSaving, poolSeries } from '../../app/domain/pooling.js';
import type { CostInputs } from '../../app/domain/recommend.js';
import { SOURCE_NONE, SOURCE_TELEMETRY, SOURCE_TOKENS, type DemandSeries } from '../../app/domain/types.js';
import { FC } from './engine-helpers.js';

const series = (demand: number[], api: number[], source: number[]): DemandSeries => ({
  from_ms: 0,
  hours: demand.length,
  demand: Float64Array.from(demand),
  api_usd: Float64Array.from(api),
  source: Uint8Array.from(source),
  hours_without_data: source.filter((s) => s === SOURCE_NONE).length,
});
const onDemand = (demand: ArrayLike<number>): CostInputs => ({ demand, overflow: 'on_demand', on_demand_usd_per_gpu_hour: 3, api_usd: null });
const offers = [{ provider: 'p', term_days: 30, block_size: 1, usd_per_gpu_hour: 2 }];

describe('pools', () => {
  it('adds members’ demand and API cost; a gap only where no member has data', () => {
    const pool = poolSeries({ from_ms: 0, hours: 3 }, [
      series([1, 0, 0], [0.5, 0, 0], [SOURCE_TELEMETRY, SOURCE_NONE, SOURCE_NONE]),
      series([2, 3, 0], [1, 2, 0], [SOURCE_TOKENS, SOURCE_TOKENS, SOURCE_NONE]),
    ]);
    expect(Array.from(pool.demand)).toEqual([3, 3, 0]);
    expect(Array.from(pool.api_usd)).toEqual([1.5, 2, 0]);
    expect(Array.from(pool.source)).toEqual([SOURCE_TELEMETRY | SOURCE_TOKENS, SOURCE_TOKENS, SOURCE_NONE]);
    expect(pool.hours_without_data).toBe(1);
    expect(() => poolSeries({ from_ms: 0, hours: 4 }, [series([1], [1], [1])])).toThrow(/window/);
  });

  it('shows the aggregation saving of complementary customers', () => {
    // A [4,0,4,0], B [0,4,0,4], r = $2, o = $3. Alone, H·r/o = 4·2/3 = 2.67 ≥ Σ clamp(d, 0, 1) = 2 → N = 0:
    // each pays 8 GPU-h × $3 = $24, together $48. Pooled D = [4,4,4,4]: N = 4, 4 × $2 × 4 h = $32. Saving $16.
    const a = [4, 0, 4, 0];
    const b = [0, 4, 0, 4];
    const result = aggregation(
      [
        { customer: 'a', inputs: onDemand(a) },
        { customer: 'b', inputs: onDemand(b) },
      ],
      onDemand([4, 4, 4, 4]),
      offers,
    );
    expect(result).toEqual({
      members: [
        { customer: 'a', provider: 'p', gpus: 0, cost_usd: 24 },
        { customer: 'b', provider: 'p', gpus: 0, cost_usd: 24 },
      ],
      members_optimum_usd: 48,
      pooled_gpus: 4,
      pooled_optimum_usd: 32,
      saving_usd: 16,
    });
    expect(aggregationSaving([24, 24], 32)).toBe(16);
    // Without offers everyone pays RESERVED(0): no saving, all on-demand
    expect(aggregation([{ customer: 'a', inputs: onDemand(a) }], onDemand(a), []).saving_usd).toBe(0);
  });

  const day48 = fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 20, noNaN: true })), { minLength: 48, maxLength: 48 });

  it('never makes a pool dearer than its members apart (property)', () => {
    // Any member's reservations, added up, are one option of the pool: its optimum can only be lower.
    fc.assert(
      fc.property(fc.array(day48, { minLength: 1, maxLength: 5 }), (members) => {
        const pooled = Array.from({ length: 48 }, (_, h) => members.reduce((s, m) => s + m[h], 0));
        const result = aggregation(
          members.map((m, i) => ({ customer: `c${i}`, inputs: onDemand(m) })),
          onDemand(pooled),
          offers,
        );
        expect(result.saving_usd).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, result.members_optimum_usd));
      }),
      { ...FC, numRuns: 60 },
    );
  });
});
