import { sql, type Kysely } from 'kysely';

// Who may sign in, their sessions, the sign-in attempts that throttle guessing, and the audit trail.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email         text NOT NULL UNIQUE CHECK (email = lower(email) AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
      role          text NOT NULL CHECK (role IN ('admin', 'viewer')),
      password_hash text NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now()
    );

    -- The cookie carries the session id; only its SHA-256 is stored, so a database read cannot sign anyone in.
    CREATE TABLE sessions (
      id_sha256    text PRIMARY KEY,
      user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz NOT NULL,
      CHECK (expires_at > created_at)
    );
    CREATE INDEX sessions_user ON sessions (user_id);

    CREATE TABLE login_attempts (
      id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email     text NOT NULL,
      address   text NOT NULL,
      succeeded boolean NOT NULL,
      at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX login_attempts_email ON login_attempts (email, at);
    CREATE INDEX login_attempts_address ON login_attempts (address, at);

    CREATE TABLE audit_log (
      id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at        timestamptz NOT NULL DEFAULT now(),
      user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
      actor     text NOT NULL,
      action    text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
      entity    text NOT NULL,
      entity_id text,
      before    jsonb,
      after     jsonb
    );
    CREATE INDEX audit_log_at ON audit_log (at DESC);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE audit_log, login_attempts, sessions, users`.execute(db);
}
