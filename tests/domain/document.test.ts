import { describe, expect, it } from 'vitest';
import { buildRecommendDocument, formatInstant, parseHour, type RecommendDocumentInput } from '../../app/domain/document.js';
import { at, H } from './engine-helpers.js';

const from = '2026-10-01T00:00:00Z';
const input = (over: Partial<RecommendDocumentInput> = {}): RecommendDocumentInput => ({
  scope: { customer: 'acme', pool: null },
  gpu_type: 'H100',
  from,
  to: '2026-10-01T04:00:00.000Z',
  overflow: 'on_demand',
  series: { demand: [0, 1, 2, 4], api_usd: [0, 1, 2, 8], hours_without_data: 1 },
  on_demand_usd_per_gpu_hour: 3.5,
  offers: [
    { provider: 'x-cloud', term_days: 30, block_size: 1, usd_per_gpu_hour: 2.1 },
    { provider: 'y-cloud', term_days: 365, block_size: 2, usd_per_gpu_hour: 2.0 },
  ],
  // 1 GPU at $2.50 that started before the window and runs past it
  reservations: [{ gpus: 1, usd_per_gpu_hour: 2.5, starts_at: at(from) - 7 * 24 * H, ends_at: at(from) + 30 * 24 * H }],
  ...over,
});
// Rounds every number to 9 decimals so float noise does not hide the hand-computed values.
const tidy = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(9)) : v)));

