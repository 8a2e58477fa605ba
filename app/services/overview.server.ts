// The overview (/): the period's totals under each scenario, fleet fill and idle cost, daily cost, the customers
// with the largest saving, reservations ending within 30 days and ingestion health. Figures come from the cached
// fleet evaluation (app/services/dashboard/fleet.server.ts); nothing here reads hourly rows.
import type { Db } from '../../db/client.js';
import { fleetCounts } from '../../db/queries/fleet-counts.js';
import { ingestionHealth } from '../../db/queries/ingestion-health.js';
import { listReservationsWithScope } from '../../db/queries/reservation-admin.js';
import type { Period } from '../domain/period.js';
import { formatDayIn, formatInstantIn } from '../lib/time-zone.js';
import { VersionedCache } from './dashboard/cache.server.js';
import { documentKey, loadFleet } from './dashboard/fleet.server.js';
import { fleetDaily, fleetTotals } from './dashboard/fleet-totals.server.js';

const DAY_MS = 86_400_000;
/** Units drawn separately in the daily chart's stack; the rest are "Other". */
const STACKED_UNITS = 5;

export interface OverviewQuery {
  period: Period;
  now: Date;
  timeZone: string;
}

const HOUR_MS = 3_600_000;

async function buildOverview(db: Db, q: OverviewQuery) {
  const window = { from: q.period.from, to: q.period.to };
  const [counts, fleet, health, expiring] = await Promise.all([
    fleetCounts(db),
    loadFleet(db, window),
    ingestionHealth(db),
    listReservationsWithScope(db, { endingFrom: q.now, endingBefore: new Date(q.now.getTime() + 30 * DAY_MS) }),
  ]);
  const f = fleet.value;
  const totals = fleetTotals(f);
  const daily = fleetDaily(f, totals);

  // The stack: the largest spenders today, then everyone else.
  const stacked = totals.units.slice(0, STACKED_UNITS);
  const others = totals.units.slice(STACKED_UNITS);
  const series = [
    ...stacked.map((u, i) => ({ key: `s${i}`, label: u.kind === 'pool' ? `${u.name} (pool)` : u.name })),
    ...(others.length ? [{ key: 'other', label: `${others.length} other${others.length === 1 ? '' : 's'}` }] : []),
  ];
  const chart = f.days.map((day, i) => {
    const point: { day: string; [key: string]: number | string } = {
      day,
      api: daily.api[i],
      on_demand: daily.on_demand[i],
      recommended: daily.recommended[i],
      current: daily.current[i],
    };
    stacked.forEach((u, k) => (point[`s${k}`] = u.daily_current[i]));
    if (others.length) point.other = others.reduce((s, u) => s + u.daily_current[i], 0);
    return point;
  });

  const topSavings = f.customers
    .filter((c) => c.primary && c.primary.saving_usd !== null && c.primary.saving_usd >= 0.005)
    .sort((a, b) => b.primary!.saving_usd! - a.primary!.saving_usd!)
    .slice(0, 8)
    .map((c) => {
      const r = c.primary!;
      return {
        slug: c.slug,
        name: c.name,
        pool: c.pool,
        gpuType: r.gpu_type,
        baseline: r.baseline,
        baselineUsd: r.baseline_usd,
        recommendedGpus: r.recommended_gpus,
        recommendedUsd: r.recommended_usd,
        savingUsd: r.saving_usd!,
        change: r.change,
      };
    });

  const pools = f.pools.map((p) => {
    const row = p.rows.find((r) => r.primary) ?? p.rows[0];
    const doc = row ? f.documents.get(documentKey(row, row.gpu_type)) : undefined;
    return {
      name: p.name,
      members: p.members.length,
      gpuType: row?.gpu_type ?? null,
      currentGpus: row?.current_gpus ?? null,
      recommendedGpus: row?.recommended_gpus ?? null,
      aggregationSavingUsd: doc?.aggregation?.saving_usd ?? null,
      separateUsd: doc?.aggregation?.members_optimum_usd ?? null,
      pooledUsd: doc?.aggregation?.pooled_optimum_usd ?? null,
    };
  });
  // The pools that gain most from pooling; the full list is on /pools.
  const topPools = pools.sort((a, b) => (b.aggregationSavingUsd ?? -Infinity) - (a.aggregationSavingUsd ?? -Infinity) || (a.name < b.name ? -1 : 1)).slice(0, 8);

  const gaps = f.customers
    .filter((c) => c.primary && c.primary.hours_without_data > 0)
    .map((c) => ({ slug: c.slug, gpuType: c.primary!.gpu_type, hours: c.primary!.hours_without_data, share: c.primary!.hours_without_data / f.hours }))
    .sort((a, b) => b.hours - a.hours || (a.slug < b.slug ? -1 : 1));

  const recommendationFor = (r: (typeof expiring)[number]) => {
    const doc = f.documents.get(documentKey(r, r.gpu_type));
    return doc?.best ? { gpus: doc.best.gpus, change: doc.change?.label ?? null, costUsd: doc.best.cost_usd } : null;
  };

  return {
    computedAt: fleet.computedAt.toISOString(),
    computedAtLabel: formatInstantIn(fleet.computedAt, q.timeZone),
    fresh: fleet.fresh,
    hours: f.hours,
    counts,
    totals: {
      apiUsd: totals.api_usd,
      onDemandUsd: totals.on_demand_usd,
      onDemandMissing: totals.on_demand_missing,
      currentUsd: totals.current_usd,
      recommendedUsd: totals.recommended_usd,
      savingAvailableUsd: totals.saving_available_usd,
      unitsSaving: totals.units_saving,
      units: totals.units.length,
      currentFill: totals.current_fill,
      recommendedFill: totals.recommended_fill,
      gpuHours: totals.gpu_hours,
      busyGpuHours: totals.busy_gpu_hours,
      inputTokens: totals.input_tokens,
      outputTokens: totals.output_tokens,
      requests: totals.requests,
      customersWithData: totals.customers_with_data,
    },
    chart,
    series,
    topSavings,
    pools: topPools,
    poolCount: pools.length,
    gaps: gaps.slice(0, 6),
    gapCount: gaps.length,
    skipped: f.skipped.map((s) => ({ scope: s.scope.customer ?? `pool ${s.scope.pool}`, gpuType: s.gpu_type, reason: s.reason })),
    expiringCount: expiring.length,
    expiring: expiring
      .sort((a, b) => a.ends_at.getTime() - b.ends_at.getTime())
      .slice(0, 10)
      .map((r) => ({
        id: r.id,
        customer: r.customer,
        pool: r.pool,
        gpuType: r.gpu_type,
        gpus: r.gpus,
        provider: r.provider,
        usdPerGpuHour: r.usd_per_gpu_hour,
        endsAt: r.ends_at.toISOString(),
        endsLabel: formatDayIn(r.ends_at, q.timeZone),
        daysLeft: Math.max(0, Math.ceil((r.ends_at.getTime() - q.now.getTime()) / DAY_MS)),
        recommendation: recommendationFor(r),
      })),
    health: health.map((h) => ({
      name: h.name,
      kind: h.kind,
      enabled: h.enabled,
      status: h.status,
      runId: h.run_id,
      lastRun: h.started_at ? formatInstantIn(h.started_at, q.timeZone) : null,
      watermark: h.watermark ? formatInstantIn(h.watermark, q.timeZone) : null,
      stored: h.rows_stored,
      rejected: h.rows_rejected,
      error: h.error,
    })),
  };
}

export type OverviewView = Awaited<ReturnType<typeof buildOverview>>;

// Everything on the overview depends only on data the fingerprint covers (rollups through ingestion runs, runs
// themselves, customers, pools, reservations, prices), the period, the zone and the hour: cached whole.
const overviewCache = new VersionedCache<OverviewView>('overview', 32);

/** The overview's view model (cached per period, zone and hour until the data change). */
export async function loadOverview(db: Db, q: OverviewQuery): Promise<OverviewView> {
  const hour = Math.floor(q.now.getTime() / HOUR_MS) * HOUR_MS;
  const key = `${q.period.fromParam}|${q.period.toParam}|${q.timeZone}|${hour}`;
  const cached = await overviewCache.get(db, key, () => buildOverview(db, { ...q, now: new Date(hour) }));
  if (!cached.value.fresh) overviewCache.delete(db, key);
  return cached.value;
}
