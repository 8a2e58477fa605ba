// The storage API every ingestion path shares (file imports here, the pull connectors beside them).
//
//   const runId = await startRun(db, { sourceId, kind: 'prometheus-dcgm', windowFrom, windowTo });
//   await db.transaction().execute(async (trx) => {
//     const touched = new TouchedKeys();
//     for (const page of pages) {
//       const r = await storeGpuSamples(trx, page, { sourceId, touched });
//       await quarantine(trx, runId, r.rejected);
//     }
//     await refreshRollups(trx, touched);            // once, for exactly the hours the run touched
//   });
//   await finishRun(db, runId, { status: 'succeeded', rowsRead, rowsStored, rowsRejected, customersCreated });
//
// Rows go through COPY into a temporary staging table, then an insert on the natural key; rollups are
// recomputed in SQL (or written as a file import summed them, for its new days), in the caller's transaction,
// which also marks the stored recommendations covering those hours stale and queues their recompute. Without
// `touched`, a store call refreshes its own hours at once (correct, but slower across many calls). See
// docs/decisions/010-ingestion-files.md.
import type { Kysely } from 'kysely';
import type { Db } from '../../../db/client.js';
import {
  findOrCreateCustomer,
  insertRejectedRows,
  insertRun,
  updateRunOutcome,
} from '../../../db/queries/ingestion.js';
import { copyNullable, copyTextValue } from '../../../db/queries/ingestion-copy.js';
import { addKeyedJob } from '../../../db/queries/job-queue.js';
import {
  copyAndInsertSamples,
  dropSamplePartitionsBefore,
  ensureSampleKeys,
  ensureSamplePartitions,
  lockGpuSamples,
  readSampleRetentionHorizon,
  recomputeGpuHours,
  replaceGpuHours,
  utcDay,
} from '../../../db/queries/samples.js';
import { copyAndUpsertTokenUsage, lockTokenUsage, recomputeTokenHours } from '../../../db/queries/token-usage.js';
import type { Database } from '../../../db/schema.js';
import { SLUG_PATTERN } from '../../domain/customers.js';
import {
  quarantineText,
  sampleRowProblem,
  tokenRowProblem,
  type RejectedRow,
  type SampleRow,
  type TokenRow,
} from '../../domain/ingest/rows.js';
import type { StreamedGpuHour } from '../../domain/ingest/streaming-rollup.js';
import { DEFAULT_MAX_GAP_MS } from '../../domain/telemetry.js';
import { recommendationsAfterIngestion } from '../recommendations-queue.server.js';

export type { RejectedRow, SampleRow, TokenRow };

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Default retention of raw samples; rollups are kept for ever. */
export const DEFAULT_SAMPLE_RETENTION_DAYS = 35;

/**
 * The (customer, hour) keys of GPU rollups and the (customer, model, hour) keys of token rollups that a run's
 * writes can have changed, collected across store calls and refreshed once by refreshRollups.
 */
export class TouchedKeys {
  readonly gpuHours = new Map<number, Set<number>>();
  readonly tokenHours = new Map<string, { customerId: number; model: string; hour: number }>();
  /**
   * GPU hours whose rollup rows were summed while the rows streamed in (the file import's new days), per
   * customer and hour: every GPU type's row of that hour, possibly none. refreshRollups writes them as they
   * are, unless the hour is in gpuHours too (then it is recomputed from the stored rows).
   */
  readonly streamedGpuHours = new Map<number, Map<number, StreamedGpuHour[]>>();

  addGpuHours(customerId: number, fromHour: number, toHour: number): void {
    let hours = this.gpuHours.get(customerId);
    if (!hours) this.gpuHours.set(customerId, (hours = new Set()));
    for (let h = fromHour; h <= toHour; h += HOUR_MS) hours.add(h);
  }

  addTokenHour(customerId: number, model: string, hour: number): void {
    this.tokenHours.set(`${customerId}\u0000${model}\u0000${hour}`, { customerId, model, hour });
  }

