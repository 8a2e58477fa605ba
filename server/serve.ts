// `npm start`: migrate → seed the demo when the database is empty → serve (from one web process per core:
// web-processes.ts), with the background worker (scheduled pulls, maintenance) beside the web server.
// SIGINT/SIGTERM stop the web server first, then the worker (it finishes or aborts its running jobs), then the
// database.
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { migrateToLatest } from '../db/migrate.js';
import { setDb } from '../db/client.js';
import { isDatabaseEmpty } from '../seeds/demo.js';
import { readDemoSignIn, seedDemoWithSignIn } from '../app/services/demo.server.js';
import type { Config } from './config.js';
import { connectDatabase, StartupError } from './database.js';
import { createApp, loadBuild } from './http.js';
import { startWebProcesses, type WebProcesses } from './web-processes.js';
import { resolveSessionSecret } from './secrets.js';
import { setRuntime } from '../app/lib/runtime.server.js';
import { ingestionTasks, SCHEDULE_TASK } from '../app/services/connectors/schedule.server.js';
import { SAMPLE_KEYS_TASK } from '../app/services/ingest/store.server.js';
import { EMAIL_SCHEDULE_TASK, emailTasks } from '../app/services/email/tasks.server.js';
import { recommendationTasks } from '../app/services/recommendations.server.js';
import { RECOMPUTE_RECOMMENDATIONS_TASK } from '../app/services/recommendations-queue.server.js';
import { combineTaskSets, startWorker, type Worker } from './worker.js';

function listen(app: Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port);
    server.once('listening', () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          error.code === 'EADDRINUSE'
            ? `PORT ${port} is already in use: stop what is using it or set PORT to another port`
            : `PORT ${port}: ${error.message}`,
        ),
      ),
    );
  });
}

/** Fails fast on an occupied port, before the database is started and seeded. */
async function checkPortFree(port: number): Promise<void> {
  const probe = await listen(express(), port);
  await new Promise((resolve) => probe.close(resolve));
}

export async function serve(config: Config, log: (line: string) => void = console.log): Promise<{ stop(): Promise<void> }> {
  const build = await loadBuild();
  await checkPortFree(config.PORT);
  const database = await connectDatabase(config);
  let server: Server | undefined;
  let web: WebProcesses | undefined;
  let worker: Worker | undefined;
  let signIn: Awaited<ReturnType<typeof readDemoSignIn>>;
  try {
    log(database.embedded ? `Database: embedded PostgreSQL in ${config.dataDir}` : 'Database: DATABASE_URL');
    const applied = await migrateToLatest(database.db);
    if (applied.length) log(`Applied ${applied.length} migration(s).`);
    if (await isDatabaseEmpty(database.db)) {
      log('The database is empty: seeding the demo (90 days)…');
      const started = Date.now();
      const summary = await seedDemoWithSignIn(database.db, config.dataDir, { days: 90, seed: 1 });
      log(`Seeded ${summary.customers} customers in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    }
    const sessionSecret = await resolveSessionSecret(config, (line) => log(`warning: ${line}`));
    setRuntime({ sessionSecret, appUrl: config.appUrl, dataDir: config.dataDir });
    setDb(database.db);
    if (config.webProcesses > 1) {
      web = await startWebProcesses(
        config.webProcesses,
        { databaseUrl: database.url, sessionSecret, appUrl: config.appUrl, dataDir: config.dataDir, port: config.PORT },
        log,
      );
    } else {
      server = await listen(createApp(build), config.PORT);
    }
    // The task registry: each capability adds its task set here.
    const mail = { smtpUrl: config.SMTP_URL, mailFrom: config.MAIL_FROM, dataDir: config.dataDir, appUrl: config.appUrl };
    worker = await startWorker({
      connectionString: database.url,
      ...combineTaskSets(
        ingestionTasks({ db: database.db, secret: sessionSecret, log }),
        emailTasks({ db: database.db, settings: mail, log }),
        recommendationTasks({ db: database.db, log }),
      ),
      log,
      startupJobs: [
        { task: SCHEDULE_TASK, spec: { jobKey: SCHEDULE_TASK, maxAttempts: 1 } },
        { task: EMAIL_SCHEDULE_TASK, spec: { jobKey: EMAIL_SCHEDULE_TASK, maxAttempts: 1 } },
        // Days imported while no worker ran (no queue to add the job to) get their keys now.
        { task: SAMPLE_KEYS_TASK, spec: { jobKey: SAMPLE_KEYS_TASK, maxAttempts: 5 } },
        // Recommendations marked stale while no worker ran (or whose job gave up) are recomputed now.
        { task: RECOMPUTE_RECOMMENDATIONS_TASK, spec: { jobKey: RECOMPUTE_RECOMMENDATIONS_TASK, maxAttempts: 5 } },
      ],
    });
    signIn = await readDemoSignIn(config.dataDir);
  } catch (error) {
    await worker?.stop().catch(() => {});
    await web?.stop();
    const started = server;
    if (started) await new Promise((resolve) => started.close(resolve));
    await database.close().catch(() => {});
    throw error;
  }

  // Both lines at once: whoever waits for the first reads the second too.
  log(`Breakeven is running at ${config.appUrl}${web ? ` (${config.webProcesses} web processes)` : ''}`);
  if (signIn) log(`Demo sign-in: ${signIn.email} / ${signIn.password}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await web?.stop();
      await new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after a grace period are cut so that shutdown always ends.
        setTimeout(() => server?.closeAllConnections(), 5_000).unref();
      });
      await worker?.stop();
      setDb(undefined);
      setRuntime(undefined);
      await database.close();
    })());
  return { stop };
}
