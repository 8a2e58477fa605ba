import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { PoolChart } from '~/components/charts/PoolChart';
import { EmptyState } from '~/components/EmptyState';
import { Freshness } from '~/components/Freshness';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell } from '~/components/Shell';
import { formatGpus, formatInteger, formatPercent, formatPeriod, formatUsd } from '~/lib/format';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { loadPoolDetail } from '~/services/dashboard/pools.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Pool ${data?.pool.name ?? ''} · Breakeven` }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const ctx = viewerContext(request);
  const name = params.name ?? '';
  const gpuType = ctx.url.searchParams.get('gpuType');
  const view = name.length <= 200 ? await loadPoolDetail(db(), { name, period: ctx.period, gpuType: gpuType && gpuType.length <= 100 ? gpuType : null, timeZone: ctx.timeZone }) : null;
  if (!view) throw new Response(`No pool “${name.slice(0, 100)}”. Pick one from the pools list.`, { status: 404, statusText: 'Not Found' });
  return { ...view, computedAt: view.computedAt.toISOString(), period: periodView(ctx.period), periodQuery: ctx.periodQuery, timeZone: ctx.timeZone };
}

const cents = (c: number) => formatUsd(c / 100);

export default function Pool() {
  const v = useLoaderData<typeof loader>();
  const q = v.periodQuery;
  const s = v.selected;
  return (
    <Shell
      title={`Pool ${v.pool.name}`}
      subtitle={`${v.members.length} member${v.members.length === 1 ? '' : 's'}${s ? ` · ${s.gpuType}` : ''} · ${formatPeriod(v.period.fromParam, v.period.toParam)}`}
      actions={<Link to={`/pools?${q}`}>← All pools</Link>}
      toolbar={
        <>
          <PeriodPicker period={v.period} />
          {v.types.length > 1 ? (
            <div className="chips" role="group" aria-label="GPU type">
              {v.types.map((t) => (
                <Link key={t.name} to={`?${q}&gpuType=${encodeURIComponent(t.name)}`} className={`chip ${s?.gpuType === t.name ? 'active' : ''}`}>
                  {t.name}{t.primary ? '' : ' (what if)'}
                </Link>
              ))}
            </div>
          ) : null}
        </>
      }
    >
      <Freshness computedAtLabel={v.computedAtLabel} fresh={v.fresh} timeZone={v.timeZone} />
      {!s ? (
        <EmptyState title="No usage in this period">
          <p>No member of {v.pool.name} has usage that could be priced between {formatPeriod(v.period.fromParam, v.period.toParam)}. Pick another period.</p>
        </EmptyState>
      ) : (
        <>
          <section className="tiles" aria-label="Pool figures">
            <div className="tile scenario sc-current">
              <div className="tile-label">Today</div>
              <div className="tile-value"><Money usd={s.baselineUsd} /></div>
              <div className="tile-note">{s.current ? `${s.current.gpus} GPUs reserved · fill ${formatPercent(s.current.fill)}` : 'no pool reservation'}</div>
            </div>
            <div className="tile scenario sc-recommended">
              <div className="tile-label">Pooled optimum</div>
              <div className="tile-value"><Money usd={s.best?.cost_usd ?? null} /></div>
              <div className="tile-note">{s.best ? `${s.best.gpus} × ${s.gpuType} · ${s.change?.label ?? ''}` : 'no reserved offer'}</div>
            </div>
            <div className="tile">
              <div className="tile-label">Members reserving alone</div>
              <div className="tile-value"><Money usd={s.aggregation?.members_optimum_usd ?? null} /></div>
              <div className="tile-note">Σ of each member’s own optimum</div>
            </div>
            <div className="tile saving">
              <div className="tile-label">Aggregation saving</div>
              <div className="tile-value">
                <Money usd={s.aggregation?.saving_usd ?? null} formula={s.aggregation ? `${formatUsd(s.aggregation.members_optimum_usd)} − ${formatUsd(s.aggregation.pooled_optimum_usd)}` : undefined} />
              </div>
              <div className="tile-note">{s.aggregation && s.aggregation.members_optimum_usd > 0 ? formatPercent(s.aggregation.saving_usd / s.aggregation.members_optimum_usd) : '—'} less by pooling</div>
            </div>
          </section>

          <div className="grid-2">
            <Card
              title="Pooled against separate optima"
              subtitle="Each member at its own optimum, stacked, beside the pool at its optimum"
              actions={<CsvLink href={`/exports/recommendations.csv?${q}&pool=${encodeURIComponent(v.pool.name)}`} />}
            >
              {s.aggregation ? (
                <>
                  <PoolChart data={s.chart} members={s.aggregation.members.map((m) => m.customer)} summary={`Separately ${formatUsd(s.aggregation.members_optimum_usd)}, pooled ${formatUsd(s.aggregation.pooled_optimum_usd)}.`} />
                  <TableScroll label="Separate optima">
                    <table>
                      <thead>
                        <tr><th scope="col">Member</th><th scope="col">Offer</th><th scope="col" className="num">GPUs alone</th><th scope="col" className="num">Cost alone</th></tr>
                      </thead>
                      <tbody>
                        {s.aggregation.members.map((m) => (
                          <tr key={m.customer}>
                            <th scope="row"><Link to={`/customers/${m.customer}?${q}&gpuType=${s.gpuType}`}>{m.customer}</Link></th>
                            <td>{m.provider ?? '—'}</td>
                            <td className="num">{m.gpus}</td>
                            <td className="num"><Money usd={m.cost_usd} /></td>
                          </tr>
                        ))}
                      </tbody>
                      <tfoot>
                        <tr><th scope="row">Separately</th><td /><td className="num">{s.aggregation.members.reduce((a, m) => a + m.gpus, 0)}</td><td className="num"><Money usd={s.aggregation.members_optimum_usd} /></td></tr>
                        <tr><th scope="row">Pooled</th><td>{s.best?.provider ?? '—'}</td><td className="num">{s.aggregation.pooled_gpus}</td><td className="num"><Money usd={s.aggregation.pooled_optimum_usd} /></td></tr>
                      </tfoot>
                    </table>
                  </TableScroll>
                </>
              ) : (
                <p className="muted">No aggregation: the pool has no members with usage on {s.gpuType}.</p>
              )}
            </Card>

            <Card
              title="Showback"
              subtitle={s.showback ? `The ${s.showback.basis} reservation of ${s.showback.gpus} GPUs split to members: used capacity by each hour’s demand, idle capacity by demand over the period` : 'Reserved cost split to members'}
              actions={<CsvLink href={`/exports/recommendations.csv?${q}&pool=${encodeURIComponent(v.pool.name)}`} />}
            >
              {s.showback ? (
                <TableScroll label="Showback">
                  <table>
                    <thead>
                      <tr><th scope="col">Member</th><th scope="col" className="num">Used</th><th scope="col" className="num">Idle share</th><th scope="col" className="num">Total</th><th scope="col" className="num">Share</th></tr>
                    </thead>
                    <tbody>
                      {s.showback.customers.map((c) => (
                        <tr key={c.customer}>
                          <th scope="row">{c.customer}</th>
                          <td className="num">{cents(c.used_cents)}</td>
                          <td className="num">{cents(c.idle_cents)}</td>
                          <td className="num strong">{cents(c.total_cents)}</td>
                          <td className="num">{formatPercent(s.showback!.total_cents ? c.total_cents / s.showback!.total_cents : null)}</td>
                        </tr>
                      ))}
                    </tbody>
                    <tfoot>
                      <tr>
                        <th scope="row">Pool total</th>
                        <td className="num">{cents(s.showback.used_cents)}</td>
                        <td className="num">{cents(s.showback.idle_cents)}</td>
                        <td className="num strong" title="round(total × 100) cents; members’ totals add up to it exactly (largest remainder)">{cents(s.showback.total_cents)}</td>
                        <td className="num">100.0 %</td>
                      </tr>
                    </tfoot>
                  </table>
                </TableScroll>
              ) : (
                <p className="muted">The pool holds no reservation and none is recommended, so there is nothing to split.</p>
              )}
            </Card>
          </div>

          <Card
            title="Members"
            subtitle={`Demand and cost on ${s.gpuType}, each alone`}
            actions={<CsvLink href={`/exports/customers.csv?${q}&q=${encodeURIComponent(v.pool.name)}`} />}
          >
            <TableScroll label="Members">
              <table>
                <thead>
                  <tr><th scope="col">Customer</th><th scope="col">Runs on</th><th scope="col" className="num">Demand</th><th scope="col" className="num">API</th><th scope="col" className="num">On-demand</th></tr>
                </thead>
                <tbody>
                  {v.members.map((m) => (
                    <tr key={m.slug}>
                      <th scope="row"><Link to={`/customers/${m.slug}?${q}`}>{m.name}</Link><div className="sub">{m.slug}</div></th>
                      <td>{m.primaryType ?? '—'}</td>
                      <td className="num">{formatInteger(m.demandGpuHours)} GPU-h</td>
                      <td className="num"><Money usd={m.apiUsd} /></td>
                      <td className="num"><Money usd={m.onDemandUsd} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
            <p className="footnote">
              Pooled demand D(h) = Σ members’ d(h): mean {formatGpus(s.demand.mean_gpus)}, peak {formatGpus(s.demand.peak_gpus)} GPUs
              {s.stability ? `; the optimum week by week: ${s.stability.min_gpus}–${s.stability.max_gpus}` : ''}
              {s.recent?.flagged ? `; the last ${s.recent.hours} h support only ${s.recent.gpus}` : ''}.
            </p>
          </Card>
        </>
      )}
    </Shell>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Pool" back={{ to: '/pools', label: 'Back to pools' }} />;
}
