// The email log: one row per recipient and ISO week, written before the SMTP conversation starts. Its status
// moves pending → sending (claimed, one attempt) → sent | failed (retried later) | uncertain (the process
// stopped, or the connection broke, after the message may have gone: an admin decides). Every transition is
// one guarded UPDATE, so two processes can never both claim the same row.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, EmailLogTable } from '../schema.js';

type Handle = Kysely<Database>;

export type EmailLogRow = Selectable<EmailLogTable>;
export type EmailStatus = EmailLogRow['status'];

/** Records the intent to send (status pending) unless the recipient's week already has a row; returns the row. */
export async function ensureLogEntry(db: Handle, recipientId: number, isoWeek: string, subject: string): Promise<EmailLogRow> {
  await db
    .insertInto('email_log')
    .values({ recipient_id: recipientId, iso_week: isoWeek, status: 'pending', subject })
    .onConflict((oc) => oc.columns(['recipient_id', 'iso_week']).doNothing())
    .execute();
  return db.selectFrom('email_log').selectAll().where('recipient_id', '=', recipientId).where('iso_week', '=', isoWeek).executeTakeFirstOrThrow();
}

export async function findLogEntry(db: Handle, recipientId: number, isoWeek: string): Promise<EmailLogRow | undefined> {
  return db.selectFrom('email_log').selectAll().where('recipient_id', '=', recipientId).where('iso_week', '=', isoWeek).executeTakeFirst();
}

export async function findLogEntryById(db: Handle, id: number): Promise<EmailLogRow | undefined> {
  return db.selectFrom('email_log').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Claims a row for one attempt: pending or failed (with attempts left, and — unless `ignoreSchedule`, for the
 * process that scheduled the retry itself — its retry due) becomes sending, attempts + 1, with the Message-ID
 * the attempt will use. Undefined when another process has it, or it needs no sending.
 */
export async function claimLogEntry(
  db: Handle,
  id: number,
  options: { maxAttempts: number; messageId: string; subject: string; ignoreSchedule?: boolean },
): Promise<EmailLogRow | undefined> {
  return db
    .updateTable('email_log')
    .set({
      status: 'sending',
      attempts: sql<number>`attempts + 1`,
      claimed_at: sql<Date>`now()`,
      next_attempt_at: null,
      message_id: options.messageId,
      subject: options.subject,
    })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'failed'])
    .where('attempts', '<', options.maxAttempts)
    .$if(!options.ignoreSchedule, (q) => q.where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', sql<Date>`now()`)])))
    .returningAll()
    .executeTakeFirst();
}

