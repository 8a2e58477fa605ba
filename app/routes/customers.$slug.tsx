import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { CostCurveChart } from '~/components/charts/CostCurveChart';
import { DemandChart } from '~/components/charts/DemandChart';
import { TokensChart } from '~/components/charts/TokensChart';
import { EmptyState } from '~/components/EmptyState';
import { Freshness } from '~/components/Freshness';
import { Heatmap } from '~/components/Heatmap';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell } from '~/components/Shell';
import {
  formatCompact,
  formatDecimal1,
  formatGpus,
  formatInteger,
  formatPercent,
  formatPeriod,
  formatRate,
  formatUsd,
  savingTone,
} from '~/lib/format';
import { formatInstantIn } from '~/lib/time-zone';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { loadCustomerDetail } from '~/services/dashboard/customer.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.customer.name ?? 'Customer'} · Breakeven` }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const ctx = viewerContext(request);
  const slug = params.slug ?? '';
  const gpuType = ctx.url.searchParams.get('gpuType');
  const view = /^[a-z0-9][a-z0-9-]{0,99}$/.test(slug)
    ? await loadCustomerDetail(db(), { slug, period: ctx.period, gpuType: gpuType && gpuType.length <= 100 ? gpuType : null, timeZone: ctx.timeZone })
    : null;
  if (!view) throw new Response(`No customer “${slug.slice(0, 100)}”. Pick one from the customers list.`, { status: 404, statusText: 'Not Found' });
  return {
    ...view,
    computedAt: view.computedAt.toISOString(),
    computedAtLabel: formatInstantIn(view.computedAt, ctx.timeZone),
    period: periodView(ctx.period),
    periodQuery: ctx.periodQuery,
  };
}

const SCENARIO_CLASS = { api: 'sc-api', on_demand: 'sc-on_demand', current: 'sc-current', recommended: 'sc-recommended' } as const;

