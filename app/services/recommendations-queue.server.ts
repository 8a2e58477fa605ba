// Stored recommendations follow ingestion: a run that changes some customers' hours marks the recommendations
// covering them stale, in the run's own transaction, and queues one recompute on the job queue
// (graphile-worker, in the same PostgreSQL). The job is added inside that transaction, so it exists exactly
// when the marks do, and runs only once they are committed. The task itself is recommendationTasks
// (recommendations.server.ts).
import type { Db } from '../../db/client.js';
import { addKeyedJob } from '../../db/queries/job-queue.js';
import { markRecommendationsStaleForKeys } from '../../db/queries/recommendations.js';

export const RECOMPUTE_RECOMMENDATIONS_TASK = 'recommendations:recompute';

/**
 * Queues the recompute of stale recommendations (one pending job: a run that commits while one waits only
 * moves it to now; one added while the job runs gets a job of its own). Returns false when the job queue does
 * not exist yet (no worker has ever started): the worker recomputes stale rows when it starts anyway.
 */
export async function enqueueRecommendationRecompute(db: Db): Promise<boolean> {
  return addKeyedJob(db, RECOMPUTE_RECOMMENDATIONS_TASK, { jobKey: RECOMPUTE_RECOMMENDATIONS_TASK, maxAttempts: 5 });
}

/**
 * Called by the storage API once a run's rollups of these (customer, hour) keys are rewritten, in the run's
 * transaction: marks the recommendations covering them stale and, when any was marked, queues the recompute.
 * Returns how many were marked.
 */
export async function recommendationsAfterIngestion(trx: Db, keys: readonly { customerId: number; hour: number }[]): Promise<number> {
  const marked = await markRecommendationsStaleForKeys(trx, keys);
  if (marked > 0) await enqueueRecommendationRecompute(trx);
  return marked;
}
