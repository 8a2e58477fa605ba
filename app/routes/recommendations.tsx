import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { EmptyState } from '~/components/EmptyState';
import { Freshness } from '~/components/Freshness';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell } from '~/components/Shell';
import { formatPercent, formatPeriod, formatRate, formatUsd, savingTone } from '~/lib/format';
import { formatInstantIn } from '~/lib/time-zone';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { loadRecommendationsTable } from '~/services/dashboard/recommendations.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction = () => [{ title: 'Recommendations · Breakeven' }];

const filterValue = (v: string | null) => (v && v.length <= 200 ? v : null);

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const ctx = viewerContext(request);
  const gpuType = filterValue(ctx.url.searchParams.get('gpuType'));
  const pool = filterValue(ctx.url.searchParams.get('pool'));
  const customer = filterValue(ctx.url.searchParams.get('customer'));
  const table = await loadRecommendationsTable(db(), ctx.period, { gpuType, pool, customer });
  return {
    ...table,
    computedAt: table.computedAt.toISOString(),
    computedAtLabel: formatInstantIn(table.computedAt, ctx.timeZone),
    gpuType,
    pool,
    customer,
    period: periodView(ctx.period),
    periodQuery: ctx.periodQuery,
    timeZone: ctx.timeZone,
  };
}

