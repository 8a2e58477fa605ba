// The window a cost question is asked over: [from, to) in whole UTC hours, given as ISO dates or instants.
import { parseIsoTimestamp } from '../../domain/price-book.js';
import { HOUR_MS } from '../../domain/types.js';

/** Longest window the engine is asked about: three years of hours (a year of rollups is the design's horizon). */
export const MAX_WINDOW_DAYS = 1100;

export class WindowError extends Error {
  override name = 'WindowError';
}

/**
 * An ISO 8601 date (`2026-10-01`, midnight UTC) or instant with `Z` or an offset (`2026-10-01T06:00:00+02:00`)
 * on a whole UTC hour, as a Date. `what` names the value in the message.
 */
export function parseWindowBound(text: string, what: string): Date {
  const value = text.trim();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? parseIsoTimestamp(`${value}T00:00:00Z`) : parseIsoTimestamp(value);
  if (!date) {
    throw new WindowError(`${what} must be an ISO 8601 date or time with Z or an offset, e.g. 2026-10-01 or 2026-10-01T00:00:00Z (got "${text}")`);
  }
  if (date.getTime() % HOUR_MS !== 0) throw new WindowError(`${what} must be on a whole UTC hour (got "${text}")`);
  return date;
}

/** [from, to) from two bounds; from must be before to, and the window at most MAX_WINDOW_DAYS long. */
export function parseWindow(fromText: string, toText: string, names: [string, string] = ['--from', '--to']): { from: Date; to: Date } {
  const from = parseWindowBound(fromText, names[0]);
  const to = parseWindowBound(toText, names[1]);
  checkWindow(from, to, names);
  return { from, to };
}

export function checkWindow(from: Date, to: Date, names: [string, string] = ['from', 'to']): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new WindowError(`${names[0]} and ${names[1]} must be valid times`);
  if (from.getTime() % HOUR_MS !== 0 || to.getTime() % HOUR_MS !== 0) throw new WindowError(`${names[0]} and ${names[1]} must be on whole UTC hours`);
  if (from.getTime() >= to.getTime()) throw new WindowError(`${names[0]} must be before ${names[1]}`);
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 24 * HOUR_MS) throw new WindowError(`the window must be at most ${MAX_WINDOW_DAYS} days long`);
}
