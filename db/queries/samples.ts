// Raw GPU samples: daily partitions, the COPY → staging → upsert path, the hourly rollup recomputed in SQL
// from raw rows, and retention by dropping whole partitions. See docs/decisions/010-ingestion-files.md.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { copyFromText } from './ingestion-copy.js';

type Handle = Kysely<Database>;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Serialises every transaction that writes raw samples or their rollups. Two runs recomputing the same hour
 * concurrently would each see only their own uncommitted samples, and the later commit would overwrite the
 * other's contribution; partitions created by two runs at once would collide. Held until the transaction ends.
 */
export async function lockGpuSamples(trx: Handle): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('breakeven:gpu-samples'))`.execute(trx);
}

/** The start of the oldest day whose raw samples are complete (all older partitions were dropped), or null. */
export async function readSampleRetentionHorizon(db: Handle): Promise<Date | null> {
  const { rows } = await sql<{ dropped_before: Date }>`SELECT dropped_before FROM gpu_sample_retention`.execute(db);
  return rows[0]?.dropped_before ?? null;
}

/** Creates the daily partitions of these UTC days ('YYYY-MM-DD') that do not exist yet. */
export async function ensureSamplePartitions(trx: Handle, days: readonly string[]): Promise<void> {
  if (days.length === 0) return;
  await sql`SELECT ensure_gpu_sample_partition(d) FROM unnest(${[...days]}::date[]) AS d`.execute(trx);
}

/** 'YYYY-MM-DD' of the UTC day holding an epoch-ms instant. */
export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

const STAGE = 'ingest_gpu_sample_stage';

/** Columns of a staged sample, in COPY order. */
export const SAMPLE_COPY_COLUMNS = ['customer_id', 'gpu_uuid', 'ts', 'gpu_type_id', 'utilization_pct', 'memory_used_mib', 'power_w', 'hostname'] as const;

export interface InsertedSampleHours {
  customerId: number;
  /** The hour of (ts − max_gap) and of (ts + max_gap): every hour between them may have changed. */
  fromHour: Date;
  toHour: Date;
  rows: number;
}

/**
 * COPYs rows (COPY text format, columns SAMPLE_COPY_COLUMNS, one line each) into a temporary staging table,
 * then inserts them on the natural key (customer_id, gpu_uuid, ts), keeping the row already there. Returns how
 * many were new and, grouped, the hours they can have changed.
 */
export async function copyAndInsertSamples(
  trx: Handle,
  data: { text: string[] } | { binary: Buffer },
  opts: { sourceId: number | null; maxGapMs: number },
): Promise<{ staged: number; inserted: InsertedSampleHours[] }> {
  await sql`
    CREATE TEMP TABLE IF NOT EXISTS ${sql.raw(STAGE)} (
      customer_id bigint, gpu_uuid text, ts timestamptz, gpu_type_id bigint,
      utilization_pct real, memory_used_mib real, power_w real, hostname text, source_id bigint
    ) ON COMMIT DROP`.execute(trx);
  await sql`TRUNCATE ${sql.raw(STAGE)}`.execute(trx);
  const staged =
    'text' in data
      ? await copyFromText(trx, `COPY ${STAGE} (${SAMPLE_COPY_COLUMNS.join(', ')}) FROM STDIN`, data.text)
      : await copyFromText(trx, `COPY ${STAGE} (${SAMPLE_BINARY_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`, data.binary);
  const gap = `${opts.maxGapMs / 1000} seconds`;
  // The key lives on each day's partition (no key on the partitioned table), so each day's rows go to their
  // partition, whose key is built first if its day was bulk-loaded without one: one statement, a CTE per day.
  const { rows: dayRows } = await sql<{ day: string }>`
    SELECT DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM ${sql.raw(STAGE)}`.execute(trx);
  if (dayRows.length === 0) return { staged, inserted: [] };
  const days = dayRows.map((r) => r.day).sort();
  await ensureSampleKeys(trx, days.map(dayTable));
  // Sorted by the key, so each GPU's new rows land together in the heap and the index.
  const inserts = days.map(
    (day, i) => sql`${sql.id(`ins${i}`)} AS (
      INSERT INTO ${sql.id(dayTable(day))} (customer_id, gpu_uuid, ts, gpu_type_id, utilization_pct, memory_used_mib, power_w, hostname, source_id)
      SELECT customer_id, gpu_uuid, ts, gpu_type_id, utilization_pct, memory_used_mib, power_w, hostname,
             coalesce(source_id, ${opts.sourceId}::bigint)
      FROM ${sql.raw(STAGE)}
      WHERE ts >= ${sql.lit(`${day}T00:00:00Z`)}::timestamptz AND ts < ${sql.lit(`${nextDay(day)}T00:00:00Z`)}::timestamptz
      ORDER BY customer_id, gpu_uuid, ts
      ON CONFLICT (customer_id, gpu_uuid, ts) DO NOTHING
      RETURNING customer_id, ts
    )`,
  );
  const all = sql.join(days.map((_, i) => sql`SELECT customer_id, ts FROM ${sql.id(`ins${i}`)}`), sql` UNION ALL `);
  const { rows } = await sql<{ customer_id: number; from_hour: Date; to_hour: Date; rows: number }>`
    WITH ${sql.join(inserts)}
    SELECT customer_id,
           date_trunc('hour', ts - ${gap}::interval, 'UTC') AS from_hour,
           date_trunc('hour', ts + ${gap}::interval, 'UTC') AS to_hour,
           count(*)::int AS rows
    FROM (${all}) ins GROUP BY 1, 2, 3`.execute(trx);
  return { staged, inserted: rows.map((r) => ({ customerId: r.customer_id, fromHour: r.from_hour, toHour: r.to_hour, rows: r.rows })) };
}

/**
 * Recomputes hourly_gpu_usage for exactly these (customer, hour) keys from raw samples, per DESIGN.md's
 * sample-interval rule (the reference is rollupSamples in app/domain/telemetry.ts): each sample stands for
 * Δt = next − t of the same GPU when 0 < Δt ≤ max_gap, split at the hour boundary (max_gap < 1 h, so at most
 * one), nothing otherwise; busy = util/100 · Δt. An hour is rebuilt from the samples in
 * [hour − max_gap, hour + 1 h + max_gap), read per customer over merged windows so no sample is read twice.
 * The keys' rows are deleted first, so an hour where nothing remains loses its row.
 */
export async function recomputeGpuHours(
  trx: Handle,
  keys: readonly { customerId: number; hour: number }[],
  maxGapMs: number,
): Promise<number> {
  if (keys.length === 0) return 0;
  if (!(maxGapMs > 0 && maxGapMs < HOUR_MS)) throw new RangeError('max_gap must be between 0 and 1 hour');
  const sorted = [...keys].sort((a, b) => a.customerId - b.customerId || a.hour - b.hour);
  // Windows [hour − gap, hour + 1 h + gap), merged per customer where they overlap.
  const ranges: { c: number; lo: number; hi: number }[] = [];
  for (const k of sorted) {
    const lo = k.hour - maxGapMs;
    const hi = k.hour + HOUR_MS + maxGapMs;
    const last = ranges[ranges.length - 1];
    if (last && last.c === k.customerId && lo <= last.hi) last.hi = Math.max(last.hi, hi);
    else ranges.push({ c: k.customerId, lo, hi });
  }
  // date_trunc and the hour arithmetic below are in UTC whatever the connection's zone was.
  await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
  // A statement per group of customers: each one's sort stays in memory on a large load, and a pull over
  // thousands of customers still takes few statements.
  const customers = [...new Set(sorted.map((k) => k.customerId))];
  const perStatement = Math.max(1, Math.ceil(customers.length / 32));
  for (let i = 0; i < customers.length; i += perStatement) {
    const group = new Set(customers.slice(i, i + perStatement));
    await recomputeGroup(trx, sorted.filter((k) => group.has(k.customerId)), ranges.filter((r) => group.has(r.c)), maxGapMs);
  }
  return new Set(sorted.map((k) => `${k.customerId}:${k.hour}`)).size;
}

async function recomputeGroup(
  trx: Handle,
  sorted: readonly { customerId: number; hour: number }[],
  ranges: readonly { c: number; lo: number; hi: number }[],
  maxGapMs: number,
): Promise<void> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const keyC = sorted.map((k) => k.customerId);
  const keyH = sorted.map((k) => iso(k.hour));
  const gap = `${maxGapMs / 1000} seconds`;
  // A few windows as conditions with their values bound (the planner then estimates the rows and picks hash
  // aggregation); more (a group of customers, sparse hours) are joined from arrays instead.
  const window =
    ranges.length <= 4
      ? sql.join(ranges.map((r) => sql`(g.customer_id = ${r.c} AND g.ts >= ${iso(r.lo)}::timestamptz AND g.ts < ${iso(r.hi)}::timestamptz)`), sql` OR `)
      : sql`EXISTS (SELECT 1 FROM unnest(${ranges.map((r) => r.c)}::bigint[], ${ranges.map((r) => iso(r.lo))}::timestamptz[],
                    ${ranges.map((r) => iso(r.hi))}::timestamptz[]) AS r(customer_id, lo, hi)
                    WHERE g.customer_id = r.customer_id AND g.ts >= r.lo AND g.ts < r.hi)`;
  await sql`
    DELETE FROM hourly_gpu_usage h
    USING unnest(${keyC}::bigint[], ${keyH}::timestamptz[]) AS k(customer_id, hour)
    WHERE h.customer_id = k.customer_id AND h.hour = k.hour`.execute(trx);
  await sql`
    INSERT INTO hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples)
    WITH keys AS (
      SELECT DISTINCT customer_id, hour FROM unnest(${keyC}::bigint[], ${keyH}::timestamptz[]) AS k(customer_id, hour)
    ),
    -- One pass: each sample's interval to its GPU's next sample, as the part in its own hour (s0) and the
    -- part past the hour boundary (s1, non-zero only when the interval crosses it).
    iv AS (
      SELECT customer_id, gpu_type_id, util, h0,
             CASE WHEN counts THEN date_part('epoch', least(nx, h0 + interval '1 hour') - ts) ELSE 0 END AS s0,
             CASE WHEN counts AND nx > h0 + interval '1 hour' THEN date_part('epoch', nx - (h0 + interval '1 hour')) ELSE 0 END AS s1
      FROM (
        SELECT s.*, (nx > ts AND nx - ts <= ${gap}::interval) AS counts
        FROM (
          SELECT g.customer_id, g.gpu_type_id, g.ts, g.utilization_pct::float8 AS util, date_trunc('hour', g.ts) AS h0,
                 lead(g.ts) OVER (PARTITION BY g.customer_id, g.gpu_uuid ORDER BY g.ts) AS nx
          FROM gpu_samples g
          WHERE ${window}
        ) s
      ) x
    ),
    -- Aggregated per sample hour first (few rows), then the spill-overs moved to the next hour.
    agg AS (
      SELECT customer_id, gpu_type_id, h0, count(*) AS n, sum(s0) AS a0, sum(util / 100 * s0) AS b0,
             sum(s1) AS a1, sum(util / 100 * s1) AS b1, bool_or(s1 > 0) AS spills
      FROM iv GROUP BY 1, 2, 3
    ),
    parts AS (
      SELECT customer_id, gpu_type_id, h0 AS hour, n, a0 AS a, b0 AS b FROM agg
      UNION ALL
      SELECT customer_id, gpu_type_id, h0 + interval '1 hour', 0, a1, b1 FROM agg WHERE spills
    )
    SELECT p.customer_id, p.gpu_type_id, p.hour, sum(p.a), sum(p.b), sum(p.n)::int
    FROM parts p JOIN keys k ON k.customer_id = p.customer_id AND k.hour = p.hour
    GROUP BY 1, 2, 3`.execute(trx);
}

/**
 * Replaces the hourly_gpu_usage rows of these (customer, hour) keys with rows computed elsewhere (the file
 * import's streamed rollup, which follows recomputeGpuHours' definition): the keys' rows are deleted first, as
 * recomputeGpuHours does, so a key without rows loses its row. One COPY. Returns the keys written.
 */
export async function replaceGpuHours(
  trx: Handle,
  keys: readonly { customerId: number; hour: number }[],
  rows: readonly { customerId: number; gpuTypeId: number; hour: number; allocated: number; busy: number; samples: number }[],
): Promise<number> {
  if (keys.length === 0) return 0;
  const iso = (ms: number) => new Date(ms).toISOString();
  await sql`
    DELETE FROM hourly_gpu_usage h
    USING unnest(${keys.map((k) => k.customerId)}::bigint[], ${keys.map((k) => iso(k.hour))}::timestamptz[]) AS k(customer_id, hour)
    WHERE h.customer_id = k.customer_id AND h.hour = k.hour`.execute(trx);
  if (rows.length > 0) {
    // String(x) is the shortest text that reads back as the same double: the sums are stored exactly.
    const lines = rows.map((r) => `${r.customerId}\t${r.gpuTypeId}\t${iso(r.hour)}\t${r.allocated}\t${r.busy}\t${r.samples}\n`);
    await copyFromText(
      trx,
      'COPY hourly_gpu_usage (customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds, samples) FROM STDIN',
      joinChunks(lines),
    );
  }
  return new Set(keys.map((k) => `${k.customerId}:${k.hour}`)).size;
}

function joinChunks(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 5_000) out.push(lines.slice(i, i + 5_000).join(''));
  return out;
}

/**
 * Drops the daily sample partitions of days before (now − retentionDays), whole (never a mass DELETE), and
 * records how far raw samples are gone. Rollups are kept. Returns the partitions dropped.
 */
export async function dropSamplePartitionsBefore(trx: Handle, horizon: Date): Promise<string[]> {
  await lockGpuSamples(trx);
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'gpu_samples'::regclass ORDER BY 1`.execute(trx);
  const horizonDay = utcDay(horizon.getTime());
  const dropped: string[] = [];
  let droppedBefore = '';
  for (const { name } of rows) {
    const m = /^gpu_samples_(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (!m) continue;
    const day = `${m[1]}-${m[2]}-${m[3]}`;
    if (day >= horizonDay) continue;
    await sql`DROP TABLE ${sql.id(name)}`.execute(trx);
    dropped.push(name);
    const next = utcDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
    if (next > droppedBefore) droppedBefore = next;
  }
  if (droppedBefore) {
    await sql`
      INSERT INTO gpu_sample_retention (dropped_before) VALUES (${`${droppedBefore}T00:00:00Z`}::timestamptz)
      ON CONFLICT (singleton) DO UPDATE SET dropped_before = greatest(gpu_sample_retention.dropped_before, EXCLUDED.dropped_before)`.execute(trx);
  }
  return dropped;
}

/** Columns of a sample in binary COPY order: the table's own order. */
export const SAMPLE_BINARY_COLUMNS = [...SAMPLE_COPY_COLUMNS, 'source_id'] as const;

/** The UTC days ('YYYY-MM-DD') that have a sample partition. */
export async function samplePartitionDays(trx: Handle): Promise<Set<string>> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'gpu_samples'::regclass`.execute(trx);
  const days = new Set<string>();
  for (const { name } of rows) {
    const m = /^gpu_samples_(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (m) days.add(`${m[1]}-${m[2]}-${m[3]}`);
  }
  return days;
}

const dayTable = (day: string) => `gpu_samples_${day.replaceAll('-', '')}`;
const nextDay = (day: string) => utcDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS);

/**
 * Bulk loading a day that has no partition yet: a plain table named as its partition will be, with the
 * parent's columns and checks and a check on the day's range (so attaching it needs no scan), and no keys:
 * rows are COPYed in without per-row index or foreign-key work. finishBulkDay makes it a partition.
 */
export async function createBulkDayTable(trx: Handle, day: string): Promise<void> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`not a day: ${day}`);
  const table = dayTable(day);
  await sql`CREATE TABLE ${sql.id(table)} (LIKE gpu_samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`.execute(trx);
  await sql`ALTER TABLE ${sql.id(table)} ADD CONSTRAINT ${sql.id(`${table}_bulk_range`)}
    CHECK (ts >= ${sql.lit(`${day}T00:00:00Z`)}::timestamptz AND ts < ${sql.lit(`${nextDay(day)}T00:00:00Z`)}::timestamptz)`.execute(trx);
}

/** COPYs binary rows (SAMPLE_BINARY_COLUMNS) into a bulk day table. */
export async function copyIntoBulkDay(trx: Handle, day: string, data: Buffer): Promise<number> {
  return copyFromText(trx, `COPY ${dayTable(day)} (${SAMPLE_BINARY_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`, data);
}

/**
 * Makes a bulk day table the day's partition: attaches it (the foreign keys are checked in one query each),
 * drops the range check and analyses it. With `key`, its key is built first (buildSampleKey); without, the
 * caller knows the rows hold no repeated key and leaves the key to ensureSampleKeys (the worker after the
 * commit, or the next run writing into the day), and the day gets a block range index on its time meanwhile.
 * Returns the duplicate rows removed.
 */
export async function finishBulkDay(trx: Handle, day: string, opts: { key: boolean }): Promise<number> {
  const table = dayTable(day);
  const duplicates = opts.key ? await buildSampleKey(trx, table) : 0;
  // Until its key exists, a time range of the day (the SQL rollup of hours next to it) is found through a block
  // range index: the rows were written in the file's time order, so it is small, built in one pass without a
  // sort, and a window of minutes reads only its blocks instead of the whole day.
  if (!opts.key) await sql`CREATE INDEX ${sql.id(`${table}_ts_brin`)} ON ${sql.id(table)} USING brin (ts)`.execute(trx);
  await sql`ALTER TABLE gpu_samples ATTACH PARTITION ${sql.id(table)}
    FOR VALUES FROM (${sql.lit(`${day}T00:00:00Z`)}::timestamptz) TO (${sql.lit(`${nextDay(day)}T00:00:00Z`)}::timestamptz)`.execute(trx);
  await sql`ALTER TABLE ${sql.id(table)} DROP CONSTRAINT ${sql.id(`${table}_bulk_range`)}`.execute(trx);
  // Statistics now, so the rollup that follows (and every later query) plans for the rows just loaded.
  await sql`ANALYZE ${sql.id(table)}`.execute(trx);
  return duplicates;
}

/**
 * Builds a day table's primary key in one sort. When rows repeat a key, the later ones are removed first (the
 * first of equal keys in file order — ctid order of a table only ever appended to — stays, as an insert would
 * have kept it). Returns the rows removed.
 */
async function buildSampleKey(trx: Handle, table: string): Promise<number> {
  await sql`SAVEPOINT sample_key`.execute(trx);
  try {
    await sql`ALTER TABLE ${sql.id(table)} ADD PRIMARY KEY (customer_id, gpu_uuid, ts)`.execute(trx);
    await sql`RELEASE SAVEPOINT sample_key`.execute(trx);
    return 0;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await sql`ROLLBACK TO SAVEPOINT sample_key`.execute(trx);
  }
  const removed = await sql`
    DELETE FROM ${sql.id(table)} t USING (
      SELECT ctid, row_number() OVER (PARTITION BY customer_id, gpu_uuid, ts ORDER BY ctid) AS n FROM ${sql.id(table)}
    ) d WHERE t.ctid = d.ctid AND d.n > 1`.execute(trx);
  await sql`ALTER TABLE ${sql.id(table)} ADD PRIMARY KEY (customer_id, gpu_uuid, ts)`.execute(trx);
  return Number(removed.numAffectedRows ?? 0);
}

/**
 * Builds the missing keys of these sample partitions (all of them when not given): days a file import attached
 * without one. Hold the sample writers' lock (lockGpuSamples). Returns the partitions keyed.
 */
export async function ensureSampleKeys(trx: Handle, tables?: readonly string[]): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'gpu_samples'::regclass
      AND ${tables ? sql`c.relname = ANY(${[...tables]}::text[])` : sql`true`}
      AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)
    ORDER BY 1`.execute(trx);
  if (rows.length > 0) await keySortSettings(trx);
  for (const { name } of rows) await buildSampleKey(trx, name);
  return rows.map((r) => r.name);
}

/**
 * Waits for a running sample writer to commit, then keeps new ones waiting until the transaction ends (a
 * shared hold on lockGpuSamples' lock): what a reader of the rollups needs to know that no run commits
 * changes while it computes from them.
 */
export async function holdOffGpuSampleWriters(trx: Handle): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock_shared(hashtext('breakeven:gpu-samples'))`.execute(trx);
}

/** Sort settings of a bulk load, for the rest of the transaction: the key's (below), and work_mem room for
 *  the rollups' and the duplicate removal's sorts and hashes. */
export async function bulkLoadSortSettings(trx: Handle): Promise<void> {
  await keySortSettings(trx);
  await sql`SET LOCAL work_mem = '256MB'`.execute(trx);
}

/**
 * A day's key is built by one process in small sorted runs, merged (a small maintenance_work_mem, no parallel
 * workers), for the rest of the transaction: measured on 5 M samples, 16 MB took 9 s where 64 MB took 17 s
 * and 1 GB 39 s (the sort's comparisons reach into each tuple for the GPU's text, and a run that fits in the
 * CPU's cache is compared far faster); workers only added CPU on two busy cores. See decision 010.
 */
async function keySortSettings(trx: Handle): Promise<void> {
  await sql`SET LOCAL maintenance_work_mem = '16MB'`.execute(trx);
  await sql`SET LOCAL max_parallel_maintenance_workers = 0`.execute(trx);
}
