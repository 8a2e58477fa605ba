// Ingestion runs, their quarantined rows, and the lookups an import needs (customers, GPU assignments).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;

export interface NewRun {
  sourceId: number | null;
  kind: string;
  fileName?: string;
  fileSha256?: string;
  windowFrom?: Date;
  windowTo?: Date;
}

export async function insertRun(db: Handle, run: NewRun): Promise<number> {
  const { id } = await db
    .insertInto('ingestion_runs')
    .values({
      source_id: run.sourceId,
      kind: run.kind,
      file_name: run.fileName ?? null,
      file_sha256: run.fileSha256 ?? null,
      window_from: run.windowFrom ?? null,
      window_to: run.windowTo ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export interface RunOutcome {
  status: 'succeeded' | 'failed';
  rowsRead: number;
  rowsStored: number;
  rowsRejected: number;
  customersCreated: string[];
  error?: string;
  fileSha256?: string;
}

export async function updateRunOutcome(db: Handle, runId: number, outcome: RunOutcome): Promise<void> {
  await db
    .updateTable('ingestion_runs')
    .set({
      status: outcome.status,
      rows_read: outcome.rowsRead,
      rows_stored: outcome.rowsStored,
      rows_rejected: outcome.rowsRejected,
      customers_created: outcome.customersCreated,
      error: outcome.error ?? null,
      finished_at: new Date(),
      ...(outcome.fileSha256 ? { file_sha256: outcome.fileSha256 } : {}),
    })
    .where('id', '=', runId)
    .execute();
}

export interface QuarantineRow {
  line: number;
  field: string | null;
  reason: string;
  raw: string;
}

/** Inserts rejected rows; a row with line ≤ 0 (a pulled row, no line) is numbered after the run's last line. */
export async function insertRejectedRows(trx: Handle, runId: number, rows: readonly QuarantineRow[]): Promise<void> {
  if (rows.length === 0) return;
  let next = 0;
  if (rows.some((r) => !(r.line >= 1))) {
    const { max } = await trx
      .selectFrom('rejected_rows')
      .select((eb) => eb.fn.coalesce(eb.fn.max('line_number'), sql<number>`0`).as('max'))
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    next = Math.max(Number(max), ...rows.filter((r) => r.line >= 1).map((r) => r.line));
  }
  const numbered = rows.map((r) => (r.line >= 1 ? r : { ...r, line: ++next }));
  for (let i = 0; i < numbered.length; i += 5_000) {
    const chunk = numbered.slice(i, i + 5_000);
    await sql`
      INSERT INTO rejected_rows (run_id, line_number, field, reason, raw)
      SELECT ${runId}::bigint, * FROM unnest(${chunk.map((r) => r.line)}::bigint[], ${chunk.map((r) => r.field)}::text[],
                                            ${chunk.map((r) => r.reason)}::text[], ${chunk.map((r) => r.raw)}::text[])`.execute(trx);
  }
}

/** Finds a customer by slug, creating it (name = slug) when unknown; `created` says whether it was new. */
export async function findOrCreateCustomer(trx: Handle, slug: string): Promise<{ id: number; created: boolean }> {
  const inserted = await trx
    .insertInto('customers')
    .values({ slug, name: slug })
    .onConflict((oc) => oc.column('slug').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, created: true };
  const { id } = await trx.selectFrom('customers').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
  return { id, created: false };
}

export interface AssignmentSpan {
  customerId: number;
  from: number;
  to: number | null;
}

/** Which customers held a GPU, over which time ranges (epoch ms, `to` exclusive, null = open). */
export async function gpuAssignments(db: Handle, gpuUuid: string): Promise<AssignmentSpan[]> {
  const rows = await db
    .selectFrom('gpu_assignments')
    .select(['customer_id', 'valid_from', 'valid_to'])
    .where('gpu_uuid', '=', gpuUuid)
    .orderBy('valid_from')
    .execute();
  return rows.map((r) => ({ customerId: r.customer_id, from: new Date(r.valid_from).getTime(), to: r.valid_to ? new Date(r.valid_to).getTime() : null }));
}

export interface RunListItem {
  id: number;
  kind: string;
  fileName: string | null;
  sourceName: string | null;
  status: string;
  rowsRead: number;
  rowsStored: number;
  rowsRejected: number;
  customersCreated: string[];
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

/** The most recent runs, newest first. */
export async function listRecentRuns(db: Handle, limit = 50): Promise<RunListItem[]> {
  const rows = await db
    .selectFrom('ingestion_runs as r')
    .leftJoin('ingestion_sources as s', 's.id', 'r.source_id')
    .select([
      'r.id', 'r.kind', 'r.file_name', 's.name as source_name', 'r.status', 'r.rows_read', 'r.rows_stored', 'r.rows_rejected',
      'r.customers_created', 'r.error', 'r.started_at', 'r.finished_at',
    ])
    .orderBy('r.started_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    fileName: r.file_name,
    sourceName: r.source_name,
    status: r.status,
    rowsRead: r.rows_read,
    rowsStored: r.rows_stored,
    rowsRejected: r.rows_rejected,
    customersCreated: r.customers_created,
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}

export async function findRun(db: Handle, runId: number) {
  return db.selectFrom('ingestion_runs').selectAll().where('id', '=', runId).executeTakeFirst();
}

export interface RejectedRowItem {
  runId: number;
  line: number;
  field: string | null;
  reason: string;
  raw: string;
}

/** Quarantined rows of one run by line, or of the most recent runs when runId is null. */
export async function listRejectedRows(db: Handle, runId: number | null, limit = 500): Promise<RejectedRowItem[]> {
  let query = db.selectFrom('rejected_rows').select(['run_id', 'line_number', 'field', 'reason', 'raw']);
  query = runId === null ? query.orderBy('run_id', 'desc').orderBy('line_number') : query.where('run_id', '=', runId).orderBy('line_number');
  const rows = await query.limit(limit).execute();
  return rows.map((r) => ({ runId: r.run_id, line: r.line_number, field: r.field, reason: r.reason, raw: r.raw }));
}

/** Every quarantined row of one run, in line order, in pages (for the CSV download). */
export async function* streamRejectedRows(db: Handle, runId: number, pageSize = 5_000): AsyncGenerator<RejectedRowItem[]> {
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('rejected_rows')
      .select(['run_id', 'line_number', 'field', 'reason', 'raw'])
      .where('run_id', '=', runId)
      .where('line_number', '>', after)
      .orderBy('line_number')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows.map((r) => ({ runId: r.run_id, line: r.line_number, field: r.field, reason: r.reason, raw: r.raw }));
    after = rows[rows.length - 1].line_number;
  }
}
