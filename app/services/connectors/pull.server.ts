// One pull of a source: plan the window, read it from the source in bounded requests, then store everything
// in one transaction with the run's outcome and the new watermark. So a run is all or nothing: a source that
// stops answering, a database connection that dies, a process that is killed — each leaves the run failed
// (or, for a killed process, marked failed by the next run) and the watermark where it was, and the next run
// reads the same window again. Rows already stored are stored idempotently, so nothing doubles.
//
// Reading happens before the transaction opens: the storage serialises writers of samples and of token
// usage with transaction locks, which must not be held while waiting on the network. A run is bounded
// (max_run_seconds), so what it holds in memory is too.
import type { Db } from '../../../db/client.js';
import { ensureGpuType } from '../../../db/queries/gpu-types.js';
import { gpuAssignments, type AssignmentSpan } from '../../../db/queries/ingestion.js';
import {
  failAbandonedRuns,
  findSourceById,
  lockSource,
  setSourceWatermark,
  tryLockSource,
  unlockSource,
  type SourceRow,
} from '../../../db/queries/sources.js';
import {
  customerFor,
  dcgmSamples,
  DCGM_ENGINE_ACTIVE,
  DCGM_GPU_UTIL,
  gaugeOnGrid,
  nextWatermark,
  planBackfillRuns,
  planScheduledRun,
  pullSettings,
  SourceConfigSchema,
  splitWindows,
  usageTokenRows,
  vllmQuery,
  vllmTokenRows,
  type DcgmSample,
  type PullSettings,
  type PulledTokenRow,
  type TimeRange,
} from '../../domain/connectors/index.js';
import type { RejectedRow, SampleRow, TokenRow } from '../../domain/ingest/rows.js';
import { finishRun, quarantine, refreshRollups, resolveCustomer, startRun, storeGpuSamples, storeTokenUsage, TouchedKeys } from '../ingest/store.server.js';
import { decryptCredentials } from './credentials.server.js';
import { authHeaders, ConnectorError, type FetchOptions, type RetryPolicy } from './http.server.js';
import { usagePages } from './openai-usage.server.js';
import { queryRange } from './prometheus.server.js';

export interface PullOptions {
  /** The session secret (the credential key is derived from it). */
  secret: string;
  now?: Date;
  /** A backfill of [from, to) instead of the scheduled window; cut into runs of max_run_seconds. */
  range?: { from: Date; to: Date };
  /** When another pull of the source is running: skip (the worker) or wait for it (the command line). */
  whenBusy?: 'skip' | 'wait';
  /** A scheduled pull that is behind keeps going until it is caught up (the command line); else one run. */
  catchUp?: boolean;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Windows read and planned so far, across the runs of this call; awaited before the next request. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  log?: (line: string) => void;
  /** For tests: called inside the run's transaction, after every row is written and before it commits. */
  beforeCommit?: (runId: number) => Promise<void>;
}

export interface RunResult {
  source: string;
  runId: number | null;
  /** `skipped`: another pull of the source held it; `idle`: nothing due yet. Neither is recorded as a run. */
  status: 'succeeded' | 'failed' | 'skipped' | 'idle';
  windowFrom: Date | null;
  windowTo: Date | null;
  rowsRead: number;
  rowsStored: number;
  rowsRejected: number;
  customersCreated: string[];
  durationMs: number;
  error: string | null;
  /** The run stopped at max_run_seconds short of now − delay: more is due at once. */
  behind: boolean;
}

interface Fetched {
  read: number;
  samples: DcgmSample[];
  tokens: PulledTokenRow[];
  rejected: RejectedRow[];
}

/** A source's settings, or why its stored config is not valid any more. */
export function settingsOf(source: SourceRow): PullSettings {
  const config = SourceConfigSchema.safeParse(source.config ?? {});
  if (!config.success) {
    const issue = config.error.issues[0];
    throw new ConnectorError(`the source's config is not valid (${issue.path.join('.')}: ${issue.message})`, false);
  }
  return pullSettings(source.kind, config.data);
}

const alignSeconds = (s: PullSettings) => (s.kind === 'prometheus-dcgm' ? s.stepSeconds : 3_600);

