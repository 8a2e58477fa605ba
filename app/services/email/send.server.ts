// Sending the weekly emails exactly once per recipient and ISO week.
//
// 1. The intent is recorded first: an email_log row (pending) under its unique key (recipient, week).
// 2. An attempt claims the row (pending/failed → sending, attempts + 1) in one guarded UPDATE: of two
//    processes, one gets it; the other sees it taken and sends nothing.
// 3. It sends with a Message-ID chosen beforehand, then records sent. A refusal the server stated (4xx/5xx) or
//    a connection that never opened is recorded failed and retried with backoff, up to MAX_ATTEMPTS in all. A
//    break in mid-conversation, or a process that stops or loses the database between sending and recording
//    (the session advisory lock it held on the row is gone, or the row is still sending past
//    STALE_SENDING_SECONDS), becomes uncertain: shown on /emails for an admin to resolve, never resent blindly.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../../db/client.js';
import {
  claimLogEntry,
  ensureLogEntry,
  findLogEntry,
  findLogEntryById,
  markFailed,
  markSent,
  markUncertain,
  releaseSendingLock,
  sweepOrphanedSending,
  sweepStaleSending,
  trySendingLock,
  type EmailLogRow,
} from '../../../db/queries/email-log.js';
import { isActive, listSubscriptions, materialiseOwnerRecipients, type SubscriptionRow } from '../../../db/queries/email-recipients.js';
import { dueAt, formatIsoWeek, lastCompleteWeek, weekHasEnded, type IsoWeek } from '../../domain/weeks.js';
import { certainlyNotDelivered, createMailer, describeSendError, fromDomain, DEFAULT_MAIL_FROM, type Mailer, type MailSettings } from './mailer.server.js';
import { renderEmail, ReportCache, type ReportSubject } from './report.server.js';

/** Attempts per recipient and week, in all. */
export const MAX_ATTEMPTS = 5;
/** A row still `sending` this long after its claim belongs to a process that stopped: it becomes uncertain. */
export const STALE_SENDING_SECONDS = 15 * 60;
/** The worker makes up a missed Monday (the server was down) until this long after it; then it waits for next week. */
export const CATCH_UP_HOURS = 72;

export interface RetryPolicy {
  maxAttempts: number;
  /** Wait after failed attempt n (1-based), ms. */
  backoffMs(attempt: number): number;
}

/** 2 s, 8 s, 32 s, 128 s: about three minutes from the first attempt to the fifth. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: MAX_ATTEMPTS, backoffMs: (n) => 2_000 * 4 ** (n - 1) };

export interface SendSettings extends MailSettings {
  appUrl: string;
}

export interface RunContext {
  db: Db;
  settings: SendSettings;
  retry?: RetryPolicy;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** The mailer to use (default: from the settings); the caller closes one it passes. */
  mailer?: Mailer;
}

export type Outcome = 'would-send' | 'sent' | 'already-sent' | 'failed' | 'uncertain' | 'in-progress' | 'retry-later' | 'skipped';

