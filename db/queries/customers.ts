import { sql } from 'kysely';
import type { Db } from '../client.js';
import type { Customer } from '../schema.js';

export interface CustomerRecord {
  slug: string;
  name: string;
  pool: string | null;
  ownerEmail: string | null;
}

export async function findCustomerBySlug(db: Db, slug: string): Promise<Customer | undefined> {
  return db.selectFrom('customers').selectAll().where('slug', '=', slug).executeTakeFirst();
}

async function ensurePool(db: Db, name: string): Promise<number> {
  await db.insertInto('pools').values({ name }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const pool = await db.selectFrom('pools').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return pool.id;
}

/** Inserts or updates customers by slug; returns which slugs were created and which updated. */
export async function upsertCustomers(db: Db, records: CustomerRecord[]): Promise<{ created: string[]; updated: string[] }> {
  const created: string[] = [];
  const updated: string[] = [];
  for (const record of records) {
    const poolId = record.pool === null ? null : await ensurePool(db, record.pool);
    const row = await db
      .insertInto('customers')
      .values({ slug: record.slug, name: record.name, pool_id: poolId, owner_email: record.ownerEmail })
      .onConflict((oc) =>
        oc.column('slug').doUpdateSet({ name: record.name, pool_id: poolId, owner_email: record.ownerEmail, updated_at: new Date() }),
      )
      // xmax = 0 only on a freshly inserted row: how PostgreSQL tells an insert from an update in an upsert.
      .returning(sql<string>`xmax::text`.as('xmax'))
      .executeTakeFirstOrThrow();
    (row.xmax === '0' ? created : updated).push(record.slug);
  }
  return { created, updated };
}

export interface CustomerListItem {
  slug: string;
  name: string;
  pool: string | null;
  ownerEmail: string | null;
}

export async function listCustomers(db: Db): Promise<CustomerListItem[]> {
  const rows = await db
    .selectFrom('customers')
    .leftJoin('pools', 'pools.id', 'customers.pool_id')
    .select(['customers.slug', 'customers.name', 'pools.name as pool', 'customers.owner_email'])
    .orderBy('customers.slug')
    .execute();
  return rows.map((r) => ({ slug: r.slug, name: r.name, pool: r.pool, ownerEmail: r.owner_email }));
}