function message(error: unknown): string {
  const e = error as Error & { code?: string };
  if (e instanceof ConnectorError) return e.message;
  // Connection failures (57P01: terminated by an administrator; 08xxx: connection exceptions; a reset
  // socket — HTTP errors are ConnectorErrors, so these come from the database) and pg's own "not queryable"
  // after one: the transaction was rolled back as a whole.
  if ((typeof e?.code === 'string' && /^(57P|08|ECONNRESET$|EPIPE$|ECONNREFUSED$|ETIMEDOUT$)/.test(e.code)) || /connection (error|terminated)|not queryable|terminating connection/i.test(e?.message ?? '')) {
    return `the database connection was lost during the run (${e.message}); nothing of it was stored`;
  }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return `stopped: ${e.message}`;
  return e?.message ?? String(error);
}

/** Reads one run's window from the source, request by request. */
async function fetchRange(source: SourceRow, settings: PullSettings, range: TimeRange, http: FetchOptions, tick: () => void | Promise<void>): Promise<Fetched> {
  const out: Fetched = { read: 0, samples: [], tokens: [], rejected: [] };
  for (const w of splitWindows(range, settings.windowSeconds)) {
    if (settings.kind === 'prometheus-dcgm') {
      // Gauges: the points of [from, to), on the grid from + k·step.
      const q = { start: w.from, end: w.to - 1, stepSeconds: settings.stepSeconds };
      const engine = await queryRange(source.url, { ...q, query: gaugeOnGrid(DCGM_ENGINE_ACTIVE, settings.selector, settings.stepSeconds) }, http);
      const util = await queryRange(source.url, { ...q, query: gaugeOnGrid(DCGM_GPU_UTIL, settings.selector, settings.stepSeconds) }, http);
      const r = dcgmSamples(engine, util, { customerLabel: settings.customerLabel, mapping: settings.mapping });
      out.samples.push(...r.samples);
      out.rejected.push(...r.rejected);
      out.read += r.samples.length + r.rejected.length;
    } else if (settings.kind === 'prometheus-vllm') {
      // Counters: [from, to] both ends, so the point at `to` closes the window's last hour (and is the next
      // window's baseline).
      const series = await queryRange(source.url, { query: vllmQuery(settings.selector), start: w.from, end: w.to, stepSeconds: settings.stepSeconds }, http);
      const r = vllmTokenRows(series, { sourceName: source.name, customerLabel: settings.customerLabel, mapping: settings.mapping });
      out.tokens.push(...r.rows);
      out.rejected.push(...r.rejected);
      out.read += r.rows.length + r.rejected.length;
    } else {
      for await (const page of usagePages(source.url, w, http)) {
        const r = usageTokenRows(page, { sourceName: source.name, mapping: settings.mapping });
        out.tokens.push(...r.rows);
        out.rejected.push(...r.rejected);
        out.read += r.read;
      }
    }
    await tick();
  }
  return out;
}

/** The customer of a sample without a customer label: the GPU's assignment at that time. */
function assignedAt(spans: readonly AssignmentSpan[], ts: number): number | undefined {
  for (const s of spans) if (s.from <= ts && (s.to === null || ts < s.to)) return s.customerId;
  return undefined;
}

