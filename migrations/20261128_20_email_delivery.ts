import { sql, type Kysely } from 'kysely';

// What exactly-once delivery and owner subscriptions need beyond 07_emails:
// - email_recipients.origin: 'owner' rows stand for a customer's owner_email (made when first needed, and kept
//   so that an unsubscription sticks); they apply only while that address is still the customer's owner.
// - email_log.claimed_at: when the current attempt started; a row still `sending` long after it was claimed
//   belongs to a process that stopped mid-send and becomes `uncertain`.
// - email_log.next_attempt_at: a failed attempt's retry is not due before it.
// - email_log.delivery: where the message went (the SMTP server, or the outbox file).
// - email_log.resolved_by/resolved_at: who settled an uncertain or failed entry, and when.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE email_recipients
      ADD COLUMN origin text NOT NULL DEFAULT 'manual' CHECK (origin IN ('manual', 'owner')),
      ADD CONSTRAINT email_recipients_owner_is_customer CHECK (origin = 'manual' OR kind = 'customer');
    ALTER TABLE email_log
      ADD COLUMN claimed_at      timestamptz,
      ADD COLUMN next_attempt_at timestamptz,
      ADD COLUMN delivery        text,
      ADD COLUMN resolved_by     text,
      ADD COLUMN resolved_at     timestamptz;
    CREATE INDEX email_log_open ON email_log (status) WHERE status IN ('pending', 'sending', 'failed', 'uncertain');
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP INDEX email_log_open;
    ALTER TABLE email_log
      DROP COLUMN claimed_at, DROP COLUMN next_attempt_at, DROP COLUMN delivery, DROP COLUMN resolved_by, DROP COLUMN resolved_at;
    ALTER TABLE email_recipients DROP CONSTRAINT email_recipients_owner_is_customer, DROP COLUMN origin;
  `.execute(db);
}
