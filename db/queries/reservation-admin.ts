// Reservations as the /reservations page lists and edits them: with their customer's or pool's name and their
// GPU type's, one by id, and the writes (each called inside the caller's transaction with its audit entry).
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { ReservationRow } from './reservations.js';

type Handle = Kysely<Database>;

/** A reservation as the admin list shows it: with its customer's and pool's names. */
export interface ReservationListRow extends ReservationRow {
  customer: string | null;
  pool: string | null;
  created_at: Date;
}

function base(db: Handle) {
  return db
    .selectFrom('reservations as r')
    .innerJoin('gpu_types as g', 'g.id', 'r.gpu_type_id')
    .leftJoin('customers as c', 'c.id', 'r.customer_id')
    .leftJoin('pools as p', 'p.id', 'r.pool_id')
    .select([
      'r.id', 'r.customer_id', 'c.slug as customer', 'r.pool_id', 'p.name as pool', 'r.gpu_type_id', 'g.name as gpu_type', 'r.provider',
      'r.gpus', 'r.usd_per_gpu_hour', 'r.starts_at', 'r.ends_at', 'r.note', 'r.created_at',
    ]);
}

/** Every reservation, latest end first; `endingFrom`/`endingBefore` keep those whose end falls in [from, before). */
export async function listReservationsWithScope(
  db: Handle,
  filter: { endingFrom?: Date; endingBefore?: Date } = {},
): Promise<ReservationListRow[]> {
  let query = base(db);
  if (filter.endingFrom) query = query.where('r.ends_at', '>=', filter.endingFrom);
  if (filter.endingBefore) query = query.where('r.ends_at', '<', filter.endingBefore);
  return query.orderBy('r.ends_at', 'desc').orderBy('r.id', 'desc').execute();
}

export async function findReservationWithScope(db: Handle, id: number): Promise<ReservationListRow | undefined> {
  return base(db).where('r.id', '=', id).executeTakeFirst();
}

export interface ReservationValues {
  customer_id: number | null;
  pool_id: number | null;
  gpu_type_id: number;
  provider: string;
  gpus: number;
  usd_per_gpu_hour: number;
  starts_at: Date;
  ends_at: Date;
  note: string | null;
}

export async function insertReservation(db: Handle, values: ReservationValues): Promise<number> {
  const { id } = await db.insertInto('reservations').values(values).returning('id').executeTakeFirstOrThrow();
  return id;
}

export async function updateReservation(db: Handle, id: number, values: Partial<ReservationValues>): Promise<boolean> {
  const result = await db.updateTable('reservations').set(values).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Customers and pools a reservation can be for, and the GPU types, for the form's choices. */
export async function reservationChoices(db: Handle): Promise<{ customers: { id: number; slug: string }[]; pools: { id: number; name: string }[]; gpuTypes: { id: number; name: string }[] }> {
  const [customers, pools, gpuTypes] = await Promise.all([
    db.selectFrom('customers').select(['id', 'slug']).orderBy('slug').execute(),
    db.selectFrom('pools').select(['id', 'name']).orderBy('name').execute(),
    db.selectFrom('gpu_types').select(['id', 'name']).orderBy('name').execute(),
  ]);
  return { customers, pools, gpuTypes };
}
