import { Form, Link, useLocation } from '@remix-run/react';
import { PRESETS, type Period } from '~/domain/period';

/** Presets, a calendar month and a custom range; other query parameters (sort, search) are kept. */
export function PeriodPicker({ period }: { period: Pick<Period, 'fromParam' | 'toParam' | 'preset' | 'days'> }) {
  const location = useLocation();
  const keep = new URLSearchParams(location.search);
  for (const key of ['from', 'to', 'days', 'month', 'page']) keep.delete(key);
  const withParams = (extra: Record<string, string>) => {
    const params = new URLSearchParams(keep);
    for (const [k, v] of Object.entries(extra)) params.set(k, v);
    return `${location.pathname}?${params}`;
  };
  const hidden = [...keep.entries()].map(([k, v]) => <input key={k} type="hidden" name={k} value={v} />);
  return (
    <div className="period-picker" role="group" aria-label="Period">
      {PRESETS.map((p) => (
        <Link key={p.id} to={withParams({ days: String(p.days) })} className={period.preset === p.id ? 'chip active' : 'chip'} aria-current={period.preset === p.id ? 'true' : undefined}>
          {p.label}
        </Link>
      ))}
      <Form method="get" className="inline-form">
        {hidden}
        <label className="inline">
          <span className="visually-hidden">Calendar month</span>
          <input type="month" name="month" defaultValue={period.fromParam.slice(0, 7)} aria-label="Calendar month" />
        </label>
        <button type="submit" className="secondary small">Month</button>
      </Form>
      <Form method="get" className="inline-form">
        {hidden}
        <input type="date" name="from" defaultValue={period.fromParam} aria-label="From (UTC)" />
        <span aria-hidden="true">→</span>
        <input type="date" name="to" defaultValue={period.toParam} aria-label="To, exclusive (UTC)" />
        <button type="submit" className="secondary small">Apply</button>
      </Form>
    </div>
  );
}
