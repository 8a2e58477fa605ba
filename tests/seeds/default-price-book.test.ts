import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { defaultPriceBook } from '../../seeds/demo.js';

// The dated public prices the book is built from, read in place (never copied into the project).
const SNAPSHOT = path.resolve(import.meta.dirname, '../../../shared/data/api_token_prices_litellm_snapshot.csv');

// Our model names for LiteLLM's keys.
const MODEL_OF: Record<string, string> = {
  'together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo': 'llama-3.1-8b',
  'together_ai/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo': 'llama-3.1-70b',
  'together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo': 'llama-3.3-70b',
  'fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct': 'llama-3.1-8b',
  'fireworks_ai/accounts/fireworks/models/llama-v3p1-70b-instruct': 'llama-3.1-70b',
  'fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct': 'llama-3.3-70b',
  'fireworks_ai/accounts/fireworks/models/gpt-oss-120b': 'gpt-oss-120b',
  'fireworks_ai/accounts/fireworks/models/gpt-oss-20b': 'gpt-oss-20b',
};

describe('the default price book', () => {
  const book = defaultPriceBook();

  it('is a valid book in force from 2026-01-01', () => {
    expect(book.name).toBe('default-2026');
    expect(book.effective_from.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('offers on-demand and two reserved terms per GPU type, from two providers, marked illustrative', () => {
    for (const type of ['H100', 'A100-80GB', 'L40S']) {
      const offers = book.offers.filter((o) => o.kind !== 'api' && o.gpu_type === type);
      const providers = new Set(offers.map((o) => o.provider));
      expect(providers.size).toBe(2);
      for (const provider of providers) {
        const mine = offers.filter((o) => o.provider === provider);
        const onDemand = mine.find((o) => o.kind === 'on_demand')!;
        const reserved = mine.flatMap((o) => (o.kind === 'reserved' ? [o] : [])).sort((a, b) => a.term_days - b.term_days);
        expect(reserved.map((o) => o.term_days)).toEqual([30, 365]);
        expect(reserved.map((o) => o.block_size)).toEqual(type === 'L40S' ? [4, 4] : [8, 8]);
        // Longer commitments are cheaper, and every commitment is cheaper than on demand.
        expect(reserved[1].usd_per_gpu_hour).toBeLessThan(reserved[0].usd_per_gpu_hour);
        expect(reserved[0].usd_per_gpu_hour).toBeLessThan(onDemand.usd_per_gpu_hour);
      }
      for (const o of offers) {
        expect(o.source).toMatch(/^illustrative list price/);
        expect(o.source_date).toBe('2026-11-28');
      }
    }
  });

  it.skipIf(!existsSync(SNAPSHOT))('prices the API exactly as the LiteLLM snapshot does, and says so', () => {
    const rows: Record<string, string>[] = parse(readFileSync(SNAPSHOT), { columns: true });
    const api = book.offers.flatMap((o) => (o.kind === 'api' ? [o] : []));
    const expected = rows
      .filter((r) => r.provider === 'together_ai' || r.provider === 'fireworks_ai')
      .map((r) => {
        const input = Number(r.input_usd_per_1m);
        return {
          provider: r.provider,
          model: MODEL_OF[r.litellm_key],
          usd_per_mtok_input: input,
          usd_per_mtok_output: Number(r.output_usd_per_1m),
          usd_per_mtok_cached_input: r.cached_input_usd_per_1m === '' ? input : Number(r.cached_input_usd_per_1m),
        };
      });
    expect(api.map(({ provider, model, usd_per_mtok_input, usd_per_mtok_output, usd_per_mtok_cached_input }) => ({
      provider, model, usd_per_mtok_input, usd_per_mtok_output, usd_per_mtok_cached_input,
    }))).toEqual(expected);
    for (const o of api) {
      expect(o.source).toBe('LiteLLM model_prices snapshot via token-tariff');
      expect(o.source_date).toBe('2026-08-01');
    }
  });

  it('has a capacity profile for every model and GPU type the demo uses', () => {
    expect(book.capacity_profiles).toHaveLength(12);
    for (const p of book.capacity_profiles) expect(p.input_tokens_per_gpu_second).toBeGreaterThan(p.output_tokens_per_gpu_second);
  });
});
