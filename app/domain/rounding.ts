// Rounding amounts for exports so that rounded rows add up to the rounded total: a total is rounded once, and
// its whole units (cents) are shared out to the rows by largest remainder, each row getting the floor of its
// own value or one unit more. A row therefore differs from its unrounded value by less than one unit.

/**
 * Whole units (e.g. cents, scale 100) for each value, summing exactly to `total` (default round(Σ values·scale)):
 * ⌊v_i·scale⌋ each, then ±1 to the largest (or, when the total asks for less, the smallest) remainders, ties to
 * the earlier row. Values may be negative. Float noise of v·scale (0.285·100 = 28.499…) is absorbed by a 1e-9 nudge.
 */
export function allocateUnits(values: ArrayLike<number>, scale = 100, total?: number): number[] {
  const n = values.length;
  const scaled = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new RangeError(`cannot round ${v}`);
    scaled[i] = v * scale;
    sum += v;
  }
  const target = total ?? roundUnits(sum, scale);
  if (!Number.isInteger(target)) throw new RangeError(`the total must be a whole number of units, got ${target}`);
  const parts: number[] = new Array(n);
  let given = 0;
  for (let i = 0; i < n; i++) {
    parts[i] = Math.floor(scaled[i] + 1e-9);
    given += parts[i];
  }
  let left = target - given;
  if (n === 0 || left === 0) return parts;
  const rest = (i: number) => scaled[i] - parts[i];
  const order = Array.from({ length: n }, (_, i) => i);
  if (left > 0) {
    order.sort((a, b) => rest(b) - rest(a) || a - b);
    for (let j = 0; left > 0; j = (j + 1) % n, left--) parts[order[j]] += 1;
  } else {
    order.sort((a, b) => rest(a) - rest(b) || a - b);
    for (let j = 0; left < 0; j = (j + 1) % n, left++) parts[order[j]] -= 1;
  }
  return parts;
}

/** round(x·scale), half away from zero, with the same float nudge as allocateUnits. */
export function roundUnits(x: number, scale = 100): number {
  const s = x * scale;
  // `+ 0` turns −0 (a tiny negative rounded away) into 0.
  return (s < 0 ? -Math.floor(-s + 0.5 + 1e-9) : Math.floor(s + 0.5 + 1e-9)) + 0;
}

/** Whole units as a plain decimal with `places` digits: 12345 cents → "123.45", −5 → "-0.05". */
export function formatUnits(units: number, places = 2): string {
  const negative = units < 0;
  const digits = String(Math.abs(units)).padStart(places + 1, '0');
  const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return negative ? `-${text}` : text;
}

/** A number as a plain decimal with a fixed number of places, no exponent, no thousands separator ("-0" is "0"). */
export function formatDecimal(x: number, places: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot format ${x}`);
  // toFixed switches to exponent notation from 1e21 on; amounts never get there, but a file must not lie.
  if (Math.abs(x) >= 1e21) throw new RangeError(`${x} is too large for a plain decimal`);
  const text = x.toFixed(places);
  // A negative that rounds to zero ("-0.00") is written as zero. (Read per row of the exports: no regex.)
  return x < 0 && Number(text) === 0 ? text.slice(1) : text;
}
