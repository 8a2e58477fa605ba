// /recommendations and recommendations.csv: every customer's and every pool's recommendation on the GPU type
// it runs on, with the change against its current reservation, stability, risk levels and the recent-demand
// guard; filtered by GPU type and pool. Plain rows (unrounded USD), the same for the page and the export.
import type { Db } from '../../../db/client.js';
import type { Period } from '../../domain/period.js';
import type { CostSummaryRow } from '../costing/summary.js';
import { documentKey, loadFleet, type FleetEvaluation } from './fleet.server.js';

export interface RecommendationsQuery {
  /** Only this GPU type (exact name). */
  gpuType?: string | null;
  /** Only this pool and its members. */
  pool?: string | null;
  /** Only this customer (slug). */
  customer?: string | null;
}

export interface RecommendationRow {
  scope: 'customer' | 'pool';
  /** A customer's slug or a pool's name. */
  name: string;
  pool: string | null;
  gpu_type: string;
  hours: number;
  current_gpus: number | null;
  current_usd: number | null;
  baseline: 'current' | 'api' | 'on_demand';
  baseline_usd: number;
  provider: string | null;
  term_days: number | null;
  block_size: number | null;
  usd_per_gpu_hour: number | null;
  recommended_gpus: number | null;
  recommended_usd: number | null;
  saving_usd: number | null;
  fill: number | null;
  change: string | null;
  delta_gpus: number | null;
  stability_min_gpus: number | null;
  stability_max_gpus: number | null;
  floor_gpus: number | null;
  floor_usd: number | null;
  balanced_gpus: number | null;
  balanced_usd: number | null;
  optimal_gpus: number | null;
  optimal_usd: number | null;
  recent_hours: number | null;
  recent_gpus: number | null;
  recent_flagged: boolean | null;
  /** A pool's saving against its members reserving separately. */
  aggregation_saving_usd: number | null;
}

function rowOf(f: FleetEvaluation, r: CostSummaryRow): RecommendationRow {
  const d = f.documents.get(documentKey(r, r.gpu_type));
  return {
    scope: r.customer_id !== null ? 'customer' : 'pool',
    name: r.customer ?? r.pool!,
    pool: r.pool,
    gpu_type: r.gpu_type,
    hours: r.hours,
    current_gpus: r.current_gpus,
    current_usd: r.current_usd,
    baseline: r.baseline,
    baseline_usd: r.baseline_usd,
    provider: r.recommended_provider,
    term_days: r.recommended_term_days,
    block_size: r.recommended_block_size,
    usd_per_gpu_hour: r.recommended_usd_per_gpu_hour,
    recommended_gpus: r.recommended_gpus,
    recommended_usd: r.recommended_usd,
    saving_usd: r.saving_usd,
    fill: r.fill,
    change: r.change,
    delta_gpus: d?.change?.delta_gpus ?? null,
    stability_min_gpus: d?.stability?.min_gpus ?? null,
    stability_max_gpus: d?.stability?.max_gpus ?? null,
    floor_gpus: d?.risk_levels?.floor.gpus ?? null,
    floor_usd: d?.risk_levels?.floor.cost_usd ?? null,
    balanced_gpus: d?.risk_levels?.balanced.gpus ?? null,
    balanced_usd: d?.risk_levels?.balanced.cost_usd ?? null,
    optimal_gpus: d?.risk_levels?.optimal.gpus ?? null,
    optimal_usd: d?.risk_levels?.optimal.cost_usd ?? null,
    recent_hours: d?.recent?.hours ?? null,
    recent_gpus: d?.recent?.gpus ?? null,
    recent_flagged: d?.recent?.flagged ?? null,
    aggregation_saving_usd: d?.aggregation?.saving_usd ?? null,
  };
}

/** Every recommendation of the period (pools first, then customers, by name), filtered. */
export async function loadRecommendationsTable(db: Db, period: Pick<Period, 'from' | 'to'>, q: RecommendationsQuery = {}) {
  const fleet = await loadFleet(db, { from: period.from, to: period.to });
  const f = fleet.value;
  const rows: RecommendationRow[] = [];
  for (const r of f.poolRows) if (r.primary) rows.push(rowOf(f, r));
  for (const c of f.customers) if (c.primary) rows.push(rowOf(f, c.primary));
  const gpuTypes = [...new Set(rows.map((r) => r.gpu_type))].sort();
  const pools = f.pools.map((p) => p.name);
  const filtered = rows.filter(
    (r) => (!q.gpuType || r.gpu_type === q.gpuType) && (!q.pool || r.pool === q.pool) && (!q.customer || (r.scope === 'customer' && r.name === q.customer)),
  );
  return {
    rows: filtered,
    total: rows.length,
    gpuTypes,
    pools,
    flagged: filtered.filter((r) => r.recent_flagged).length,
    computedAt: fleet.computedAt,
    fresh: fleet.fresh,
  };
}
