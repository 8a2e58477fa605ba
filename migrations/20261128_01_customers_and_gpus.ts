import { sql, type Kysely } from 'kysely';

// Customers, the pools that share reservations, GPU types and which customer holds which GPU.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE pools (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]*$'),
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE customers (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$' AND length(slug) <= 100),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      pool_id     bigint REFERENCES pools (id) ON DELETE SET NULL,
      owner_email text CHECK (owner_email IS NULL OR owner_email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX customers_pool_id ON customers (pool_id);

    CREATE TABLE gpu_types (
      id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name               text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9-]*$'),
      memory_gib         integer CHECK (memory_gib > 0),
      target_utilization numeric NOT NULL DEFAULT 0.8 CHECK (target_utilization > 0 AND target_utilization <= 1)
    );

    -- A vendor name as reported ("NVIDIA H100 80GB HBM3"), lower-cased, to the normalised type.
    CREATE TABLE gpu_type_aliases (
      alias       text PRIMARY KEY CHECK (alias = lower(alias)),
      gpu_type_id bigint NOT NULL REFERENCES gpu_types (id) ON DELETE CASCADE
    );

    -- Which customer a GPU served over a time range; used when a source names the GPU but not the customer.
    CREATE TABLE gpu_assignments (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
      gpu_uuid    text NOT NULL CHECK (length(gpu_uuid) BETWEEN 1 AND 200),
      valid_from  timestamptz NOT NULL,
      valid_to    timestamptz,
      CHECK (valid_to IS NULL OR valid_to > valid_from),
      UNIQUE (customer_id, gpu_uuid, valid_from)
    );
    CREATE INDEX gpu_assignments_gpu ON gpu_assignments (gpu_uuid, valid_from);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE gpu_assignments, gpu_type_aliases, gpu_types, customers, pools`.execute(db);
}
