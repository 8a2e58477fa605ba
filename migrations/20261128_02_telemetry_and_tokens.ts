import { sql, type Kysely } from 'kysely';

// Raw telemetry and token usage, and the hourly rollups every view reads. Every table here carries
// customer_id, the key the schema can be distributed by.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- Raw GPU samples, one partition per UTC day, dropped whole when they expire.
    CREATE TABLE gpu_samples (
      customer_id     bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
      gpu_uuid        text NOT NULL,
      ts              timestamptz NOT NULL,
      gpu_type_id     bigint NOT NULL REFERENCES gpu_types (id),
      utilization_pct real NOT NULL CHECK (utilization_pct >= 0 AND utilization_pct <= 100),
      memory_used_mib real CHECK (memory_used_mib >= 0),
      power_w         real CHECK (power_w >= 0),
      hostname        text,
      source_id       bigint,
      PRIMARY KEY (customer_id, gpu_uuid, ts)
    ) PARTITION BY RANGE (ts);

    -- Creates the daily partition holding a timestamp, if it does not exist yet.
    CREATE FUNCTION ensure_gpu_sample_partition(day date) RETURNS text LANGUAGE plpgsql AS $fn$
    DECLARE
      part text := 'gpu_samples_' || to_char(day, 'YYYYMMDD');
    BEGIN
      IF to_regclass(part) IS NULL THEN
        EXECUTE format(
          'CREATE TABLE IF NOT EXISTS %I PARTITION OF gpu_samples FOR VALUES FROM (%L) TO (%L)',
          part, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
      END IF;
      RETURN part;
    END
    $fn$;

    -- Token usage as brought: one request or one pre-aggregated bucket per row. record_key identifies the
    -- row at its origin (a file's digest and line, an API bucket), so importing it again changes nothing.
    CREATE TABLE token_usage (
      customer_id              bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
      record_key               text NOT NULL,
      ts                       timestamptz NOT NULL,
      model                    text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
      input_tokens             bigint NOT NULL CHECK (input_tokens >= 0),
      cached_input_tokens      bigint NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
      cache_write_input_tokens bigint NOT NULL DEFAULT 0 CHECK (cache_write_input_tokens >= 0),
      output_tokens            bigint NOT NULL CHECK (output_tokens >= 0),
      requests                 bigint NOT NULL DEFAULT 1 CHECK (requests >= 0),
      source_id                bigint,
      CHECK (cached_input_tokens + cache_write_input_tokens <= input_tokens),
      PRIMARY KEY (customer_id, record_key)
    );
    CREATE INDEX token_usage_customer_ts ON token_usage (customer_id, ts);

    -- Hourly rollups: kept for as long as the product is used; every page reads these, never raw rows.
    CREATE TABLE hourly_gpu_usage (
      customer_id           bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
      gpu_type_id           bigint NOT NULL REFERENCES gpu_types (id),
      hour                  timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
      allocated_gpu_seconds double precision NOT NULL CHECK (allocated_gpu_seconds >= 0),
      busy_gpu_seconds      double precision NOT NULL CHECK (busy_gpu_seconds >= 0),
      samples               integer NOT NULL CHECK (samples >= 0),
      CHECK (busy_gpu_seconds <= allocated_gpu_seconds * (1 + 1e-9)),
      PRIMARY KEY (customer_id, gpu_type_id, hour)
    );
    CREATE INDEX hourly_gpu_usage_hour ON hourly_gpu_usage (hour);

    CREATE TABLE hourly_token_usage (
      customer_id              bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
      model                    text NOT NULL,
      hour                     timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
      input_tokens             bigint NOT NULL CHECK (input_tokens >= 0),
      cached_input_tokens      bigint NOT NULL CHECK (cached_input_tokens >= 0),
      cache_write_input_tokens bigint NOT NULL CHECK (cache_write_input_tokens >= 0),
      output_tokens            bigint NOT NULL CHECK (output_tokens >= 0),
      requests                 bigint NOT NULL CHECK (requests >= 0),
      CHECK (cached_input_tokens + cache_write_input_tokens <= input_tokens),
      PRIMARY KEY (customer_id, model, hour)
    );
    CREATE INDEX hourly_token_usage_hour ON hourly_token_usage (hour);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP TABLE hourly_token_usage, hourly_gpu_usage, token_usage, gpu_samples;
    DROP FUNCTION ensure_gpu_sample_partition(date);
  `.execute(db);
}