/** The attempt went through: sent, with where it went. Only from sending. */
export async function markSent(db: Handle, id: number, outcome: { messageId: string; delivery: string }): Promise<boolean> {
  const result = await db
    .updateTable('email_log')
    .set({ status: 'sent', sent_at: sql<Date>`now()`, message_id: outcome.messageId, delivery: outcome.delivery, last_error: null })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The attempt was refused before the message was accepted: failed, retried at `retryAt` (null: no more attempts). */
export async function markFailed(db: Handle, id: number, error: string, retryAt: Date | null): Promise<boolean> {
  const result = await db
    .updateTable('email_log')
    .set({ status: 'failed', last_error: error, next_attempt_at: retryAt })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The attempt broke after the message may have been accepted: an admin decides. */
export async function markUncertain(db: Handle, id: number, error: string): Promise<boolean> {
  const result = await db
    .updateTable('email_log')
    .set({ status: 'uncertain', last_error: error })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A `sending` row turned uncertain: its sender `what` before recording the outcome, so it may or may not have been delivered. */
function uncertain(what: string) {
  return {
    status: 'uncertain' as const,
    last_error: sql<string>`'the process sending it ' || ${what} || ' before recording the outcome (attempt ' || attempts || ', claimed ' || to_char(claimed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '); it may or may not have been delivered'`,
  };
}

/**
 * Rows still `sending` longer than `olderThanSeconds` after their claim belong to a process that stopped between
 * sending and recording: they become uncertain (never resent blindly). Returns them.
 */
export async function sweepStaleSending(db: Handle, olderThanSeconds: number): Promise<EmailLogRow[]> {
  return db
    .updateTable('email_log')
    .set(uncertain('stopped'))
    .where('status', '=', 'sending')
    .where('claimed_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .returningAll()
    .execute();
}

/**
 * The session advisory lock (SENDING_LOCK, log id) a process holds from before it claims a row until it has recorded
 * the attempt's outcome. PostgreSQL releases it when that process's session ends — the process stopped, or the
 * database restarted — so a `sending` row whose lock nobody holds has lost its sender.
 */
export const SENDING_LOCK = 40401;

/** Takes the row's sending lock on this connection; false when another session holds it (its sender is alive). */
export async function trySendingLock(conn: Handle, id: number): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${SENDING_LOCK}, ${id}::int4) AS locked`.execute(conn);
  return rows[0].locked;
}

export async function releaseSendingLock(conn: Handle, id: number): Promise<void> {
  await sql`SELECT pg_advisory_unlock(${SENDING_LOCK}, ${id}::int4)`.execute(conn);
}

/**
 * Rows `sending` whose sender's session has ended (nobody holds their sending lock): the process stopped, or lost
 * its database, between claiming and recording. They become uncertain at once (never resent blindly). Returns them.
 */
export async function sweepOrphanedSending(db: Handle): Promise<EmailLogRow[]> {
  return db
    .updateTable('email_log')
    .set(uncertain('lost its database session'))
    .where('status', '=', 'sending')
    .where(
      sql<boolean>`NOT EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 2
        AND k.classid = ${SENDING_LOCK}::oid AND k.objid = email_log.id::oid
        AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
    )
    .returningAll()
    .execute();
}

export interface LogListItem extends EmailLogRow {
  email: string;
  kind: 'digest' | 'customer';
  customer: string | null;
  time_zone: string;
}

/** The most recent entries (by week, then newest first), open ones (uncertain, failed, sending) first. */
export async function listLog(db: Handle, limit = 200): Promise<LogListItem[]> {
  return db
    .selectFrom('email_log as l')
    .innerJoin('email_recipients as r', 'r.id', 'l.recipient_id')
    .leftJoin('customers as c', 'c.id', 'r.customer_id')
    .selectAll('l')
    .select(['r.email', 'r.kind', 'c.slug as customer', 'r.time_zone'])
    .orderBy(sql`CASE l.status WHEN 'uncertain' THEN 0 WHEN 'failed' THEN 1 WHEN 'sending' THEN 2 WHEN 'pending' THEN 3 ELSE 4 END`)
    .orderBy('l.iso_week', 'desc')
    .orderBy('l.id', 'desc')
    .limit(limit)
    .execute();
}

export type Resolution = 'mark-sent' | 'allow-resend';

/**
 * An admin settles an uncertain (or failed) entry: mark-sent records it as delivered (it will not be sent);
 * allow-resend makes it pending again with fresh attempts (the next run sends it). Returns the row before and
 * after, or undefined when the entry is not in a state that can be resolved so.
 */
export async function resolveLogEntry(
  db: Handle,
  id: number,
  resolution: Resolution,
  by: string,
): Promise<{ before: EmailLogRow; after: EmailLogRow } | undefined> {
  const before = await db.selectFrom('email_log').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!before) return undefined;
  const allowed: EmailStatus[] = resolution === 'mark-sent' ? ['uncertain', 'failed'] : ['uncertain', 'failed'];
  if (!allowed.includes(before.status)) return undefined;
  const after = await db
    .updateTable('email_log')
    .set(
      resolution === 'mark-sent'
        ? { status: 'sent', sent_at: before.sent_at ?? sql<Date>`now()`, resolved_by: by, resolved_at: sql<Date>`now()` }
        : { status: 'pending', attempts: 0, next_attempt_at: null, resolved_by: by, resolved_at: sql<Date>`now()` },
    )
    .where('id', '=', id)
    .where('status', '=', before.status)
    .returningAll()
    .executeTakeFirst();
  return after ? { before, after } : undefined;
}
