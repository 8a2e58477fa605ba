// Who can be costed: customers with their pool, and pools.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;

export interface ScopeCustomer {
  id: number;
  slug: string;
  name: string;
  pool_id: number | null;
  pool: string | null;
}

export interface ScopePool {
  id: number;
  name: string;
}

/** Customers (all, some ids, or a pool's members) with their pool's name, by slug. */
export async function listScopeCustomers(db: Handle, filter: { customerIds?: readonly number[]; poolId?: number } = {}): Promise<ScopeCustomer[]> {
  let query = db
    .selectFrom('customers as c')
    .leftJoin('pools as p', 'p.id', 'c.pool_id')
    .select(['c.id', 'c.slug', 'c.name', 'c.pool_id', 'p.name as pool']);
  if (filter.customerIds) {
    if (filter.customerIds.length === 0) return [];
    query = query.where('c.id', 'in', [...filter.customerIds]);
  }
  if (filter.poolId !== undefined) query = query.where('c.pool_id', '=', filter.poolId);
  return query.orderBy('c.slug').execute();
}

export async function listScopePools(db: Handle): Promise<ScopePool[]> {
  return db.selectFrom('pools').select(['id', 'name']).orderBy('name').execute();
}

export async function findPoolByName(db: Handle, name: string): Promise<ScopePool | undefined> {
  return db.selectFrom('pools').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
}
