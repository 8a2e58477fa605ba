// Timestamps as users bring them: ISO 8601 with an offset or Z, Unix epoch seconds, or nvidia-smi's local
// `2026/01/03 15:37:00.527` in a named zone. Strict: a time that is not one of these is refused, never guessed.
import { TZDate } from '@date-fns/tz';

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
const UNIX = /^(\d{1,11})(?:\.(\d{1,9}))?$/;
const SMI = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** Earliest time accepted: earlier is almost always a unit mistake (milliseconds read as seconds, a zero). */
export const EARLIEST_MS = Date.UTC(2000, 0, 1);
/** How far past "now" a time may be: a clock a little ahead, not a wrong zone or a unit mistake. */
export const FUTURE_SLACK_MS = 86_400_000;

const millis = (fraction: string | undefined) => (fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0);

/** Epoch ms of UTC wall-clock fields, or NaN when a field is out of range (2026-02-30, 24:00). */
export function utcFields(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  return new Date(t).getUTCDate() === d ? t : Number.NaN;
}

export type TimeResult = { ok: true; ms: number } | { ok: false; reason: string };

function inRange(ms: number, text: string, nowMs: number): TimeResult {
  if (ms < EARLIEST_MS) return { ok: false, reason: `"${text}" is before 2000-01-01` };
  if (ms > nowMs + FUTURE_SLACK_MS) return { ok: false, reason: `"${text}" is more than a day in the future` };
  return { ok: true, ms };
}

const shown = (text: string) => (text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** ISO 8601 with an offset or Z, or Unix epoch seconds (fractions allowed; kept to the millisecond). */
export function parseTimestamp(text: string, nowMs: number): TimeResult {
  const iso = ISO.exec(text);
  if (iso) {
    const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = iso;
    let ms = utcFields(+y, +mo, +d, +h, +mi, s ? +s : 0, millis(frac));
    if (!z) {
      const offset = (+oh * 60 + (om ? +om : 0)) * 60_000;
      if (+oh > 18 || (om !== undefined && +om > 59)) ms = Number.NaN;
      ms += sign === '+' ? -offset : offset;
    }
    if (Number.isNaN(ms)) return { ok: false, reason: `"${shown(text)}" is not a valid date and time` };
    return inRange(ms, text, nowMs);
  }
  const unix = UNIX.exec(text);
  if (unix) return inRange(Number(unix[1]) * 1000 + millis(unix[2]), text, nowMs);
  return { ok: false, reason: `"${shown(text)}" is not ISO 8601 with an offset, or Unix seconds` };
}

/** True when `zone` is an IANA time zone name this runtime knows (or UTC). */
export function isTimeZone(zone: string): boolean {
  if (zone === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * nvidia-smi's `YYYY/MM/DD HH:MM:SS.mmm`, wall-clock time in `zone` (IANA; it carries no offset of its own).
 * A local time skipped by a daylight-saving change moves forward with the clock. ISO with an offset is also accepted.
 */
export function parseSmiTimestamp(text: string, zone: string, nowMs: number): TimeResult {
  const m = SMI.exec(text);
  if (!m) {
    const iso = ISO.test(text) ? parseTimestamp(text, nowMs) : null;
    return iso ?? { ok: false, reason: `"${shown(text)}" is not an nvidia-smi timestamp (YYYY/MM/DD HH:MM:SS.mmm)` };
  }
  const [, y, mo, d, h, mi, s, frac] = m;
  const utc = utcFields(+y, +mo, +d, +h, +mi, +s, millis(frac));
  if (Number.isNaN(utc)) return { ok: false, reason: `"${shown(text)}" is not a valid date and time` };
  if (zone === 'UTC') return inRange(utc, text, nowMs);
  const ms = new TZDate(+y, +mo - 1, +d, +h, +mi, +s, millis(frac), zone).getTime();
  return inRange(ms, text, nowMs);
}
