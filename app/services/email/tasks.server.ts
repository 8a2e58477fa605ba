// The weekly emails on the job queue (graphile-worker, run by `npm start`'s worker). Every 15 minutes, and once
// at start, `email:schedule` turns stale `sending` rows uncertain and queues an `email:send` job for each
// recipient whose Monday 08:00 (local) has come, keyed `email:<recipient>:<week>` so a recipient's week is
// queued once however many schedulers run. The send itself is exactly-once through the email log, so even
// two workers running the same job send one email.
import type { Db } from '../../../db/client.js';
import { isActive, listSubscriptions, materialiseOwnerRecipients } from '../../../db/queries/email-recipients.js';
import { parseIsoWeek } from '../../domain/weeks.js';
import { renderEmail } from './report.server.js';
import { deliver, dueDeliveries, markStaleSendingUncertain, type RetryPolicy, type SendSettings } from './send.server.js';
import { createMailer } from './mailer.server.js';

export const EMAIL_SCHEDULE_TASK = 'email:schedule';
export const EMAIL_SEND_TASK = 'email:send';

export const emailJobKey = (recipientId: number, week: string) => `email:${recipientId}:${week}`;

interface Helpers {
  abortSignal?: AbortSignal;
  addJob(identifier: string, payload: unknown, spec?: { jobKey?: string; maxAttempts?: number; jobKeyMode?: 'replace' | 'preserve_run_at' | 'unsafe_dedupe' }): Promise<unknown>;
}

type QueueTask = (payload: unknown, helpers: Helpers) => Promise<void>;

export interface EmailTaskContext {
  db: Db;
  settings: SendSettings;
  log: (line: string) => void;
  retry?: RetryPolicy;
  /** The clock (tests move it). */
  now?: () => Date;
}

function payloadOf(payload: unknown): { recipientId: number; week: string } {
  const p = payload as { recipientId?: unknown; week?: unknown } | null;
  const recipientId = Number(p?.recipientId);
  const week = typeof p?.week === 'string' && parseIsoWeek(p.week) ? p.week : undefined;
  if (!Number.isSafeInteger(recipientId) || recipientId < 1 || !week) throw new Error(`${EMAIL_SEND_TASK}: payload needs recipientId and week`);
  return { recipientId, week };
}

/** The email tasks and their crontab line, for startWorker (beside the ingestion tasks). */
export function emailTasks(ctx: EmailTaskContext): { tasks: Record<string, QueueTask>; crontab: string[] } {
  const now = ctx.now ?? (() => new Date());
  const schedule: QueueTask = async (_payload, helpers) => {
    await markStaleSendingUncertain(ctx);
    await materialiseOwnerRecipients(ctx.db);
    for (const d of await dueDeliveries(ctx.db, now(), ctx.retry?.maxAttempts)) {
      // preserve_run_at: a scheduler running again does not push back a job already waiting.
      await helpers.addJob(EMAIL_SEND_TASK, d, { jobKey: emailJobKey(d.recipientId, d.week), jobKeyMode: 'preserve_run_at', maxAttempts: 3 });
    }
  };

  const send: QueueTask = async (payload, helpers) => {
    const { recipientId, week } = payloadOf(payload);
    const s = (await listSubscriptions(ctx.db)).find((r) => r.id === recipientId);
    // Removed or unsubscribed since it was queued: nothing to send.
    if (!s || !isActive(s)) return;
    const subject = s.kind === 'digest' ? { kind: 'digest' as const } : { kind: 'customer' as const, customer: { slug: s.customer!, name: s.customer_name ?? s.customer!, pool: s.pool } };
    const email = await renderEmail(ctx.db, subject, parseIsoWeek(week)!, s.time_zone, { appUrl: ctx.settings.appUrl, recipient: s.email });
    const mailer = createMailer(ctx.settings);
    try {
      const result = await deliver({ ...ctx, mailer, signal: helpers.abortSignal }, { id: recipientId, email: s.email, kind: s.kind }, week, email);
      ctx.log(`email ${s.kind} ${s.email} ${week}: ${result.outcome}${result.detail ? ` (${result.detail})` : ''}`);
    } finally {
      mailer.close();
    }
  };

  return {
    tasks: { [EMAIL_SCHEDULE_TASK]: schedule, [EMAIL_SEND_TASK]: send },
    // Every 15 minutes: Monday 08:00 falls on a quarter hour in every zone (India +05:30, Nepal +05:45).
    crontab: [`*/15 * * * * ${EMAIL_SCHEDULE_TASK} ?max=1&jobKey=${EMAIL_SCHEDULE_TASK}`],
  };
}
