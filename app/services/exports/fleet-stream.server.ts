// The fleet of a period evaluated pool by pool, as db/queries/rollups-by-pool.ts hands over the rollups of one
// sequential read: for the exports of a whole fleet (costs.csv, focus.csv), which would otherwise
// hold every customer's hourly series at once. Each group — a pool with all its members, or a customer without a
// pool — is evaluated by the engine's own evaluateAll, exactly as evaluateWindow evaluates the whole fleet: a
// customer's figures depend on its own rollups, prices and reservations only, and a pool's on its members', which
// are all in its group (in the same order, by slug, so that sums are added in the same order).
import type { Db } from '../../../db/client.js';
import { listScopeCustomers, listScopePools, type ScopeCustomer, type ScopePool } from '../../../db/queries/costing-scopes.js';
import { reservationsMeeting } from '../../../db/queries/reservations.js';
import { rollupsByPool } from '../../../db/queries/rollups-by-pool.js';
import { evaluateAll, SeriesCache, type EvaluateOptions } from '../costing/evaluate.js';
import { SeriesArrays } from '../costing/series.js';
import { customerInputs, loadPriceContext, reservationInputs, type WindowEvaluation } from '../costing.server.js';
import type { PeriodWindow } from '../dashboard/fleet.server.js';

/** Customers by pool id, each list in the given order. */
function byPool(customers: readonly ScopeCustomer[]): Map<number, ScopeCustomer[]> {
  const out = new Map<number, ScopeCustomer[]>();
  for (const c of customers) {
    if (c.pool_id === null) continue;
    const list = out.get(c.pool_id) ?? [];
    list.push(c);
    out.set(c.pool_id, list);
  }
  return out;
}

/**
 * Evaluations of the period, one group at a time (pools, when `pools` is false, are not evaluated: costs.csv
 * reads customers only; `detail` as evaluateAll's). Each is a WindowEvaluation of its group's customers and pool,
 * valid until the next is asked for (the rollup columns and the series' arrays are reused); groups without rollups
 * in the period are skipped (the engine gives their customers no figures either).
 */
export async function* evaluateByPool(
  db: Db,
  window: PeriodWindow,
  options: { pools: boolean } & Pick<EvaluateOptions, 'detail'>,
): AsyncGenerator<WindowEvaluation> {
  const [ctx, customers, pools, reservations] = await Promise.all([
    loadPriceContext(db, window),
    listScopeCustomers(db),
    listScopePools(db),
    reservationsMeeting(db, window),
  ]);
  const byId = new Map(customers.map((c) => [c.id, c]));
  const poolById = new Map(pools.map((p) => [p.id, p]));
  const membersOf = byPool(customers);
  // A group's series are dropped with its evaluation, when the next group is asked for: their arrays serve it.
  const arrays = new SeriesArrays();
  for await (const group of rollupsByPool(db, window, customers)) {
    arrays.reset();
    const members: ScopeCustomer[] = group.poolId !== null ? membersOf.get(group.poolId)! : [...group.customers.keys()].map((id) => byId.get(id)!);
    const pool: ScopePool | undefined = group.poolId !== null ? poolById.get(group.poolId) : undefined;
    const loaded = [...group.customers];
    const inputs = customerInputs(members, {
      telemetry: new Map(loaded.map(([id, r]) => [id, r.telemetry])),
      tokens: new Map(loaded.flatMap(([id, r]) => (r.tokens ? [[id, r.tokens] as const] : []))),
    });
    // In the order reservationsMeeting lists them, as evaluateWindow passes them.
    const ids = new Set(members.map((c) => c.id));
    const own = reservations.filter((r) => (r.customer_id !== null && ids.has(r.customer_id)) || (pool !== undefined && r.pool_id === pool.id));
    const scopePools = options.pools && pool ? [pool] : [];
    const evaluation = evaluateAll(ctx, inputs, scopePools, reservationInputs(own), {
      overflow: 'on_demand',
      detail: options.detail,
      cache: new SeriesCache(ctx, arrays),
    });
    yield {
      ...evaluation,
      ctx,
      customersById: new Map(members.map((c) => [c.id, c])),
      poolsById: new Map(scopePools.map((p) => [p.id, p])),
      rows: { telemetry: 0, tokens: 0 },
      inputs,
      reservations: own,
    };
  }
}
