import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hourlySeries, type HourlySeriesInput, type TokenHourRow } from '../../app/domain/demand.js';
import { apiPriceLookup } from '../../app/domain/effective.js';
import { apiCostUsd } from '../../app/domain/tokens.js';
import { SOURCE_NONE, SOURCE_TELEMETRY, SOURCE_TOKENS } from '../../app/domain/types.js';
import { at, close, FC, H } from './engine-helpers.js';

const from = at('2026-10-01T00:00:00Z');
const profiles = new Map([['m', { input_tokens_per_gpu_second: 1000, output_tokens_per_gpu_second: 100, target_utilization: 0.5 }]]);
const prices = apiPriceLookup([
  { model: 'm', effective_from: 0, effective_to: null, usd_per_mtok_input: 0.5, usd_per_mtok_output: 2 },
  { model: 'unprofiled', effective_from: 0, effective_to: null, usd_per_mtok_input: 1, usd_per_mtok_output: 1 },
]);

function base(over: Partial<HourlySeriesInput> = {}): HourlySeriesInput {
  return { from_ms: from, hours: 4, telemetry: [], tokens: [], gpu_target_utilization: 0.8, profiles, api_price: prices, ...over };
}

describe('hourlySeries', () => {
  const series = hourlySeries(
    base({
      telemetry: [
        { hour: from, allocated_gpu_seconds: 7200, busy_gpu_seconds: 2880 }, // two GPUs' rows of one hour add up
        { hour: new Date(from), allocated_gpu_seconds: 3600, busy_gpu_seconds: 2880 },
        { hour: from + 3 * H, allocated_gpu_seconds: 3600, busy_gpu_seconds: 0 }, // measured, idle
      ],
      tokens: [
        { hour: from, model: 'm', input_tokens: 720_000, output_tokens: 36_000 },
        { hour: from + H, model: 'm', input_tokens: 1_800_000, output_tokens: 180_000 },
      ],
    }),
  );

  it('takes telemetry where it exists and tokens otherwise; a gap is demand 0', () => {
    // h0 telemetry: busy 2880 + 2880 = 5760 s / 3600 / 0.8 = 2 GPUs (its tokens are ignored for demand)
    // h1 tokens: 1,800,000 / 1000 + 180,000 / 100 = 1,800 + 1,800 = 3,600 GPU-s / 3600 / 0.5 = 2 GPUs
    // h2 nothing: 0, a gap; h3 measured idle: 0, not a gap
    expect(Array.from(series.demand)).toEqual([2, 2, 0, 0]);
    expect(Array.from(series.source)).toEqual([SOURCE_TELEMETRY, SOURCE_TOKENS, SOURCE_NONE, SOURCE_TELEMETRY]);
    expect(series.hours_without_data).toBe(1);
  });

  it('prices every hour’s tokens on the API, telemetry or not', () => {
    // h0: 720,000 × $0.5 + 36,000 × $2 = $0.36 + $0.072 = $0.432 (per million)
    // h1: 1,800,000 × $0.5 + 180,000 × $2 = $0.90 + $0.36 = $1.26
    expect(series.api_usd[0]).toBeCloseTo(0.432, 12);
    expect(series.api_usd[1]).toBeCloseTo(1.26, 12);
    expect(series.api_usd[2]).toBe(0);
  });

  it('reports observed throughput where telemetry and tokens meet', () => {
    // h0 only: 720,000 uncached / 5,760 busy s = 125 tok/s; 36,000 / 5,760 = 6.25 tok/s
    // profile: 720 + 360 = 1,080 GPU-s predicted / 5,760 measured = 0.1875
    expect(series.observed).toEqual({
      hours: 1,
      busy_gpu_seconds: 5760,
      uncached_input_tokens: 720_000,
      output_tokens: 36_000,
      input_tokens_per_busy_gpu_second: 125,
      output_tokens_per_busy_gpu_second: 6.25,
      profile_gpu_seconds: 1080,
      profile_over_observed: 0.1875,
    });
  });

  it('divides each model by its own profile’s utilization and reports what it cannot convert or price', () => {
    const s = hourlySeries(
      base({
        hours: 2,
        profiles: new Map([
          ['m', { input_tokens_per_gpu_second: 1000, output_tokens_per_gpu_second: 100, target_utilization: 0.5 }],
          ['fast', { input_tokens_per_gpu_second: 1000, output_tokens_per_gpu_second: 100 }], // u defaults to 0.8
        ]),
        tokens: [
          { hour: from, model: 'm', input_tokens: 360_000, output_tokens: 0 }, // 360 GPU-s / 3600 / 0.5 = 0.2
          { hour: from, model: 'fast', input_tokens: 720_000, output_tokens: 0 }, // 720 GPU-s / 3600 / 0.8 = 0.25
          { hour: from + H, model: 'unprofiled', input_tokens: 1_000_000, output_tokens: 0 }, // $1, no demand
        ],
      }),
    );
    expect(s.demand[0]).toBeCloseTo(0.45, 12); // 0.2 + 0.25
    expect(s.demand[1]).toBe(0);
    expect(s.hours_without_data).toBe(1); // unprofiled tokens alone are a gap
    expect(s.api_usd[1]).toBeCloseTo(1, 12);
    expect(s.unprofiled_models).toEqual(['unprofiled']);
    expect(s.unpriced_models).toEqual(['fast']);
    expect(s.observed).toBeNull();
  });

  it('gives each hour the price in force then', () => {
    const s = hourlySeries(
      base({
        hours: 2,
        api_price: apiPriceLookup([
          { model: 'm', effective_from: 0, effective_to: from + H, usd_per_mtok_input: 1, usd_per_mtok_output: 1 },
          { model: 'm', effective_from: from + H, effective_to: null, usd_per_mtok_input: 3, usd_per_mtok_output: 3 },
        ]),
        tokens: [
          { hour: from, model: 'm', input_tokens: 1_000_000, output_tokens: 0 }, // × $1
          { hour: from + H, model: 'm', input_tokens: 1_000_000, output_tokens: 0 }, // × $3
        ],
      }),
    );
    expect(Array.from(s.api_usd)).toEqual([1, 3]);
  });

  it('refuses rows outside the window or off the hour', () => {
    expect(() => hourlySeries(base({ tokens: [{ hour: from + 4 * H, model: 'm', input_tokens: 1, output_tokens: 1 }] }))).toThrow(
      /not an hour of the window/,
    );
    expect(() => hourlySeries(base({ telemetry: [{ hour: from + 1, allocated_gpu_seconds: 1, busy_gpu_seconds: 1 }] }))).toThrow();
    expect(() => hourlySeries(base({ gpu_target_utilization: 0 }))).toThrow(/utilization/);
  });

  const tokenRows = fc.array(
    fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.nat(5_000_000), fc.nat(5_000_000), fc.nat(1_000_000))
      .map(([h, uncached, cached, output]): TokenHourRow => ({
        hour: from + h * H,
        model: 'm',
        input_tokens: uncached + cached,
        cached_input_tokens: cached,
        output_tokens: output,
      })),
    { maxLength: 60 },
  );

  it('scales API cost and token demand by k when tokens scale by k, and matches apiCostUsd (property)', () => {
    fc.assert(
      fc.property(tokenRows, fc.integer({ min: 2, max: 20 }), (rows, k) => {
        const one = hourlySeries(base({ hours: 24, tokens: rows }));
        const scaled = hourlySeries(
          base({
            hours: 24,
            tokens: rows.map((r) => ({
              ...r,
              input_tokens: r.input_tokens * k,
              cached_input_tokens: (r.cached_input_tokens ?? 0) * k,
              output_tokens: r.output_tokens * k,
            })),
          }),
        );
        for (let h = 0; h < 24; h++) {
          expect(close(scaled.api_usd[h], k * one.api_usd[h])).toBe(true);
          expect(close(scaled.demand[h], k * one.demand[h])).toBe(true);
          const byFormula = rows
            .filter((r) => r.hour === from + h * H)
            .reduce((s, r) => s + apiCostUsd(r, { usd_per_mtok_input: 0.5, usd_per_mtok_output: 2 }), 0);
          expect(close(one.api_usd[h], byFormula)).toBe(true);
        }
      }),
      { ...FC, numRuns: 40 },
    );
  });
});