/** Writes a run's rows; returns stored, rejected and created customers. Runs inside the run's transaction. */
async function storeFetched(trx: Db, source: SourceRow, settings: PullSettings, runId: number, fetched: Fetched) {
  const created = new Set<string>();
  const customers = new Map<string, number>();
  const customerId = async (slug: string) => {
    let id = customers.get(slug);
    if (id === undefined) customers.set(slug, (id = await resolveCustomer(trx, slug, created)));
    return id;
  };
  const rejected: RejectedRow[] = [...fetched.rejected];
  const touched = new TouchedKeys();
  let stored = 0;

  if (fetched.samples.length > 0) {
    const gpuTypes = new Map<string, number | Error>();
    const assignments = new Map<string, AssignmentSpan[]>();
    const rows: SampleRow[] = [];
    for (const s of fetched.samples) {
      let type = gpuTypes.get(s.gpuModel);
      if (type === undefined) {
        type = await ensureGpuType(trx, s.gpuModel).catch((e: Error) => e);
        gpuTypes.set(s.gpuModel, type);
      }
      if (type instanceof Error) {
        rejected.push({ line: 0, field: 'gpu_type', reason: type.message, raw: s.raw });
        continue;
      }
      let id: number | undefined;
      if (s.customer.kind === 'slug') id = await customerId(s.customer.slug);
      else {
        let spans = assignments.get(s.gpuUuid);
        if (!spans) assignments.set(s.gpuUuid, (spans = await gpuAssignments(trx, s.gpuUuid)));
        id = assignedAt(spans, s.ts.getTime());
        if (id === undefined) {
          const fallback = customerFor(undefined, settings.mapping, true);
          if (fallback.kind === 'slug') id = await customerId(fallback.slug);
        }
      }
      if (id === undefined) {
        rejected.push({
          line: 0,
          field: 'customer',
          reason: `no ${settings.customerLabel} label, no GPU assignment of ${s.gpuUuid} at ${s.ts.toISOString()} and no default_customer`,
          raw: s.raw,
        });
        continue;
      }
      rows.push({ customerId: id, gpuUuid: s.gpuUuid, gpuTypeId: type, ts: s.ts, utilizationPct: s.utilizationPct, memoryUsedMib: null, powerW: null, hostname: s.hostname, raw: s.raw });
    }
    const r = await storeGpuSamples(trx, rows, { sourceId: source.id, touched });
    stored += r.stored;
    rejected.push(...r.rejected);
  }

  if (fetched.tokens.length > 0) {
    const rows: TokenRow[] = [];
    for (const t of fetched.tokens) {
      rows.push({
        customerId: await customerId(t.customerSlug),
        recordKey: t.recordKey,
        ts: t.ts,
        model: t.model,
        inputTokens: t.inputTokens,
        cachedInputTokens: t.cachedInputTokens,
        cacheWriteInputTokens: t.cacheWriteInputTokens,
        outputTokens: t.outputTokens,
        requests: t.requests,
        raw: t.raw,
      });
    }
    const r = await storeTokenUsage(trx, rows, { sourceId: source.id, onConflict: 'replace', touched });
    stored += r.stored;
    rejected.push(...r.rejected);
  }

  await quarantine(trx, runId, rejected);
  await refreshRollups(trx, touched);
  return { stored, rejected: rejected.length, created: [...created].sort() };
}

/** One recorded run of [from, to); the caller holds the source's lock on `conn`. */
async function runOnce(
  db: Db,
  conn: Db,
  source: SourceRow,
  settings: PullSettings,
  range: TimeRange & { behind?: boolean },
  options: PullOptions,
  tick: () => void | Promise<void>,
): Promise<RunResult> {
  const started = Date.now();
  const windowFrom = new Date(range.from);
  const windowTo = new Date(range.to);
  const base = { source: source.name, windowFrom, windowTo, behind: range.behind ?? false };
  const runId = await startRun(db, { sourceId: source.id, kind: source.kind, windowFrom, windowTo });
  let read = 0;
  try {
    const credentials = source.credentials_encrypted ? decryptCredentials(source.credentials_encrypted, options.secret, source.name) : null;
    const http: FetchOptions = {
      headers: authHeaders(credentials),
      timeoutMs: settings.timeoutMs,
      retry: options.retry,
      signal: options.signal,
      onRetry: (attempt, delay, error) => options.log?.(`${source.name}: ${error.message}; attempt ${attempt} in ${(delay / 1000).toFixed(1)} s`),
    };
    const fetched = await fetchRange(source, settings, range, http, tick);
    read = fetched.read;
    const outcome = await conn.transaction().execute(async (trx) => {
      const written = await storeFetched(trx, source, settings, runId, fetched);
      const current = await findSourceById(trx, source.id);
      if (!current) throw new Error(`source ${source.name} was removed during the run`);
      const watermark = nextWatermark(current.watermark ? current.watermark.getTime() : null, range);
      if (watermark !== null && watermark !== current.watermark?.getTime()) await setSourceWatermark(trx, source.id, new Date(watermark));
      await options.beforeCommit?.(runId);
      await finishRun(trx, runId, { status: 'succeeded', rowsRead: read, rowsStored: written.stored, rowsRejected: written.rejected, customersCreated: written.created });
      return written;
    });
    return {
      ...base,
      runId,
      status: 'succeeded',
      rowsRead: read,
      rowsStored: outcome.stored,
      rowsRejected: outcome.rejected,
      customersCreated: outcome.created,
      durationMs: Date.now() - started,
      error: null,
    };
  } catch (error) {
    const text = message(error);
    // The run's row was committed apart, so the failure is recorded even though its rows were rolled back.
    await finishRun(db, runId, { status: 'failed', rowsRead: read, rowsStored: 0, rowsRejected: 0, customersCreated: [], error: text }).catch((e: Error) =>
      options.log?.(`${source.name}: could not record the failure of run ${runId}: ${e.message}`),
    );
    return { ...base, runId, status: 'failed', rowsRead: read, rowsStored: 0, rowsRejected: 0, customersCreated: [], durationMs: Date.now() - started, error: text };
  }
}

