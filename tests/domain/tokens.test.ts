import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiCostUsd, tokenGpuSeconds, uncachedInputTokens } from '../../app/domain/tokens.js';
import { close, FC } from './engine-helpers.js';

describe('token formulas', () => {
  it('takes cached and cache-write tokens out of input', () => {
    // 1000 − 300 − 200 = 500
    expect(uncachedInputTokens({ input_tokens: 1000, cached_input_tokens: 300, cache_write_input_tokens: 200, output_tokens: 9 })).toBe(500);
    expect(uncachedInputTokens({ input_tokens: 1000, output_tokens: 9 })).toBe(1000);
    expect(() => uncachedInputTokens({ input_tokens: 100, cached_input_tokens: 80, cache_write_input_tokens: 30, output_tokens: 0 })).toThrow(
      /exceed input/,
    );
  });

  it('turns tokens into GPU-seconds, cached input for free', () => {
    const profile = { input_tokens_per_gpu_second: 9000, output_tokens_per_gpu_second: 750 };
    // uncached 18,000 − 9,000 = 9,000 / 9,000 = 1 s; output 1,500 / 750 = 2 s; total 3 s
    expect(tokenGpuSeconds({ input_tokens: 18_000, cached_input_tokens: 9_000, output_tokens: 1_500 }, profile)).toBe(3);
  });

  it('prices each kind of token at its own price', () => {
    const counts = { input_tokens: 1_000_000, cached_input_tokens: 400_000, cache_write_input_tokens: 100_000, output_tokens: 200_000 };
    // uncached 500,000 × $0.88 + cached 400,000 × $0.44 + write 100,000 × $1.10 + output 200,000 × $0.88
    // = 440,000 + 176,000 + 110,000 + 176,000 = 902,000 / 1e6 = $0.902
    const price = { usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44, usd_per_mtok_cache_write: 1.1, usd_per_mtok_output: 0.88 };
    expect(apiCostUsd(counts, price)).toBeCloseTo(0.902, 12);
    // Cached and cache-write default to the input price: 1,000,000 × $0.88 + 200,000 × $0.88 = $1.056
    expect(apiCostUsd(counts, { usd_per_mtok_input: 0.88, usd_per_mtok_output: 0.88 })).toBeCloseTo(1.056, 12);
    expect(apiCostUsd(counts, { usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: null, usd_per_mtok_output: 0.88 })).toBeCloseTo(1.056, 12);
  });

  const counts = fc
    .tuple(fc.nat(10_000_000), fc.nat(10_000_000), fc.nat(10_000_000), fc.nat(10_000_000))
    .map(([uncached, cached, written, output]) => ({
      input_tokens: uncached + cached + written,
      cached_input_tokens: cached,
      cache_write_input_tokens: written,
      output_tokens: output,
    }));
  const price = fc
    .tuple(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }))
    .map(([pIn, cachedShare, pOut]) => ({
      usd_per_mtok_input: pIn,
      usd_per_mtok_cached_input: pIn * cachedShare, // p_cached ≤ p_in
      usd_per_mtok_cache_write: pIn,
      usd_per_mtok_output: pOut,
    }));

  it('never charges cached tokens twice (property)', () => {
    fc.assert(
      fc.property(counts, price, (c, p) => {
        const cost = apiCostUsd(c, p);
        const uncached = c.input_tokens - c.cached_input_tokens - c.cache_write_input_tokens;
        const formula =
          (uncached * p.usd_per_mtok_input +
            c.cached_input_tokens * p.usd_per_mtok_cached_input +
            c.cache_write_input_tokens * p.usd_per_mtok_cache_write +
            c.output_tokens * p.usd_per_mtok_output) /
          1e6;
        expect(close(cost, formula)).toBe(true);
        // The same tokens, none of them cached, cost at least as much: cache hits only ever save.
        const allUncached = apiCostUsd({ ...c, cached_input_tokens: 0, cache_write_input_tokens: 0 }, p);
        expect(cost).toBeLessThanOrEqual(allUncached * (1 + 1e-12) + 1e-12);
        // Charging cached tokens as input *and* as cached would exceed this bound whenever p_cached > 0.
        expect(cost).toBeLessThanOrEqual((c.input_tokens * p.usd_per_mtok_input + c.output_tokens * p.usd_per_mtok_output) / 1e6 + 1e-9);
      }),
      FC,
    );
  });

  it('scales with the tokens (property)', () => {
    fc.assert(
      fc.property(counts, price, fc.integer({ min: 2, max: 50 }), (c, p, k) => {
        const scaled = {
          input_tokens: c.input_tokens * k,
          cached_input_tokens: c.cached_input_tokens * k,
          cache_write_input_tokens: c.cache_write_input_tokens * k,
          output_tokens: c.output_tokens * k,
        };
        expect(close(apiCostUsd(scaled, p), k * apiCostUsd(c, p))).toBe(true);
      }),
      FC,
    );
  });
});