  addStreamedGpuHour(customerId: number, hour: number, rows: StreamedGpuHour[]): void {
    let hours = this.streamedGpuHours.get(customerId);
    if (!hours) this.streamedGpuHours.set(customerId, (hours = new Map()));
    hours.set(hour, rows);
  }

  get size(): number {
    let n = this.tokenHours.size;
    for (const hours of this.gpuHours.values()) n += hours.size;
    for (const hours of this.streamedGpuHours.values()) n += hours.size;
    return n;
  }

  clear(): void {
    this.gpuHours.clear();
    this.tokenHours.clear();
    this.streamedGpuHours.clear();
  }
}

export interface StoreResult {
  /** Rows newly written. */
  stored: number;
  /** Rows whose key was already there (or repeated in the same call) and changed nothing. */
  duplicates: number;
  /** Rows that fail a check (or are older than the raw-sample retention horizon): quarantine them. */
  rejected: RejectedRow[];
}

/** Runs fn in the handle's transaction, or in a new one when given a pool handle (COPY needs one connection). */
async function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

const rawOf = (row: { raw?: string }, fallback: () => string) => quarantineText(row.raw ?? fallback());

/** A value for a `real` column: float4 refuses values that underflow to zero, so tiny values are stored as 0. */
function real(value: number): number {
  const f = Math.fround(value);
  return Math.abs(f) < 1.1754943508222875e-38 ? 0 : f;
}

function sampleCopyLine(r: SampleRow): string {
  const memory = r.memoryUsedMib === null ? null : real(r.memoryUsedMib);
  const power = r.powerW === null ? null : real(r.powerW);
  return `${r.customerId}\t${copyTextValue(r.gpuUuid)}\t${r.ts.toISOString()}\t${r.gpuTypeId}\t${real(r.utilizationPct)}\t${copyNullable(memory)}\t${copyNullable(power)}\t${copyNullable(r.hostname)}\n`;
}

/** Lines joined into strings of ≈ 5,000 rows: fewer, larger writes to the COPY stream. */
function joinLines<T>(rows: readonly T[], line: (row: T, i: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += 5_000) {
    let text = '';
    const end = Math.min(rows.length, i + 5_000);
    for (let j = i; j < end; j++) text += line(rows[j], j);
    out.push(text);
  }
  return out;
}

/**
 * Stores GPU samples on (customer_id, gpu_uuid, ts), keeping a row already there. Creates the daily partitions
 * needed. A sample that fails a check, or whose hours reach back before the raw-sample retention horizon
 * (their neighbours are dropped: recomputing would under-count), is returned in `rejected`, not stored.
 */
export async function storeGpuSamples(
  trx: Db,
  rows: SampleRow[],
  opts: { sourceId: number | null; touched?: TouchedKeys; maxGapMs?: number },
): Promise<StoreResult> {
  return inTransaction(trx, async (t) => {
    const maxGapMs = opts.maxGapMs ?? DEFAULT_MAX_GAP_MS;
    await lockGpuSamples(t);
    const horizon = await readSampleRetentionHorizon(t);
    // The oldest sample whose hours [hour(ts − gap) − gap, …) are all still complete in raw rows.
    const oldestAllowed = horizon ? horizon.getTime() + HOUR_MS + maxGapMs : -Infinity;
    const rejected: RejectedRow[] = [];
    const good: SampleRow[] = [];
    const days = new Set<number>();
    for (const row of rows) {
      const problem = sampleRowProblem(row);
      if (problem) {
        rejected.push({ line: row.line ?? 0, field: problem.field, reason: problem.reason, raw: rawOf(row, () => describeSample(row)) });
        continue;
      }
      const ms = row.ts.getTime();
      if (ms < oldestAllowed) {
        rejected.push({
          line: row.line ?? 0,
          field: 'timestamp',
          reason: `${row.ts.toISOString()} is before the raw-sample retention horizon (${new Date(oldestAllowed).toISOString()}): the samples around it were dropped, so its hour cannot be recomputed`,
          raw: rawOf(row, () => describeSample(row)),
        });
        continue;
      }
      days.add(Math.floor(ms / DAY_MS));
      good.push(row);
    }
    if (good.length === 0) return { stored: 0, duplicates: 0, rejected };
    await ensureSamplePartitions(t, [...days].map((d) => utcDay(d * DAY_MS)));
    const { staged, inserted } = await copyAndInsertSamples(t, { text: joinLines(good, sampleCopyLine) }, { sourceId: opts.sourceId, maxGapMs });
    const touched = opts.touched ?? new TouchedKeys();
    let stored = 0;
    for (const r of inserted) {
      stored += r.rows;
      touched.addGpuHours(r.customerId, r.fromHour.getTime(), r.toHour.getTime());
    }
    if (!opts.touched) await refreshRollups(t, touched, { maxGapMs });
    return { stored, duplicates: staged - stored, rejected };
  });
}

