// /reservations and reservations.csv: every reservation with what it commits in the period; for admins,
// creating, editing and ending one — validated, and audit-logged (before and after) in the same transaction.
import { z } from 'zod';
import type { Db } from '../../../db/client.js';
import { recordAudit } from '../../../db/queries/audit.js';
import {
  findReservationWithScope,
  insertReservation,
  listReservationsWithScope,
  reservationChoices,
  updateReservation,
  type ReservationListRow,
  type ReservationValues,
} from '../../../db/queries/reservation-admin.js';
import type { Period } from '../../domain/period.js';
import { formatDayIn } from '../../lib/time-zone.js';
import { invalidateDashboard } from './cache.server.js';

const HOUR_MS = 3_600_000;

export interface ReservationRow {
  id: number;
  customer: string | null;
  pool: string | null;
  gpu_type: string;
  provider: string;
  gpus: number;
  usd_per_gpu_hour: number;
  starts_at: string;
  ends_at: string;
  note: string | null;
  status: 'active' | 'upcoming' | 'ended';
  /** Hours of the period it is active (starts_at ≤ h < ends_at), and N·r over those hours. */
  hours_in_period: number;
  committed_usd_in_period: number;
  /** Its whole term: N·r·(ends − starts). */
  term_usd: number;
}

function rowOf(r: ReservationListRow, now: Date, period: Pick<Period, 'from' | 'to'>): ReservationRow {
  const first = Math.max(r.starts_at.getTime(), period.from.getTime());
  const last = Math.min(r.ends_at.getTime(), period.to.getTime());
  // Active in hour h when starts_at ≤ h < ends_at: the hours whose start lies in [max(from, starts), min(to, ends)).
  const hours = last > first ? Math.ceil(last / HOUR_MS) - Math.ceil(first / HOUR_MS) : 0;
  return {
    id: r.id,
    customer: r.customer,
    pool: r.pool,
    gpu_type: r.gpu_type,
    provider: r.provider,
    gpus: r.gpus,
    usd_per_gpu_hour: r.usd_per_gpu_hour,
    starts_at: r.starts_at.toISOString(),
    ends_at: r.ends_at.toISOString(),
    note: r.note,
    status: r.ends_at <= now ? 'ended' : r.starts_at > now ? 'upcoming' : 'active',
    hours_in_period: hours,
    committed_usd_in_period: r.gpus * r.usd_per_gpu_hour * hours,
    term_usd: (r.gpus * r.usd_per_gpu_hour * (r.ends_at.getTime() - r.starts_at.getTime())) / HOUR_MS,
  };
}

/** Every reservation (ending latest first) with its figures for the period. */
export async function loadReservationRows(db: Db, q: { now: Date; period: Pick<Period, 'from' | 'to'> }): Promise<ReservationRow[]> {
  return (await listReservationsWithScope(db)).map((r) => rowOf(r, q.now, q.period));
}

export async function loadReservationsPage(db: Db, q: { now: Date; period: Pick<Period, 'from' | 'to'>; timeZone: string; admin: boolean }) {
  const [rows, choices] = await Promise.all([loadReservationRows(db, q), q.admin ? reservationChoices(db) : Promise.resolve(null)]);
  const label = (iso: string) => formatDayIn(Date.parse(iso), q.timeZone);
  const view = rows.map((r) => ({
    ...r,
    startsLabel: label(r.starts_at),
    endsLabel: label(r.ends_at),
    startsDate: r.starts_at.slice(0, 10),
    endsDate: r.ends_at.slice(0, 10),
    daysLeft: r.status === 'ended' ? 0 : Math.ceil((Date.parse(r.ends_at) - q.now.getTime()) / 86_400_000),
  }));
  return {
    rows: view,
    committedInPeriodUsd: rows.reduce((s, r) => s + r.committed_usd_in_period, 0),
    active: rows.filter((r) => r.status === 'active').length,
    choices,
  };
}

// Dates from <input type="date"> (midnight UTC) or full ISO instants, on whole hours.
const instant = (what: string) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const text = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
      const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${what}: enter a date (YYYY-MM-DD).` });
        return z.NEVER;
      }
      if (ms % HOUR_MS !== 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${what} must be on a whole UTC hour.` });
        return z.NEVER;
      }
      return new Date(ms);
    });

export const ReservationFields = z
  .object({
    scope: z.string().regex(/^(customer|pool):.{1,200}$/, 'Choose the customer or pool it is for.'),
    gpuType: z.string().trim().min(1, 'Choose a GPU type.').max(100),
    provider: z.string().trim().min(1, 'Enter the provider.').max(200, 'The provider name is too long.'),
    gpus: z.coerce.number({ invalid_type_error: 'GPUs must be a whole number.' }).int('GPUs must be a whole number.').min(1, 'Reserve at least 1 GPU.').max(100_000, 'At most 100,000 GPUs.'),
    usdPerGpuHour: z.coerce.number({ invalid_type_error: 'Enter the rate in USD per GPU-hour.' }).positive('The rate must be above $0.').max(10_000, 'The rate looks wrong (over $10,000 per GPU-hour).'),
    startsAt: instant('Start'),
    endsAt: instant('End'),
    note: z.string().trim().max(500, 'The note is at most 500 characters.').optional().transform((v) => (v ? v : null)),
  })
  .refine((v) => v.endsAt > v.startsAt, { message: 'The end must be after the start.', path: ['endsAt'] });

