// /pools and /pools/:name: a pool's pooled optimum beside its members' separate optima (the aggregation saving)
// and the showback of its reserved cost to the members, to the cent — read off the fleet evaluation's pool
// documents (the same as `breakeven recommend --pool`).
import type { Db } from '../../../db/client.js';
import { findPoolByName } from '../../../db/queries/costing-scopes.js';
import type { Period } from '../../domain/period.js';
import { formatInstantIn } from '../../lib/time-zone.js';
import { documentKey, loadFleet } from './fleet.server.js';

/** Every pool with its primary figures. */
export async function loadPoolsList(db: Db, period: Pick<Period, 'from' | 'to'>) {
  const fleet = await loadFleet(db, { from: period.from, to: period.to });
  const f = fleet.value;
  return {
    computedAt: fleet.computedAt,
    fresh: fleet.fresh,
    pools: f.pools.map((p) => {
      const row = p.rows.find((r) => r.primary) ?? p.rows[0] ?? null;
      const doc = row ? f.documents.get(documentKey(row, row.gpu_type)) : undefined;
      return {
        name: p.name,
        members: p.members,
        gpuType: row?.gpu_type ?? null,
        currentGpus: row?.current_gpus ?? null,
        currentUsd: row?.current_usd ?? null,
        recommendedGpus: row?.recommended_gpus ?? null,
        recommendedUsd: row?.recommended_usd ?? null,
        separateUsd: doc?.aggregation?.members_optimum_usd ?? null,
        aggregationSavingUsd: doc?.aggregation?.saving_usd ?? null,
        fill: row?.fill ?? null,
      };
    }),
  };
}

export interface PoolQuery {
  name: string;
  period: Pick<Period, 'from' | 'to'>;
  gpuType?: string | null;
  timeZone: string;
}

/** The pool page's view model, or null for an unknown pool. */
export async function loadPoolDetail(db: Db, q: PoolQuery) {
  const found = await findPoolByName(db, q.name);
  if (!found) return null;
  const fleet = await loadFleet(db, { from: q.period.from, to: q.period.to });
  const f = fleet.value;
  const pool = f.pools.find((p) => p.id === found.id);
  const rows = pool?.rows ?? [];
  const row = (q.gpuType ? rows.find((r) => r.gpu_type === q.gpuType) : undefined) ?? rows[0] ?? null;
  const doc = row ? f.documents.get(documentKey(row, row.gpu_type)) : undefined;
  const members = f.customers
    .filter((c) => c.pool_id === found.id)
    .map((c) => {
      const own = f.customerRows.find((r) => r.customer_id === c.id && r.gpu_type === row?.gpu_type) ?? null;
      return {
        slug: c.slug,
        name: c.name,
        primaryType: c.primary?.gpu_type ?? null,
        demandGpuHours: own?.demand_gpu_hours ?? 0,
        apiUsd: own?.api_usd ?? null,
        onDemandUsd: own?.on_demand_usd ?? null,
      };
    });
  const aggregation = doc?.aggregation ?? null;
  const showback = doc?.showback ?? null;
  return {
    computedAt: fleet.computedAt,
    computedAtLabel: formatInstantIn(fleet.computedAt, q.timeZone),
    fresh: fleet.fresh,
    hours: f.hours,
    pool: { name: found.name },
    types: rows.map((r) => ({ name: r.gpu_type, primary: r.primary })),
    members,
    selected: doc && row
      ? {
          gpuType: row.gpu_type,
          primary: row.primary,
          demand: doc.demand,
          allApiUsd: doc.all_api_usd,
          allOnDemandUsd: doc.all_on_demand_usd,
          current: doc.current,
          best: doc.best,
          change: doc.change,
          stability: doc.stability,
          riskLevels: doc.risk_levels,
          recent: doc.recent,
          baselineUsd: row.baseline_usd,
          baseline: row.baseline,
          aggregation,
          showback,
          chart: aggregation
            ? [
                { name: 'Separately', ...Object.fromEntries(aggregation.members.map((m) => [m.customer, m.cost_usd])) },
                { name: 'Pooled', pooled: aggregation.pooled_optimum_usd },
              ]
            : [],
        }
      : null,
    skipped: f.skipped.filter((s) => s.scope.pool === found.name).map((s) => ({ gpuType: s.gpu_type, reason: s.reason })),
  };
}
