import { sql, type Kysely } from 'kysely';

// The dashboard's data fingerprint reads the running ingestion runs and the latest file import on every
// check (at most once a second); these partial indexes keep both reads small however many runs accumulate.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE INDEX ingestion_runs_running ON ingestion_runs (id) WHERE status = 'running';
    CREATE INDEX ingestion_runs_files ON ingestion_runs (id) WHERE source_id IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ingestion_runs_files; DROP INDEX ingestion_runs_running;`.execute(db);
}
