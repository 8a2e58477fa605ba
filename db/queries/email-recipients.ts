// Who gets the weekly emails. Explicit subscriptions are rows; a customer's owner_email is a subscription too,
// made a row (origin 'owner') only when something needs one — a send, an unsubscription, a time zone — so that
// what an admin changes sticks, and an owner row applies only while that address is still the owner.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, EmailRecipientsTable } from '../schema.js';

type Handle = Kysely<Database>;

export type RecipientKind = 'digest' | 'customer';

export interface SubscriptionRow {
  /** null: the customer's owner, not yet a row. */
  id: number | null;
  email: string;
  kind: RecipientKind;
  customer_id: number | null;
  customer: string | null;
  customer_name: string | null;
  pool: string | null;
  time_zone: string;
  unsubscribed: boolean;
  origin: 'manual' | 'owner';
  /** An owner row whose address is no longer the customer's owner: it gets nothing. */
  former_owner: boolean;
  created_at: Date;
}

export interface RecipientKey {
  email: string;
  kind: RecipientKind;
  customerId: number | null;
}

/**
 * Every subscription: the rows, and each customer owner without a row (as an implicit subscription in UTC).
 * Ordered digest first, then by customer and email.
 */
export async function listSubscriptions(db: Handle): Promise<SubscriptionRow[]> {
  const { rows } = await sql<SubscriptionRow>`
    SELECT r.id::int8 AS id, r.email, r.kind, r.customer_id, c.slug AS customer, c.name AS customer_name, p.name AS pool,
           r.time_zone, r.unsubscribed, r.origin,
           (r.origin = 'owner' AND c.owner_email IS DISTINCT FROM r.email) AS former_owner, r.created_at
    FROM email_recipients r
    LEFT JOIN customers c ON c.id = r.customer_id
    LEFT JOIN pools p ON p.id = c.pool_id
    UNION ALL
    SELECT NULL, c.owner_email, 'customer', c.id, c.slug, c.name, p.name, 'UTC', false, 'owner', false, c.created_at
    FROM customers c
    LEFT JOIN pools p ON p.id = c.pool_id
    WHERE c.owner_email IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM email_recipients r WHERE r.email = c.owner_email AND r.kind = 'customer' AND r.customer_id = c.id)
    ORDER BY kind DESC, customer NULLS FIRST, email`.execute(db);
  return rows;
}

/** Subscriptions that get email: not unsubscribed, and owner rows only while still the owner. */
export function isActive(s: Pick<SubscriptionRow, 'unsubscribed' | 'former_owner'>): boolean {
  return !s.unsubscribed && !s.former_owner;
}

/** Gives every customer owner without a row one (origin 'owner', UTC, created when the customer was). */
export async function materialiseOwnerRecipients(db: Handle): Promise<number> {
  const result = await sql`
    INSERT INTO email_recipients (email, kind, customer_id, time_zone, origin, created_at)
    SELECT c.owner_email, 'customer', c.id, 'UTC', 'owner', c.created_at FROM customers c WHERE c.owner_email IS NOT NULL
    ON CONFLICT (email, kind, coalesce(customer_id, 0)) DO NOTHING`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export type RecipientRecord = Selectable<EmailRecipientsTable>;

export async function findRecipient(db: Handle, key: RecipientKey) {
  return db
    .selectFrom('email_recipients')
    .selectAll()
    .where('email', '=', key.email)
    .where('kind', '=', key.kind)
    .where(sql<boolean>`coalesce(customer_id, 0) = ${key.customerId ?? 0}`)
    .executeTakeFirst();
}

export async function findRecipientById(db: Handle, id: number) {
  return db.selectFrom('email_recipients').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Subscribes (again): a new row, or the existing one subscribed with this time zone. An explicit subscription
 * is 'manual' even when the address is the owner's: it stays when the owner changes.
 */
export async function upsertRecipient(db: Handle, key: RecipientKey, timeZone: string) {
  return db
    .insertInto('email_recipients')
    .values({ email: key.email, kind: key.kind, customer_id: key.customerId, time_zone: timeZone, origin: 'manual' })
    .onConflict((oc) =>
      oc.expression(sql`email, kind, coalesce(customer_id, 0)`).doUpdateSet({ time_zone: timeZone, unsubscribed: false, origin: 'manual' }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Unsubscribes: the row is kept (with its email log, which keeps a resubscription in the same week from
 * sending twice) and marked. An owner without a row gets one, unsubscribed.
 */
export async function unsubscribeRecipient(db: Handle, key: RecipientKey, origin: 'manual' | 'owner') {
  return db
    .insertInto('email_recipients')
    .values({ email: key.email, kind: key.kind, customer_id: key.customerId, origin, unsubscribed: true })
    .onConflict((oc) => oc.expression(sql`email, kind, coalesce(customer_id, 0)`).doUpdateSet({ unsubscribed: true }))
    .returningAll()
    .executeTakeFirstOrThrow();
}
