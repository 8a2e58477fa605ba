import { sql, type Kysely } from 'kysely';

// Where data comes from, each run that brought it, and the rows it could not accept.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE ingestion_sources (
      id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name                   text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]*$'),
      kind                   text NOT NULL CHECK (kind IN ('prometheus-dcgm', 'prometheus-vllm', 'openai-usage')),
      url                    text NOT NULL,
      config                 jsonb NOT NULL DEFAULT '{}',
      -- AES-256-GCM: iv, tag and ciphertext; never returned to a browser or printed.
      credentials_encrypted  bytea,
      interval_seconds       integer NOT NULL DEFAULT 300 CHECK (interval_seconds >= 10),
      lookback_seconds       integer NOT NULL DEFAULT 3600 CHECK (lookback_seconds >= 0),
      delay_seconds          integer NOT NULL DEFAULT 60 CHECK (delay_seconds >= 0),
      watermark              timestamptz,
      enabled                boolean NOT NULL DEFAULT true,
      created_at             timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE ingestion_runs (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      source_id     bigint REFERENCES ingestion_sources (id) ON DELETE SET NULL,
      kind          text NOT NULL,
      file_name     text,
      file_sha256   text CHECK (file_sha256 IS NULL OR file_sha256 ~ '^[0-9a-f]{64}$'),
      window_from   timestamptz,
      window_to     timestamptz,
      status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
      rows_read     bigint NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
      rows_stored   bigint NOT NULL DEFAULT 0 CHECK (rows_stored >= 0),
      rows_rejected bigint NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
      customers_created text[] NOT NULL DEFAULT '{}',
      error         text,
      started_at    timestamptz NOT NULL DEFAULT now(),
      finished_at   timestamptz,
      CHECK (window_to IS NULL OR window_from IS NULL OR window_to >= window_from)
    );
    CREATE INDEX ingestion_runs_source ON ingestion_runs (source_id, started_at DESC);
    CREATE INDEX ingestion_runs_started ON ingestion_runs (started_at DESC);

    -- Quarantine: a row that could not be stored, kept with its line, raw text and reason.
    CREATE TABLE rejected_rows (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id      bigint NOT NULL REFERENCES ingestion_runs (id) ON DELETE CASCADE,
      line_number bigint NOT NULL CHECK (line_number >= 1),
      field       text,
      reason      text NOT NULL,
      raw         text NOT NULL,
      UNIQUE (run_id, line_number)
    );
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE rejected_rows, ingestion_runs, ingestion_sources`.execute(db);
}
