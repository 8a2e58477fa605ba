// One way to show each kind of number, everywhere (pages, emails): money with cents, compact token counts.
// Pure and the same on the server and in the browser, so server-rendered text and hydrated text agree.

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usd0 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 0 });
const usdCompact = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1 });
const rate = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const decimal1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const decimal2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const formatUsd = (value: number): string => usd.format(value);
/** Money for a chart axis: "$12K". */
export const formatUsdCompact = (value: number): string => (Math.abs(value) < 1000 ? usd0.format(value) : usdCompact.format(value));
/** A unit price: "$2.19", "$0.0150". */
export const formatRate = (value: number): string => rate.format(value);
/** Money or a dash when there is no figure. */
export const formatUsdOrDash = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : usd.format(value));
/** A signed amount: "+$1,234.50", "−$12.00" (U+2212). */
export const formatSignedUsd = (value: number): string => `${value < 0 ? '\u2212' : value > 0 ? '+' : ''}${usd.format(Math.abs(value))}`;
export const formatCompact = (value: number): string => compact.format(value);
export const formatGpuHours = (value: number): string => `${integer.format(value)} GPU-h`;
/** GPU-hours with one decimal, for formulas where the input must be recognisable. */
export const formatGpuHoursExact = (value: number): string => `${decimal1.format(value)} GPU-h`;
export const formatGpus = (value: number): string => decimal2.format(value);
export const formatInteger = (value: number): string => integer.format(value);
export const formatDecimal1 = (value: number): string => decimal1.format(value);
export const formatPercent = (share: number | null): string => (share === null || !Number.isFinite(share) ? '—' : `${decimal1.format(share * 100)} %`);
export const formatHours = (value: number): string => `${integer.format(value)} h`;

/** A UTC instant as a calendar day, e.g. "2026-11-28". */
export const formatDay = (date: Date | string): string => new Date(date).toISOString().slice(0, 10);

/** A UTC day "2026-11-28" as "Nov 28" (for chart axes). */
export function formatShortDay(day: string): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  return m ? `${months[Number(m[2]) - 1]} ${Number(m[3])}` : day;
}

/** "2026-10-01" → "Oct 1, 2026". */
export function formatLongDay(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  return m ? `${formatShortDay(day)}, ${m[1]}` : day;
}

/** A period [from, to) of ISO dates as a label: "Oct 29 – Nov 27, 2026" (to is exclusive: the last day shown is to − 1). */
export function formatPeriod(fromParam: string, toParam: string): string {
  const last = new Date(Date.parse(`${toParam}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const sameYear = fromParam.slice(0, 4) === last.slice(0, 4);
  return `${sameYear ? formatShortDay(fromParam) : formatLongDay(fromParam)} – ${formatLongDay(last)}`;
}

/** The class a saving is shown with: green when it saves at least a cent, red when it costs more, grey otherwise. */
export const savingTone = (usd: number | null | undefined): string =>
  usd === null || usd === undefined ? '' : usd >= 0.005 ? 'good' : usd <= -0.005 ? 'bad' : 'muted';