export interface RecipientOutcome {
  recipient: { id: number | null; email: string; kind: 'digest' | 'customer'; customer: string | null; time_zone: string };
  week: string;
  outcome: Outcome;
  subject: string | null;
  attempts: number;
  detail: string | null;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

function subjectOf(s: SubscriptionRow): ReportSubject {
  return s.kind === 'digest' ? { kind: 'digest' } : { kind: 'customer', customer: { slug: s.customer!, name: s.customer_name ?? s.customer!, pool: s.pool } };
}

function describeRecipient(s: SubscriptionRow): RecipientOutcome['recipient'] {
  return { id: s.id, email: s.email, kind: s.kind, customer: s.customer, time_zone: s.time_zone };
}

/** What an existing log row means for a run that did not (or could not) claim it. */
function outcomeOfRow(row: EmailLogRow, maxAttempts: number): { outcome: Outcome; detail: string | null } {
  switch (row.status) {
    case 'sent':
      return { outcome: 'already-sent', detail: row.sent_at ? `sent ${row.sent_at.toISOString()}` : null };
    case 'sending':
      return { outcome: 'in-progress', detail: 'another process is sending it' };
    case 'uncertain':
      return { outcome: 'uncertain', detail: `${row.last_error ?? 'the outcome of the last attempt is unknown'}; resolve it on /emails` };
    case 'failed':
      return row.attempts >= maxAttempts
        ? { outcome: 'failed', detail: `gave up after ${row.attempts} attempts: ${row.last_error ?? ''}; allow a resend on /emails` }
        : { outcome: 'retry-later', detail: `attempt ${row.attempts} failed (${row.last_error ?? ''}); retried ${row.next_attempt_at ? `after ${row.next_attempt_at.toISOString()}` : 'later'}` };
    default:
      return { outcome: 'retry-later', detail: 'pending' };
  }
}

/**
 * Delivers one recipient's email of one week, exactly once: records the intent, then claims and sends, retrying
 * refusals with backoff. Returns what happened.
 */
export async function deliver(
  ctx: RunContext & { mailer: Mailer },
  recipient: { id: number; email: string; kind: 'digest' | 'customer' },
  week: string,
  email: { subject: string; html: string; text: string },
): Promise<{ outcome: Outcome; attempts: number; detail: string | null }> {
  const row = await ensureLogEntry(ctx.db, recipient.id, week, email.subject);
  // The row's sending lock is held on one connection from before the claim until the outcome is recorded: if this
  // process stops or loses the database in between, PostgreSQL releases it and the next run or scheduler pass
  // turns the row uncertain at once (sweepOrphanedSending) instead of reporting it "being sent" for 15 minutes.
  return ctx.db.connection().execute(async (conn) => {
    if (!(await trySendingLock(conn, row.id))) {
      const now = (await findLogEntryById(conn, row.id))!;
      return { ...outcomeOfRow(now, (ctx.retry ?? DEFAULT_RETRY).maxAttempts), attempts: now.attempts };
    }
    try {
      return await attempt({ ...ctx, db: conn }, recipient, week, email, row);
    } finally {
      await releaseSendingLock(conn, row.id).catch(() => {});
    }
  });
}

async function attempt(
  ctx: RunContext & { mailer: Mailer },
  recipient: { id: number; email: string; kind: 'digest' | 'customer' },
  week: string,
  email: { subject: string; html: string; text: string },
  row: EmailLogRow,
): Promise<{ outcome: Outcome; attempts: number; detail: string | null }> {
  const { db } = ctx;
  const retry = ctx.retry ?? DEFAULT_RETRY;
  const log = ctx.log ?? (() => {});
  const domain = fromDomain(ctx.settings.mailFrom ?? DEFAULT_MAIL_FROM);
  let retrying = false;
  for (;;) {
    const messageId = `<breakeven.${week}.r${recipient.id}.${randomBytes(6).toString('hex')}@${domain}>`;
    const claimed = await claimLogEntry(db, row.id, { maxAttempts: retry.maxAttempts, messageId, subject: email.subject, ignoreSchedule: retrying });
    if (!claimed) {
      const now = (await findLogEntryById(db, row.id))!;
      return { ...outcomeOfRow(now, retry.maxAttempts), attempts: now.attempts };
    }
    try {
      const { delivery } = await ctx.mailer.send({
        to: recipient.email,
        subject: email.subject,
        html: email.html,
        text: email.text,
        messageId,
        name: `${week}-${recipient.kind}-${recipient.email}-${row.id}`,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Breakeven-Week': week, 'X-Breakeven-Kind': recipient.kind },
      });
      if (!(await markSent(db, row.id, { messageId, delivery }))) {
        // Swept to uncertain while the server was slow: it did go, and the log says so now.
        await db.updateTable('email_log').set({ status: 'sent', sent_at: new Date(), delivery, last_error: null }).where('id', '=', row.id).where('message_id', '=', messageId).execute();
      }
      return { outcome: 'sent', attempts: claimed.attempts, detail: delivery };
    } catch (error) {
      const message = describeSendError(error);
      if (!certainlyNotDelivered(error)) {
        await markUncertain(db, row.id, `attempt ${claimed.attempts} broke off and may have been delivered: ${message}`);
        log(`email ${recipient.email} ${week}: uncertain after attempt ${claimed.attempts}: ${message}`);
        return { outcome: 'uncertain', attempts: claimed.attempts, detail: message };
      }
      const more = claimed.attempts < retry.maxAttempts;
      const wait = retry.backoffMs(claimed.attempts);
      await markFailed(db, row.id, message, more ? new Date(Date.now() + wait) : null);
      log(`email ${recipient.email} ${week}: attempt ${claimed.attempts} failed: ${message}${more ? `; retrying in ${Math.round(wait / 1000)} s` : '; giving up'}`);
      if (!more) return { outcome: 'failed', attempts: claimed.attempts, detail: message };
      if (ctx.signal?.aborted) return { outcome: 'retry-later', attempts: claimed.attempts, detail: message };
      await sleep(wait, ctx.signal);
      if (ctx.signal?.aborted) return { outcome: 'retry-later', attempts: claimed.attempts, detail: message };
      retrying = true;
    }
  }
}

export interface WeeklyOptions {
  /** The week to send (default: the last complete ISO week in each recipient's zone). */
  week?: IsoWeek;
  dryRun?: boolean;
  /** Only this address (every subscription it has). */
  to?: string;
  /** Only these recipients (ids). */
  recipientIds?: readonly number[];
  now?: Date;
}

/**
 * `breakeven email weekly`: every active subscription's email of the week (default: the last complete week in
 * its zone), sent now unless already sent. Turns stale `sending` rows uncertain first. A dry run renders the
 * subjects and sends nothing (and writes nothing).
 */
export async function runWeekly(ctx: RunContext, options: WeeklyOptions = {}): Promise<RecipientOutcome[]> {
  const { db } = ctx;
  const now = options.now ?? new Date();
  const retry = ctx.retry ?? DEFAULT_RETRY;
  if (!options.dryRun) {
    await markStaleSendingUncertain(ctx);
    await materialiseOwnerRecipients(db);
  }
  const to = options.to?.trim().toLowerCase();
  const subscriptions = (await listSubscriptions(db)).filter(
    (s) => isActive(s) && (!to || s.email === to) && (!options.recipientIds || (s.id !== null && options.recipientIds.includes(s.id))),
  );
  const cache = new ReportCache();
  const mailer = options.dryRun ? undefined : (ctx.mailer ?? createMailer(ctx.settings));
  const results: RecipientOutcome[] = [];
  try {
    for (const s of subscriptions) {
      if (ctx.signal?.aborted) break;
      const week = options.week ?? lastCompleteWeek(now, s.time_zone);
      const label = formatIsoWeek(week);
      const base = { recipient: describeRecipient(s), week: label };
      if (!weekHasEnded(week, s.time_zone, now)) {
        results.push({ ...base, outcome: 'skipped', subject: null, attempts: 0, detail: `${label} has not ended yet in ${s.time_zone}` });
        continue;
      }
      const existing = s.id === null ? undefined : await findLogEntry(db, s.id, label);
      if (existing && (existing.status === 'sent' || existing.status === 'uncertain' || existing.status === 'sending' || (existing.status === 'failed' && existing.attempts >= retry.maxAttempts))) {
        results.push({ ...base, ...outcomeOfRow(existing, retry.maxAttempts), subject: existing.subject, attempts: existing.attempts });
        continue;
      }
      const email = await renderEmail(db, subjectOf(s), week, s.time_zone, { appUrl: ctx.settings.appUrl, recipient: s.email }, cache);
      if (options.dryRun) {
        results.push({ ...base, outcome: 'would-send', subject: email.subject, attempts: existing?.attempts ?? 0, detail: null });
        continue;
      }
      const outcome = await deliver({ ...ctx, mailer: mailer! }, { id: s.id!, email: s.email, kind: s.kind }, label, email);
      results.push({ ...base, ...outcome, subject: email.subject });
    }
  } finally {
    if (mailer && !ctx.mailer) mailer.close();
  }
  return results;
}

/**
 * Rows left `sending` by a process that stopped become uncertain: at once when nobody holds their sending lock any
 * more, and in any case STALE_SENDING_SECONDS after their claim. Returns how many.
 */
export async function markStaleSendingUncertain(ctx: Pick<RunContext, 'db' | 'log'>, olderThanSeconds = STALE_SENDING_SECONDS): Promise<number> {
  const rows = await sweepStaleSending(ctx.db, olderThanSeconds);
  for (const r of rows) ctx.log?.(`email log ${r.id} (${r.iso_week}): still sending since ${r.claimed_at?.toISOString()}: marked uncertain`);
  const orphans = await sweepOrphanedSending(ctx.db);
  for (const r of orphans) ctx.log?.(`email log ${r.id} (${r.iso_week}): its sender lost its database session after claiming it: marked uncertain`);
  return rows.length + orphans.length;
}

export interface DueDelivery {
  recipientId: number;
  week: string;
}

/**
 * What the worker should send now: each active recipient's last complete week, once Monday 08:00 has passed in
 * its zone and for CATCH_UP_HOURS after, unless its log row is settled (sent, uncertain, failed for good) or a
 * retry is not due yet. A recipient added after that Monday's due time starts the week after.
 */
export async function dueDeliveries(db: Db, now: Date, maxAttempts = MAX_ATTEMPTS): Promise<DueDelivery[]> {
  const due: DueDelivery[] = [];
  for (const s of await listSubscriptions(db)) {
    if (s.id === null || !isActive(s)) continue;
    const week = lastCompleteWeek(now, s.time_zone);
    const at = dueAt(week, s.time_zone);
    if (now < at || now.getTime() > at.getTime() + CATCH_UP_HOURS * 3_600_000 || s.created_at > at) continue;
    const label = formatIsoWeek(week);
    const row = await findLogEntry(db, s.id, label);
    if (row) {
      if (row.status !== 'pending' && row.status !== 'failed') continue;
      if (row.attempts >= maxAttempts) continue;
      if (row.next_attempt_at && row.next_attempt_at > now) continue;
    }
    due.push({ recipientId: s.id, week: label });
  }
  return due;
}
