// Reservations that exist: commitments of GPUs of a type, at a rate, for a customer or a pool.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;

export interface ReservationRow {
  id: number;
  customer_id: number | null;
  pool_id: number | null;
  gpu_type_id: number;
  gpu_type: string;
  provider: string;
  gpus: number;
  usd_per_gpu_hour: number;
  starts_at: Date;
  ends_at: Date;
  note: string | null;
}

export interface ReservationsQuery {
  /** Reservations active at some instant of [from, to): starts_at < to and ends_at > from. */
  from: Date;
  to: Date;
  /** Only these customers' and these pools' reservations (both unset: all). */
  customerIds?: readonly number[];
  poolIds?: readonly number[];
  gpuTypeId?: number;
}

/** Every reservation that meets the window, oldest start first. */
export async function reservationsMeeting(db: Handle, q: ReservationsQuery): Promise<ReservationRow[]> {
  let query = db
    .selectFrom('reservations as r')
    .innerJoin('gpu_types as g', 'g.id', 'r.gpu_type_id')
    .select([
      'r.id', 'r.customer_id', 'r.pool_id', 'r.gpu_type_id', 'g.name as gpu_type', 'r.provider', 'r.gpus', 'r.usd_per_gpu_hour',
      'r.starts_at', 'r.ends_at', 'r.note',
    ])
    .where('r.starts_at', '<', q.to)
    .where('r.ends_at', '>', q.from);
  if (q.customerIds || q.poolIds) {
    const customerIds = [...(q.customerIds ?? [])];
    const poolIds = [...(q.poolIds ?? [])];
    if (customerIds.length === 0 && poolIds.length === 0) return [];
    query = query.where((eb) =>
      eb.or([
        ...(customerIds.length ? [eb('r.customer_id', 'in', customerIds)] : []),
        ...(poolIds.length ? [eb('r.pool_id', 'in', poolIds)] : []),
      ]),
    );
  }
  if (q.gpuTypeId !== undefined) query = query.where('r.gpu_type_id', '=', q.gpuTypeId);
  return query.orderBy('r.starts_at').orderBy('r.id').execute();
}
