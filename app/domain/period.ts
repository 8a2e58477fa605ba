// The period a page or export covers: whole UTC days [from, to), from the `from` and `to` query
// parameters (ISO dates) or a preset. `today` is passed in: the domain has no clock.

const DAY_MS = 86_400_000;
export const MAX_PERIOD_DAYS = 800;

export interface Period {
  from: Date;
  to: Date;
  /** ISO dates as they appear in URLs: `to` is exclusive. */
  fromParam: string;
  toParam: string;
  days: number;
  preset: '7d' | '30d' | '90d' | 'month' | 'custom';
}

export const PRESETS = [
  { id: '7d', label: 'Last 7 days', days: 7 },
  { id: '30d', label: 'Last 30 days', days: 30 },
  { id: '90d', label: 'Last 90 days', days: 90 },
] as const;

const isoDate = (date: Date) => date.toISOString().slice(0, 10);

function parseDay(value: string | null): Date | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || isoDate(date) !== value ? undefined : date;
}

function build(from: Date, to: Date, preset: Period['preset']): Period {
  return { from, to, fromParam: isoDate(from), toParam: isoDate(to), days: Math.round((to.getTime() - from.getTime()) / DAY_MS), preset };
}

/** The last `days` whole days before today (UTC). */
export function lastDays(days: number, today: Date): Period {
  const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  const preset = days === 7 ? '7d' : days === 30 ? '30d' : days === 90 ? '90d' : 'custom';
  return build(new Date(to.getTime() - days * DAY_MS), to, preset);
}

/** A calendar month, `YYYY-MM`. */
export function calendarMonth(month: string): Period | undefined {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) return undefined;
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  if (index < 0 || index > 11) return undefined;
  return build(new Date(Date.UTC(year, index, 1)), new Date(Date.UTC(year, index + 1, 1)), 'month');
}

/**
 * Reads `?from=YYYY-MM-DD&to=YYYY-MM-DD` (to exclusive), or `?month=YYYY-MM`, or `?days=7|30|90`; anything
 * missing or malformed falls back to the last 30 days, so a bad link still shows a page.
 */
export function periodFromSearch(params: URLSearchParams, today: Date): Period {
  const month = params.get('month');
  if (month) {
    const period = calendarMonth(month);
    if (period) return period;
  }
  const from = parseDay(params.get('from'));
  const to = parseDay(params.get('to'));
  if (from && to && from < to && to.getTime() - from.getTime() <= MAX_PERIOD_DAYS * DAY_MS) {
    const period = build(from, to, 'custom');
    const asPreset = PRESETS.find((p) => p.days === period.days && isoDate(lastDays(p.days, today).to) === period.toParam);
    return asPreset ? { ...period, preset: asPreset.id } : period;
  }
  const days = Number(params.get('days'));
  if (PRESETS.some((p) => p.days === days)) return lastDays(days, today);
  return lastDays(30, today);
}

/** The query string of a period, to carry it from page to page. */
export function periodSearch(period: Pick<Period, 'fromParam' | 'toParam'>): string {
  return `from=${period.fromParam}&to=${period.toParam}`;
}
