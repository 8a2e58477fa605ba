import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useLoaderData, useLocation } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { EmptyState } from '~/components/EmptyState';
import { Freshness } from '~/components/Freshness';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell } from '~/components/Shell';
import { SortHeader } from '~/components/SortHeader';
import { formatCompact, formatHours, formatInteger, formatPercent, formatPeriod, formatRate, formatUsd, savingTone } from '~/lib/format';
import { formatInstantIn } from '~/lib/time-zone';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { loadCustomersTable, parseCustomersQuery } from '~/services/dashboard/customers.server';
import { sortParam } from '~/lib/customers-sort';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction = () => [{ title: 'Customers · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const ctx = viewerContext(request);
  const query = parseCustomersQuery(ctx.url.searchParams);
  const table = await loadCustomersTable(db(), ctx.period, query);
  return {
    ...table,
    computedAt: table.computedAt.toISOString(),
    computedAtLabel: formatInstantIn(table.computedAt, ctx.timeZone),
    sort: query.sort,
    dir: query.dir,
    q: query.q,
    period: periodView(ctx.period),
    periodQuery: ctx.periodQuery,
    timeZone: ctx.timeZone,
  };
}

const BASIS = { current: 'reserved', api: 'API', on_demand: 'on-demand' } as const;

export default function Customers() {
  const t = useLoaderData<typeof loader>();
  const location = useLocation();
  const params = (changes: Record<string, string | null>) => {
    const p = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') p.delete(k);
      else p.set(k, v);
    }
    return `?${p}`;
  };
  const sortHref = (key: string, dir: 'asc' | 'desc') => params({ sort: sortParam(key, dir), page: null });
  const header = (label: string, key: string, numeric = true, title?: string) => (
    <SortHeader label={label} sortKey={key} sort={t.sort} dir={t.dir} href={sortHref} numeric={numeric} title={title} />
  );
  const csv = `/exports/customers.csv?${t.periodQuery}&sort=${encodeURIComponent(sortParam(t.sort, t.dir))}${t.q ? `&q=${encodeURIComponent(t.q)}` : ''}`;
  const periodLabel = formatPeriod(t.period.fromParam, t.period.toParam);
  const first = (t.page - 1) * t.pageSize + 1;
  return (
    <Shell title="Customers" subtitle={periodLabel} toolbar={<PeriodPicker period={t.period} />}>
      <Freshness computedAtLabel={t.computedAtLabel} fresh={t.fresh} timeZone={t.timeZone} />
      <Card
        title={`${formatInteger(t.matching)} customer${t.matching === 1 ? '' : 's'}${t.q ? ` matching “${t.q}”` : ''}`}
        subtitle={
          <>
            Each on the GPU type it runs on, reserving on its own (pooled: <Link to={`/pools?${t.periodQuery}`}>Pools</Link>). Hover a figure for its formula; open a
            customer for every input.
          </>
        }
        actions={
          <>
            <Form method="get" className="search" role="search">
              {[...new URLSearchParams(location.search).entries()]
                .filter(([k]) => k !== 'q' && k !== 'page')
                .map(([k, v]) => <input key={k} type="hidden" name={k} value={v} />)}
              <label className="visually-hidden" htmlFor="customer-search">Search customers</label>
              <input id="customer-search" type="search" name="q" defaultValue={t.q} placeholder="Search customer or pool" />
              <button type="submit" className="secondary small">Search</button>
            </Form>
            <CsvLink href={csv} />
          </>
        }
      >
        {t.matching === 0 ? (
          <EmptyState title={t.q ? 'No customer matches' : 'No customers yet'}>
            {t.q ? (
              <p>
                Nothing matches “{t.q}”. <Link to={params({ q: null, page: null })}>Clear the search</Link>.
              </p>
            ) : (
              <p>
                Add customers with <code>breakeven customers add SLUG</code> or import usage on the <Link to="/ingestion">Ingestion</Link> page.
              </p>
            )}
          </EmptyState>
        ) : (
          <>
            <TableScroll label="Customers table">
              <table className="data-table">
                <thead>
                  <tr>
                    {header('Customer', 'customer', false)}
                    {header('Pool', 'pool', false)}
                    {header('Tokens', 'tokens', true, 'input + output tokens')}
                    {header('GPU-hours', 'gpu_hours', true, 'GPU-hours held, from telemetry')}
                    {header('API', 'api', true, 'API = Σ_h api(h)')}
                    {header('On-demand', 'on_demand', true, 'ON_DEMAND = Σ_h d(h)·o')}
                    {header('Current', 'current', true, 'What it pays today: its reservations, else the API (no telemetry) or on-demand GPUs')}
                    {header('Recommended', 'recommended', true, 'The recommended reservation N* and its cost RESERVED(N*) = N*·r·H + Σ_h overflow(h, N*)')}
                    {header('Saving', 'saving', true, 'Current − RESERVED(N*)')}
                    {header('Fill', 'fill', true, 'fill(N*) = Σ_h min(d, N*) ÷ (N*·H)')}
                    {header('Break-even', 'break_even_fill', true, 'The fill above which reserving beats the overflow target: r ÷ o')}
                    {header('Gaps', 'hours_without_data', true, 'Hours of the period without telemetry or tokens')}
                  </tr>
                </thead>
                <tbody>
                  {t.rows.map((r) => (
                    <tr key={r.slug}>
                      <th scope="row" className="name-cell">
                        <Link to={`/customers/${r.slug}?${t.periodQuery}`}>{r.name}</Link>
                        <div className="sub">{r.slug}{r.gpu_type ? ` · ${r.gpu_type}` : ''}</div>
                      </th>
                      <td>{r.pool ? <Link to={`/pools/${r.pool}?${t.periodQuery}`}>{r.pool}</Link> : <span className="muted">—</span>}</td>
                      {r.gpu_type === null ? (
                        <td colSpan={9} className="muted no-data">No data in this period</td>
                      ) : (
                        <>
                          <td className="num" title={`${formatInteger(r.input_tokens)} input (${formatInteger(r.cached_input_tokens)} cached) + ${formatInteger(r.output_tokens)} output`}>
                            {formatCompact(r.tokens)}
                          </td>
                          <td className="num">{r.gpu_hours > 0 ? formatInteger(r.gpu_hours) : <span className="muted" title="No GPU telemetry: demand comes from tokens">—</span>}</td>
                          <td className="num sc-text-api"><Money usd={r.api_usd} formula={`API = Σ_h api(h) over ${formatHours(r.hours)}`} /></td>
                          <td className="num sc-text-on_demand">
                            <Money usd={r.on_demand_usd} formula={`ON_DEMAND = Σ_h d(h)·o = ${formatInteger(r.demand_gpu_hours)} GPU-h of demand × the on-demand rate`} />
                          </td>
                          <td className="num sc-text-current">
                            <Money usd={r.current_usd} />
                            <div className="sub">{r.current_basis ? BASIS[r.current_basis] : ''}{r.current_gpus ? ` · ${r.current_gpus} GPUs` : ''}</div>
                          </td>
                          <td className="num sc-text-recommended">
                            <Money
                              usd={r.recommended_usd}
                              formula={
                                r.recommended_gpus !== null && r.recommended_usd_per_gpu_hour !== null && r.recommended_usd !== null
                                  ? `RESERVED(${r.recommended_gpus}) = ${r.recommended_gpus} × ${formatRate(r.recommended_usd_per_gpu_hour)} × ${formatInteger(r.hours)} h + overflow ${formatUsd(r.recommended_usd - r.recommended_gpus * r.recommended_usd_per_gpu_hour * r.hours)}`
                                  : undefined
                              }
                            />
                            <div className="sub" title={r.recommended_provider ? `${r.recommended_provider}, ${r.recommended_term_days}-day term` : undefined}>
                              {r.recommended_gpus === null ? '' : r.recommended_gpus === 0 ? 'none: on demand' : `${r.recommended_gpus} × ${r.gpu_type} · ${r.recommended_term_days} d`}
                            </div>
                          </td>
                          <td className={`num ${savingTone(r.saving_usd)}`}>
                            <Money usd={r.saving_usd} signed formula={r.saving_usd !== null ? `${formatUsd(r.current_usd ?? 0)} − ${formatUsd(r.recommended_usd ?? 0)}` : undefined} />
                          </td>
                          <td className="num">{formatPercent(r.fill)}</td>
                          <td className="num">{formatPercent(r.break_even_fill)}</td>
                          <td className={`num ${r.hours_without_data > 0 ? 'warn' : 'muted'}`}>{formatHours(r.hours_without_data)}</td>
                        </>
                      )}
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row">Total ({formatInteger(t.totals.customers)})</th>
                    <td />
                    <td className="num">{formatCompact(t.totals.tokens)}</td>
                    <td className="num">{formatInteger(t.totals.gpu_hours)}</td>
                    <td className="num"><Money usd={t.totals.api_usd} /></td>
                    <td className="num"><Money usd={t.totals.on_demand_usd} /></td>
                    <td className="num"><Money usd={t.totals.current_usd} /></td>
                    <td className="num"><Money usd={t.totals.recommended_usd} /></td>
                    <td className="num"><Money usd={t.totals.saving_usd} signed /></td>
                    <td colSpan={3} />
                  </tr>
                </tfoot>
              </table>
            </TableScroll>
            <nav className="pager" aria-label="Pages">
              <span className="muted">
                {formatInteger(first)}–{formatInteger(Math.min(t.matching, first + t.pageSize - 1))} of {formatInteger(t.matching)}
              </span>
              {t.page > 1 ? <Link to={params({ page: String(t.page - 1) })} rel="prev">← Previous</Link> : <span className="disabled">← Previous</span>}
              <span aria-current="page">Page {t.page} of {t.pages}</span>
              {t.page < t.pages ? <Link to={params({ page: String(t.page + 1) })} rel="next">Next →</Link> : <span className="disabled">Next →</span>}
            </nav>
          </>
        )}
      </Card>
    </Shell>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Customers" back={{ to: '/customers', label: 'Back to customers' }} />;
}
