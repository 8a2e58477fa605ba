import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { EmptyState } from '~/components/EmptyState';
import { Freshness } from '~/components/Freshness';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell } from '~/components/Shell';
import { formatPercent, formatPeriod, formatUsd, savingTone } from '~/lib/format';
import { formatInstantIn } from '~/lib/time-zone';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { loadPoolsList } from '~/services/dashboard/pools.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction = () => [{ title: 'Pools · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const ctx = viewerContext(request);
  const list = await loadPoolsList(db(), ctx.period);
  return {
    ...list,
    computedAt: list.computedAt.toISOString(),
    computedAtLabel: formatInstantIn(list.computedAt, ctx.timeZone),
    period: periodView(ctx.period),
    periodQuery: ctx.periodQuery,
    timeZone: ctx.timeZone,
  };
}

export default function Pools() {
  const v = useLoaderData<typeof loader>();
  const q = v.periodQuery;
  return (
    <Shell title="Pools" subtitle={`Customers who share reserved GPUs · ${formatPeriod(v.period.fromParam, v.period.toParam)}`} toolbar={<PeriodPicker period={v.period} />}>
      <Freshness computedAtLabel={v.computedAtLabel} fresh={v.fresh} timeZone={v.timeZone} />
      {v.pools.length === 0 ? (
        <EmptyState title="No pools yet">
          <p>A pool is a set of customers that share reserved GPUs. Put a customer in one with <code>breakeven customers add SLUG --pool NAME</code> or a customers CSV.</p>
        </EmptyState>
      ) : (
        <Card title="Pooled against separate" subtitle="Demand adds up before the optimum is taken: that is where pooling raises utilization" actions={<CsvLink href={`/exports/recommendations.csv?${q}`} />}>
          <TableScroll label="Pools">
            <table>
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col">Members</th>
                  <th scope="col" className="num">Reserved now</th>
                  <th scope="col" className="num">Current cost</th>
                  <th scope="col" className="num">Recommended</th>
                  <th scope="col" className="num">Pooled cost</th>
                  <th scope="col" className="num">Members alone</th>
                  <th scope="col" className="num">Aggregation saving</th>
                  <th scope="col" className="num">Fill</th>
                </tr>
              </thead>
              <tbody>
                {v.pools.map((p) => (
                  <tr key={p.name}>
                    <th scope="row"><Link to={`/pools/${p.name}?${q}`}>{p.name}</Link><div className="sub">{p.gpuType ?? 'no data in the period'}</div></th>
                    <td className="wrap">{p.members.join(', ') || '—'}</td>
                    <td className="num">{p.currentGpus ?? '—'}</td>
                    <td className="num"><Money usd={p.currentUsd} /></td>
                    <td className="num">{p.recommendedGpus ?? '—'}</td>
                    <td className="num"><Money usd={p.recommendedUsd} /></td>
                    <td className="num"><Money usd={p.separateUsd} /></td>
                    <td className={`num ${savingTone(p.aggregationSavingUsd)}`}>
                      <Money usd={p.aggregationSavingUsd} formula={p.separateUsd !== null && p.recommendedUsd !== null ? `${formatUsd(p.separateUsd)} − ${formatUsd(p.recommendedUsd)}` : undefined} />
                    </td>
                    <td className="num">{formatPercent(p.fill)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </Card>
      )}
    </Shell>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Pools" back={{ to: '/', label: 'Back to the overview' }} />;
}
