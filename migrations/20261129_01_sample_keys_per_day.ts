import { sql, type Kysely } from 'kysely';

// The natural key of raw samples, (customer_id, gpu_uuid, ts), moves from the partitioned table to each daily
// partition. A partitioned table's key must exist on every partition before it is attached; per partition, a
// file's new day can be attached at once and its key built after the import's commit (by the worker, or by
// the next run that writes into that day, under the writers' lock). Writes that may meet stored rows go to
// the day's partition itself, with its key. See docs/decisions/032-sample-keys-per-day.md.

/** ensure_gpu_sample_partition: creates the daily partition holding a timestamp if it does not exist yet — with
 *  its own key after this migration, without before it (the parent's key covered it). */
const ensurePartitionFunction = (withKey: boolean) =>
  sql.raw(`
    CREATE OR REPLACE FUNCTION ensure_gpu_sample_partition(day date) RETURNS text LANGUAGE plpgsql AS $fn$
    DECLARE
      part text := 'gpu_samples_' || to_char(day, 'YYYYMMDD');
    BEGIN
      IF to_regclass(part) IS NULL THEN
        EXECUTE format(
          'CREATE TABLE IF NOT EXISTS %I PARTITION OF gpu_samples FOR VALUES FROM (%L) TO (%L)',
          part, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
        ${withKey ? "EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (customer_id, gpu_uuid, ts)', part);" : ''}
      END IF;
      RETURN part;
    END
    $fn$;
  `);

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE gpu_samples DROP CONSTRAINT gpu_samples_pkey;

    DO $$
    DECLARE part regclass;
    BEGIN
      FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'gpu_samples'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id, gpu_uuid, ts)', part);
      END LOOP;
    END
    $$;
  `.execute(db);
  await sql`${ensurePartitionFunction(true)}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DO $$
    DECLARE part regclass;
    BEGIN
      FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'gpu_samples'::regclass LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', part, part::text || '_pkey');
      END LOOP;
    END
    $$;
    ALTER TABLE gpu_samples ADD PRIMARY KEY (customer_id, gpu_uuid, ts);
  `.execute(db);
  await sql`${ensurePartitionFunction(false)}`.execute(db);
}
