// The viewer's time zone: which cookie values the server accepts, and hours of the week across a change of offset.
import { describe, expect, it } from 'vitest';
import { hourOfWeekIndex, timeZoneFromCookie, validTimeZone } from '../../app/lib/time-zone.js';
import { formatPercent, formatPeriod, formatSignedUsd, formatUsd } from '../../app/lib/format.js';

describe('time zone', () => {
  it('accepts IANA names the runtime knows and nothing else', () => {
    expect(validTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(validTimeZone('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
    expect(validTimeZone('UTC')).toBe('UTC');
    for (const bad of ['', 'Mars/Olympus', '../../etc/passwd', "Europe/Paris'; DROP", 'x'.repeat(65), '<script>']) expect(validTimeZone(bad)).toBeUndefined();
  });

  it('reads the tz cookie, defaulting to UTC', () => {
    expect(timeZoneFromCookie(null)).toBe('UTC');
    expect(timeZoneFromCookie('a=1; tz=Asia%2FTokyo; b=2')).toBe('Asia/Tokyo');
    expect(timeZoneFromCookie('tz=Nowhere%2FLand')).toBe('UTC');
    expect(timeZoneFromCookie('tz=%E0%A4%A')).toBe('UTC');
  });

  it('places each UTC hour in its local weekday and hour, across the end of daylight saving', () => {
    // Sunday 2026-10-25: Paris goes from UTC+2 to UTC+1 at 01:00 UTC.
    const from = Date.parse('2026-10-24T22:00:00Z');
    const slots = hourOfWeekIndex(from, 6, 'Europe/Paris');
    const sunday = 6 * 24;
    // 22:00Z = Sun 00:00 (+2), 23:00Z = 01:00, 00:00Z = 02:00, 01:00Z = 02:00 (+1) again, 02:00Z = 03:00, 03:00Z = 04:00.
    expect([...slots]).toEqual([sunday, sunday + 1, sunday + 2, sunday + 2, sunday + 3, sunday + 4]);
    expect([...hourOfWeekIndex(Date.parse('2026-11-02T00:00:00Z'), 2, 'UTC')]).toEqual([0, 1]);
  });
});

describe('formatting', () => {
  it('shows money with cents and separators, signs, shares and periods', () => {
    expect(formatUsd(1234567.891)).toBe('$1,234,567.89');
    expect(formatSignedUsd(-12)).toBe('\u2212$12.00');
    expect(formatPercent(0.7183)).toBe('71.8 %');
    expect(formatPercent(null)).toBe('—');
    expect(formatPeriod('2026-10-29', '2026-11-28')).toBe('Oct 29 – Nov 27, 2026');
    expect(formatPeriod('2025-12-01', '2026-01-01')).toBe('Dec 1 – Dec 31, 2025');
    expect(formatPeriod('2025-12-01', '2026-01-02')).toBe('Dec 1, 2025 – Jan 1, 2026');
  });
});
