import { describe, expect, it } from 'vitest';
import { createRandom, deriveSeed, mulberry32 } from '../../app/domain/random.js';
import { DEMO_CUSTOMERS, DEMO_POOLS, generateDemoUsage } from '../../seeds/demo-usage.js';
import { defaultPriceBook } from '../../seeds/demo.js';

const book = defaultPriceBook();
const profiles = new Map(book.capacity_profiles.map((p) => [`${p.model}|${p.gpu_type}`, p]));
const profile = (model: string, gpuType: string) => profiles.get(`${model}|${gpuType}`)!;
const FROM = Date.UTC(2026, 9, 1);

describe('the seeded random generator', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const c = mulberry32(2);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    // mulberry32's published first output for seed 1.
    expect(mulberry32(1)()).toBeCloseTo(0.6270739405881613, 15);
  });

  it('draws within its ranges, with the moments it promises', () => {
    const rng = createRandom(42);
    let sum = 0;
    let sumSq = 0;
    let logNormalSum = 0;
    const n = 20_000;
    const [uniform, ints] = [new Set<boolean>(), new Set<number>()];
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      uniform.add(x >= 0 && x < 1);
      ints.add(rng.int(3, 5));
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
      logNormalSum += rng.lognormal(0.3);
    }
    expect(uniform).toEqual(new Set([true]));
    expect(ints).toEqual(new Set([3, 4, 5]));
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(sumSq / n).toBeGreaterThan(0.95);
    expect(sumSq / n).toBeLessThan(1.05);
    expect(logNormalSum / n).toBeCloseTo(1, 1);
  });

  it('derives independent streams per label', () => {
    expect(deriveSeed(1, 'acme')).toBe(deriveSeed(1, 'acme'));
    expect(deriveSeed(1, 'acme')).not.toBe(deriveSeed(1, 'globex'));
    expect(deriveSeed(1, 'acme')).not.toBe(deriveSeed(2, 'acme'));
  });
});

describe('the demo customers', () => {
  it('are twelve, with distinct slugs, two pools of 4 and 2, telemetry and token-only ones', () => {
    expect(DEMO_CUSTOMERS).toHaveLength(12);
    expect(new Set(DEMO_CUSTOMERS.map((c) => c.slug)).size).toBe(12);
    for (const c of DEMO_CUSTOMERS) {
      expect(c.slug).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(c.owner_email).toMatch(/^[^@\s]+@[^@\s]+$/);
      expect(c.models.reduce((s, m) => s + m.share, 0)).toBeCloseTo(1, 9);
      expect(new Set(c.models.map((m) => m.model)).size).toBe(c.models.length);
      for (const m of c.models) expect(m.cached_share + m.cache_write_share * 1.5).toBeLessThan(0.9);
    }
    const members = (pool: string) => DEMO_CUSTOMERS.filter((c) => c.pool === pool).length;
    expect(DEMO_POOLS.map(members)).toEqual([4, 2]);
    expect(DEMO_CUSTOMERS.filter((c) => c.telemetry).length).toBe(7);
    expect(new Set(DEMO_CUSTOMERS.flatMap((c) => (c.telemetry ? [c.telemetry.gpu_type] : [])))).toEqual(new Set(['H100', 'A100-80GB', 'L40S']));
  });

  it('use only models the default price book prices, with a profile on each GPU type', () => {
    const apiModels = new Set(book.offers.flatMap((o) => (o.kind === 'api' ? [o.model] : [])));
    for (const c of DEMO_CUSTOMERS) {
      for (const m of c.models) {
        expect(apiModels.has(m.model), m.model).toBe(true);
        for (const type of ['H100', 'A100-80GB', 'L40S']) expect(profile(m.model, type), `${m.model} on ${type}`).toBeDefined();
      }
    }
  });
});

describe('generateDemoUsage', () => {
  const week = (seed: number) => generateDemoUsage({ seed, from: FROM, hours: 7 * 24, profile });

  it('is deterministic for a seed and differs for another', () => {
    expect(week(1)).toEqual(week(1));
    expect(week(2).tokens).not.toEqual(week(1).tokens);
  });

  it('keeps each customer on its own stream: dropping one leaves the others unchanged', () => {
    const all = week(7);
    const without = generateDemoUsage({ seed: 7, from: FROM, hours: 7 * 24, profile, customers: DEMO_CUSTOMERS.filter((c) => c.slug !== 'acme') });
    expect(without.tokens).toEqual(all.tokens.filter((t) => t.slug !== 'acme'));
    expect(without.gpu).toEqual(all.gpu.filter((g) => g.slug !== 'acme'));
  });

  it('turns busy GPU time into the tokens the capacity profile says it serves', () => {
    // Tokens of a telemetry customer over busy seconds ≈ its efficiency (the lognormal jitter averages out).
    const { gpu, tokens } = generateDemoUsage({ seed: 3, from: FROM, hours: 30 * 24, profile });
    const wonka = DEMO_CUSTOMERS.find((c) => c.slug === 'wonka')!;
    const busy = gpu.filter((g) => g.slug === 'wonka').reduce((s, g) => s + g.busy_gpu_seconds, 0);
    const served = tokens
      .filter((t) => t.slug === 'wonka')
      .reduce((s, t) => {
        const p = profile(t.model, 'H100');
        const uncached = t.input_tokens - t.cached_input_tokens - t.cache_write_input_tokens;
        return s + uncached / p.input_tokens_per_gpu_second + t.output_tokens / p.output_tokens_per_gpu_second;
      }, 0);
    expect(served / busy).toBeCloseTo(wonka.telemetry!.efficiency, 2);
  });

  it('works for a window of a single day', () => {
    const day = generateDemoUsage({ seed: 1, from: FROM, hours: 24, profile });
    expect(day.gpu.length).toBeGreaterThan(0);
    expect(new Set(day.tokens.map((t) => t.slug)).size).toBeGreaterThanOrEqual(11);
  });
});
