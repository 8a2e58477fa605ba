// Stored recommendations: one recommend document per scope (customer or pool), GPU type, overflow and window,
// so pages and emails read them without recomputing; `stale` marks those whose hours changed since.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;
type Overflow = 'on_demand' | 'api';

export interface RecommendationRecord {
  customer_id: number | null;
  pool_id: number | null;
  gpu_type_id: number;
  overflow: Overflow;
  window_from: Date;
  window_to: Date;
  /** The book in force at the window's last hour (every book used is listed in result.inputs.price_books). */
  price_book_id: number | null;
  gpus: number;
  cost_usd: number;
  /** The recommend document. */
  result: unknown;
}

export interface StoredRecommendation extends RecommendationRecord {
  id: number;
  customer: string | null;
  pool: string | null;
  gpu_type: string;
  computed_at: Date;
  stale: boolean;
}

const CHUNK = 200;

/**
 * Inserts or replaces recommendations by their scope, GPU type, overflow and window (the table's unique key);
 * a replaced one is fresh again (stale = false, computed_at = now). Returns how many were written.
 */
export async function upsertRecommendations(db: Handle, records: readonly RecommendationRecord[]): Promise<number> {
  for (let i = 0; i < records.length; i += CHUNK) {
    const chunk = records.slice(i, i + CHUNK);
    await db
      .insertInto('recommendations')
      .values(chunk.map((r) => ({ ...r, result: JSON.stringify(r.result), stale: false })))
      // The unique key is an expression index, and computed_at is not writable through the typed builder.
      .modifyEnd(sql`
        ON CONFLICT ((coalesce(customer_id, 0)), (coalesce(pool_id, 0)), gpu_type_id, overflow, window_from, window_to)
        DO UPDATE SET price_book_id = excluded.price_book_id, gpus = excluded.gpus, cost_usd = excluded.cost_usd,
                      result = excluded.result, computed_at = now(), stale = false`)
      .execute();
  }
  return records.length;
}

export interface RecommendationsFilter {
  customerId?: number;
  poolId?: number;
  gpuTypeId?: number;
  overflow?: Overflow;
  /** Exactly this window. */
  windowFrom?: Date;
  windowTo?: Date;
  stale?: boolean;
}

/** Stored recommendations with their scope's and GPU type's names, newest window first. */
export async function listRecommendations(db: Handle, filter: RecommendationsFilter = {}): Promise<StoredRecommendation[]> {
  let query = db
    .selectFrom('recommendations as r')
    .innerJoin('gpu_types as g', 'g.id', 'r.gpu_type_id')
    .leftJoin('customers as c', 'c.id', 'r.customer_id')
    .leftJoin('pools as p', 'p.id', 'r.pool_id')
    .select([
      'r.id', 'r.customer_id', 'c.slug as customer', 'r.pool_id', 'p.name as pool', 'r.gpu_type_id', 'g.name as gpu_type', 'r.overflow',
      'r.window_from', 'r.window_to', 'r.price_book_id', 'r.gpus', 'r.cost_usd', 'r.result', 'r.computed_at', 'r.stale',
    ]);
  if (filter.customerId !== undefined) query = query.where('r.customer_id', '=', filter.customerId);
  if (filter.poolId !== undefined) query = query.where('r.pool_id', '=', filter.poolId);
  if (filter.gpuTypeId !== undefined) query = query.where('r.gpu_type_id', '=', filter.gpuTypeId);
  if (filter.overflow !== undefined) query = query.where('r.overflow', '=', filter.overflow);
  if (filter.windowFrom !== undefined) query = query.where('r.window_from', '=', filter.windowFrom);
  if (filter.windowTo !== undefined) query = query.where('r.window_to', '=', filter.windowTo);
  if (filter.stale !== undefined) query = query.where('r.stale', '=', filter.stale);
  return query.orderBy('r.window_to', 'desc').orderBy('c.slug').orderBy('p.name').orderBy('g.name').orderBy('r.overflow').execute();
}

/** Hours as a list of hour starts (Dates, epoch ms or ISO strings), or a range [from, to). */
export type ChangedHours = readonly (Date | number | string)[] | { from: Date; to: Date };

/**
 * Marks stale every stored recommendation that covers one of these hours for one of these customers — its
 * own, and its pool's. Ingestion calls this when it stores or replaces rollups of those hours. Returns how
 * many were marked.
 */
