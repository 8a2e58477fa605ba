// `ingest file`: a token-usage, gpu-samples or nvidia-smi file into PostgreSQL, streamed, in batches, in ONE
// transaction. A file that is not CSV or lacks required columns is refused whole (InputProblems, nothing
// stored); otherwise each bad row is quarantined with its line, field, reason and raw text, the good rows are
// stored, and the rollups of exactly the hours touched are recomputed before the commit. The run is recorded
// outside the transaction, so a failed import stays visible with its error.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../../db/client.js';
import { ensureGpuType } from '../../../db/queries/gpu-types.js';
import { gpuAssignments, type AssignmentSpan } from '../../../db/queries/ingestion.js';
import { readSampleRetentionHorizon } from '../../../db/queries/samples.js';
import { SLUG_PATTERN } from '../../domain/customers.js';
import {
  FILE_KINDS,
  parseRecord,
  planColumns,
  type ColumnPlan,
  type FileKind,
  type ParsedSample,
  type ParsedUsage,
} from '../../domain/ingest/formats.js';
import { CsvRecordSplitter, LineFramer, type CsvRecord } from '../../domain/ingest/records.js';
import { quarantineText, textProblem, type RejectedRow, type TokenRow } from '../../domain/ingest/rows.js';
import { isTimeZone } from '../../domain/ingest/timestamps.js';
import { DEFAULT_MAX_GAP_MS } from '../../domain/telemetry.js';
import { InputProblems } from '../customer-import.server.js';
import { SampleBulkLoader } from './sample-loader.server.js';
import {
  finishRun,
  queueSampleKeyBuild,
  quarantine,
  refreshRollups,
  resolveCustomer,
  startRun,
  storeTokenUsage,
  TouchedKeys,
} from './store.server.js';

export { FILE_KINDS, type FileKind };

export interface FileImportRequest {
  kind: FileKind;
  /** The file to read. */
  path: string;
  /** The name shown in messages and recorded on the run (default: the path's base name). */
  fileName?: string;
  customer?: string;
  tz?: string;
  gpuUuid?: string;
  gpuType?: string;
  /** Rows per database batch (token usage, quarantine). */
  batchRows?: number;
  /** Bytes of encoded samples per database batch. */
  batchBytes?: number;
  /** Told when each phase ends, with its seconds (for benchmarks). */
  onPhase?: (phase: 'read' | 'partitions' | 'rollups', seconds: number) => void;
  now?: Date;
}

export interface FileImportSummary {
  runId: number;
  file: string;
  kind: FileKind;
  read: number;
  stored: number;
  duplicates: number;
  rejected: number;
  customersCreated: string[];
  /** Hourly rollup keys recomputed. */
  rollupHours: number;
  /** The first rejected rows (all are in the quarantine), for a message. */
  firstRejections: RejectedRow[];
}

const DEFAULT_BATCH_ROWS = 50_000;
const HOUR_MS = 3_600_000;

/** Checks the options of an import; every problem is listed (bad input: exit 2). */
export function checkImportOptions(request: Pick<FileImportRequest, 'kind' | 'customer' | 'tz' | 'gpuUuid' | 'gpuType'>): string[] {
  const problems: string[] = [];
  if (!FILE_KINDS.includes(request.kind)) problems.push(`--kind must be one of ${FILE_KINDS.join(', ')} (got "${String(request.kind)}")`);
  if (request.customer !== undefined && (!SLUG_PATTERN.test(request.customer) || request.customer.length > 100)) {
    problems.push(`--customer "${request.customer}" is not a customer slug (lower-case letters, digits and dashes)`);
  }
  const smiOnly: [string, string | undefined][] = [['tz', request.tz], ['gpu-uuid', request.gpuUuid], ['gpu-type', request.gpuType]];
  for (const [name, value] of smiOnly) {
    if (value !== undefined && request.kind !== 'nvidia-smi') problems.push(`--${name} applies to --kind nvidia-smi only`);
  }
  if (request.tz !== undefined && !isTimeZone(request.tz)) problems.push(`--tz "${request.tz}" is not a time zone (e.g. UTC, Europe/Paris)`);
  if (request.gpuUuid !== undefined && textProblem(request.gpuUuid)) problems.push(`--gpu-uuid ${textProblem(request.gpuUuid)}`);
  if (request.gpuType !== undefined && textProblem(request.gpuType)) problems.push(`--gpu-type ${textProblem(request.gpuType)}`);
  return problems;
}

