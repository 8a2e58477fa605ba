import { sql, type Kysely } from 'kysely';

// The engine's copy of the hourly rollups, one row per customer × (GPU type or model) × UTC day: the day's hours
// packed into one bytea, in hour order. Why: the engine reads every hour of every customer of its window, and
// PostgreSQL's cost of that read is per row — a year × 1,000 customers is 22.8 M hourly rows, 13.7 s to copy out
// on this machine, against 3.3 s for the same values as 0.95 M packed days. The hourly tables stay the record
// (ingestion writes them; the pages' SQL sums them); statement triggers keep each touched day's row equal to its
// hours, in the writer's own transaction, whatever writes them. See docs/decisions/033-packed-days.md.
//
// A day's `hours`: per stored hour, in hour order, big-endian as int2send / int8send / float8send write them —
//   daily_gpu_usage:   int2 hour of the day (0–23), float8 allocated_gpu_seconds, float8 busy_gpu_seconds (18 bytes);
//   daily_token_usage: int2 hour of the day, int8 input, cached_input, cache_write_input, output tokens, requests (42 bytes).

interface Packed {
  daily: string;
  hourly: string;
  /** The key besides customer and day. */
  key: string;
  /** One hour's bytes, from a row `u` of the hourly table. */
  record: string;
}

const GPU: Packed = {
  daily: 'daily_gpu_usage',
  hourly: 'hourly_gpu_usage',
  key: 'gpu_type_id',
  record: 'float8send(u.allocated_gpu_seconds) || float8send(u.busy_gpu_seconds)',
};

const TOKENS: Packed = {
  daily: 'daily_token_usage',
  hourly: 'hourly_token_usage',
  key: 'model',
  record:
    'int8send(u.input_tokens) || int8send(u.cached_input_tokens) || int8send(u.cache_write_input_tokens) || int8send(u.output_tokens) || int8send(u.requests)',
};

/** The packed hours of each (customer, key, day) in `keys` (NULL for a day without hours). */
const packed = (t: Packed, keys: string) => `
  SELECT k.customer_id, k.${t.key}, k.day,
         string_agg(int2send(extract(hour FROM u.hour AT TIME ZONE 'UTC')::int2) || ${t.record}, ''::bytea ORDER BY u.hour) AS hours
  FROM (${keys}) k
  LEFT JOIN ${t.hourly} u ON u.customer_id = k.customer_id AND u.${t.key} = k.${t.key}
    AND u.hour >= k.day::timestamp AT TIME ZONE 'UTC' AND u.hour < (k.day + 1)::timestamp AT TIME ZONE 'UTC'
  GROUP BY k.customer_id, k.${t.key}, k.day`;

const touched = (t: Packed, table: string) => `SELECT DISTINCT customer_id, ${t.key}, (hour AT TIME ZONE 'UTC')::date AS day FROM ${table}`;

/** A statement trigger's function: re-packs every day the statement touched (`tables`: its transition tables). */
const refreshFunction = (t: Packed, name: string, tables: string[]) => `
  CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    WITH days AS (${packed(t, tables.map((table) => touched(t, table)).join(' UNION '))}),
    emptied AS (
      DELETE FROM ${t.daily} d USING days
      WHERE days.hours IS NULL AND d.customer_id = days.customer_id AND d.${t.key} = days.${t.key} AND d.day = days.day
    )
    INSERT INTO ${t.daily} (customer_id, ${t.key}, day, hours)
    SELECT customer_id, ${t.key}, day, hours FROM days WHERE hours IS NOT NULL
    ON CONFLICT (customer_id, ${t.key}, day) DO UPDATE SET hours = EXCLUDED.hours;
    RETURN NULL;
  END
  $fn$;`;

/** Every day of the hourly table packed again, in one pass (after a bulk load with the triggers off). */
const rebuildFunction = (t: Packed) => `
  CREATE FUNCTION rebuild_${t.daily}() RETURNS void LANGUAGE sql AS $fn$
    TRUNCATE ${t.daily};
    INSERT INTO ${t.daily} (customer_id, ${t.key}, day, hours)
    SELECT u.customer_id, u.${t.key}, (u.hour AT TIME ZONE 'UTC')::date,
           string_agg(int2send(extract(hour FROM u.hour AT TIME ZONE 'UTC')::int2) || ${t.record}, ''::bytea ORDER BY u.hour)
    FROM ${t.hourly} u
    GROUP BY 1, 2, 3;
  $fn$;`;

const create = (t: Packed, keyType: string) => `
  CREATE TABLE ${t.daily} (
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    ${t.key} ${keyType},
    day date NOT NULL,
    hours bytea NOT NULL,
    PRIMARY KEY (customer_id, ${t.key}, day)
  );
  CREATE INDEX ${t.daily}_day ON ${t.daily} (day);
  ${refreshFunction(t, `${t.daily}_after_write`, ['changed'])}
  ${refreshFunction(t, `${t.daily}_after_update`, ['changed', 'changed_before'])}
  ${rebuildFunction(t)}
  CREATE FUNCTION ${t.daily}_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    TRUNCATE ${t.daily};
    RETURN NULL;
  END
  $fn$;
  CREATE TRIGGER ${t.daily}_insert AFTER INSERT ON ${t.hourly} REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ${t.daily}_after_write();
  CREATE TRIGGER ${t.daily}_delete AFTER DELETE ON ${t.hourly} REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ${t.daily}_after_write();
  CREATE TRIGGER ${t.daily}_update AFTER UPDATE ON ${t.hourly} REFERENCING OLD TABLE AS changed_before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ${t.daily}_after_update();
  CREATE TRIGGER ${t.daily}_truncate AFTER TRUNCATE ON ${t.hourly}
    FOR EACH STATEMENT EXECUTE FUNCTION ${t.daily}_after_truncate();
  SELECT rebuild_${t.daily}();`;

const drop = (t: Packed) => `
  DROP TRIGGER ${t.daily}_insert ON ${t.hourly};
  DROP TRIGGER ${t.daily}_delete ON ${t.hourly};
  DROP TRIGGER ${t.daily}_update ON ${t.hourly};
  DROP TRIGGER ${t.daily}_truncate ON ${t.hourly};
  DROP FUNCTION ${t.daily}_after_write(), ${t.daily}_after_update(), ${t.daily}_after_truncate(), rebuild_${t.daily}();
  DROP TABLE ${t.daily};`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`${create(GPU, 'bigint NOT NULL REFERENCES gpu_types (id)')}\n${create(TOKENS, 'text NOT NULL')}`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(`${drop(GPU)}\n${drop(TOKENS)}`).execute(db);
}
