// Token counts → GPU-seconds (through a capacity profile) and → API dollars (through an API price).
import type { ApiPrice, CapacityProfile, TokenCounts } from './types.js';

/** uncached = input − cached − cache_write (input_tokens includes both; counting them again double-charges cache hits). */
export function uncachedInputTokens(c: TokenCounts): number {
  const uncached = c.input_tokens - (c.cached_input_tokens ?? 0) - (c.cache_write_input_tokens ?? 0);
  // Ingestion refuses such rows; reaching here means a caller passed Anthropic-style counts unconverted.
  if (uncached < 0) {
    throw new RangeError(
      `cached (${c.cached_input_tokens}) + cache-write (${c.cache_write_input_tokens}) exceed input tokens (${c.input_tokens})`,
    );
  }
  return uncached;
}

/** gpu_seconds = uncached/input_tps + output/output_tps (cached input costs no GPU time). */
export function tokenGpuSeconds(c: TokenCounts, profile: CapacityProfile): number {
  return (
    uncachedInputTokens(c) / profile.input_tokens_per_gpu_second + c.output_tokens / profile.output_tokens_per_gpu_second
  );
}

/**
 * $/million tokens of each class under a price, in the order uncached input, cached input, cache-write input,
 * output: cached and cache-write input cost the input price when the price lists none.
 */
export function tokenClassPrices(price: ApiPrice): [number, number, number, number] {
  const pIn = price.usd_per_mtok_input;
  return [pIn, price.usd_per_mtok_cached_input ?? pIn, price.usd_per_mtok_cache_write ?? pIn, price.usd_per_mtok_output];
}

/** api = (uncached·p_in + cached·p_cached + cache_write·p_cw + output·p_out) / 1e6, p_cached and p_cw default to p_in. */
export function apiCostUsd(c: TokenCounts, price: ApiPrice): number {
  const pIn = price.usd_per_mtok_input;
  const pCached = price.usd_per_mtok_cached_input ?? pIn;
  const pWrite = price.usd_per_mtok_cache_write ?? pIn;
  return (
    (uncachedInputTokens(c) * pIn +
      (c.cached_input_tokens ?? 0) * pCached +
      (c.cache_write_input_tokens ?? 0) * pWrite +
      c.output_tokens * price.usd_per_mtok_output) /
    1e6
  );
}
