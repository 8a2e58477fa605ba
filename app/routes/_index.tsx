import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import { Shell } from '~/components/Shell';
import { formatCompact, formatDay, formatGpuHours, formatInteger, formatPercent } from '~/lib/format';
import { requireUser } from '~/services/auth.server';
import { loadOverview } from '~/services/overview.server';

export const meta: MetaFunction = () => [{ title: 'Overview · Breakeven' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  return loadOverview();
}

export default function Overview() {
  const summary = useLoaderData<typeof loader>();
  if (summary.customers === 0) {
    return (
      <Shell title="Overview">
        <section className="empty">
          <h2>No customers yet</h2>
          <p>Add customers with <code>breakeven customers add SLUG</code>, or fill a demo with <code>breakeven seed demo</code>.</p>
        </section>
      </Shell>
    );
  }
  const utilization = summary.gpuHours > 0 ? summary.busyGpuHours / summary.gpuHours : null;
  return (
    <Shell title="Overview">
      <p className="period">
        Data from {summary.from ? formatDay(summary.from) : '—'} to {summary.to ? formatDay(summary.to) : '—'} (UTC)
      </p>
      <section className="tiles" aria-label="Fleet totals">
        <Tile label="Customers" value={formatInteger(summary.customers)} note={`${summary.pools} pools`} />
        <Tile label="GPU-hours held" value={formatGpuHours(summary.gpuHours)} note={`busy ${formatPercent(utilization)}`} />
        <Tile label="Tokens" value={formatCompact(summary.inputTokens + summary.outputTokens)} note={`${formatCompact(summary.outputTokens)} output`} />
        <Tile label="Requests" value={formatCompact(summary.requests)} />
      </section>
    </Shell>
  );
}

function Tile({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div className="tile">
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {note ? <div className="tile-note">{note}</div> : null}
    </div>
  );
}
