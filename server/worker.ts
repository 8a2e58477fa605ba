// The background worker: graphile-worker on this product's PostgreSQL (its own schema, graphile_worker,
// created and migrated by the worker itself). Tasks come from a registry that each capability adds to —
// source pulls and sample retention today, the weekly emails later:
//
//   const worker = await startWorker({ connectionString, ...combineTaskSets(ingestionTasks(ctx), emailTasks(ctx)) });
//   await worker.addJob('ingest:pull', { sourceId: 1 }, { jobKey: 'ingest-source:1' });
//   await worker.stop();          // waits for running jobs (they see their abort signal after a grace period)
import { Logger, run, type LogFunctionFactory, type Runner, type Task, type TaskList, type TaskSpec } from 'graphile-worker';
import pg from 'pg';

/** A task: gets the job's payload and graphile-worker's helpers (addJob, abortSignal, logger…). */
export type WorkerTask = Task;

export interface WorkerOptions {
  /** The database the queue lives in (the product's own). */
  connectionString: string;
  tasks: Record<string, WorkerTask>;
  /** crontab lines (graphile-worker syntax: `m h dom mon dow task ?opts`), UTC. */
  crontab?: string[];
  /** Jobs run at once (default 2: pulls wait on the network, and this machine has 2 cores). */
  concurrency?: number;
  /** How often to look for jobs due later (ms); new jobs arrive at once through LISTEN/NOTIFY. */
  pollIntervalMs?: number;
  /** Where the worker's lines go (errors and warnings; info when `verbose`). */
  log?: (line: string) => void;
  verbose?: boolean;
  /** Jobs to add once the worker runs (e.g. the scheduler's first pass). */
  startupJobs?: { task: string; payload?: unknown; spec?: TaskSpec }[];
}

/** What one capability gives the worker: its tasks and their crontab lines (the task registry is their union). */
export interface TaskSet {
  tasks: Record<string, WorkerTask>;
  crontab?: string[];
}

/** The union of task sets; a task name given twice is a programming error. */
export function combineTaskSets(...sets: TaskSet[]): { tasks: Record<string, WorkerTask>; crontab: string[] } {
  const tasks: Record<string, WorkerTask> = {};
  const crontab: string[] = [];
  for (const set of sets) {
    for (const [name, task] of Object.entries(set.tasks)) {
      if (name in tasks) throw new Error(`worker task ${name} is defined twice`);
      tasks[name] = task;
    }
    crontab.push(...(set.crontab ?? []));
  }
  return { tasks, crontab };
}

export interface Worker {
  addJob(task: string, payload?: unknown, spec?: TaskSpec): Promise<void>;
  /** Stops taking jobs, waits for running ones, closes the worker's connections. Safe to call twice. */
  stop(): Promise<void>;
}

function loggerFor(log: (line: string) => void, verbose: boolean): Logger {
  const factory: LogFunctionFactory = (scope) => (level, message) => {
    if (level === 'debug' || (level === 'info' && !verbose)) return;
    const where = scope.taskIdentifier ? ` ${scope.taskIdentifier}${scope.jobId ? `#${scope.jobId}` : ''}` : '';
    log(`worker${where}: ${level === 'info' ? '' : `${level}: `}${message}`);
  };
  return new Logger(factory);
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const log = options.log ?? ((line: string) => console.log(line));
  // Our own pool, so that we decide when it ends, with the error listeners every pool here needs (an idle
  // client's error when the server restarts would otherwise crash the process).
  const pool = new pg.Pool({ connectionString: options.connectionString, max: (options.concurrency ?? 2) + 3, connectionTimeoutMillis: 10_000 });
  pool.on('error', (error) => log(`worker: database: ${error.message}`));
  pool.on('connect', (client) => client.on('error', () => {}));
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      taskList: options.tasks as TaskList,
      crontab: (options.crontab ?? []).join('\n'),
      concurrency: options.concurrency ?? 2,
      pollInterval: options.pollIntervalMs ?? 2_000,
      // The process's SIGINT/SIGTERM handling (server/serve.ts) decides the order things stop in.
      noHandleSignals: true,
      logger: loggerFor(log, options.verbose ?? false),
      gracefulShutdownAbortTimeout: 5_000,
    });
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  for (const job of options.startupJobs ?? []) await runner.addJob(job.task, job.payload ?? {}, job.spec);

  let stopping: Promise<void> | undefined;
  return {
    async addJob(task, payload = {}, spec) {
      await runner.addJob(task, payload, spec);
    },
    stop: () =>
      (stopping ??= (async () => {
        await runner.stop().catch((error: Error) => log(`worker: stop: ${error.message}`));
        await runner.promise.catch(() => {});
        await pool.end().catch(() => {});
      })()),
  };
}