export default function Recommendations() {
  const v = useLoaderData<typeof loader>();
  const q = v.periodQuery;
  const filters = `${v.gpuType ? `&gpuType=${encodeURIComponent(v.gpuType)}` : ''}${v.pool ? `&pool=${encodeURIComponent(v.pool)}` : ''}${v.customer ? `&customer=${encodeURIComponent(v.customer)}` : ''}`;
  return (
    <Shell title="Recommendations" subtitle={`How many GPUs to reserve · ${formatPeriod(v.period.fromParam, v.period.toParam)}`} toolbar={<PeriodPicker period={v.period} />}>
      <Freshness computedAtLabel={v.computedAtLabel} fresh={v.fresh} timeZone={v.timeZone} />
      <Card
        title={`${v.rows.length} recommendation${v.rows.length === 1 ? '' : 's'}${v.rows.length !== v.total ? ` of ${v.total}` : ''}`}
        subtitle={v.flagged ? `${v.flagged} flagged: the last 3 days’ demand no longer supports them` : 'Pools first, then customers; each on the GPU type it runs on'}
        actions={
          <>
            <Form method="get" className="filters">
              <input type="hidden" name="from" value={v.period.fromParam} />
              <input type="hidden" name="to" value={v.period.toParam} />
              <label>
                <span>GPU type</span>
                <select name="gpuType" defaultValue={v.gpuType ?? ''}>
                  <option value="">All</option>
                  {v.gpuTypes.map((t) => <option key={t} value={t}>{t}</option>)}
                </select>
              </label>
              <label>
                <span>Pool</span>
                <select name="pool" defaultValue={v.pool ?? ''}>
                  <option value="">All</option>
                  {v.pools.map((p) => <option key={p} value={p}>{p}</option>)}
                </select>
              </label>
              <button type="submit" className="secondary small">Filter</button>
            </Form>
            <CsvLink href={`/exports/recommendations.csv?${q}${filters}`} />
          </>
        }
      >
        {v.rows.length === 0 ? (
          <EmptyState title={v.total === 0 ? 'Nothing to recommend in this period' : 'No recommendation matches the filter'}>
            {v.total === 0 ? (
              <p>Recommendations need usage in the period and a reserved offer in force. Import usage on <Link to="/ingestion">Ingestion</Link> or a price book on <Link to="/prices">Prices</Link>.</p>
            ) : (
              <p><Link to={`?${q}`}>Clear the filters</Link></p>
            )}
          </EmptyState>
        ) : (
          <TableScroll label="Recommendations">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Scope</th>
                  <th scope="col" className="num">Now</th>
                  <th scope="col" className="num">Reserve</th>
                  <th scope="col">Change</th>
                  <th scope="col">Offer</th>
                  <th scope="col" className="num">Cost</th>
                  <th scope="col" className="num">Saving</th>
                  <th scope="col" className="num">Fill</th>
                  <th scope="col" className="num" title="The optimum recomputed on each of the last four weeks">Stability</th>
                  <th scope="col" className="num" title="Floor (never idle) · balanced (the knee) · optimal">Risk levels</th>
                  <th scope="col" title="The optimum on the last 72 hours alone">Last 72 h</th>
                </tr>
              </thead>
              <tbody>
                {v.rows.map((r) => (
                  <tr key={`${r.scope}-${r.name}-${r.gpu_type}`} className={r.recent_flagged ? 'is-flagged' : undefined}>
                    <th scope="row" className="name-cell">
                      {r.scope === 'pool' ? (
                        <><span className="badge">pool</span> <Link to={`/pools/${r.name}?${q}`}>{r.name}</Link></>
                      ) : (
                        <Link to={`/customers/${r.name}?${q}`}>{r.name}</Link>
                      )}
                      <div className="sub">{r.gpu_type}{r.scope === 'customer' && r.pool ? ` · in ${r.pool}` : ''}</div>
                    </th>
                    <td className="num">{r.current_gpus ?? 0}</td>
                    <td className="num strong">{r.recommended_gpus ?? '—'}</td>
                    <td>
                      <span className={`badge ${r.delta_gpus === null || r.delta_gpus === 0 ? '' : r.delta_gpus > 0 ? 'badge-up' : 'badge-down'}`}>{r.change ?? '—'}</span>
                    </td>
                    <td>
                      {r.recommended_gpus === 0 ? (
                        <>
                          <span className="muted">none</span>
                          <div className="sub">{r.baseline === 'api' ? `on-demand ${r.gpu_type} beat the API` : 'on-demand covers it best'}</div>
                        </>
                      ) : (
                        <>
                          {r.provider ?? '—'}
                          <div className="sub">{r.term_days ? `${r.term_days}-day, blocks of ${r.block_size}` : ''}{r.usd_per_gpu_hour !== null ? ` · ${formatRate(r.usd_per_gpu_hour)}` : ''}</div>
                        </>
                      )}
                    </td>
                    <td className="num"><Money usd={r.recommended_usd} formula={r.recommended_gpus !== null && r.usd_per_gpu_hour !== null ? `RESERVED(${r.recommended_gpus}) = ${r.recommended_gpus} × ${formatRate(r.usd_per_gpu_hour)} × ${r.hours} h + overflow` : undefined} /></td>
                    <td className={`num ${savingTone(r.saving_usd)}`}>
                      <Money usd={r.saving_usd} signed formula={r.saving_usd !== null ? `${formatUsd(r.baseline_usd)} (${r.baseline === 'current' ? 'current reservations' : r.baseline === 'api' ? 'API' : 'on-demand'}) − ${formatUsd(r.recommended_usd ?? 0)}` : undefined} />
                      {r.aggregation_saving_usd !== null ? <div className="sub" title="Σ members’ own optima − pooled optimum">pooling saves {formatUsd(r.aggregation_saving_usd)}</div> : null}
                    </td>
                    <td className="num">{formatPercent(r.fill)}</td>
                    <td className="num">{r.stability_min_gpus === null ? '—' : r.stability_min_gpus === r.stability_max_gpus ? `${r.stability_min_gpus}` : `${r.stability_min_gpus}–${r.stability_max_gpus}`}</td>
                    <td className="num" title={r.floor_usd !== null ? `floor ${formatUsd(r.floor_usd)} · balanced ${formatUsd(r.balanced_usd ?? 0)} · optimal ${formatUsd(r.optimal_usd ?? 0)}` : undefined}>
                      {r.floor_gpus === null ? '—' : `${r.floor_gpus} · ${r.balanced_gpus} · ${r.optimal_gpus}`}
                    </td>
                    <td>
                      {r.recent_flagged === null ? '—' : r.recent_flagged ? <span className="badge badge-bad">only {r.recent_gpus} in last {r.recent_hours} h</span> : <span className="badge badge-good">supported</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </Card>
    </Shell>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Recommendations" back={{ to: '/recommendations', label: 'Back to recommendations' }} />;
}