export async function markRecommendationsStale(db: Handle, customerIds: readonly number[], hours: ChangedHours): Promise<number> {
  if (customerIds.length === 0) return 0;
  const ids = [...customerIds];
  const overlaps = Array.isArray(hours)
    ? (() => {
        const list = (hours as readonly (Date | number | string)[]).map((h) => {
          const d = h instanceof Date ? h : new Date(h);
          if (Number.isNaN(d.getTime())) throw new RangeError(`${String(h)} is not a time`);
          return d.toISOString();
        });
        return list.length === 0
          ? sql<boolean>`false`
          : sql<boolean>`EXISTS (SELECT 1 FROM unnest(${list}::timestamptz[]) AS h WHERE h >= r.window_from AND h < r.window_to)`;
      })()
    : sql<boolean>`r.window_from < ${(hours as { to: Date }).to.toISOString()}::timestamptz
                   AND r.window_to > ${(hours as { from: Date }).from.toISOString()}::timestamptz`;
  const result = await sql`
    UPDATE recommendations AS r SET stale = true
    WHERE NOT r.stale
      AND (r.customer_id = ANY(${ids}::bigint[])
           OR r.pool_id IN (SELECT pool_id FROM customers WHERE id = ANY(${ids}::bigint[]) AND pool_id IS NOT NULL))
      AND ${overlaps}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Marks stale every stored recommendation whose window covers one of these (customer, hour) keys — the
 * customer's own and its pool's — pairing each customer with its own hours only (markRecommendationsStale
 * crosses every customer with every hour). Consecutive hours are merged into ranges first. Returns how many
 * were marked.
 */
export async function markRecommendationsStaleForKeys(db: Handle, keys: readonly { customerId: number; hour: number }[]): Promise<number> {
  if (keys.length === 0) return 0;
  const HOUR_MS = 3_600_000;
  const sorted = [...keys].sort((a, b) => a.customerId - b.customerId || a.hour - b.hour);
  const c: number[] = [];
  const lo: string[] = [];
  const hi: number[] = [];
  for (const k of sorted) {
    const last = c.length - 1;
    if (last >= 0 && c[last] === k.customerId && k.hour <= hi[last]) hi[last] = Math.max(hi[last], k.hour + HOUR_MS);
    else {
      c.push(k.customerId);
      lo.push(new Date(k.hour).toISOString());
      hi.push(k.hour + HOUR_MS);
    }
  }
  const result = await sql`
    UPDATE recommendations AS r SET stale = true
    FROM (
      SELECT DISTINCT k.customer_id, cu.pool_id, k.lo, k.hi
      FROM unnest(${c}::bigint[], ${lo}::timestamptz[], ${hi.map((h) => new Date(h).toISOString())}::timestamptz[]) AS k(customer_id, lo, hi)
      JOIN customers cu ON cu.id = k.customer_id
    ) AS k
    WHERE NOT r.stale
      AND (r.customer_id = k.customer_id OR r.pool_id = k.pool_id)
      AND r.window_from < k.hi AND r.window_to > k.lo`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Marks stale every stored recommendation whose window reaches past `at` (a price book taking effect then). */
export async function markRecommendationsStaleFrom(db: Handle, at: Date): Promise<number> {
  const result = await db.updateTable('recommendations').set({ stale: true }).where('stale', '=', false).where('window_to', '>', at).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface StaleGroup {
  window_from: Date;
  window_to: Date;
  overflow: Overflow;
  customer_ids: number[];
  pool_ids: number[];
  ids: number[];
}

/** Stale recommendations grouped by window and overflow: what a recompute has to redo. */
export async function staleRecommendationGroups(db: Handle): Promise<StaleGroup[]> {
  const rows = await db
    .selectFrom('recommendations')
    .select(['id', 'customer_id', 'pool_id', 'overflow', 'window_from', 'window_to'])
    .where('stale', '=', true)
    .orderBy('window_from')
    .orderBy('window_to')
    .execute();
  const groups = new Map<string, StaleGroup>();
  for (const r of rows) {
    const key = `${r.window_from.toISOString()}|${r.window_to.toISOString()}|${r.overflow}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { window_from: r.window_from, window_to: r.window_to, overflow: r.overflow, customer_ids: [], pool_ids: [], ids: [] }));
    if (r.customer_id !== null && !g.customer_ids.includes(r.customer_id)) g.customer_ids.push(r.customer_id);
    if (r.pool_id !== null && !g.pool_ids.includes(r.pool_id)) g.pool_ids.push(r.pool_id);
    g.ids.push(r.id);
  }
  return [...groups.values()];
}

/** Deletes the listed recommendations that are still stale (a recompute that no longer produces them). */
export async function deleteStaleRecommendations(db: Handle, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.deleteFrom('recommendations').where('id', 'in', [...ids]).where('stale', '=', true).executeTakeFirst();
  return Number(result.numDeletedRows);
}
