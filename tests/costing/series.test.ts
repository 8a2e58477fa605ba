// The columnar fast path computes exactly what the pure engine's hourlySeries computes (run per price-book
// segment on row objects): same demand, API cost, sources, gaps and calibration, to the last bit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TelemetryColumns, TokenColumns } from '../../app/services/costing/columns.js';
import { buildPriceContext, type PriceRows } from '../../app/services/costing/prices.js';
import { customerSeries, customerSeriesReference, SeriesArrays, type ScopeSeries } from '../../app/services/costing/series.js';

const H = 3_600_000;
const FROM = Date.parse('2026-03-01T00:00:00Z');
const HOURS = 48;
const CHANGE = new Date(FROM + 20 * H); // book B takes effect at hour 20

const api = (provider: string, model: string, pIn: number, pOut: number, cached: number | null = null, write: number | null = null) => ({
  price_book_id: 0, kind: 'api' as const, provider, gpu_type: null, model, term_days: null, block_size: null, usd_per_gpu_hour: null,
  usd_per_mtok_input: pIn, usd_per_mtok_cached_input: cached, usd_per_mtok_cache_write: write, usd_per_mtok_output: pOut,
});
const profile = (book: number, model: string, pIn: number, pOut: number, u: number, gpuType = 'H100') => ({
  price_book_id: book, model, gpu_type: gpuType, input_tokens_per_gpu_second: pIn, output_tokens_per_gpu_second: pOut, target_utilization: u,
});

const rows: PriceRows = {
  books: [
    { id: 1, name: 'a', effective_from: new Date('2026-01-01T00:00:00Z'), effective_to: CHANGE },
    { id: 2, name: 'b', effective_from: CHANGE, effective_to: null },
  ],
  offers: [
    // m1: two providers in A (which is cheaper depends on the mix), one in B; m2: API only in B; m3: one provider in both
    { ...api('x', 'm1', 1.0, 2.0, 0.5, 1.25), price_book_id: 1 },
    { ...api('y', 'm1', 2.0, 1.0), price_book_id: 1 },
    { ...api('x', 'm1', 0.5, 1.0, 0.25, 0.75), price_book_id: 2 },
    { ...api('x', 'm2', 0.3, 0.6), price_book_id: 2 },
    { ...api('z', 'm3', 0.1, 0.2), price_book_id: 1 },
    { ...api('z', 'm3', 0.1, 0.2), price_book_id: 2 },
  ],
  // m1 profiled in both books (faster in B), m2 only in A, m3 never
  // L4: m1 only, slower.
  capacity_profiles: [
    profile(1, 'm1', 1000, 100, 0.5), profile(2, 'm1', 1000, 200, 0.6), profile(1, 'm2', 3000, 300, 0.8),
    profile(1, 'm1', 300, 30, 0.7, 'L4'), profile(2, 'm1', 400, 40, 0.7, 'L4'),
  ],
  gpu_types: [{ id: 7, name: 'H100', target_utilization: 0.75 }, { id: 8, name: 'L4', target_utilization: 0.9 }],
};
const ctx = buildPriceContext({ from_ms: FROM, hours: HOURS }, rows);
const type = ctx.gpu_types.get('H100')!;
const MODELS = ['m1', 'm2', 'm3'];

