// ISO weeks in the recipient's time zone, against instants computed by hand from the tz rules:
// US DST 2026 starts Sun 8 Mar 02:00 EST and ends Sun 1 Nov 02:00 EDT; the EU's starts Sun 29 Mar 01:00 UTC and
// ends Sun 25 Oct 01:00 UTC; New Zealand's ends Sun 5 Apr 03:00 NZDT and starts Sun 27 Sep 02:00 NZST.
// 1 January 2026 is a Thursday, so ISO week 1 of 2026 starts Monday 29 December 2025 and 2026 has 53 weeks.
import { describe, expect, it } from 'vitest';
import {
  addIsoWeeks,
  canonicalTimeZone,
  costWindow,
  dueAt,
  formatIsoWeek,
  lastCompleteWeek,
  parseIsoWeek,
  weekDates,
  weekHasEnded,
  weekOf,
  weeksInYear,
  weekWindow,
} from '../../app/domain/weeks.js';

const HOUR = 3_600_000;
const w = (text: string) => parseIsoWeek(text)!;
const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const span = (x: { start: Date; end: Date }) => [iso(x.start), iso(x.end), (x.end.getTime() - x.start.getTime()) / HOUR];

describe('ISO week labels', () => {
  it('parse and format', () => {
    expect(parseIsoWeek('2026-W47')).toEqual({ year: 2026, week: 47 });
    expect(formatIsoWeek({ year: 2026, week: 5 })).toBe('2026-W05');
    for (const bad of ['2026-W00', '2026-47', '2026-W5', '2027-W53', 'W47', '2026-W47x', '']) expect(parseIsoWeek(bad), bad).toBeUndefined();
  });

  it('know which years have 53 weeks', () => {
    expect(weeksInYear(2026)).toBe(53);
    expect(weeksInYear(2025)).toBe(52);
    expect(weeksInYear(2027)).toBe(52);
    expect(weeksInYear(2020)).toBe(53); // a leap year starting on a Wednesday
    expect(parseIsoWeek('2026-W53')).toEqual({ year: 2026, week: 53 });
  });

  it('step across year ends', () => {
    expect(formatIsoWeek(addIsoWeeks(w('2026-W53'), 1))).toBe('2027-W01');
    expect(formatIsoWeek(addIsoWeeks(w('2027-W01'), -1))).toBe('2026-W53');
    expect(formatIsoWeek(addIsoWeeks(w('2026-W01'), -1))).toBe('2025-W52');
    expect(formatIsoWeek(addIsoWeeks(w('2026-W47'), -4))).toBe('2026-W43');
  });

  it('have calendar dates', () => {
    expect(weekDates(w('2026-W01'))).toEqual({ monday: '2025-12-29', sunday: '2026-01-04', nextMonday: '2026-01-05' });
    expect(weekDates(w('2026-W47'))).toEqual({ monday: '2026-11-16', sunday: '2026-11-22', nextMonday: '2026-11-23' });
    expect(weekDates(w('2026-W53'))).toEqual({ monday: '2026-12-28', sunday: '2027-01-03', nextMonday: '2027-01-04' });
  });
});

describe('week windows across daylight-saving changes', () => {
  it('America/New_York in March: EST at the start, EDT at the end, 167 hours', () => {
    expect(span(weekWindow(w('2026-W10'), 'America/New_York'))).toEqual(['2026-03-02T05:00:00Z', '2026-03-09T04:00:00Z', 167]);
  });

  it('America/New_York in October/November: EDT at the start, EST at the end, 169 hours', () => {
    expect(span(weekWindow(w('2026-W44'), 'America/New_York'))).toEqual(['2026-10-26T04:00:00Z', '2026-11-02T05:00:00Z', 169]);
  });

  it('Europe/Berlin in March: CET to CEST, 167 hours', () => {
    expect(span(weekWindow(w('2026-W13'), 'Europe/Berlin'))).toEqual(['2026-03-22T23:00:00Z', '2026-03-29T22:00:00Z', 167]);
  });

  it('Europe/Berlin in October: CEST to CET, 169 hours', () => {
    expect(span(weekWindow(w('2026-W43'), 'Europe/Berlin'))).toEqual(['2026-10-18T22:00:00Z', '2026-10-25T23:00:00Z', 169]);
  });

  it('a week without a change is 168 hours, and consecutive weeks tile time', () => {
    expect(span(weekWindow(w('2026-W11'), 'America/New_York'))).toEqual(['2026-03-09T04:00:00Z', '2026-03-16T04:00:00Z', 168]);
    for (const zone of ['America/New_York', 'Europe/Berlin', 'Pacific/Auckland', 'Asia/Kolkata']) {
      let week = w('2026-W01');
      for (let i = 0; i < 53; i++) {
        const next = addIsoWeeks(week, 1);
        expect(weekWindow(week, zone).end.getTime(), `${zone} ${formatIsoWeek(week)}`).toBe(weekWindow(next, zone).start.getTime());
        week = next;
      }
    }
  });
});

