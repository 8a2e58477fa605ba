// Shared by the domain tests: fixed fast-check settings (deterministic runs) and float comparisons.
import fc from 'fast-check';

/** Every property runs from the same seed, so a failure reproduces and CI never flakes. */
export const FC: fc.Parameters<unknown> = { seed: 20261128, numRuns: 100 };

/** |a − b| ≤ 1e-9 · max(1, |a|, |b|): equal up to summation-order noise. */
export function close(a: number, b: number, relative = 1e-9): boolean {
  return Math.abs(a - b) <= relative * Math.max(1, Math.abs(a), Math.abs(b));
}

export const H = 3_600_000;
export const at = (iso: string): number => Date.parse(iso);

/** Demand in eighths of a GPU: dyadic, so every sum and product below is exact in float64. */
export const dyadicDemand = (maxHours = 120) =>
  fc.array(fc.integer({ min: 0, max: 320 }).map((i) => i / 8), { minLength: 1, maxLength: maxHours });

/** Arbitrary non-negative demand, with many exact zeros (gaps). */
export const anyDemand = (maxHours = 120) =>
  fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 60, noNaN: true, noDefaultInfinity: true })), {
    minLength: 1,
    maxLength: maxHours,
  });
