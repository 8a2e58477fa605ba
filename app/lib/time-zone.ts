// The viewer's time zone: analytics are hourly in UTC (DESIGN.md) and shown in the zone the browser reports.
// The browser sets a `tz` cookie (root.tsx); the server validates it here and formats times with it, so the
// server-rendered text and the hydrated text are the same strings.

export const TZ_COOKIE = 'tz';
export const DEFAULT_TIME_ZONE = 'UTC';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, kind: 'instant' | 'day' | 'parts'): Intl.DateTimeFormat {
  const key = `${kind}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'instant'
        ? { timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
        : kind === 'day'
          ? { timeZone, year: 'numeric', month: 'short', day: 'numeric' }
          : { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23', weekday: 'short' };
    f = new Intl.DateTimeFormat('en-US', options);
    formatters.set(key, f);
  }
  return f;
}

/** An IANA zone name the runtime knows ("Europe/Paris", "UTC"), or undefined for anything else. */
export function validTimeZone(value: string | null | undefined): string | undefined {
  if (!value || value.length > 64 || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)) return undefined;
  try {
    // The name as the browser gave it (Intl may canonicalise it to another spelling of the same zone).
    new Intl.DateTimeFormat('en-US', { timeZone: value }).format(0);
    return value;
  } catch {
    return undefined;
  }
}

/** The zone named by the request's `tz` cookie, else UTC. */
export function timeZoneFromCookie(cookieHeader: string | null): string {
  if (!cookieHeader) return DEFAULT_TIME_ZONE;
  for (const part of cookieHeader.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TZ_COOKIE) {
      let value: string;
      try {
        value = decodeURIComponent(rest.join('='));
      } catch {
        return DEFAULT_TIME_ZONE;
      }
      return validTimeZone(value) ?? DEFAULT_TIME_ZONE;
    }
  }
  return DEFAULT_TIME_ZONE;
}

/** "Nov 28, 2026, 14:00" in the zone. */
export function formatInstantIn(ms: number | Date, timeZone: string): string {
  return formatter(timeZone, 'instant').format(typeof ms === 'number' ? ms : ms.getTime());
}

/** "Nov 28, 2026" in the zone. */
export function formatDayIn(ms: number | Date, timeZone: string): string {
  return formatter(timeZone, 'day').format(typeof ms === 'number' ? ms : ms.getTime());
}

const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** Local weekday (0 = Monday) and hour of an instant in the zone. */
export function localWeekHour(ms: number, timeZone: string): { weekday: number; hour: number; offsetMinutes: number } {
  const parts = formatter(timeZone, 'parts').formatToParts(ms);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
  const local = Date.UTC(Number(get('year')), Number(get('month')) - 1, Number(get('day')), Number(get('hour')) % 24, Number(get('minute')));
  return { weekday: WEEKDAYS[get('weekday')] ?? 0, hour: Number(get('hour')) % 24, offsetMinutes: Math.round((local - Math.floor(ms / 60_000) * 60_000) / 60_000) };
}

const HOUR_MS = 3_600_000;

/**
 * For each hour of [fromMs, fromMs + hours·1h), its local weekday·24 + hour in the zone (0 = Monday 00:00).
 * The zone's offset is looked up once a day and hour by hour only on days where it changes (daylight saving).
 */
export function hourOfWeekIndex(fromMs: number, hours: number, timeZone: string): Uint8Array {
  const out = new Uint8Array(hours);
  const slot = (ms: number, offsetMinutes: number) => {
    const local = new Date(ms + offsetMinutes * 60_000);
    const weekday = (local.getUTCDay() + 6) % 7;
    return weekday * 24 + local.getUTCHours();
  };
  for (let start = 0; start < hours; start += 24) {
    const end = Math.min(hours, start + 24);
    const a = localWeekHour(fromMs + start * HOUR_MS, timeZone).offsetMinutes;
    const b = localWeekHour(fromMs + (end - 1) * HOUR_MS, timeZone).offsetMinutes;
    for (let h = start; h < end; h++) {
      const offset = a === b ? a : localWeekHour(fromMs + h * HOUR_MS, timeZone).offsetMinutes;
      out[h] = slot(fromMs + h * HOUR_MS, offset);
    }
  }
  return out;
}
