import { sql, type Kysely } from 'kysely';

// Who gets the weekly emails, and the log that makes each one go out exactly once.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE email_recipients (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email        text NOT NULL CHECK (email = lower(email) AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
      kind         text NOT NULL CHECK (kind IN ('digest', 'customer')),
      customer_id  bigint REFERENCES customers (id) ON DELETE CASCADE,
      time_zone    text NOT NULL DEFAULT 'UTC',
      unsubscribed boolean NOT NULL DEFAULT false,
      created_at   timestamptz NOT NULL DEFAULT now(),
      CHECK ((kind = 'customer') = (customer_id IS NOT NULL))
    );
    CREATE UNIQUE INDEX email_recipients_key ON email_recipients (email, kind, coalesce(customer_id, 0));

    -- The intent to send is written under its unique key before the SMTP conversation starts.
    CREATE TABLE email_log (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      recipient_id bigint NOT NULL REFERENCES email_recipients (id) ON DELETE CASCADE,
      iso_week     text NOT NULL CHECK (iso_week ~ '^[0-9]{4}-W[0-9]{2}$'),
      status       text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain')),
      subject      text,
      attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      last_error   text,
      message_id   text,
      created_at   timestamptz NOT NULL DEFAULT now(),
      sent_at      timestamptz,
      UNIQUE (recipient_id, iso_week)
    );
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE email_log, email_recipients`.execute(db);
}
