import { sql, type Kysely } from 'kysely';

// Computed recommendations, kept so pages and emails read them without recomputing.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE recommendations (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id   bigint REFERENCES customers (id) ON DELETE CASCADE,
      pool_id       bigint REFERENCES pools (id) ON DELETE CASCADE,
      gpu_type_id   bigint NOT NULL REFERENCES gpu_types (id),
      overflow      text NOT NULL CHECK (overflow IN ('on_demand', 'api')),
      window_from   timestamptz NOT NULL,
      window_to     timestamptz NOT NULL,
      price_book_id bigint REFERENCES price_books (id) ON DELETE SET NULL,
      gpus          integer NOT NULL CHECK (gpus >= 0),
      cost_usd      numeric NOT NULL,
      result        jsonb NOT NULL,
      computed_at   timestamptz NOT NULL DEFAULT now(),
      stale         boolean NOT NULL DEFAULT false,
      CHECK (window_to > window_from),
      CHECK ((customer_id IS NULL) <> (pool_id IS NULL))
    );
    CREATE UNIQUE INDEX recommendations_scope ON recommendations
      (coalesce(customer_id, 0), coalesce(pool_id, 0), gpu_type_id, overflow, window_from, window_to);
    CREATE INDEX recommendations_customer ON recommendations (customer_id);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE recommendations`.execute(db);
}
