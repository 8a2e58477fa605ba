// What /emails shows and does: recipients (with customer owners' implicit subscriptions), the email log with
// what an admin can resolve, and a preview of any recipient's email for any week — rendered by the same code
// that sends it.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Db } from '../../../db/client.js';
import { listCustomers } from '../../../db/queries/customers.js';
import { listLog } from '../../../db/queries/email-log.js';
import { isActive, listSubscriptions, type SubscriptionRow } from '../../../db/queries/email-recipients.js';
import { formatIsoWeek, lastCompleteWeek, parseIsoWeek } from '../../domain/weeks.js';
import { runtime } from '../../lib/runtime.server.js';
import { outboxFolder } from './mailer.server.js';
import { addRecipient, RecipientInputError, removeRecipient, resolveEmail, type Actor } from './recipients.server.js';
import { renderEmail } from './report.server.js';

/** How a subscription is named in URLs: r<row id>, or o<customer id> for an owner without a row yet. */
export const subscriptionKey = (s: Pick<SubscriptionRow, 'id' | 'customer_id'>) => (s.id !== null ? `r${s.id}` : `o${s.customer_id}`);

function stateOf(s: SubscriptionRow): 'subscribed' | 'owner' | 'unsubscribed' | 'former owner' {
  if (s.unsubscribed) return 'unsubscribed';
  if (s.former_owner) return 'former owner';
  return s.origin === 'owner' ? 'owner' : 'subscribed';
}

export async function loadEmailsPage(db: Db, params: URLSearchParams, now = new Date()) {
  const [subscriptions, log, customers, outbox] = await Promise.all([listSubscriptions(db), listLog(db, 200), listCustomers(db), listOutbox()]);
  const recipients = subscriptions.map((s) => ({
    key: subscriptionKey(s),
    email: s.email,
    kind: s.kind,
    customer: s.customer,
    timeZone: s.time_zone,
    state: stateOf(s),
    active: isActive(s),
    lastWeek: formatIsoWeek(lastCompleteWeek(now, s.time_zone)),
  }));
  let preview: { key: string; week: string; subject: string; html: string; text: string } | { key: string; week: string; error: string } | null = null;
  const key = params.get('preview');
  if (key) {
    const s = subscriptions.find((x) => subscriptionKey(x) === key);
    const weekText = params.get('week')?.trim() || (s ? formatIsoWeek(lastCompleteWeek(now, s.time_zone)) : '');
    const week = parseIsoWeek(weekText);
    if (!s) preview = { key, week: weekText, error: 'No such recipient.' };
    else if (!week) preview = { key, week: weekText, error: `"${weekText}" is not an ISO week such as 2026-W47.` };
    else {
      try {
        const email = await previewEmail(db, s, week);
        preview = { key, week: formatIsoWeek(week), subject: email.subject, html: email.html, text: email.text };
      } catch (error) {
        preview = { key, week: weekText, error: `Cannot render that week: ${(error as Error).message}` };
      }
    }
  }
  return {
    recipients,
    log: log.map((l) => ({
      id: l.id,
      week: l.iso_week,
      email: l.email,
      kind: l.kind,
      customer: l.customer,
      status: l.status,
      attempts: l.attempts,
      subject: l.subject,
      lastError: l.last_error,
      messageId: l.message_id,
      delivery: l.delivery,
      createdAt: l.created_at.toISOString(),
      claimedAt: l.claimed_at?.toISOString() ?? null,
      sentAt: l.sent_at?.toISOString() ?? null,
      nextAttemptAt: l.next_attempt_at?.toISOString() ?? null,
      resolvedBy: l.resolved_by,
    })),
    customers: customers.map((c) => c.slug),
    outbox,
    preview,
  };
}

/** The email a subscription gets for a week, as it would be sent. */
export async function previewEmail(db: Db, s: SubscriptionRow, week: NonNullable<ReturnType<typeof parseIsoWeek>>) {
  const subject = s.kind === 'digest' ? { kind: 'digest' as const } : { kind: 'customer' as const, customer: { slug: s.customer!, name: s.customer_name ?? s.customer!, pool: s.pool } };
  return renderEmail(db, subject, week, s.time_zone, { appUrl: runtime().appUrl, recipient: s.email });
}

