// Subscribing and unsubscribing, from the command line and the /emails page, each change audit-logged in its
// transaction. Unsubscribing keeps the row (and its email log), so it sticks — for a customer's owner too, whose
// default subscription would otherwise come back — and a resubscription in the same week still sends once.
import type { Db } from '../../../db/client.js';
import { recordAudit } from '../../../db/queries/audit.js';
import { findCustomerBySlug } from '../../../db/queries/customers.js';
import { resolveLogEntry, type Resolution } from '../../../db/queries/email-log.js';
import {
  findRecipient,
  isActive,
  listSubscriptions,
  unsubscribeRecipient,
  upsertRecipient,
  type RecipientKind,
  type RecipientRecord,
  type SubscriptionRow,
} from '../../../db/queries/email-recipients.js';
import { isEmail } from '../../domain/customers.js';
import { canonicalTimeZone } from '../../domain/weeks.js';

export { type SubscriptionRow };

/** Who makes a change: a signed-in user, or the command line (userId null). */
export interface Actor {
  userId: number | null;
  actor: string;
}

/** Input that cannot be stored, said so a person can fix it (exit status 2, HTTP 400). */
export class RecipientInputError extends Error {
  override name = 'RecipientInputError';
}

export const RECIPIENT_KINDS = ['digest', 'customer'] as const;

export interface RecipientInput {
  email: string;
  kind: string;
  customer?: string | null;
  timeZone?: string | null;
}

function auditView(r: Pick<RecipientRecord, 'email' | 'kind' | 'time_zone' | 'unsubscribed' | 'origin'>, customer: string | null) {
  return { email: r.email, kind: r.kind, customer, time_zone: r.time_zone, unsubscribed: r.unsubscribed, origin: r.origin };
}

async function checkKey(db: Db, input: { email: string; kind: string; customer?: string | null }): Promise<{ email: string; kind: RecipientKind; customerId: number | null; customer: string | null }> {
  const email = input.email.trim().toLowerCase();
  if (!isEmail(email)) throw new RecipientInputError(`"${input.email}" is not an email address`);
  if (!RECIPIENT_KINDS.includes(input.kind as RecipientKind)) throw new RecipientInputError(`the kind must be digest or customer (got "${input.kind}")`);
  const kind = input.kind as RecipientKind;
  const slug = input.customer?.trim() || null;
  if (kind === 'digest') {
    if (slug) throw new RecipientInputError('a digest covers the whole fleet: name no customer');
    return { email, kind, customerId: null, customer: null };
  }
  if (!slug) throw new RecipientInputError('a customer email needs the customer: --customer SLUG');
  const customer = await findCustomerBySlug(db, slug);
  if (!customer) throw new RecipientInputError(`unknown customer "${slug}"`);
  return { email, kind, customerId: customer.id, customer: customer.slug };
}

/** Subscribes an address (again, if it was unsubscribed), with its time zone (default UTC, IANA names only). */
export async function addRecipient(db: Db, actor: Actor, input: RecipientInput): Promise<{ created: boolean; subscription: SubscriptionRow }> {
  const key = await checkKey(db, input);
  const zone = canonicalTimeZone(input.timeZone?.trim() || 'UTC');
  if (!zone) throw new RecipientInputError(`"${input.timeZone}" is not an IANA time zone such as Europe/Berlin, America/New_York or UTC`);
  const { created, id } = await db.transaction().execute(async (trx) => {
    const before = await findRecipient(trx, key);
    const after = await upsertRecipient(trx, key, zone);
    await recordAudit(trx, {
      userId: actor.userId,
      actor: actor.actor,
      action: before ? 'update' : 'create',
      entity: 'email_recipient',
      entityId: `${key.kind}:${key.email}${key.customer ? `:${key.customer}` : ''}`,
      before: before ? auditView(before, key.customer) : null,
      after: auditView(after, key.customer),
    });
    return { created: !before, id: after.id };
  });
  const subscription = (await listSubscriptions(db)).find((s) => s.id === id)!;
  return { created, subscription };
}

/**
 * Unsubscribes an address: every active subscription it has, or only those of a kind (and customer). Returns the
 * subscriptions ended; an empty list when it had none.
 */
export async function removeRecipient(db: Db, actor: Actor, input: { email: string; kind?: string | null; customer?: string | null }): Promise<SubscriptionRow[]> {
  const email = input.email.trim().toLowerCase();
  if (!isEmail(email)) throw new RecipientInputError(`"${input.email}" is not an email address`);
  if (input.kind && !RECIPIENT_KINDS.includes(input.kind as RecipientKind)) throw new RecipientInputError(`the kind must be digest or customer (got "${input.kind}")`);
  const slug = input.customer?.trim() || null;
  const matching = (await listSubscriptions(db)).filter(
    (s) => s.email === email && isActive(s) && (!input.kind || s.kind === input.kind) && (!slug || s.customer === slug),
  );
  await db.transaction().execute(async (trx) => {
    for (const s of matching) {
      const key = { email: s.email, kind: s.kind, customerId: s.customer_id };
      const before = await findRecipient(trx, key);
      const after = await unsubscribeRecipient(trx, key, s.origin);
      await recordAudit(trx, {
        userId: actor.userId,
        actor: actor.actor,
        action: 'update',
        entity: 'email_recipient',
        entityId: `${s.kind}:${s.email}${s.customer ? `:${s.customer}` : ''}`,
        before: before ? auditView(before, s.customer) : { ...auditView({ ...after, unsubscribed: false }, s.customer), implicit: 'customer owner' },
        after: auditView(after, s.customer),
      });
    }
  });
  return matching;
}

export async function listRecipients(db: Db): Promise<SubscriptionRow[]> {
  return listSubscriptions(db);
}

/** An admin settles an uncertain or failed email: mark it sent, or allow one more send. Audit-logged. */
export async function resolveEmail(db: Db, actor: Actor, logId: number, resolution: Resolution): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const changed = await resolveLogEntry(trx, logId, resolution, actor.actor);
    if (!changed) return false;
    const view = (r: typeof changed.before) => ({ iso_week: r.iso_week, status: r.status, attempts: r.attempts, last_error: r.last_error, message_id: r.message_id });
    await recordAudit(trx, {
      userId: actor.userId,
      actor: actor.actor,
      action: 'update',
      entity: 'email_log',
      entityId: String(logId),
      before: view(changed.before),
      after: { ...view(changed.after), resolution },
    });
    return true;
  });
}
