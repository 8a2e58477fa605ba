// Rounding for exports: rows rounded to cents add up to the rounded total, each within a cent of its value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateUnits, formatDecimal, formatUnits, roundUnits } from '../../app/domain/rounding.js';
import { neutralise } from '../../app/services/exports/csv.server.js';

describe('allocateUnits', () => {
  it('gives the cent left over to the largest remainder', () => {
    // 0.333 + 0.333 + 0.334 = 1.000 → 100 cents; floors 33 + 33 + 33 = 99; remainders .3, .3, .4 → the third gets it.
    expect(allocateUnits([0.333, 0.333, 0.334])).toEqual([33, 33, 34]);
  });

  it('breaks a tie in favour of the earlier row, and is not fooled by 1.005 × 100 = 100.49999…', () => {
    // 1.005 + 1.005 = 2.01 → 201 cents; floors 100 + 100; one cent left, equal remainders → the first row.
    expect(allocateUnits([1.005, 1.005])).toEqual([101, 100]);
    // Rounded one by one, each would be 1.00 or 1.01 and the pair 2.00 or 2.02: neither is the total.
  });

  it('handles negative amounts (savings)', () => {
    // −0.004 + 0.006 = 0.002 → 0 cents; floors −1 and 0 (−1 in all), remainders .6 and .6 → +1 to the first: [0, 0].
    expect(allocateUnits([-0.004, 0.006])).toEqual([0, 0]);
    // −0.375 − 0.625 = −1.00 → −100 cents; floors −38 and −63 = −101; remainders .5 and .5 → one cent back to the first.
    expect(allocateUnits([-0.375, -0.625])).toEqual([-37, -63]);
  });

  it('meets a given total (a customer’s share of the file’s total) even a cent away from its own sum', () => {
    // 0.50 + 0.50 = 1.00 but the customer was given 101 cents: the extra cent goes to the first row.
    expect(allocateUnits([0.5, 0.5], 100, 101)).toEqual([51, 50]);
    expect(allocateUnits([0.5, 0.5], 100, 99)).toEqual([49, 50]);
  });

  it('always sums to round(Σ) and keeps every row within one cent of its value (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 }), (values) => {
        const cents = allocateUnits(values);
        const sum = values.reduce((a, b) => a + b, 0);
        expect(cents.reduce((a, b) => a + b, 0)).toBe(roundUnits(sum));
        cents.forEach((c, i) => expect(Math.abs(c - values[i] * 100)).toBeLessThan(1 + 1e-6));
      }),
      { seed: 1, numRuns: 100 },
    );
  });
});

describe('formatting', () => {
  it('writes plain decimals with fixed places', () => {
    expect(formatUnits(12345)).toBe('123.45');
    expect(formatUnits(-5)).toBe('-0.05');
    expect(formatUnits(0)).toBe('0.00');
    expect(formatDecimal(2.69, 6)).toBe('2.690000');
    expect(formatDecimal(-0.0000001, 6)).toBe('0.000000');
    expect(formatDecimal(1234567.5, 2)).toBe('1234567.50');
    expect(roundUnits(-2.345)).toBe(-235);
  });

  it('neutralises every formula prefix and nothing else', () => {
    for (const prefix of ['=', '+', '-', '@', '\t', '\r']) expect(neutralise(`${prefix}1+1`)).toBe(`'${prefix}1+1`);
    expect(neutralise('acme')).toBe('acme');
    expect(neutralise('a=b')).toBe('a=b');
  });
});
