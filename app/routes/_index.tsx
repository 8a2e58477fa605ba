import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { DailyCostChart } from '~/components/charts/DailyCostChart';
import { EmptyState } from '~/components/EmptyState';
import { Freshness } from '~/components/Freshness';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { SCENARIO_LABEL, type ScenarioKey } from '~/components/scenario';
import { Shell } from '~/components/Shell';
import { formatCompact, formatGpuHours, formatHours, formatInteger, formatPercent, formatPeriod, formatRate, formatUsd, savingTone } from '~/lib/format';
import { requireUser } from '~/services/auth.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';
import { db } from '~/lib/db.server';
import { loadOverview } from '~/services/overview.server';

export const meta: MetaFunction = () => [{ title: 'Overview · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const now = new Date();
  const ctx = viewerContext(request, now);
  const overview = await loadOverview(db(), { period: ctx.period, now, timeZone: ctx.timeZone });
  return { ...overview, period: periodView(ctx.period), periodQuery: ctx.periodQuery, timeZone: ctx.timeZone };
}

const BASIS_LABEL = { current: 'reserved', api: 'API', on_demand: 'on-demand' } as const;

export default function Overview() {
  const o = useLoaderData<typeof loader>();
  const t = o.totals;
  const periodLabel = formatPeriod(o.period.fromParam, o.period.toParam);
  if (o.counts.customers === 0) {
    return (
      <Shell title="Overview">
        <EmptyState title="No customers yet">
          <p>
            Add customers with <code>breakeven customers add SLUG</code>, import usage on the <Link to="/ingestion">Ingestion</Link> page, or fill a demo
            with <code>breakeven seed demo</code>.
          </p>
        </EmptyState>
      </Shell>
    );
  }
  const q = o.periodQuery;
  const tile = (key: ScenarioKey, usd: number, note: string, formula: string) => (
    <div className={`tile scenario sc-${key}`}>
      <div className="tile-label">{SCENARIO_LABEL[key]}</div>
      <div className="tile-value">
        <Money usd={usd} formula={formula} />
      </div>
      <div className="tile-note">{note}</div>
    </div>
  );
  const utilization = t.gpuHours > 0 ? t.busyGpuHours / t.gpuHours : null;
  return (
    <Shell
      title="Overview"
      subtitle={`${periodLabel} · ${formatInteger(o.hours)} hours, UTC days`}
      toolbar={<PeriodPicker period={o.period} />}
      actions={<CsvLink href={`/exports/focus.csv?${q}`} label="FOCUS 1.2 CSV" />}
    >
      <Freshness computedAtLabel={o.computedAtLabel} fresh={o.fresh} timeZone={o.timeZone} />
      {o.skipped.length > 0 ? (
        <div className="alert warn" role="status">
          <strong>{o.skipped.length} scope{o.skipped.length === 1 ? '' : 's'} could not be priced</strong> and are left out of the totals:{' '}
          {o.skipped.slice(0, 3).map((s) => `${s.scope} on ${s.gpuType} (${s.reason})`).join('; ')}
          {o.skipped.length > 3 ? '…' : ''} <Link to="/prices">Check the price books</Link>.
        </div>
      ) : null}
      {t.customersWithData === 0 ? (
        <EmptyState title="No usage in this period">
          <p>
            None of the {formatInteger(o.counts.customers)} customers has GPU telemetry or token usage between {periodLabel}. Pick another period above, or
            bring data in on the <Link to="/ingestion">Ingestion</Link> page.
          </p>
        </EmptyState>
      ) : (
        <>
          <section className="tiles scenarios" aria-label="Cost of the period under each scenario">
            {tile('current', t.currentUsd, 'what the fleet pays today', 'CURRENT = Σ units: a pool’s shared reservation, else each customer’s reservations, else the API (no telemetry) or on-demand GPUs')}
            {tile('api', t.apiUsd, `all ${formatInteger(t.customersWithData)} customers on the API`, 'API = Σ_customers Σ_h api(h): every token at the API price in force that hour')}
            {tile('on_demand', t.onDemandUsd, t.onDemandMissing ? `${t.onDemandMissing} without an on-demand price` : 'every GPU-hour rented on demand', 'ON_DEMAND = Σ_customers Σ_h d(h)·o(h)')}
            {tile('recommended', t.recommendedUsd, 'pools and customers at their optimum', 'RESERVED = Σ units RESERVED(N*) = N*·r·H + Σ_h overflow(h, N*)')}
            <div className="tile saving">
              <div className="tile-label">Saving available</div>
              <div className="tile-value">
                <Money usd={t.savingAvailableUsd} formula="Σ over pools and customers where the recommendation is cheaper: CURRENT − RESERVED(N*)" />
              </div>
              <div className="tile-note">
                {formatPercent(t.currentUsd > 0 ? t.savingAvailableUsd / t.currentUsd : null)} of today’s cost · {t.unitsSaving} of {t.units} pools and customers
              </div>
            </div>
          </section>

          <section className="tiles fleet" aria-label="Fleet totals">
            <Tile label="Customers" value={formatInteger(o.counts.customers)} note={`${o.counts.pools} pools · ${t.customersWithData} with data`} />
            <Tile label="GPU-hours held" value={formatGpuHours(t.gpuHours)} note={`busy ${formatPercent(utilization)}`} />
            <Tile label="Tokens" value={formatCompact(t.inputTokens + t.outputTokens)} note={`${formatCompact(t.outputTokens)} output · ${formatCompact(t.requests)} requests`} />
            <Tile
              label="Fleet fill"
              value={formatPercent(t.currentFill.fill)}
              note={t.currentFill.reserved_gpu_hours > 0 ? `idle cost ${formatUsd(t.currentFill.idle_usd)} of ${formatGpuHours(t.currentFill.reserved_gpu_hours)} reserved` : 'no reservation in the period'}
              title="fill = Σ_h min(d(h), N(h)) ÷ Σ_h N(h) over the reservations in force; idle cost = Σ_h usd(h)·(N − min(d, N)) ÷ N"
            />
            <Tile
              label="Recommended fill"
              value={formatPercent(t.recommendedFill.fill)}
              note={t.recommendedFill.reserved_gpu_hours > 0 ? `idle cost ${formatUsd(t.recommendedFill.idle_usd)}` : 'nothing to reserve'}
              title="fill(N*) = Σ_h min(d(h), N*) ÷ (N*·H), over the recommended reservations"
            />
          </section>

          <Card
            title="Daily cost"
            subtitle="Today’s spend, stacked by its largest pools and customers, against what the same days cost on each alternative"
            actions={<CsvLink href={`/exports/costs.csv?${q}`} />}
          >
            <DailyCostChart
              data={o.chart}
              series={o.series}
              summary={`Daily cost over ${periodLabel}: today ${formatUsd(t.currentUsd)}, API ${formatUsd(t.apiUsd)}, on-demand ${formatUsd(t.onDemandUsd)}, recommended ${formatUsd(t.recommendedUsd)}.`}
            />
          </Card>

          <div className="grid-2">
            <Card
              title="Largest savings"
              subtitle="Each customer reserving on its own, against what it pays today"
              actions={<CsvLink href={`/exports/customers.csv?${q}&sort=-saving`} />}
            >
              {o.topSavings.length === 0 ? (
                <p className="muted">No customer would save by reserving in this period.</p>
              ) : (
                <TableScroll label="Largest savings">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Customer</th>
                        <th scope="col" className="num">Today</th>
                        <th scope="col" className="num">Reserve</th>
                        <th scope="col" className="num">Saving</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.topSavings.map((c) => (
                        <tr key={c.slug}>
                          <td>
                            <Link to={`/customers/${c.slug}?${q}`}>{c.name}</Link>
                            <div className="sub">{c.pool ? `pool ${c.pool} · ` : ''}{c.gpuType}</div>
                          </td>
                          <td className="num">
                            <Money usd={c.baselineUsd} />
                            <div className="sub">{BASIS_LABEL[c.baseline]}</div>
                          </td>
                          <td className="num">
                            {c.recommendedGpus === 0 ? 'none' : `${c.recommendedGpus} × ${c.gpuType}`}
                            <div className="sub">{c.recommendedGpus === 0 ? `on-demand ${c.gpuType}` : c.change}</div>
                          </td>
                          <td className="num good">
                            <Money usd={c.savingUsd} formula={`${formatUsd(c.baselineUsd)} today − ${formatUsd(c.recommendedUsd ?? 0)} reserved`} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableScroll>
              )}
            </Card>

            <Card
              title="Reservations ending within 30 days"
              subtitle={o.expiringCount > o.expiring.length ? `The first ${o.expiring.length} of ${o.expiringCount}` : undefined}
              actions={<CsvLink href={`/exports/reservations.csv?${q}`} />}
            >
              {o.expiring.length === 0 ? (
                <p className="muted">
                  No reservation ends in the next 30 days. <Link to="/reservations">All reservations</Link>
                </p>
              ) : (
                <TableScroll label="Reservations ending soon">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">For</th>
                        <th scope="col" className="num">GPUs</th>
                        <th scope="col">Ends</th>
                        <th scope="col">At renewal</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.expiring.map((r) => (
                        <tr key={r.id}>
                          <td>
                            {r.customer ? <Link to={`/customers/${r.customer}?${q}`}>{r.customer}</Link> : <Link to={`/pools/${r.pool}?${q}`}>pool {r.pool}</Link>}
                            <div className="sub">{r.provider} · {formatRate(r.usdPerGpuHour)}/GPU-h</div>
                          </td>
                          <td className="num">{r.gpus} × {r.gpuType}</td>
                          <td>
                            <span className={`badge ${r.daysLeft <= 14 ? 'badge-warn' : ''}`}>in {r.daysLeft} d</span>
                            <div className="sub">{r.endsLabel}</div>
                          </td>
                          <td>{r.recommendation ? <>{r.recommendation.gpus} GPUs <span className="sub">({r.recommendation.change})</span></> : '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableScroll>
              )}
            </Card>
          </div>

          <div className="grid-2">
            <Card
              title="Pools"
              subtitle={o.poolCount > o.pools.length ? `The ${o.pools.length} of ${o.poolCount} that gain most from reserving together` : 'Reserving together against each member reserving alone'}
              actions={
                <>
                  <Link to={`/pools?${q}`}>All pools</Link>
                  <CsvLink href={`/exports/recommendations.csv?${q}`} />
                </>
              }
            >
              {o.pools.length === 0 ? (
                <p className="muted">No pools. A customer joins one with <code>breakeven customers add SLUG --pool NAME</code>.</p>
              ) : (
                <TableScroll label="Pools">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Pool</th>
                        <th scope="col" className="num">Members</th>
                        <th scope="col" className="num">Now → rec.</th>
                        <th scope="col" className="num">Aggregation saving</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.pools.map((p) => (
                        <tr key={p.name}>
                          <td>
                            <Link to={`/pools/${p.name}?${q}`}>{p.name}</Link>
                            <div className="sub">{p.gpuType ?? 'no data'}</div>
                          </td>
                          <td className="num">{p.members}</td>
                          <td className="num">{p.gpuType ? `${p.currentGpus ?? 0} → ${p.recommendedGpus ?? '—'}` : '—'}</td>
                          <td className={`num ${savingTone(p.aggregationSavingUsd)}`}>
                            <Money
                              usd={p.aggregationSavingUsd}
                              formula={p.separateUsd !== null && p.pooledUsd !== null ? `Σ members’ optima ${formatUsd(p.separateUsd)} − pooled optimum ${formatUsd(p.pooledUsd)}` : undefined}
                            />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableScroll>
              )}
            </Card>

            <Card
              title="Ingestion health"
              actions={
                <>
                  <Link to="/ingestion">Ingestion</Link>
                  <CsvLink href={`/exports/customers.csv?${q}&sort=-hours_without_data`} label="Gaps CSV" />
                </>
              }
            >
              {o.health.length === 0 ? (
                <p className="muted">
                  Nothing has been imported or pulled yet. Upload a file or add a source on the <Link to="/ingestion">Ingestion</Link> page.
                </p>
              ) : (
                <TableScroll label="Sources">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Source</th>
                        <th scope="col">Last run</th>
                        <th scope="col" className="num">Stored</th>
                        <th scope="col" className="num">Rejected</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.health.map((h) => (
                        <tr key={`${h.name}-${h.runId ?? 'none'}`}>
                          <td>
                            {h.name}
                            <div className="sub">{h.kind}{h.enabled ? '' : ' · disabled'}</div>
                          </td>
                          <td>
                            <span className={`badge ${h.status === 'failed' ? 'badge-bad' : h.status === 'succeeded' ? 'badge-good' : ''}`}>{h.status ?? 'never run'}</span>
                            <div className="sub" title={h.error ?? undefined}>{h.lastRun ?? '—'}</div>
                          </td>
                          <td className="num">{h.stored === null ? '—' : formatInteger(h.stored)}</td>
                          <td className="num">{h.rejected === null ? '—' : formatInteger(h.rejected)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableScroll>
              )}
              <h3 className="subhead">Hours without data</h3>
              {o.gaps.length === 0 ? (
                <p className="muted">Every customer with usage has data for every hour of the period.</p>
              ) : (
                <ul className="gap-list">
                  {o.gaps.slice(0, 6).map((g) => (
                    <li key={g.slug}>
                      <Link to={`/customers/${g.slug}?${q}`}>{g.slug}</Link>
                      <span className="num">{formatHours(g.hours)}</span>
                      <span className="bar" aria-hidden="true"><span className={`bar-fill w-${Math.min(10, Math.max(1, Math.round(g.share * 10)))}`} /></span>
                      <span className="sub">{formatPercent(g.share)}</span>
                    </li>
                  ))}
                  {o.gapCount > o.gaps.length ? (
                    <li className="sub">
                      and {o.gapCount - o.gaps.length} more: sort <Link to={`/customers?${q}&sort=-hours_without_data`}>customers by hours without data</Link>
                    </li>
                  ) : null}
                </ul>
              )}
            </Card>
          </div>
        </>
      )}
    </Shell>
  );
}

function Tile({ label, value, note, title }: { label: string; value: string; note?: string; title?: string }) {
  return (
    <div className="tile" title={title}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {note ? <div className="tile-note">{note}</div> : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Overview" back={{ to: '/', label: 'Try the overview again' }} />;
}