/** The preview of `?recipient=KEY&week=2026-W47`, or a status and message. */
export async function previewByKey(db: Db, key: string | null, weekText: string | null, now = new Date()) {
  const s = (await listSubscriptions(db)).find((x) => subscriptionKey(x) === key);
  if (!s) return { ok: false as const, status: 404, message: 'No such recipient.' };
  const week = weekText ? parseIsoWeek(weekText) : lastCompleteWeek(now, s.time_zone);
  if (!week) return { ok: false as const, status: 400, message: 'week must be an ISO week such as 2026-W47.' };
  const email = await previewEmail(db, s, week);
  return { ok: true as const, email };
}

/** .eml files in the outbox (written when SMTP_URL is unset), newest first. */
async function listOutbox(): Promise<{ file: string; bytes: number; at: string }[]> {
  const folder = outboxFolder(runtime().dataDir);
  let names: string[];
  try {
    names = (await readdir(folder)).filter((n) => OUTBOX_FILE.test(n));
  } catch {
    return [];
  }
  const files = await Promise.all(
    names.map(async (file) => {
      const s = await stat(path.join(folder, file)).catch(() => undefined);
      return s ? { file, bytes: s.size, at: s.mtime.toISOString() } : undefined;
    }),
  );
  return files.filter((f): f is { file: string; bytes: number; at: string } => f !== undefined).sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 100);
}

const OUTBOX_FILE = /^[A-Za-z0-9@._-]+\.eml$/;

/** One outbox file's bytes, or undefined for a name that is not one. */
export async function readOutboxFile(name: string): Promise<Buffer | undefined> {
  if (!OUTBOX_FILE.test(name) || name.startsWith('.')) return undefined;
  return readFile(path.join(outboxFolder(runtime().dataDir), name)).catch(() => undefined);
}

const text = (max: number) => z.string().trim().max(max);

export const EmailsForm = z.discriminatedUnion('intent', [
  z.object({
    intent: z.literal('subscribe'),
    email: text(320).toLowerCase().email('Enter a valid email.'),
    kind: z.enum(['digest', 'customer'], { errorMap: () => ({ message: 'Choose digest or customer.' }) }),
    customer: text(100).optional(),
    tz: text(64).optional(),
  }),
  z.object({
    intent: z.literal('unsubscribe'),
    email: text(320).toLowerCase().email(),
    kind: z.enum(['digest', 'customer']),
    customer: text(100).optional(),
  }),
  z.object({
    intent: z.literal('resolve'),
    id: z.coerce.number().int().positive(),
    resolution: z.enum(['mark-sent', 'allow-resend'], { errorMap: () => ({ message: 'Choose mark sent or allow a resend.' }) }),
  }),
]);

/** The page's post, for an admin (the route has checked): a message and an HTTP status. */
export async function handleEmailsAction(db: Db, actor: Actor, form: Record<string, unknown>): Promise<{ ok: boolean; status: number; message: string }> {
  const parsed = EmailsForm.safeParse(form);
  if (!parsed.success) return { ok: false, status: 400, message: parsed.error.issues[0].message };
  const f = parsed.data;
  try {
    if (f.intent === 'subscribe') {
      const { created, subscription } = await addRecipient(db, actor, { email: f.email, kind: f.kind, customer: f.kind === 'customer' ? f.customer : null, timeZone: f.tz });
      const what = subscription.kind === 'digest' ? 'the weekly digest' : `the weekly email of ${subscription.customer}`;
      return { ok: true, status: 200, message: `${subscription.email} ${created ? 'subscribed to' : 'updated for'} ${what}, Monday 08:00 ${subscription.time_zone}.` };
    }
    if (f.intent === 'unsubscribe') {
      const ended = await removeRecipient(db, actor, { email: f.email, kind: f.kind, customer: f.customer || null });
      return ended.length
        ? { ok: true, status: 200, message: `${f.email} unsubscribed from ${f.kind === 'digest' ? 'the weekly digest' : `the weekly email of ${f.customer}`}.` }
        : { ok: false, status: 404, message: `${f.email} was not subscribed.` };
    }
    const done = await resolveEmail(db, actor, f.id, f.resolution);
    if (!done) return { ok: false, status: 409, message: 'That email is not uncertain or failed any more: reload the page.' };
    return {
      ok: true,
      status: 200,
      message: f.resolution === 'mark-sent' ? 'Marked as sent: it will not be sent again.' : 'Allowed a resend: the next run sends it (the worker checks every 15 minutes).',
    };
  } catch (error) {
    if (error instanceof RecipientInputError) return { ok: false, status: 400, message: error.message };
    throw error;
  }
}