describe('a recipient east of UTC', () => {
  it('Pacific/Auckland: Monday starts on Sunday 11:00 UTC (NZDT, +13)', () => {
    expect(span(weekWindow(w('2026-W47'), 'Pacific/Auckland'))).toEqual(['2026-11-15T11:00:00Z', '2026-11-22T11:00:00Z', 168]);
    expect(new Date('2026-11-15T11:00:00Z').getUTCDay()).toBe(0); // a Sunday in UTC
  });

  it('Pacific/Auckland when DST ends on 5 April: +13 to +12, 169 hours', () => {
    expect(span(weekWindow(w('2026-W14'), 'Pacific/Auckland'))).toEqual(['2026-03-29T11:00:00Z', '2026-04-05T12:00:00Z', 169]);
  });

  it('places an instant in its local week: Sunday 12:00 UTC is already Monday in Auckland', () => {
    expect(formatIsoWeek(weekOf(new Date('2026-11-15T12:00:00Z'), 'Pacific/Auckland'))).toBe('2026-W47');
    expect(formatIsoWeek(weekOf(new Date('2026-11-15T12:00:00Z'), 'UTC'))).toBe('2026-W46');
    expect(formatIsoWeek(weekOf(new Date('2026-11-15T10:59:59Z'), 'Pacific/Auckland'))).toBe('2026-W46');
  });

  it('Asia/Kolkata (+05:30): the priced window starts at the UTC hour before local midnight', () => {
    const window = weekWindow(w('2026-W47'), 'Asia/Kolkata');
    expect(span(window)).toEqual(['2026-11-15T18:30:00Z', '2026-11-22T18:30:00Z', 168]);
    const priced = costWindow(window);
    expect([iso(priced.from), iso(priced.to)]).toEqual(['2026-11-15T18:00:00Z', '2026-11-22T18:00:00Z']);
  });
});

describe('when the email is due', () => {
  it('Monday 08:00 local after the week', () => {
    expect(iso(dueAt(w('2026-W47'), 'Pacific/Auckland'))).toBe('2026-11-22T19:00:00Z');
    expect(iso(dueAt(w('2026-W44'), 'America/New_York'))).toBe('2026-11-02T13:00:00Z'); // EST again
    expect(iso(dueAt(w('2026-W10'), 'America/New_York'))).toBe('2026-03-09T12:00:00Z'); // EDT
    expect(iso(dueAt(w('2026-W13'), 'Europe/Berlin'))).toBe('2026-03-30T06:00:00Z'); // CEST
    expect(iso(dueAt(w('2026-W53'), 'UTC'))).toBe('2027-01-04T08:00:00Z');
  });

  it('the last complete week depends on the zone', () => {
    const now = new Date('2026-11-23T02:00:00Z'); // Monday 02:00 UTC; Monday 15:00 in Auckland; Sunday 21:00 in New York
    expect(formatIsoWeek(lastCompleteWeek(now, 'UTC'))).toBe('2026-W47');
    expect(formatIsoWeek(lastCompleteWeek(now, 'Pacific/Auckland'))).toBe('2026-W47');
    expect(formatIsoWeek(lastCompleteWeek(now, 'America/New_York'))).toBe('2026-W46');
    expect(weekHasEnded(w('2026-W47'), 'America/New_York', now)).toBe(false);
    expect(weekHasEnded(w('2026-W47'), 'Pacific/Auckland', now)).toBe(true);
  });
});

describe('time zone names', () => {
  it('accepts IANA names, canonically spelled', () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
  });

  it('refuses offsets, abbreviations and made-up names', () => {
    for (const bad of ['+02:00', 'CET', 'EST', 'Mars/Olympus', 'Europe/Berlin; DROP TABLE', '', 'Europe/']) expect(canonicalTimeZone(bad), bad).toBeUndefined();
  });
});
