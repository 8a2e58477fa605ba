// One way to show each kind of number, everywhere (pages, emails): money with cents, compact token counts.

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const decimal1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const formatUsd = (value: number): string => usd.format(value);
export const formatCompact = (value: number): string => compact.format(value);
export const formatGpuHours = (value: number): string => `${integer.format(value)} GPU-h`;
export const formatInteger = (value: number): string => integer.format(value);
export const formatPercent = (share: number | null): string => (share === null ? '—' : `${decimal1.format(share * 100)} %`);

/** A UTC instant as a calendar day, e.g. "2026-11-28". */
export const formatDay = (date: Date | string): string => new Date(date).toISOString().slice(0, 10);
