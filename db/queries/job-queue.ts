// The job queue's table, as seen from a transaction that adds a job: graphile-worker creates its schema when a
// worker first starts, so until then a job cannot be added (and each start-up job does the work instead).
import { sql, type Kysely } from 'kysely';

/** True once a worker has started against this database (graphile_worker's schema exists). */
export async function jobQueueExists(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ present: boolean }>`SELECT to_regclass('graphile_worker.jobs') IS NOT NULL AS present`.execute(db);
  return rows[0].present;
}

/**
 * Adds a job under a job key (a pending job with that key is replaced: one job, run at the latest time asked),
 * in the caller's transaction. Returns false when the queue does not exist yet.
 */
export async function addKeyedJob(db: Kysely<any>, task: string, opts: { jobKey: string; maxAttempts: number }): Promise<boolean> {
  if (!(await jobQueueExists(db))) return false;
  await sql`SELECT graphile_worker.add_job(${task}, '{}'::json, job_key => ${opts.jobKey}, max_attempts => ${opts.maxAttempts}::int)`.execute(db);
  return true;
}