export type ReservationInput = z.infer<typeof ReservationFields>;

export interface Actor {
  id: number;
  email: string;
}

export type ReservationOutcome = { ok: true; id: number; message: string } | { ok: false; status: number; message: string };

async function resolveValues(db: Db, input: ReservationInput): Promise<ReservationValues | string> {
  const [kind, name] = [input.scope.slice(0, input.scope.indexOf(':')), input.scope.slice(input.scope.indexOf(':') + 1)];
  const choices = await reservationChoices(db);
  const gpuType = choices.gpuTypes.find((g) => g.name === input.gpuType);
  if (!gpuType) return `Unknown GPU type "${input.gpuType}".`;
  let customerId: number | null = null;
  let poolId: number | null = null;
  if (kind === 'customer') {
    const c = choices.customers.find((x) => x.slug === name);
    if (!c) return `Unknown customer "${name}".`;
    customerId = c.id;
  } else {
    const p = choices.pools.find((x) => x.name === name);
    if (!p) return `Unknown pool "${name}".`;
    poolId = p.id;
  }
  return {
    customer_id: customerId,
    pool_id: poolId,
    gpu_type_id: gpuType.id,
    provider: input.provider,
    gpus: input.gpus,
    usd_per_gpu_hour: input.usdPerGpuHour,
    starts_at: input.startsAt,
    ends_at: input.endsAt,
    note: input.note,
  };
}

/** What the audit log keeps of a reservation. */
function audited(r: ReservationListRow) {
  return {
    customer: r.customer, pool: r.pool, gpu_type: r.gpu_type, provider: r.provider, gpus: r.gpus, usd_per_gpu_hour: r.usd_per_gpu_hour,
    starts_at: r.starts_at.toISOString(), ends_at: r.ends_at.toISOString(), note: r.note,
  };
}

export async function createReservation(db: Db, actor: Actor, input: ReservationInput): Promise<ReservationOutcome> {
  const outcome = await db.transaction().execute(async (trx): Promise<ReservationOutcome> => {
    const values = await resolveValues(trx, input);
    if (typeof values === 'string') return { ok: false, status: 400, message: values };
    const id = await insertReservation(trx, values);
    const after = (await findReservationWithScope(trx, id))!;
    await recordAudit(trx, { userId: actor.id, actor: actor.email, action: 'create', entity: 'reservation', entityId: String(id), before: null, after: audited(after) });
    return { ok: true, id, message: `Reservation ${id} created: ${after.gpus} × ${after.gpu_type} for ${after.customer ?? `pool ${after.pool}`}.` };
  });
  if (outcome.ok) invalidateDashboard();
  return outcome;
}

export async function editReservation(db: Db, actor: Actor, id: number, input: ReservationInput): Promise<ReservationOutcome> {
  const outcome = await db.transaction().execute(async (trx): Promise<ReservationOutcome> => {
    const before = await findReservationWithScope(trx, id);
    if (!before) return { ok: false, status: 404, message: `No reservation ${id}.` };
    const values = await resolveValues(trx, input);
    if (typeof values === 'string') return { ok: false, status: 400, message: values };
    await updateReservation(trx, id, values);
    const after = (await findReservationWithScope(trx, id))!;
    await recordAudit(trx, { userId: actor.id, actor: actor.email, action: 'update', entity: 'reservation', entityId: String(id), before: audited(before), after: audited(after) });
    return { ok: true, id, message: `Reservation ${id} saved.` };
  });
  if (outcome.ok) invalidateDashboard();
  return outcome;
}

/** Ends a reservation at the start of the current hour (it stops counting from this hour on). */
export async function endReservation(db: Db, actor: Actor, id: number, now: Date): Promise<ReservationOutcome> {
  const end = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
  const outcome = await db.transaction().execute(async (trx): Promise<ReservationOutcome> => {
    const before = await findReservationWithScope(trx, id);
    if (!before) return { ok: false, status: 404, message: `No reservation ${id}.` };
    if (before.ends_at <= end) return { ok: false, status: 400, message: `Reservation ${id} has already ended.` };
    if (before.starts_at >= end) return { ok: false, status: 400, message: `Reservation ${id} has not started yet: edit its dates instead.` };
    await updateReservation(trx, id, { ends_at: end });
    const after = (await findReservationWithScope(trx, id))!;
    await recordAudit(trx, { userId: actor.id, actor: actor.email, action: 'update', entity: 'reservation', entityId: String(id), before: audited(before), after: audited(after) });
    return { ok: true, id, message: `Reservation ${id} ended at ${end.toISOString().slice(0, 16).replace('T', ' ')} UTC.` };
  });
  if (outcome.ok) invalidateDashboard();
  return outcome;
}
