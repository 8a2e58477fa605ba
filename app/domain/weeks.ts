// ISO weeks in a time zone: the weekly emails report on "last week" as the recipient lives it, Monday 00:00 to
// the next Monday 00:00 local time, whatever daylight saving does in between (a week is 167, 168 or 169 hours
// long). Pure: instants come in, instants go out; no clock.
import { TZDate, tz } from '@date-fns/tz';
// Per function, not the package's index: loading all of date-fns cost every command ~0.15 s at start.
import { getISOWeek } from 'date-fns/getISOWeek';
import { getISOWeekYear } from 'date-fns/getISOWeekYear';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface IsoWeek {
  /** The ISO week-numbering year (the year of the week's Thursday). */
  year: number;
  /** 1–52 or 53. */
  week: number;
}

/** Local time the weekly email is due, on the Monday after the week. */
export const DUE_HOUR = 8;

const WEEK_PATTERN = /^(\d{4})-W(\d{2})$/;
const ZONE_PATTERN = /^(UTC|[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)+)$/;

/** The Monday (UTC calendar arithmetic) that starts ISO week 1 of a year: the Monday on or before 4 January. */
function week1Monday(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  const isoDay = (new Date(jan4).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return jan4 - isoDay * DAY_MS;
}

/** 52 or 53: a year has 53 ISO weeks when it starts on a Thursday, or is a leap year starting on a Wednesday. */
export function weeksInYear(year: number): number {
  return Math.round((week1Monday(year + 1) - week1Monday(year)) / (7 * DAY_MS));
}

/** "2026-W47" → {year: 2026, week: 47}; undefined for anything else, including a week 53 the year lacks. */
export function parseIsoWeek(text: string): IsoWeek | undefined {
  const match = WEEK_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const year = Number(match[1]);
  const week = Number(match[2]);
  if (year < 1970 || week < 1 || week > weeksInYear(year)) return undefined;
  return { year, week };
}

/** {2026, 47} → "2026-W47". */
export function formatIsoWeek(w: IsoWeek): string {
  return `${String(w.year).padStart(4, '0')}-W${String(w.week).padStart(2, '0')}`;
}

/** The week `n` weeks after (negative: before) this one. */
export function addIsoWeeks(w: IsoWeek, n: number): IsoWeek {
  const monday = week1Monday(w.year) + (w.week - 1 + n) * 7 * DAY_MS;
  // The Thursday of that week decides its year.
  const thursday = new Date(monday + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  return { year, week: Math.round((monday - week1Monday(year)) / (7 * DAY_MS)) + 1 };
}

/** The calendar dates (YYYY-MM-DD, local to any zone) of the week's Monday and of the Monday after it. */
export function weekDates(w: IsoWeek): { monday: string; nextMonday: string; sunday: string } {
  const monday = week1Monday(w.year) + (w.week - 1) * 7 * DAY_MS;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { monday: iso(monday), sunday: iso(monday + 6 * DAY_MS), nextMonday: iso(monday + 7 * DAY_MS) };
}

/**
 * An IANA time zone name as the runtime's tz database spells it ("europe/berlin" → "Europe/Berlin"), or
 * undefined when it is not one. Offsets ("+02:00") and abbreviations ("CET") are refused: only a named zone
 * follows daylight-saving changes.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  const value = zone.trim();
  if (!ZONE_PATTERN.test(value)) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    return undefined;
  }
  if (value.toUpperCase() === 'UTC') return 'UTC';
  // The spelling of the tz database (names are case-insensitive); a valid alias it does not list stays as given.
  return knownZones().get(value.toLowerCase()) ?? value;
}

let zones: Map<string, string> | undefined;
function knownZones(): Map<string, string> {
  zones ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  return zones;
}

/** Local midnight of a calendar date (YYYY-MM-DD) in a zone, as an instant; a missing midnight moves forward. */
function localTime(date: string, hour: number, zone: string): Date {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(new TZDate(y, m - 1, d, hour, 0, 0, zone).getTime());
}

/** [start, end): Monday 00:00 local time to the next Monday 00:00 local time, as instants. */
export function weekWindow(w: IsoWeek, zone: string): { start: Date; end: Date } {
  const { monday, nextMonday } = weekDates(w);
  return { start: localTime(monday, 0, zone), end: localTime(nextMonday, 0, zone) };
}

/** The ISO week an instant falls in, on the calendar of a zone. */
export function weekOf(instant: Date, zone: string): IsoWeek {
  const options = { in: tz(zone) };
  return { year: getISOWeekYear(instant, options), week: getISOWeek(instant, options) };
}

/** The last ISO week that has ended, in a zone, at an instant. */
export function lastCompleteWeek(now: Date, zone: string): IsoWeek {
  return addIsoWeeks(weekOf(now, zone), -1);
}

/** When a week's email is due: the Monday after it, at 08:00 local time. */
export function dueAt(w: IsoWeek, zone: string): Date {
  return localTime(weekDates(w).nextMonday, DUE_HOUR, zone);
}

/** Has the week ended in this zone at this instant? */
export function weekHasEnded(w: IsoWeek, zone: string, now: Date): boolean {
  return weekWindow(w, zone).end.getTime() <= now.getTime();
}

/**
 * The cost engine works in whole UTC hours; a zone whose offset is not whole hours (Asia/Kolkata, +05:30)
 * starts its week mid-hour. The window priced is the week's bounds each moved back to the start of their
 * UTC hour, so consecutive weeks still tile time without overlap or gap.
 */
export function costWindow(window: { start: Date; end: Date }): { from: Date; to: Date } {
  const floor = (d: Date) => new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
  return { from: floor(window.start), to: floor(window.end) };
}