/** Imports one file; throws InputProblems when the file is refused whole (the run is recorded as failed). */
export async function importFile(db: Db, request: FileImportRequest): Promise<FileImportSummary> {
  const file = request.fileName ?? path.basename(request.path);
  const problems = checkImportOptions(request);
  if (problems.length) throw new InputProblems(problems);
  try {
    const info = await stat(request.path);
    if (!info.isFile()) throw new InputProblems([`${file}: not a file`]);
  } catch (error) {
    if (error instanceof InputProblems) throw error;
    throw new InputProblems([`${file}: no such file`]);
  }
  const runId = await startRun(db, { sourceId: null, kind: `file:${request.kind}`, fileName: file });
  const hash = createHash('sha256');
  const counts = { read: 0, stored: 0, duplicates: 0, rejected: 0 };
  const created = new Set<string>();
  try {
    const result = await db.transaction().execute((trx) => importInTransaction(trx, request, file, runId, hash, counts, created));
    await finishRun(db, runId, {
      status: 'succeeded', rowsRead: counts.read, rowsStored: counts.stored, rowsRejected: counts.rejected,
      customersCreated: [...created].sort(), fileSha256: hash.digest('hex'),
    });
    return { runId, file, kind: request.kind, ...counts, customersCreated: [...created].sort(), ...result };
  } catch (error) {
    const message = error instanceof InputProblems ? error.problems.join('\n') : (error as Error).message;
    // Nothing of the transaction stayed: the run says so — also when the failure was the database going away, so
    // that the run does not stay `running` for ever: the outcome is retried while the database comes back.
    await recordFailure(() =>
      finishRun(db, runId, { status: 'failed', rowsRead: counts.read, rowsStored: 0, rowsRejected: 0, customersCreated: [], error: message }),
    );
    throw error;
  }
}

/** Attempts to record a failed run's outcome: one a second, for about as long as a database restart takes. */
const RECORD_ATTEMPTS = 30;