const telemetryArb = fc.uniqueArray(
  fc.record({ h: fc.integer({ min: 0, max: HOURS - 1 }), allocated: fc.oneof(fc.constant(0), fc.double({ min: 1, max: 30_000, noNaN: true })), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
  { selector: (r) => r.h, maxLength: HOURS },
);
const tokenArb = fc.uniqueArray(
  fc.record({
    h: fc.integer({ min: 0, max: HOURS - 1 }),
    m: fc.integer({ min: 0, max: 2 }),
    input: fc.integer({ min: 0, max: 5_000_000 }),
    cachedShare: fc.double({ min: 0, max: 0.6, noNaN: true }),
    writeShare: fc.double({ min: 0, max: 0.3, noNaN: true }),
    output: fc.integer({ min: 0, max: 2_000_000 }),
  }),
  { selector: (r) => `${r.h}|${r.m}`, maxLength: 120 },
);

function columns(
  telemetry: { h: number; allocated: number; share: number }[],
  tokens: { h: number; m: number; input: number; cachedShare: number; writeShare: number; output: number }[],
): { t: TelemetryColumns; k: TokenColumns } {
  const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const epoch = (h: number) => FROM / H + h;
  const t: TelemetryColumns = {
    length: telemetry.length,
    rows: identity(telemetry.length),
    epoch_hour: Uint32Array.from(telemetry.map((r) => epoch(r.h))),
    allocated_gpu_seconds: Float64Array.from(telemetry.map((r) => r.allocated)),
    busy_gpu_seconds: Float64Array.from(telemetry.map((r) => r.allocated * r.share)),
  };
  const cached = tokens.map((r) => Math.floor(r.input * r.cachedShare));
  const write = tokens.map((r, i) => Math.min(r.input - cached[i], Math.floor(r.input * r.writeShare)));
  const k: TokenColumns = {
    length: tokens.length,
    rows: identity(tokens.length),
    models: MODELS,
    epoch_hour: Uint32Array.from(tokens.map((r) => epoch(r.h))),
    model: Uint16Array.from(tokens.map((r) => r.m)),
    input_tokens: Uint32Array.from(tokens.map((r) => r.input)),
    cached_input_tokens: Uint32Array.from(cached),
    cache_write_input_tokens: Float64Array.from(write), // either count width is read the same
    output_tokens: Uint32Array.from(tokens.map((r) => r.output)),
    requests: tokens.length,
  };
  return { t, k };
}

const plain = (s: ScopeSeries) => ({ ...s, demand: Array.from(s.demand), api_usd: Array.from(s.api_usd), source: Array.from(s.source) });

describe('customerSeries (columns) equals hourlySeries per segment (rows)', () => {
  it('on random telemetry and token mixes across a price change', () => {
    fc.assert(
      fc.property(telemetryArb, tokenArb, (telemetry, tokens) => {
        const { t, k } = columns(telemetry, tokens);
        expect(plain(customerSeries(ctx, type, t, k))).toEqual(plain(customerSeriesReference(ctx, type, t, k)));
      }),
      { seed: 20261128, numRuns: 200 },
    );
  });

  it('on another GPU type with the API costs of the first lent to it, as computed alone', () => {
    fc.assert(
      fc.property(telemetryArb, tokenArb, (telemetry, tokens) => {
        const { t, k } = columns(telemetry, tokens);
        const none = columns([], []).t;
        const lent = customerSeries(ctx, ctx.gpu_types.get('L4')!, none, k, { api: customerSeries(ctx, type, t, k) });
        expect(plain(lent)).toEqual(plain(customerSeriesReference(ctx, ctx.gpu_types.get('L4')!, none, k)));
      }),
      { seed: 20261129, numRuns: 100 },
    );
  });

  it('from reused arrays, the same series as from new ones, each array handed out once until reset', () => {
    const arrays = new SeriesArrays();
    const { t, k } = columns(
      [{ h: 3, allocated: 7200, share: 0.5 }],
      [{ h: 5, m: 0, input: 4_000_000, cachedShare: 0.25, writeShare: 0, output: 300_000 }, { h: 30, m: 2, input: 1000, cachedShare: 0, writeShare: 0, output: 10 }],
    );
    const first = customerSeries(ctx, type, t, k, { arrays });
    const second = customerSeries(ctx, type, t, k, { arrays });
    expect(new Set([first.demand, first.api_usd, second.demand, second.api_usd]).size).toBe(4);
    expect(plain(second)).toEqual(plain(customerSeries(ctx, type, t, k)));
    arrays.reset();
    // After reset the first arrays serve again, zeroed: a customer with other data gets its own figures only.
    const other = columns([], [{ h: 10, m: 0, input: 1_000_000, cachedShare: 0, writeShare: 0, output: 1000 }]);
    const again = customerSeries(ctx, type, other.t, other.k, { arrays });
    expect(again.demand).toBe(first.demand);
    expect(plain(again)).toEqual(plain(customerSeries(ctx, type, other.t, other.k)));
  });

  it('reports what it could not price or convert', () => {
    const { t, k } = columns([], [
      { h: 0, m: 1, input: 1000, cachedShare: 0, writeShare: 0, output: 10 }, // m2 in book A: profiled, no API price
      { h: 30, m: 1, input: 1000, cachedShare: 0, writeShare: 0, output: 10 }, // m2 in book B: priced, no profile
      { h: 30, m: 2, input: 1000, cachedShare: 0, writeShare: 0, output: 10 }, // m3: never profiled
    ]);
    const s = customerSeries(ctx, type, t, k);
    expect(s.unprofiled_models).toEqual(['m2', 'm3']);
    expect(s.unpriced_models).toEqual(['m2']);
    expect(s.hours_without_data).toBe(HOURS - 1); // only hour 0 has demand (m2 through book A's profile)
    expect(plain(s)).toEqual(plain(customerSeriesReference(ctx, type, t, k)));
  });

  it('refuses a row outside the window, as hourlySeries does', () => {
    const { t, k } = columns([{ h: 0, allocated: 10, share: 0.5 }], []);
    t.epoch_hour[0] = FROM / H + HOURS;
    expect(() => customerSeries(ctx, type, t, k)).toThrow(/not an hour of the window/);
  });

  it('refuses cached tokens beyond the input, as hourlySeries does', () => {
    const { t, k } = columns([], [{ h: 0, m: 0, input: 10, cachedShare: 0, writeShare: 0, output: 1 }]);
    (k.cached_input_tokens as Uint32Array)[0] = 11;
    expect(() => customerSeries(ctx, type, t, k)).toThrow(/exceed input tokens/);
  });
});
