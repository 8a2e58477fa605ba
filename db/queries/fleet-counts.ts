// How many customers and pools exist, and each pool with its members: the overview's and the pools list's
// figures that do not depend on the period.
import { sql } from 'kysely';
import type { Db } from '../client.js';

export interface FleetCounts {
  customers: number;
  pools: number;
}

export async function fleetCounts(db: Db): Promise<FleetCounts> {
  const { rows } = await sql<FleetCounts>`
    SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM pools)::int AS pools`.execute(db);
  return rows[0];
}

export interface PoolWithMembers {
  id: number;
  name: string;
  members: string[];
}

/** Every pool by name, with its members' slugs. */
export async function listPoolsWithMembers(db: Db): Promise<PoolWithMembers[]> {
  const { rows } = await sql<PoolWithMembers>`
    SELECT p.id, p.name, coalesce(array_agg(c.slug ORDER BY c.slug) FILTER (WHERE c.id IS NOT NULL), '{}') AS members
    FROM pools p LEFT JOIN customers c ON c.pool_id = p.id
    GROUP BY p.id, p.name ORDER BY p.name`.execute(db);
  return rows;
}
