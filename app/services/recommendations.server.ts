// Stored recommendations: computed for every customer and pool of a window and kept, so views and emails read
// them without recomputing; marked stale when ingestion changes hours they cover, and recomputed.
import type { Db } from '../../db/client.js';
import { findPoolByName } from '../../db/queries/costing-scopes.js';
import { findCustomerBySlug } from '../../db/queries/customers.js';
import { holdOffGpuSampleWriters } from '../../db/queries/samples.js';
import { holdOffTokenWriters } from '../../db/queries/token-usage.js';
import {
  deleteStaleRecommendations,
  markRecommendationsStale,
  markRecommendationsStaleFrom,
  staleRecommendationGroups,
  upsertRecommendations,
  type ChangedHours,
  type RecommendationRecord,
} from '../../db/queries/recommendations.js';
import { CostingInputError, evaluateWindow, recommendationRecord, type CostWindow, type Overflow, type Skipped } from './costing.server.js';
import { RECOMPUTE_RECOMMENDATIONS_TASK } from './recommendations-queue.server.js';

export { markRecommendationsStale, markRecommendationsStaleFrom, type ChangedHours };

export type Scope = { customer: string } | { pool: string };

export interface RecomputeOptions extends CostWindow {
  /** Only these customers and pools (default: every customer and every pool). */
  scopes?: readonly Scope[];
  /** Default on_demand. */
  overflow?: Overflow | readonly Overflow[];
}

export interface RecomputeResult {
  written: number;
  customers: number;
  pools: number;
  skipped: Skipped[];
}

/** Stores one computed recommendation (the CLI's `recommend` without --no-save). */
export async function saveRecommendation(db: Db, record: RecommendationRecord): Promise<void> {
  await upsertRecommendations(db, [record]);
}

async function resolveScopes(db: Db, scopes: readonly Scope[]): Promise<{ customerIds: number[]; poolIds: number[] }> {
  const customerIds: number[] = [];
  const poolIds: number[] = [];
  for (const s of scopes) {
    if ('customer' in s) {
      const c = await findCustomerBySlug(db, s.customer);
      if (!c) throw new CostingInputError(`unknown customer "${s.customer}"`);
      customerIds.push(c.id);
    } else {
      const p = await findPoolByName(db, s.pool);
      if (!p) throw new CostingInputError(`unknown pool "${s.pool}"`);
      poolIds.push(p.id);
    }
  }
  return { customerIds, poolIds };
}

async function recomputeIds(
  db: Db,
  window: CostWindow,
  overflow: Overflow,
  ids: { customerIds?: readonly number[]; poolIds?: readonly number[] },
): Promise<RecomputeResult> {
  const e = await evaluateWindow(db, { ...window, overflow, ...ids });
  const records: RecommendationRecord[] = [...e.customers, ...e.pools].map((r) =>
    recommendationRecord(e.ctx, r.document, r.scope, r.gpu_type.id, r.series),
  );
  await db.transaction().execute((trx) => upsertRecommendations(trx, records));
  return {
    written: records.length,
    customers: new Set(e.customers.map((r) => r.scope.customer_id)).size,
    pools: new Set(e.pools.map((r) => r.scope.pool_id)).size,
    skipped: e.skipped,
  };
}

/**
 * Recomputes and stores (upserts) the recommendations of every customer on each of its GPU types and every
 * pool on each of its members' types for the window — or only the scopes named — for each overflow asked
 * (default on_demand). Replaced rows are fresh again.
 */
export async function recomputeRecommendations(db: Db, options: RecomputeOptions): Promise<RecomputeResult> {
  const overflows: readonly Overflow[] = options.overflow === undefined ? ['on_demand'] : typeof options.overflow === 'string' ? [options.overflow] : options.overflow;
  let ids: { customerIds?: number[]; poolIds?: number[] } = {};
  if (options.scopes) {
    if (options.scopes.length === 0) return { written: 0, customers: 0, pools: 0, skipped: [] };
    ids = await resolveScopes(db, options.scopes);
  }
  const total: RecomputeResult = { written: 0, customers: 0, pools: 0, skipped: [] };
  for (const overflow of overflows) {
    const r = await recomputeIds(db, options, overflow, ids);
    total.written += r.written;
    total.customers = Math.max(total.customers, r.customers);
    total.pools = Math.max(total.pools, r.pools);
    total.skipped.push(...r.skipped);
  }
  return total;
}

/**
 * Recomputes every stale recommendation, window by window (the scopes that went stale, with their own window
 * and overflow); a stale one the recompute no longer produces (its data or prices are gone) is deleted.
 * Returns how many were rewritten and deleted. Meant for the worker, after ingestion marked some stale.
 */
export async function recomputeStaleRecommendations(db: Db): Promise<{ written: number; deleted: number; skipped: Skipped[] }> {
  // An ingestion run marks rows stale when it commits. One committing while this computes from the rollups
  // before it would see its marks overwritten by the write below (stale = false, old figures). So the
  // writers' locks are held shared throughout, on a connection of their own: a running run commits first
  // (its marks are read below), a new one waits until this is written.
  return db.transaction().execute(async (hold) => {
    await holdOffGpuSampleWriters(hold);
    await holdOffTokenWriters(hold);
    let written = 0;
    let deleted = 0;
    const skipped: Skipped[] = [];
    for (const g of await staleRecommendationGroups(db)) {
      const r = await recomputeIds(db, { from: g.window_from, to: g.window_to }, g.overflow, { customerIds: g.customer_ids, poolIds: g.pool_ids });
      written += r.written;
      skipped.push(...r.skipped);
      deleted += await deleteStaleRecommendations(db, g.ids);
    }
    return { written, deleted, skipped };
  });
}

/**
 * The worker's task that recomputes stale recommendations (queued by ingestion, see
 * recommendations-queue.server.ts; also added once when the worker starts, for marks left from before).
 */
export function recommendationTasks(ctx: { db: Db; log: (line: string) => void }): { tasks: Record<string, () => Promise<void>>; crontab: string[] } {
  const recompute = async () => {
    const r = await recomputeStaleRecommendations(ctx.db);
    if (r.written || r.deleted) ctx.log(`recommendations: recomputed ${r.written}, removed ${r.deleted}`);
  };
  return { tasks: { [RECOMPUTE_RECOMMENDATIONS_TASK]: recompute }, crontab: [] };
}
