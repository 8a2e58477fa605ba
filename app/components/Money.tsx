import type { ReactNode } from 'react';
import { formatUsd } from '~/lib/format';

/**
 * An amount with cents and thousands separators; `formula` (the formula with its inputs) shows as a tooltip (and is
 * the element's accessible description). The customer page also prints every formula as text, for the keyboard.
 */
export function Money({ usd, formula, className, signed }: { usd: number | null | undefined; formula?: string; className?: string; signed?: boolean }) {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return <span className={`num muted ${className ?? ''}`}>—</span>;
  // Signs follow the amount in cents: −$0.004 is "$0.00", not "−$0.00".
  const cents = Math.round(usd * 100);
  const text = signed && cents > 0 ? `+${formatUsd(usd)}` : cents < 0 ? `\u2212${formatUsd(-usd)}` : formatUsd(Math.abs(usd));
  if (!formula) return <span className={`num ${className ?? ''}`}>{text}</span>;
  return (
    <span className={`num traceable ${className ?? ''}`} title={formula}>
      {text}
    </span>
  );
}

/** A right-aligned table cell. */
export function Num({ children, className, title }: { children: ReactNode; className?: string; title?: string }) {
  return (
    <td className={`num ${className ?? ''}`} title={title}>
      {children}
    </td>
  );
}
