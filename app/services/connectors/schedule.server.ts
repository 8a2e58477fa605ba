// Pulling sources on their schedule through the job queue (graphile-worker, in the same PostgreSQL).
//
// Each enabled source has one pending job, key `ingest-source:<id>`. The job pulls (skipping when another pull
// of the source holds its lock), then adds its successor at now + interval (at once when the source is
// behind). A cron task every minute, and one at start, gives a job to every enabled source that lacks one
// (a source just added, or one whose job was lost), and the daily maintenance task drops expired raw samples.
// The key of a day a file import attached without one is built by its own task, queued by the import.
import { sql } from 'kysely';
import type { Db } from '../../../db/client.js';
import { jobQueueExists } from '../../../db/queries/job-queue.js';
import { findSourceById, listSources } from '../../../db/queries/sources.js';
import { buildMissingSampleKeys, dropExpiredSamplePartitions, SAMPLE_KEYS_TASK } from '../ingest/store.server.js';
import type { RetryPolicy } from './http.server.js';
import { pullSource } from './pull.server.js';

export const PULL_TASK = 'ingest:pull';
export const SCHEDULE_TASK = 'ingest:schedule';
export const RETENTION_TASK = 'maintenance:sample-retention';

export const sourceJobKey = (sourceId: number) => `ingest-source:${sourceId}`;

/** The helpers graphile-worker hands a task that these tasks use. */
export interface TaskHelpers {
  abortSignal?: AbortSignal;
  addJob(identifier: string, payload: unknown, spec?: { runAt?: Date; jobKey?: string; maxAttempts?: number }): Promise<unknown>;
}

export type QueueTask = (payload: unknown, helpers: TaskHelpers) => Promise<void>;

export interface IngestionTaskContext {
  db: Db;
  secret: string;
  log: (line: string) => void;
  retry?: RetryPolicy;
  /** Raw-sample retention in days (default: the storage's). */
  sampleRetentionDays?: number;
}

/**
 * Queues a pull of the source at runAt (default now), replacing its pending job. Returns false when the job
 * queue does not exist yet (no worker has ever started): the worker's start-up schedules every source anyway.
 */
export async function enqueueSourcePull(db: Db, sourceId: number, runAt: Date = new Date()): Promise<boolean> {
  if (!(await jobQueueExists(db))) return false;
  await sql`SELECT graphile_worker.add_job(${PULL_TASK}, json_build_object('sourceId', ${sourceId}::bigint),
              run_at => ${runAt}::timestamptz, job_key => ${sourceJobKey(sourceId)}, max_attempts => 10)`.execute(db);
  return true;
}

/** Removes a source's pending job (its running pull, if any, finishes and does not come back). */
export async function dequeueSourcePull(db: Db, sourceId: number): Promise<void> {
  if (!(await jobQueueExists(db))) return;
  await sql`SELECT graphile_worker.remove_job(${sourceJobKey(sourceId)})`.execute(db);
}

/** Gives every enabled source without a pending job one, due now. Returns the sources scheduled. */
export async function scheduleMissingSources(db: Db): Promise<string[]> {
  const sources = await listSources(db, { enabledOnly: true });
  if (sources.length === 0 || !(await jobQueueExists(db))) return [];
  const { rows } = await sql<{ key: string }>`
    SELECT key FROM graphile_worker.jobs WHERE key LIKE 'ingest-source:%' AND attempts < max_attempts`.execute(db);
  const pending = new Set(rows.map((r) => r.key));
  const added: string[] = [];
  for (const s of sources) {
    if (pending.has(sourceJobKey(s.id))) continue;
    await enqueueSourcePull(db, s.id);
    added.push(s.name);
  }
  return added;
}

function sourceIdOf(payload: unknown): number {
  const id = Number((payload as { sourceId?: unknown } | null)?.sourceId);
  if (!Number.isSafeInteger(id) || id < 1) throw new Error(`${PULL_TASK}: payload has no sourceId`);
  return id;
}

/** The ingestion tasks and their crontab lines, for startWorker. */
export function ingestionTasks(ctx: IngestionTaskContext): { tasks: Record<string, QueueTask>; crontab: string[] } {
  const pull: QueueTask = async (payload, helpers) => {
    const sourceId = sourceIdOf(payload);
    const source = await findSourceById(ctx.db, sourceId);
    // A removed or disabled source: its job ends here and is not added again.
    if (!source || !source.enabled) return;
    const results = await pullSource(ctx.db, sourceId, { secret: ctx.secret, whenBusy: 'skip', signal: helpers.abortSignal, retry: ctx.retry, log: ctx.log });
    for (const r of results) {
      if (r.status === 'succeeded') {
        ctx.log(`ingest ${r.source}: ${r.windowFrom?.toISOString()} – ${r.windowTo?.toISOString()}: ${r.rowsRead} read, ${r.rowsStored} stored, ${r.rowsRejected} rejected (run ${r.runId})`);
      } else if (r.status === 'failed') {
        ctx.log(`ingest ${r.source}: run ${r.runId} failed: ${r.error}`);
      } else if (r.status === 'skipped') {
        ctx.log(`ingest ${r.source}: skipped, another pull of it is running`);
      }
    }
    if (helpers.abortSignal?.aborted) return;
    const behind = results.some((r) => r.behind && r.status === 'succeeded');
    const after = await findSourceById(ctx.db, sourceId);
    if (!after || !after.enabled) return;
    await helpers.addJob(PULL_TASK, { sourceId }, {
      jobKey: sourceJobKey(sourceId),
      runAt: new Date(Date.now() + (behind ? 0 : after.interval_seconds * 1_000)),
      maxAttempts: 10,
    });
  };
  const schedule: QueueTask = async () => {
    const added = await scheduleMissingSources(ctx.db);
    if (added.length) ctx.log(`ingest: scheduled ${added.join(', ')}`);
  };
  const retention: QueueTask = async () => {
    const { dropped } = await dropExpiredSamplePartitions(ctx.db, new Date(), ctx.sampleRetentionDays);
    if (dropped.length) ctx.log(`maintenance: dropped ${dropped.length} expired sample partition(s): ${dropped.join(', ')}`);
  };
  const sampleKeys: QueueTask = async () => {
    const keyed = await buildMissingSampleKeys(ctx.db);
    if (keyed.length) ctx.log(`maintenance: built the key of ${keyed.length} sample partition(s): ${keyed.join(', ')}`);
  };
  return {
    tasks: { [PULL_TASK]: pull, [SCHEDULE_TASK]: schedule, [RETENTION_TASK]: retention, [SAMPLE_KEYS_TASK]: sampleKeys },
    crontab: [
      // Every minute: a job for every enabled source that lacks one.
      `* * * * * ${SCHEDULE_TASK} ?max=1&jobKey=${SCHEDULE_TASK}`,
      // Daily at 03:17 UTC; a missed run (the server was down) is made up once within a day.
      `17 3 * * * ${RETENTION_TASK} ?fill=1d&max=1&jobKey=${RETENTION_TASK}`,
    ],
  };
}
