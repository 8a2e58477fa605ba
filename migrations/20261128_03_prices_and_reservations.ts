import { sql, type Kysely } from 'kysely';

// Effective-dated price books with their offers and capacity profiles, and the reservations that exist today.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- A book is in force from effective_from until the next book's effective_from (effective_to, kept in step
    -- on import); past periods are costed with the book in force then.
    CREATE TABLE price_books (
      id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name           text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
      effective_from timestamptz NOT NULL UNIQUE,
      effective_to   timestamptz CHECK (effective_to IS NULL OR effective_to > effective_from),
      document       jsonb NOT NULL,
      imported_at    timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE offers (
      id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      price_book_id               bigint NOT NULL REFERENCES price_books (id) ON DELETE CASCADE,
      kind                        text NOT NULL CHECK (kind IN ('reserved', 'on_demand', 'api')),
      provider                    text NOT NULL CHECK (length(provider) BETWEEN 1 AND 200),
      gpu_type_id                 bigint REFERENCES gpu_types (id),
      model                       text,
      term_days                   integer CHECK (term_days > 0),
      block_size                  integer CHECK (block_size > 0),
      usd_per_gpu_hour            numeric CHECK (usd_per_gpu_hour > 0),
      usd_per_mtok_input          numeric CHECK (usd_per_mtok_input > 0),
      usd_per_mtok_cached_input   numeric CHECK (usd_per_mtok_cached_input >= 0),
      usd_per_mtok_cache_write    numeric CHECK (usd_per_mtok_cache_write >= 0),
      usd_per_mtok_output         numeric CHECK (usd_per_mtok_output > 0),
      source                      text,
      source_date                 date,
      CHECK (CASE kind
        WHEN 'reserved'  THEN gpu_type_id IS NOT NULL AND term_days IS NOT NULL AND block_size IS NOT NULL
                              AND usd_per_gpu_hour IS NOT NULL AND model IS NULL
        WHEN 'on_demand' THEN gpu_type_id IS NOT NULL AND usd_per_gpu_hour IS NOT NULL AND model IS NULL
        WHEN 'api'       THEN model IS NOT NULL AND usd_per_mtok_input IS NOT NULL
                              AND usd_per_mtok_output IS NOT NULL AND gpu_type_id IS NULL
      END)
    );
    CREATE INDEX offers_price_book ON offers (price_book_id);
    CREATE UNIQUE INDEX offers_natural_key ON offers
      (price_book_id, kind, provider, coalesce(gpu_type_id, 0), coalesce(model, ''), coalesce(term_days, 0));

    CREATE TABLE capacity_profiles (
      id                           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      price_book_id                bigint NOT NULL REFERENCES price_books (id) ON DELETE CASCADE,
      model                        text NOT NULL,
      gpu_type_id                  bigint NOT NULL REFERENCES gpu_types (id),
      input_tokens_per_gpu_second  numeric NOT NULL CHECK (input_tokens_per_gpu_second > 0),
      output_tokens_per_gpu_second numeric NOT NULL CHECK (output_tokens_per_gpu_second > 0),
      target_utilization           numeric NOT NULL DEFAULT 0.8
                                   CHECK (target_utilization > 0 AND target_utilization <= 1),
      UNIQUE (price_book_id, model, gpu_type_id)
    );

    -- A commitment that exists: for one customer or for a pool, never both.
    CREATE TABLE reservations (
      id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id      bigint REFERENCES customers (id) ON DELETE CASCADE,
      pool_id          bigint REFERENCES pools (id) ON DELETE CASCADE,
      gpu_type_id      bigint NOT NULL REFERENCES gpu_types (id),
      provider         text NOT NULL CHECK (length(provider) BETWEEN 1 AND 200),
      gpus             integer NOT NULL CHECK (gpus > 0),
      usd_per_gpu_hour numeric NOT NULL CHECK (usd_per_gpu_hour > 0),
      starts_at        timestamptz NOT NULL,
      ends_at          timestamptz NOT NULL,
      note             text,
      created_at       timestamptz NOT NULL DEFAULT now(),
      CHECK (ends_at > starts_at),
      CHECK ((customer_id IS NULL) <> (pool_id IS NULL))
    );
    CREATE INDEX reservations_customer ON reservations (customer_id);
    CREATE INDEX reservations_pool ON reservations (pool_id);
    CREATE INDEX reservations_ends_at ON reservations (ends_at);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE reservations, capacity_profiles, offers, price_books`.execute(db);
}
