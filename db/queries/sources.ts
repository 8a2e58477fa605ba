// Pull sources (ingestion_sources) and what their runs left: the watermark and the latest run.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, IngestionSourcesTable, SourceKind } from '../schema.js';

type Handle = Kysely<Database>;

export type SourceRow = Selectable<IngestionSourcesTable>;

export interface SourceValues {
  name: string;
  kind: SourceKind;
  url: string;
  config: Record<string, unknown>;
  interval_seconds: number;
  lookback_seconds: number;
  delay_seconds: number;
  enabled: boolean;
}

export async function findSourceByName(db: Handle, name: string): Promise<SourceRow | undefined> {
  return db.selectFrom('ingestion_sources').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findSourceById(db: Handle, id: number): Promise<SourceRow | undefined> {
  return db.selectFrom('ingestion_sources').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listSources(db: Handle, options: { enabledOnly?: boolean } = {}): Promise<SourceRow[]> {
  let q = db.selectFrom('ingestion_sources').selectAll().orderBy('name');
  if (options.enabledOnly) q = q.where('enabled', '=', true);
  return q.execute();
}

/**
 * Inserts a source or updates the one with this name (kind, address, schedule, settings); the watermark is
 * kept. Credentials: a Buffer replaces them, null clears them, undefined keeps them.
 */
export async function upsertSource(
  db: Handle,
  values: SourceValues,
  credentials: Buffer | null | undefined,
): Promise<{ row: SourceRow; created: boolean }> {
  const base = { ...values, config: JSON.stringify(values.config) };
  const withCredentials = credentials === undefined ? base : { ...base, credentials_encrypted: credentials };
  const row = await db
    .insertInto('ingestion_sources')
    .values({ ...base, credentials_encrypted: credentials ?? null })
    .onConflict((oc) => oc.column('name').doUpdateSet(withCredentials))
    .returningAll()
    .returning(sql<string>`xmax::text`.as('xmax'))
    .executeTakeFirstOrThrow();
  const { xmax, ...source } = row;
  return { row: source as SourceRow, created: xmax === '0' };
}

export async function deleteSourceByName(db: Handle, name: string): Promise<SourceRow | undefined> {
  return db.deleteFrom('ingestion_sources').where('name', '=', name).returningAll().executeTakeFirst();
}

export async function setSourceWatermark(db: Handle, id: number, watermark: Date): Promise<void> {
  await db.updateTable('ingestion_sources').set({ watermark }).where('id', '=', id).execute();
}

/** Runs of a source still marked running: with the source's lock held, their process or connection is gone. */
export async function failAbandonedRuns(db: Handle, sourceId: number, error: string): Promise<number> {
  const result = await db
    .updateTable('ingestion_runs')
    .set({ status: 'failed', error, finished_at: new Date() })
    .where('source_id', '=', sourceId)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface LatestRun {
  source_id: number;
  id: number;
  status: 'running' | 'succeeded' | 'failed';
  started_at: Date;
  finished_at: Date | null;
  window_from: Date | null;
  window_to: Date | null;
  rows_read: number;
  rows_stored: number;
  rows_rejected: number;
  error: string | null;
}

/** The latest run of each source (by start). */
export async function latestRunsBySource(db: Handle): Promise<Map<number, LatestRun>> {
  const { rows } = await sql<LatestRun>`
    SELECT DISTINCT ON (source_id) source_id, id, status, started_at, finished_at, window_from, window_to,
           rows_read, rows_stored, rows_rejected, error
    FROM ingestion_runs WHERE source_id IS NOT NULL
    ORDER BY source_id, started_at DESC, id DESC`.execute(db);
  return new Map(rows.map((r) => [r.source_id, r]));
}

const SOURCE_LOCK = sql`hashtext('breakeven:ingestion-source')`;

/** Session lock of one source (held by the connection `db` is bound to): true when taken. */
export async function tryLockSource(db: Handle, sourceId: number): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${SOURCE_LOCK}, ${sourceId}::int) AS locked`.execute(db);
  return rows[0].locked;
}

/** Waits for the lock of one source. */
export async function lockSource(db: Handle, sourceId: number): Promise<void> {
  await sql`SELECT pg_advisory_lock(${SOURCE_LOCK}, ${sourceId}::int)`.execute(db);
}

export async function unlockSource(db: Handle, sourceId: number): Promise<void> {
  await sql`SELECT pg_advisory_unlock(${SOURCE_LOCK}, ${sourceId}::int)`.execute(db);
}