describe('the recommend --json document', () => {
  it('has DESIGN.md’s fields, in its order', () => {
    const doc = buildRecommendDocument(input());
    expect(Object.keys(doc).slice(0, 16)).toEqual([
      'scope', 'gpu_type', 'from', 'to', 'hours', 'overflow', 'demand', 'all_api_usd', 'all_on_demand_usd',
      'current', 'best', 'savings_vs_api_usd', 'savings_vs_on_demand_usd', 'stability', 'curve', 'risk_levels',
    ]);
    expect(Object.keys(doc.demand)).toEqual(['mean_gpus', 'p50_gpus', 'p95_gpus', 'peak_gpus', 'hours_without_data']);
    expect(Object.keys(doc.best!).slice(0, 8)).toEqual([
      'provider', 'term_days', 'block_size', 'usd_per_gpu_hour', 'gpus', 'cost_usd', 'fill', 'idle_cost_usd',
    ]);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc); // plain JSON: no typed arrays, no Infinity
  });

  it('computes a small window by hand (on-demand overflow)', () => {
    expect(tidy(buildRecommendDocument(input()))).toEqual({
      scope: { customer: 'acme', pool: null },
      gpu_type: 'H100',
      from: '2026-10-01T00:00:00Z',
      to: '2026-10-01T04:00:00Z', // milliseconds dropped
      hours: 4,
      overflow: 'on_demand',
      // mean 7/4; nearest rank of [0,1,2,4]: p50 ⌈2⌉ → 1, p95 ⌈3.8⌉ → 4
      demand: { mean_gpus: 1.75, p50_gpus: 1, p95_gpus: 4, peak_gpus: 4, hours_without_data: 1 },
      all_api_usd: 11, // 0 + 1 + 2 + 8
      all_on_demand_usd: 24.5, // 7 GPU-h × $3.50
      // 1 GPU × $2.50 × 4 h = $10 + overflow (0+0+1+3) × $3.50 = $14 → $24; fill 3/4; idle 1 GPU-h × $2.50
      current: { gpus: 1, cost_usd: 24, reserved_usd: 10, overflow_usd: 14, gpu_hours: 4, fill: 0.75, idle_cost_usd: 2.5 },
      // x-cloud N=1: $8.40 + $14 = $22.40 beats y-cloud N=2: 2 × $2 × 4 = $16 + $7 = $23
      best: {
        provider: 'x-cloud', term_days: 30, block_size: 1, usd_per_gpu_hour: 2.1, gpus: 1, cost_usd: 22.4,
        fill: 0.75, idle_cost_usd: 2.1, break_even_fill: 0.6, // $2.10 / $3.50
        break_even_fill_vs_on_demand: 0.6, break_even_fill_vs_api: 1.336363636, // $2.10 / ($11 / 7)
      },
      savings_vs_api_usd: -11.4, // $11 − $22.40: the API is cheaper here, and the document says so
      savings_vs_on_demand_usd: 2.1, // $24.50 − $22.40
      stability: { min_gpus: 1, max_gpus: 1, weeks: [{ from: '2026-10-01T00:00:00Z', gpus: 1 }] }, // under a week
      curve: [
        { gpus: 0, cost_usd: 24.5 },
        { gpus: 1, cost_usd: 22.4 },
        { gpus: 2, cost_usd: 23.8 },
        { gpus: 3, cost_usd: 28.7 },
        { gpus: 4, cost_usd: 33.6 },
      ],
      // floor: min demand 0 → 0; balanced: first block saves $2.10, the next −$1.40 < 40 % → N=1
      risk_levels: {
        floor: { gpus: 0, cost_usd: 24.5 },
        balanced: { gpus: 1, cost_usd: 22.4 },
        optimal: { gpus: 1, cost_usd: 22.4 },
      },
      recent: { hours: 4, gpus: 1, flagged: false },
      change: { delta_gpus: 0, label: 'no change' },
      offers: [
        { provider: 'x-cloud', term_days: 30, block_size: 1, usd_per_gpu_hour: 2.1, gpus: 1, cost_usd: 22.4, fill: 0.75, idle_cost_usd: 2.1, break_even_fill: 0.6 },
        // N=2: fill (0+1+2+2)/8 = 0.625; idle 3 GPU-h × $2 = $6; break-even $2/$3.50
        { provider: 'y-cloud', term_days: 365, block_size: 2, usd_per_gpu_hour: 2, gpus: 2, cost_usd: 23, fill: 0.625, idle_cost_usd: 6, break_even_fill: 0.571428571 },
      ],
      aggregation: null,
    });
  });

  it('computes a small window by hand (API overflow)', () => {
    const doc = buildRecommendDocument(input({ overflow: 'api' }));
    // Both offers' optimum is N=0 at the all-API $11: a tie, won by the shorter term
    expect(doc.best).toMatchObject({ provider: 'x-cloud', gpus: 0, cost_usd: 11, fill: null, idle_cost_usd: 0 });
    expect(doc.best!.break_even_fill).toBeCloseTo(14.7 / 11, 12);
    expect(doc.savings_vs_api_usd).toBe(0);
    expect(doc.savings_vs_on_demand_usd).toBe(13.5); // $24.50 − $11
    // current: $10 + API overflow h2 (2−1)/2 × $2 = $1 + h3 (4−1)/4 × $8 = $6 → $17
    expect(doc.current).toMatchObject({ gpus: 1, cost_usd: 17, overflow_usd: 7 });
    expect(doc.change).toEqual({ delta_gpus: -1, label: '\u22121 H100' });
  });

  it('handles no reservation, no offers and no on-demand price', () => {
    const doc = buildRecommendDocument(input({ reservations: [], offers: [], overflow: 'api', on_demand_usd_per_gpu_hour: null }));
    expect(doc.current).toBeNull();
    expect(doc.best).toBeNull();
    expect(doc.all_on_demand_usd).toBeNull();
    expect(doc.savings_vs_api_usd).toBeNull();
    expect(doc.stability).toBeNull();
    expect(doc.curve).toEqual([]);
    // A reservation that ended before the window is not current
    const ended = buildRecommendDocument(input({ reservations: [{ gpus: 8, usd_per_gpu_hour: 2, starts_at: 0, ends_at: at(from) }] }));
    expect(ended.current).toBeNull();
    expect(ended.change).toEqual({ delta_gpus: 1, label: '+1 H100' });
  });

  it('adds the aggregation saving for a pool', () => {
    const doc = buildRecommendDocument(
      input({
        scope: { customer: null, pool: 'shared' },
        series: { demand: [4, 4, 4, 4], api_usd: [0, 0, 0, 0], hours_without_data: 0 },
        offers: [{ provider: 'p', term_days: 30, block_size: 1, usd_per_gpu_hour: 2 }],
        on_demand_usd_per_gpu_hour: 3,
        reservations: [],
        members: [
          { customer: 'a', demand: [4, 0, 4, 0], api_usd: [0, 0, 0, 0] },
          { customer: 'b', demand: [0, 4, 0, 4], api_usd: [0, 0, 0, 0] },
        ],
      }),
    );
    // Apart: 8 GPU-h × $3 = $24 each; pooled: 4 GPUs × $2 × 4 h = $32; saving $16
    expect(doc.aggregation).toMatchObject({ members_optimum_usd: 48, pooled_optimum_usd: 32, saving_usd: 16 });
  });

  it('refuses a bad window', () => {
    expect(() => buildRecommendDocument(input({ from: '2026-10-01T00:30:00Z' }))).toThrow(/whole UTC hour/);
    expect(() => buildRecommendDocument(input({ from: 'yesterday' }))).toThrow(/ISO/);
    expect(() => buildRecommendDocument(input({ to: from }))).toThrow(/empty/);
    expect(() => buildRecommendDocument(input({ to: '2026-10-01T05:00:00Z' }))).toThrow(/4 hours, the window has 5/);
    expect(() => buildRecommendDocument(input({ on_demand_usd_per_gpu_hour: null }))).toThrow(/on-demand rate/);
    expect(parseHour('2026-10-01T02:00:00+02:00')).toBe(at('2026-10-01T00:00:00Z'));
    expect(formatInstant(at('2026-10-01T00:00:00Z'))).toBe('2026-10-01T00:00:00Z');
  });
});