export default function Customer() {
  const v = useLoaderData<typeof loader>();
  const q = v.periodQuery;
  const periodLabel = formatPeriod(v.period.fromParam, v.period.toParam);
  const s = v.selected;
  const typeChips =
    v.types.length > 1 ? (
      <div className="chips" role="group" aria-label="GPU type">
        {v.types.map((t) => (
          <Link key={t.name} to={`?${q}&gpuType=${encodeURIComponent(t.name)}`} className={`chip ${s?.gpuType === t.name ? 'active' : ''}`} aria-current={s?.gpuType === t.name ? 'true' : undefined}>
            {t.name}
            {t.primary ? ' (runs on)' : ' (what if)'}
          </Link>
        ))}
      </div>
    ) : null;
  return (
    <Shell
      title={v.customer.name}
      subtitle={
        <>
          {v.customer.slug}
          {v.customer.pool ? <> · pool <Link to={`/pools/${v.customer.pool}?${q}`}>{v.customer.pool}</Link></> : ' · stands alone'}
          {s ? ` · ${s.gpuType}` : ''} · {periodLabel}
        </>
      }
      actions={<Link to={`/customers?${q}`}>← All customers</Link>}
      toolbar={
        <>
          <PeriodPicker period={v.period} />
          {typeChips}
        </>
      }
    >
      <Freshness computedAtLabel={v.computedAtLabel} fresh={v.fresh} timeZone={v.timeZone} />
      {v.skipped.length > 0 ? (
        <div className="alert warn" role="status">
          Not priced: {v.skipped.map((x) => `${x.gpuType} (${x.reason})`).join('; ')}. <Link to="/prices">Check the price books</Link>.
        </div>
      ) : null}
      {!s ? (
        <EmptyState title="No usage in this period">
          <p>
            {v.customer.name} has no GPU telemetry and no token usage between {periodLabel}. Pick another period above, or import its usage on the{' '}
            <Link to="/ingestion">Ingestion</Link> page.
          </p>
        </EmptyState>
      ) : (
        <>
          <Recommendation v={v} />

          <Card
            title="Scenarios"
            subtitle={`What ${formatInteger(v.hours)} hours of this usage cost each way; today it pays ${s.baseline.label}.`}
            actions={<CsvLink href={`/exports/costs.csv?${q}&customer=${v.customer.slug}`} label="Daily CSV" />}
          >
            <TableScroll label="Scenario costs">
              <table className="scenario-table">
                <thead>
                  <tr>
                    <th scope="col">Scenario</th>
                    <th scope="col" className="num">Cost</th>
                    <th scope="col" className="num">Against today</th>
                    <th scope="col">How it is computed</th>
                  </tr>
                </thead>
                <tbody>
                  {s.scenarios.map((line) => (
                    <tr key={line.key} className={line.key === s.baseline.key ? 'is-baseline' : undefined}>
                      <th scope="row">
                        <span className={`swatch ${SCENARIO_CLASS[line.key]}`} aria-hidden="true" />
                        {line.label}
                        {line.key === s.baseline.key ? <span className="badge">today</span> : null}
                      </th>
                      <td className="num strong">
                        <Money usd={line.usd} formula={`${line.formula}. ${line.detail}`} />
                      </td>
                      <td className={`num ${savingTone(line.saving_usd)}`}>
                        {line.key === s.baseline.key ? '—' : <Money usd={line.saving_usd} signed />}
                      </td>
                      <td className="formula">
                        <code>{line.formula}</code>
                        <div className="sub">{line.detail}</div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
            <p className="footnote">
              d(h) = busy GPU-seconds ÷ 3600 ÷ {formatPercent(s.document.targetUtilization)} where telemetry exists ({formatInteger(s.document.hoursFromTelemetry)} h), else
              tokens through the capacity profiles ({formatInteger(s.document.hoursFromTokens)} h); {formatInteger(s.document.demand.hours_without_data)} h without data count as 0.
              Prices: {s.document.priceBooks.map((b) => `${b.name} (${formatInteger(b.hours)} h)`).join(', ')}.
            </p>
          </Card>

          <Card
            title="Hourly demand"
            subtitle={
              s.demandChart.bucketHours > 1
                ? `GPUs needed at the target utilization, mean and peak of each ${s.demandChart.bucketHours} hours, in ${v.timeZone}`
                : `GPUs needed each hour at the target utilization, in ${v.timeZone}`
            }
          >
            <DemandChart
              series={s.demandChart}
              recommendedGpus={s.demandChart.recommendedGpus}
              timeZone={v.timeZone}
              summary={`Demand: mean ${formatGpus(s.document.demand.mean_gpus)} GPUs, p95 ${formatGpus(s.document.demand.p95_gpus)}, peak ${formatGpus(s.document.demand.peak_gpus)}; recommended ${s.demandChart.recommendedGpus ?? 0} GPUs.`}
            />
            <dl className="stats">
              <div><dt>Mean</dt><dd>{formatGpus(s.document.demand.mean_gpus)}</dd></div>
              <div><dt>Median</dt><dd>{formatGpus(s.document.demand.p50_gpus)}</dd></div>
              <div><dt>p95</dt><dd>{formatGpus(s.document.demand.p95_gpus)}</dd></div>
              <div><dt>Peak</dt><dd>{formatGpus(s.document.demand.peak_gpus)}</dd></div>
              <div><dt>Hours without data</dt><dd className={s.document.demand.hours_without_data ? 'warn' : ''}>{formatInteger(s.document.demand.hours_without_data)}</dd></div>
            </dl>
          </Card>

          <div className="grid-2">
            <Card
              title="Cost against GPUs reserved"
              subtitle="RESERVED(N) for the best offer; the risk levels marked"
              actions={<CsvLink href={`/exports/recommendations.csv?${q}&customer=${v.customer.slug}`} />}
            >
              {s.curve.points.length > 0 ? (
                <>
                  <CostCurveChart
                    points={s.curve.points}
                    markers={s.curve.markers}
                    currentGpus={s.curve.currentGpus}
                    apiUsd={s.curve.apiUsd}
                    summary={`Cost curve over ${s.curve.points.length} reservation sizes; optimum ${s.document.best?.gpus ?? 0} GPUs at ${formatUsd(s.document.best?.cost_usd ?? 0)}.`}
                  />
                  <TableScroll label="Risk levels">
                    <table>
                      <thead>
                        <tr><th scope="col">Risk level</th><th scope="col" className="num">GPUs</th><th scope="col" className="num">Cost</th><th scope="col">Meaning</th></tr>
                      </thead>
                      <tbody>
                        {s.curve.markers.map((m) => (
                          <tr key={m.key}>
                            <th scope="row">{m.label}</th>
                            <td className="num">{m.gpus}</td>
                            <td className="num"><Money usd={m.cost} formula={`RESERVED(${m.gpus})`} /></td>
                            <td className="sub wrap">
                              {m.key === 'floor' ? 'never idle: the lowest hourly demand, rounded down to a block' : m.key === 'balanced' ? 'the knee: the next block saves < 40 % of what the first saved' : 'the lowest cost'}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </TableScroll>
                </>
              ) : (
                <p className="muted">No reserved offer of {s.gpuType} is in force for the whole period, so there is nothing to reserve. <Link to="/prices">Prices</Link></p>
              )}
            </Card>

            <Card title="Offers compared" subtitle="Each reserved offer at its own optimum" actions={<CsvLink href={`/exports/prices.csv`} label="Prices CSV" />}>
              {s.document.offers.length === 0 ? (
                <p className="muted">No reserved offer in force for the whole period.</p>
              ) : (
                <TableScroll label="Offers">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Offer</th>
                        <th scope="col" className="num">Rate</th>
                        <th scope="col" className="num">N*</th>
                        <th scope="col" className="num">Cost</th>
                        <th scope="col" className="num">Fill</th>
                        <th scope="col" className="num">Break-even</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.document.offers.map((o) => {
                        const best = s.document.best && o.provider === s.document.best.provider && o.term_days === s.document.best.term_days && o.block_size === s.document.best.block_size;
                        return (
                          <tr key={`${o.provider}-${o.term_days}-${o.block_size}`} className={best ? 'is-best' : undefined}>
                            <th scope="row">
                              {o.provider}
                              <div className="sub">{o.term_days}-day, blocks of {o.block_size}{best ? ' · best' : ''}</div>
                            </th>
                            <td className="num">{o.usd_per_gpu_hour === null ? '—' : formatRate(o.usd_per_gpu_hour)}</td>
                            <td className="num">{o.gpus}</td>
                            <td className="num"><Money usd={o.cost_usd} formula={`idle cost ${formatUsd(o.idle_cost_usd)}`} /></td>
                            <td className="num">{formatPercent(o.fill)}</td>
                            <td className="num">{formatPercent(o.break_even_fill)}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </TableScroll>
              )}
            </Card>
          </div>

          <Card title="Tokens by model" subtitle="Input + output tokens per UTC day" actions={<CsvLink href={`/exports/customers.csv?${q}&q=${v.customer.slug}`} />}>
            <TokensTable v={v} />
          </Card>

          <div className="grid-2">
            <Card
              title={s.heatmap.metric === 'utilization' ? 'GPU utilization by hour of week' : 'Demand by hour of week'}
              subtitle={s.heatmap.metric === 'utilization' ? `Busy ÷ held GPU time, ${v.timeZone}` : `Mean GPUs needed (no telemetry: from tokens), ${v.timeZone}`}
            >
              <Heatmap cells={s.heatmap.cells} metric={s.heatmap.metric} min={s.heatmap.min} max={s.heatmap.max} timeZone={v.timeZone} />
            </Card>
            <Card
              title="Throughput: observed against profile"
              subtitle="Where telemetry and tokens meet, how fast the GPUs really served"
              actions={<CsvLink href="/exports/prices.csv" label="Profiles CSV" />}
            >
              <Throughput v={v} />
            </Card>
          </div>

          {v.poolShare ? (
            <Card title={`Share of pool ${v.poolShare.pool}`} subtitle={`The pool’s ${v.poolShare.basis} reservation of ${v.poolShare.gpus} GPUs, split by demand`}>
              <dl className="stats">
                <div><dt>Used</dt><dd><Money usd={v.poolShare.usedCents / 100} /></dd></div>
                <div><dt>Idle share</dt><dd><Money usd={v.poolShare.idleCents / 100} /></dd></div>
                <div><dt>Total</dt><dd><Money usd={v.poolShare.totalCents / 100} /></dd></div>
                <div><dt>Of the pool’s</dt><dd>{formatPercent(v.poolShare.poolTotalCents ? v.poolShare.totalCents / v.poolShare.poolTotalCents : null)}</dd></div>
              </dl>
              <p className="footnote"><Link to={`/pools/${v.poolShare.pool}?${q}`}>The pool’s showback</Link></p>
            </Card>
          ) : null}
        </>
      )}
    </Shell>
  );
}

type View = ReturnType<typeof useLoaderData<typeof loader>>;

function Recommendation({ v }: { v: View }) {
  const s = v.selected!;
  const d = s.document;
  const b = d.best;
  if (!b) {
    return (
      <section className="callout">
        <p>No reserved offer of {s.gpuType} is in force for the whole period: nothing to recommend.</p>
      </section>
    );
  }
  const saving = s.baseline.usd - b.cost_usd;
  return (
    <section className={`callout ${d.recent?.flagged ? 'callout-warn' : ''}`} aria-label="Recommendation">
      <div className="callout-main">
        <p className="callout-kicker">Recommendation</p>
        <p className="callout-title">
          {b.gpus === 0 ? `Reserve no ${s.gpuType}` : `Reserve ${b.gpus} × ${s.gpuType}`}
          {b.gpus > 0 ? <span className="muted"> from {b.provider}, {b.term_days}-day term at {b.usd_per_gpu_hour === null ? 'a varying rate' : `${formatRate(b.usd_per_gpu_hour)}/GPU-h`}</span> : null}
        </p>
        <p>
          {saving > 0.005 ? (
            <>Saves <Money usd={saving} className="good strong" formula={`${formatUsd(s.baseline.usd)} (${s.baseline.label}) − ${formatUsd(b.cost_usd)}`} /> over the period against {s.baseline.label}.</>
          ) : (
            <>Costs <Money usd={-saving} formula={`${formatUsd(b.cost_usd)} − ${formatUsd(s.baseline.usd)}`} /> more than {s.baseline.label}: keep it.</>
          )}{' '}
          {d.change ? <span className="badge">{d.change.label}{d.current ? ' at renewal' : ''}</span> : null}
        </p>
      </div>
      <dl className="callout-facts">
        <div><dt>Fill</dt><dd>{formatPercent(b.fill)}</dd></div>
        <div><dt>Break-even fill</dt><dd title={v.overflow === 'api' ? 'r ÷ (API ÷ Σd)' : 'r ÷ o'}>{formatPercent(b.break_even_fill)}</dd></div>
        <div><dt>Idle cost</dt><dd><Money usd={b.idle_cost_usd} /></dd></div>
        <div>
          <dt>Stability</dt>
          <dd title={d.stability?.weeks.map((w) => `week from ${w.label}: ${w.gpus}`).join('; ')}>
            {d.stability ? (d.stability.min_gpus === d.stability.max_gpus ? `${d.stability.min_gpus} every week` : `${d.stability.min_gpus}–${d.stability.max_gpus} GPUs`) : '—'}
          </dd>
        </div>
        <div>
          <dt>Last {d.recent?.hours ?? 72} h</dt>
          <dd className={d.recent?.flagged ? 'bad' : ''}>{d.recent ? `${d.recent.gpus} GPUs${d.recent.flagged ? ' — recent demand no longer supports it' : ''}` : '—'}</dd>
        </div>
      </dl>
    </section>
  );
}

function TokensTable({ v }: { v: View }) {
  const models = v.tokens.models;
  if (models.length === 0) return <p className="muted">No token usage in this period.</p>;
  return (
    <>
      <TokensChart daily={v.tokens.daily} models={models.map((m) => m.model)} summary={`Tokens of ${models.length} models per day.`} />
      <TableScroll label="Tokens by model">
        <table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="num">Input</th>
              <th scope="col" className="num">of which cached</th>
              <th scope="col" className="num">cache write</th>
              <th scope="col" className="num">Output</th>
              <th scope="col" className="num">Requests</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.model}>
                <th scope="row">{m.model}</th>
                <td className="num" title={formatInteger(m.input)}>{formatCompact(m.input)}</td>
                <td className="num" title={formatInteger(m.cached)}>{formatCompact(m.cached)} <span className="sub">{formatPercent(m.input ? m.cached / m.input : null)}</span></td>
                <td className="num" title={formatInteger(m.cacheWrite)}>{formatCompact(m.cacheWrite)}</td>
                <td className="num" title={formatInteger(m.output)}>{formatCompact(m.output)}</td>
                <td className="num" title={formatInteger(m.requests)}>{formatCompact(m.requests)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </>
  );
}

function Throughput({ v }: { v: View }) {
  const t = v.selected!.throughput;
  return (
    <>
      {t.observed ? (
        <dl className="stats">
          <div><dt>Input / busy GPU-s</dt><dd>{t.observed.input === null ? '—' : formatCompact(t.observed.input)}</dd></div>
          <div><dt>Output / busy GPU-s</dt><dd>{t.observed.output === null ? '—' : formatCompact(t.observed.output)}</dd></div>
          <div>
            <dt>Profile ÷ observed</dt>
            <dd
              className={t.observed.profileOverObserved !== null && Math.abs(t.observed.profileOverObserved - 1) > 0.1 ? 'warn' : 'good'}
              title={`The profiles predict ${formatDecimal1(t.observed.profileGpuHours)} GPU-h for these tokens; ${formatDecimal1(t.observed.busyGpuHours)} busy GPU-h were measured over ${formatInteger(t.observed.hours)} h`}
            >
              {t.observed.profileOverObserved === null ? '—' : `${t.observed.profileOverObserved.toFixed(2)}×`}
            </dd>
          </div>
        </dl>
      ) : (
        <p className="muted">No hour has both telemetry and tokens, so the profiles cannot be checked against measurements.</p>
      )}
      <TableScroll label="Capacity profiles">
        <table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="num">Profile input tok/s</th>
              <th scope="col" className="num">Profile output tok/s</th>
              <th scope="col" className="num">Target util.</th>
            </tr>
          </thead>
          <tbody>
            {t.profiles.map((p) => (
              <tr key={p.model}>
                <th scope="row">{p.model}</th>
                <td className="num">{p.input === null ? <span className="warn">no profile</span> : formatInteger(p.input)}</td>
                <td className="num">{p.output === null ? '—' : formatInteger(p.output)}</td>
                <td className="num">{formatPercent(p.targetUtilization)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      <p className="footnote">
        A ratio above 1 means the profile is pessimistic (the GPUs served faster than it assumes); token-only customers’ demand follows the profile.
      </p>
    </>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Customer" back={{ to: '/customers', label: 'Back to customers' }} />;
}
