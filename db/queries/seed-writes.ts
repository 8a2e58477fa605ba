// The few plain writes the demo seed makes besides usage rows: pools, customers and reservations.
import { sql, type Kysely } from 'kysely';
import type { Database, NewReservation } from '../schema.js';

type Handle = Kysely<Database>;

/** True when no customer exists: the database holds nothing a seed could collide with. */
export async function isDatabaseEmpty(db: Handle): Promise<boolean> {
  const row = await db.selectFrom('customers').select('id').limit(1).executeTakeFirst();
  return row === undefined;
}

/** Serialises seeding for the rest of the transaction, so two seeds started together do not both fill. */
export async function lockForSeeding(db: Handle): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('breakeven:seed'))`.execute(db);
}

/** Inserts pools by name; returns name → id. */
export async function insertPools(db: Handle, names: readonly string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await db.insertInto('pools').values(names.map((name) => ({ name }))).returning(['id', 'name']).execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

export interface SeedCustomer {
  slug: string;
  name: string;
  pool_id: number | null;
  owner_email: string | null;
}

/** Inserts customers in the order given; returns slug → id. */
export async function insertCustomers(db: Handle, customers: readonly SeedCustomer[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  // One at a time so ids follow the order given (a multi-row insert does too, but does not promise it).
  for (const c of customers) {
    const { id } = await db.insertInto('customers').values(c).returning('id').executeTakeFirstOrThrow();
    ids.set(c.slug, id);
  }
  return ids;
}

export async function insertReservations(db: Handle, reservations: readonly NewReservation[]): Promise<number> {
  for (const r of reservations) await db.insertInto('reservations').values(r).execute();
  return reservations.length;
}