/**
 * Pulls a source now: the scheduled window (or the backfill range), one run at a time, while holding the
 * source's lock so that no other pull of it runs meanwhile. Returns one result per run (or one `skipped` or
 * `idle` result). Never throws for a failing source: the failure is in the result and in ingestion_runs.
 */
export async function pullSource(db: Db, sourceId: number, options: PullOptions): Promise<RunResult[]> {
  const first = await findSourceById(db, sourceId);
  if (!first) throw new Error(`no source with id ${sourceId}`);
  const empty = (status: 'skipped' | 'idle'): RunResult => ({
    source: first.name,
    runId: null,
    status,
    windowFrom: null,
    windowTo: null,
    rowsRead: 0,
    rowsStored: 0,
    rowsRejected: 0,
    customersCreated: [],
    durationMs: 0,
    error: null,
    behind: false,
  });
  return db.connection().execute(async (conn) => {
    if (options.whenBusy === 'wait') await lockSource(conn, sourceId);
    else if (!(await tryLockSource(conn, sourceId))) return [empty('skipped')];
    try {
      // Holding the lock, any run of this source still marked running belongs to a process that is gone.
      await failAbandonedRuns(db, sourceId, 'interrupted: the process or its database connection ended before the run finished');
      // Read again: the watermark may have moved while this call waited for the lock.
      const source = await findSourceById(conn, sourceId);
      if (!source) return [];
      let settings: PullSettings;
      try {
        settings = settingsOf(source);
      } catch (error) {
        const runId = await startRun(db, { sourceId, kind: source.kind });
        await finishRun(db, runId, { status: 'failed', rowsRead: 0, rowsStored: 0, rowsRejected: 0, customersCreated: [], error: message(error) });
        return [{ ...empty('idle'), runId, status: 'failed', error: message(error) }];
      }
      const align = alignSeconds(settings);
      let done = 0;
      let total = 0;
      const tick = () => options.onProgress?.(++done, total);
      const windowsOf = (r: TimeRange) => splitWindows(r, settings.windowSeconds).length;

      if (options.range) {
        const runs = planBackfillRuns({ from: options.range.from.getTime(), to: options.range.to.getTime() }, align, settings.maxRunSeconds);
        total = runs.reduce((n, r) => n + windowsOf(r), 0);
        await options.onProgress?.(0, total);
        const results: RunResult[] = [];
        for (const run of runs) {
          const result = await runOnce(db, conn, source, settings, run, options, tick);
          results.push(result);
          if (result.status === 'failed') break;
          // The watermark may have moved: the next run reads it afresh.
          Object.assign(source, await findSourceById(conn, sourceId));
        }
        return results;
      }

      const results: RunResult[] = [];
      let current = source;
      for (;;) {
        const now = (options.now ?? new Date()).getTime();
        const plan = planScheduledRun({
          now,
          watermark: current.watermark ? current.watermark.getTime() : null,
          lookbackSeconds: current.lookback_seconds,
          delaySeconds: current.delay_seconds,
          start: settings.start ? settings.start.getTime() : null,
          alignSeconds: align,
          maxRunSeconds: settings.maxRunSeconds,
        });
        if (!plan) return results.length ? results : [empty('idle')];
        total += windowsOf(plan);
        await options.onProgress?.(done, total);
        const result = await runOnce(db, conn, current, settings, plan, options, tick);
        results.push(result);
        if (result.status !== 'succeeded' || !plan.behind || !options.catchUp) return results;
        const next = await findSourceById(conn, sourceId);
        if (!next) return results;
        current = next;
      }
    } finally {
      await unlockSource(conn, sourceId).catch(() => {});
    }
  });
}