async function recordFailure(record: () => Promise<void>): Promise<void> {
  for (let attempt = 1; attempt <= RECORD_ATTEMPTS; attempt++) {
    try {
      return await record();
    } catch {
      if (attempt < RECORD_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Where a row came from, for its rejection: the line and the record's text. */
interface Located {
  line: number;
  readonly raw: string;
}

interface Counts {
  read: number;
  stored: number;
  duplicates: number;
  rejected: number;
}

async function importInTransaction(
  trx: Db,
  request: FileImportRequest,
  file: string,
  runId: number,
  hash: ReturnType<typeof createHash>,
  counts: Counts,
  created: Set<string>,
): Promise<{ rollupHours: number; firstRejections: RejectedRow[] }> {
  const nowMs = (request.now ?? new Date()).getTime();
  const batchRows = request.batchRows ?? DEFAULT_BATCH_ROWS;
  const isUsage = request.kind === 'token-usage';
  const touched = new TouchedKeys();
  const firstRejections: RejectedRow[] = [];
  let oldestSampleMs = -Infinity;
  let loader: SampleBulkLoader | null = null;
  if (!isUsage) {
    // Takes the sample writers' lock first, so the horizon read here holds for the whole run.
    loader = await SampleBulkLoader.begin(trx, { sourceId: null, touched, maxGapMs: DEFAULT_MAX_GAP_MS, batchBytes: request.batchBytes });
    const horizon = await readSampleRetentionHorizon(trx);
    if (horizon) oldestSampleMs = horizon.getTime() + HOUR_MS + DEFAULT_MAX_GAP_MS;
  }

  const customers = new Map<string, number>();
  const customerId = async (slug: string) => {
    let id = customers.get(slug);
    if (id === undefined) customers.set(slug, (id = await resolveCustomer(trx, slug, created)));
    return id;
  };
  const gpuTypes = new Map<string, number>();
  const gpuTypeId = async (name: string) => {
    let id = gpuTypes.get(name);
    if (id === undefined) gpuTypes.set(name, (id = await ensureGpuType(trx, name)));
    return id;
  };
  const assignments = new Map<string, AssignmentSpan[]>();
  const assignedCustomer = async (uuid: string, ts: number): Promise<number | null> => {
    let spans = assignments.get(uuid);
    if (!spans) assignments.set(uuid, (spans = await gpuAssignments(trx, uuid)));
    for (let i = spans.length - 1; i >= 0; i--) {
      const s = spans[i];
      if (s.from <= ts && (s.to === null || ts < s.to)) return s.customerId;
    }
    return null;
  };
  // Token rows: a key from the row's content plus its occurrence among identical rows, so the same file (or
  // a grown one) imported again maps every old line to the same key.
  const occurrences = new Map<string, number>();

  let usage: TokenRow[] = [];
  let rejected: RejectedRow[] = [];
  let pending: Promise<void> = Promise.resolve();
  let failure: unknown = null;

  const reject = (r: RejectedRow) => {
    rejected.push(r);
    counts.rejected++;
    if (firstRejections.length < 10) firstRejections.push(r);
  };

  // One batch goes to the database while the next is parsed.
  const flush = async () => {
    const u = usage;
    const q = rejected;
    usage = [];
    rejected = [];
    await pending;
    if (failure) throw failure;
    pending = (async () => {
      if (u.length) {
        const r = await storeTokenUsage(trx, u, { sourceId: null, onConflict: 'ignore', touched });
        counts.stored += r.stored;
        counts.duplicates += r.duplicates;
        for (const x of r.rejected) q.push(x);
        counts.rejected += r.rejected.length;
      }
      if (q.length) await quarantine(trx, runId, q);
    })().catch((e) => {
      failure = e;
    });
  };

  let plan: ColumnPlan<ParsedSample> | ColumnPlan<ParsedUsage> | null = null;
  let refused: string | null = null;
  const records: CsvRecord[] = [];
  const splitter = new CsvRecordSplitter();
  const take = (r: CsvRecord) => records.push(r);

  const onHeader = (record: CsvRecord) => {
    if (record.fields === null || record.raw.includes('\u0000')) {
      refused = `${file}: not a CSV file with a header row (line ${record.line}: ${record.error ?? 'binary data'})`;
      return;
    }
    const planned = planColumns(request.kind, record.fields, { ...request, nowMs });
    if (!planned.ok) {
      refused = `${file}: ${planned.problem}`;
      return;
    }
    plan = planned.plan;
  };

  const rejectRecord = (record: Located, field: string | null, reason: string) => {
    reject({ line: record.line, field, reason, raw: quarantineText(record.raw) });
    if (rejected.length >= batchRows) return flush();
  };

  const handleUsage = async (record: CsvRecord) => {
    const parsed = parseRecord(plan as ColumnPlan<ParsedUsage>, record);
    if (!parsed.ok) return rejectRecord(record, parsed.field, parsed.reason);
    const p = parsed.row;
    const cid = await customerId(p.customer);
    const digest = createHash('sha256')
      .update(`${new Date(p.ts).toISOString()}\u001f${p.model}\u001f${p.inputTokens}\u001f${p.cachedInputTokens}\u001f${p.cacheWriteInputTokens}\u001f${p.outputTokens}\u001f${p.requests}`)
      .digest('base64url')
      .slice(0, 22);
    const seen = `${cid}:${digest}`;
    const n = (occurrences.get(seen) ?? 0) + 1;
    occurrences.set(seen, n);
    usage.push({
      customerId: cid, recordKey: `file:${digest}:${n}`, ts: new Date(p.ts), model: p.model, inputTokens: p.inputTokens,
      cachedInputTokens: p.cachedInputTokens, cacheWriteInputTokens: p.cacheWriteInputTokens, outputTokens: p.outputTokens,
      requests: p.requests, line: record.line,
    });
    if (usage.length >= batchRows) await flush();
  };

  const addSample = (record: Located, p: ParsedSample, cid: number, typeId: number): Promise<void> | undefined => {
    const problem = loader!.add({
      customerId: cid, gpuUuid: p.gpuUuid, gpuTypeId: typeId, tsMs: p.ts, utilizationPct: p.utilizationPct,
      memoryUsedMib: p.memoryUsedMib, powerW: p.powerW, hostname: p.hostname,
    });
    if (problem) return rejectRecord(record, problem.field, problem.reason);
    if (loader!.due) return loader!.flush();
  };

  /** A sample whose customer, type or assignment is not known yet: looked up (or created) first. */
  const addSampleSlowly = async (record: Located, p: ParsedSample) => {
    let cid: number;
    if (p.customer !== null) cid = await customerId(p.customer);
    else {
      const assigned = await assignedCustomer(p.gpuUuid, p.ts);
      if (assigned === null) return rejectRecord(record, 'customer', `no --customer given and GPU ${p.gpuUuid} has no assignment at ${new Date(p.ts).toISOString()}`);
      cid = assigned;
    }
    await addSample(record, p, cid, await gpuTypeId(p.gpuType));
  };

  // Synchronous unless the row needs the database: a promise is made only then (most rows make none).
  const handle = (record: CsvRecord): Promise<void> | undefined => {
    if (plan === null) {
      onHeader(record);
      return undefined;
    }
    counts.read++;
    if (isUsage) return handleUsage(record);
    const parsed = parseRecord(plan as ColumnPlan<ParsedSample>, record);
    if (!parsed.ok) return rejectRecord(record, parsed.field, parsed.reason);
    return handleSample(record, parsed.row);
  };

  const handleSample = (record: Located, p: ParsedSample): Promise<void> | undefined => {
    if (p.ts < oldestSampleMs) {
      return rejectRecord(
        record,
        'timestamp',
        `${new Date(p.ts).toISOString()} is before the raw-sample retention horizon (${new Date(oldestSampleMs).toISOString()}): the samples around it were dropped, so its hour cannot be recomputed`,
      );
    }
    const cid = p.customer === null ? undefined : customers.get(p.customer);
    const typeId = gpuTypes.get(p.gpuType);
    if (cid === undefined || typeId === undefined) return addSampleSlowly(record, p);
    return addSample(record, p, cid, typeId);
  };

  const drainRecords = async () => {
    for (const record of records) {
      const wait = handle(record);
      if (wait) await wait;
      if (refused) throw new InputProblems([refused]);
    }
    records.length = 0;
  };

  // The line the plan's byte reader took, for a rejection later in its handling (its text made only then).
  const taken = {
    line: 0,
    data: Buffer.alloc(0) as Buffer,
    start: 0,
    end: 0,
    get raw(): string {
      return this.data.toString('latin1', this.start, this.end);
    },
  };
  const byteReader = () => (splitter.isOpen || plan === null ? undefined : (plan as ColumnPlan<ParsedSample>).parseBytes);

  // One line: read from its bytes when the plan's fast path takes it (gpu-samples: nearly every line), else
  // decoded and framed by the splitter (the header, quoted records, other kinds, every line the fast path
  // leaves, whose problem the general parser names). Synchronous unless the line needs the database.
  const line = (n: number, data: Buffer, start: number, end: number): Promise<void> | undefined => {
    const parseBytes = byteReader();
    if (parseBytes) {
      const row = parseBytes(data, start, end);
      if (row !== null) {
        counts.read++;
        taken.line = n;
        taken.data = data;
        taken.start = start;
        taken.end = end;
        return handleSample(taken, row);
      }
    }
    splitter.line(n, data.toString('utf8', start, end), take);
    return records.length > 0 ? drainRecords() : undefined;
  };

  const started = performance.now();
  const stream = createReadStream(request.path, { highWaterMark: 1 << 20 });
  const framer = new LineFramer();
  const readLines = async () => {
    while (framer.next()) {
      const wait = line(framer.line, framer.data, framer.start, framer.end);
      if (wait) await wait;
      if (refused) throw new InputProblems([refused]);
    }
  };
  let sawData = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (chunk.length === 0) continue;
      sawData = true;
      hash.update(chunk);
      framer.feed(chunk);
      await readLines();
    }
    framer.finish();
    await readLines();
    splitter.end(take);
    await drainRecords();
  } finally {
    stream.destroy();
  }
  if (!sawData || plan === null) throw new InputProblems([`${file}: empty (expected a header row and rows)`]);
  request.onPhase?.('read', (performance.now() - started) / 1000);
  await flush();
  await pending;
  if (failure) throw failure;
  let mark = performance.now();
  const phase = (name: 'read' | 'partitions' | 'rollups') => {
    const now = performance.now();
    request.onPhase?.(name, (now - mark) / 1000);
    mark = now;
  };
  if (loader) {
    const stored = await loader.finish();
    counts.stored += stored.stored;
    counts.duplicates += stored.duplicates;
    if (stored.keyless > 0) await queueSampleKeyBuild(trx);
  }
  phase('partitions');
  const { hours } = await refreshRollups(trx, touched);
  phase('rollups');
  return { rollupHours: hours, firstRejections };
}