function describeSample(r: SampleRow): string {
  return JSON.stringify({ customer_id: r.customerId, gpu_uuid: r.gpuUuid, ts: r.ts, utilization_pct: r.utilizationPct });
}

function tokenCopyLine(r: TokenRow, seq: number): string {
  return `${seq}\t${r.customerId}\t${copyTextValue(r.recordKey)}\t${r.ts.toISOString()}\t${copyTextValue(r.model)}\t${r.inputTokens}\t${r.cachedInputTokens}\t${r.cacheWriteInputTokens}\t${r.outputTokens}\t${r.requests}\n`;
}

/**
 * Stores token usage on (customer_id, record_key): `ignore` keeps the row already there (a file imported again),
 * `replace` overwrites it when it differs (a bucket pulled again after it grew). A row failing a check is
 * returned in `rejected`.
 */
export async function storeTokenUsage(
  trx: Db,
  rows: TokenRow[],
  opts: { sourceId: number | null; onConflict: 'ignore' | 'replace'; touched?: TouchedKeys },
): Promise<StoreResult> {
  return inTransaction(trx, async (t) => {
    await lockTokenUsage(t);
    const rejected: RejectedRow[] = [];
    const good: TokenRow[] = [];
    for (const row of rows) {
      const problem = tokenRowProblem(row);
      if (problem) rejected.push({ line: row.line ?? 0, field: problem.field, reason: problem.reason, raw: rawOf(row, () => JSON.stringify(row)) });
      else good.push(row);
    }
    if (good.length === 0) return { stored: 0, duplicates: 0, rejected };
    const { staged, written, touched: hours } = await copyAndUpsertTokenUsage(t, joinLines(good, tokenCopyLine), opts);
    const touched = opts.touched ?? new TouchedKeys();
    for (const h of hours) touched.addTokenHour(h.customerId, h.model, h.hour.getTime());
    if (!opts.touched) await refreshRollups(t, touched);
    return { stored: written, duplicates: staged - written, rejected };
  });
}

/**
 * Recomputes the hourly rollups of exactly the touched keys from the stored rows (GPU hours from raw samples
 * with the sample-interval rule, token hours re-summed) — or, for streamed GPU hours, writes the rows summed
 * as they arrived — then marks the stored recommendations covering those hours stale and queues their
 * recompute, all in the caller's transaction, and clears `touched`. Returns the keys rewritten.
 */
export async function refreshRollups(trx: Db, touched: TouchedKeys, opts: { maxGapMs?: number } = {}): Promise<{ hours: number }> {
  if (touched.size === 0) return { hours: 0 };
  return inTransaction(trx, async (t) => {
    let hours = 0;
    const changed: { customerId: number; hour: number }[] = [];
    if (touched.gpuHours.size > 0 || touched.streamedGpuHours.size > 0) {
      await lockGpuSamples(t);
      const keys: { customerId: number; hour: number }[] = [];
      for (const [customerId, set] of touched.gpuHours) for (const hour of set) keys.push({ customerId, hour });
      const streamedKeys: { customerId: number; hour: number }[] = [];
      const streamedRows: StreamedGpuHour[] = [];
      for (const [customerId, byHour] of touched.streamedGpuHours) {
        const recomputed = touched.gpuHours.get(customerId);
        for (const [hour, rows] of byHour) {
          if (recomputed?.has(hour)) continue;
          streamedKeys.push({ customerId, hour });
          for (const r of rows) streamedRows.push(r);
        }
      }
      hours += await recomputeGpuHours(t, keys, opts.maxGapMs ?? DEFAULT_MAX_GAP_MS);
      hours += await replaceGpuHours(t, streamedKeys, streamedRows);
      changed.push(...keys, ...streamedKeys);
    }
    if (touched.tokenHours.size > 0) {
      await lockTokenUsage(t);
      const keys = [...touched.tokenHours.values()];
      hours += await recomputeTokenHours(t, keys);
      for (const k of keys) changed.push({ customerId: k.customerId, hour: k.hour });
    }
    touched.clear();
    await recommendationsAfterIngestion(t, changed);
    return { hours };
  });
}

