import { sql, type Kysely } from 'kysely';

// How far raw GPU samples have been dropped. A late sample whose hours reach back before this point cannot be
// rolled up again from raw rows (its neighbours are gone), so ingestion quarantines it instead of
// overwriting a complete rollup with a partial one. One row at most; none means nothing was ever dropped.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE gpu_sample_retention (
      singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      dropped_before timestamptz NOT NULL
    );
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE gpu_sample_retention`.execute(db);
}
