import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiPriceLookup, effectiveLookup, hourlyRate } from '../../app/domain/effective.js';
import { at, FC, H } from './engine-helpers.js';

const jan1 = at('2026-01-01T00:00:00Z');
const jan15 = at('2026-01-15T00:00:00Z');
const feb1 = at('2026-02-01T00:00:00Z');

describe('effective-dated prices', () => {
  const lookup = effectiveLookup([
    { effective_from: jan1, effective_to: feb1, value: 1 },
    { effective_from: new Date(feb1), effective_to: null, value: 2 },
    { effective_from: jan15, effective_to: null, value: 3 }, // a newer book overlapping both
  ]);

  it('takes the entry in force, the latest effective_from where they overlap', () => {
    expect(lookup(jan1 - 1)).toBeUndefined(); // before any book
    expect(lookup(jan1)).toBe(1); // effective_from is inclusive
    expect(lookup(at('2026-01-10T00:00:00Z'))).toBe(1);
    expect(lookup(jan15)).toBe(3); // Jan 15 > Jan 1
    expect(lookup(feb1)).toBe(2); // Feb 1 > Jan 15: effective_to of the first is exclusive
    expect(lookup(at('2030-01-01T00:00:00Z'))).toBe(2);
    expect(lookup(jan1)).toBe(1); // going back in time still works
  });

  it('prices API models by model and hour', () => {
    const prices = apiPriceLookup([
      { model: 'm', effective_from: jan1, effective_to: feb1, usd_per_mtok_input: 1, usd_per_mtok_output: 2 },
      { model: 'm', effective_from: feb1, effective_to: null, usd_per_mtok_input: 0.5, usd_per_mtok_output: 1 },
      { model: 'n', effective_from: jan1, effective_to: null, usd_per_mtok_input: 9, usd_per_mtok_output: 9 },
    ]);
    expect(prices('m', jan15)?.usd_per_mtok_input).toBe(1);
    expect(prices('m', feb1)?.usd_per_mtok_input).toBe(0.5);
    expect(prices('n', feb1)?.usd_per_mtok_input).toBe(9);
    expect(prices('other', feb1)).toBeUndefined();
  });

  it('gives a number for a constant rate, an array for a changing one, null for a hole', () => {
    const change = feb1 - 2 * H;
    const entries = [
      { effective_from: jan1, effective_to: change, value: 3.5 },
      { effective_from: change, effective_to: null, value: 3.0 },
    ];
    expect(hourlyRate(entries, jan15, 24)).toBe(3.5);
    // the window's last 2 of 4 hours are at the new rate
    expect(Array.from(hourlyRate(entries, feb1 - 4 * H, 4) as Float64Array)).toEqual([3.5, 3.5, 3.0, 3.0]);
    expect(hourlyRate(entries, jan1 - H, 4)).toBeNull();
  });

  it('agrees with a scan of every entry (property)', () => {
    const entry = fc
      .tuple(fc.integer({ min: 0, max: 40 }), fc.option(fc.integer({ min: 1, max: 40 }), { nil: null }), fc.integer({ min: 0, max: 99 }))
      .map(([from, len, value]) => ({ effective_from: from * H, effective_to: len === null ? null : (from + len) * H, value }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.array(fc.integer({ min: -2, max: 90 }), { maxLength: 30 }), (entries, hours) => {
        const fast = effectiveLookup(entries);
        for (const hour of hours) {
          const t = hour * H;
          let expected: number | undefined;
          let best = -Infinity;
          entries.forEach((e) => {
            const inForce = e.effective_from <= t && (e.effective_to === null || t < e.effective_to);
            if (inForce && e.effective_from >= best) {
              best = e.effective_from;
              expected = e.value;
            }
          });
          expect(fast(t)).toBe(expected);
        }
      }),
      FC,
    );
  });
});