/** Records the start of a run (outside the run's transaction, so a failed run stays recorded). Returns its id. */
export async function startRun(
  db: Db,
  run: { sourceId: number | null; kind: string; fileName?: string; fileSha256?: string; windowFrom?: Date; windowTo?: Date },
): Promise<number> {
  return insertRun(db, run);
}

/** Records how a run ended. */
export async function finishRun(
  db: Db,
  runId: number,
  outcome: {
    status: 'succeeded' | 'failed';
    rowsRead: number;
    rowsStored: number;
    rowsRejected: number;
    customersCreated: string[];
    error?: string;
    fileSha256?: string;
  },
): Promise<void> {
  await updateRunOutcome(db, runId, { ...outcome, error: outcome.error === undefined ? undefined : quarantineText(outcome.error, 2_000) });
}

/** Keeps rejected rows with their line, field, reason and raw text, in the run's transaction. */
export async function quarantine(trx: Db, runId: number, rows: RejectedRow[]): Promise<void> {
  await insertRejectedRows(
    trx,
    runId,
    rows.map((r) => ({ line: r.line, field: r.field === null ? null : quarantineText(r.field, 200), reason: quarantineText(r.reason, 1_000), raw: quarantineText(r.raw) })),
  );
}

/** The id of the customer with this slug, creating it (name = slug) when unknown and adding the slug to `created`. */
export async function resolveCustomer(trx: Db, slug: string, created: Set<string>): Promise<number> {
  if (!SLUG_PATTERN.test(slug) || slug.length > 100) throw new RangeError(`"${slug}" is not a customer slug`);
  const customer = await findOrCreateCustomer(trx, slug);
  if (customer.created) created.add(slug);
  return customer.id;
}

/**
 * Drops the daily partitions of raw samples older than (now − retentionDays), whole — never a mass DELETE —
 * and records the horizon, so later samples from before it are quarantined. Rollups are kept.
 */
export async function dropExpiredSamplePartitions(
  db: Kysely<Database>,
  now: Date,
  retentionDays: number = DEFAULT_SAMPLE_RETENTION_DAYS,
): Promise<{ dropped: string[] }> {
  if (!(Number.isFinite(retentionDays) && retentionDays >= 1)) throw new RangeError('retentionDays must be at least 1');
  const horizon = new Date(now.getTime() - retentionDays * DAY_MS);
  const dropped = await inTransaction(db, (t) => dropSamplePartitionsBefore(t, horizon));
  return { dropped };
}

/** The worker's task that builds the keys of days a file import attached without one. */
export const SAMPLE_KEYS_TASK = 'maintenance:sample-keys';

/** Queues the key build, in the import's transaction (so the job exists exactly when its days do). */
export async function queueSampleKeyBuild(trx: Db): Promise<boolean> {
  return addKeyedJob(trx, SAMPLE_KEYS_TASK, { jobKey: SAMPLE_KEYS_TASK, maxAttempts: 5 });
}

/**
 * Builds every missing day key, under the sample writers' lock (a run writing into such a day would build it
 * itself first). Returns the partitions keyed.
 */
export async function buildMissingSampleKeys(db: Kysely<Database>): Promise<string[]> {
  return inTransaction(db, async (t) => {
    await lockGpuSamples(t);
    return ensureSampleKeys(t);
  });
}
