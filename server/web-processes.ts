// More than one web process. One Node thread renders one page at a time, so while a core is free the dashboard
// serves more pages at once from more processes (BREAKEVEN_WEB_PROCESSES; default: the machine's cores, at most
// four: server/config.ts). The primary process keeps what must run once — the database, migrations, the demo
// seed, the job worker — and forks the web processes with node:cluster, which hands each of them connections on
// the one port. Settings
// that are secrets (the database URL, the session secret) reach them as an IPC message, never through the
// environment. A web process that dies is replaced. See docs/decisions/031-web-processes.md.
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { Server } from 'node:http';
import path from 'node:path';
import { createDb, setDb } from '../db/client.js';
import { setRuntime } from '../app/lib/runtime.server.js';
import { INVALIDATE_DASHBOARD } from '../app/services/dashboard/cache.server.js';
import { createApp, loadBuild } from './http.js';

/** What a web process needs to serve; sent by the primary once the process is up. */
export interface WebSettings {
  databaseUrl: string;
  sessionSecret: string;
  appUrl: string;
  dataDir: string;
  port: number;
  /** Record each request's server time (benchmarks): answered to a `request-times` message. */
  recordRequestTimes?: boolean;
}

/** Messages between the primary and its web processes. */
type Message =
  | { type: 'breakeven:hello' }
  | { type: 'breakeven:settings'; settings: WebSettings }
  | { type: 'breakeven:listening' }
  | { type: 'breakeven:failed'; message: string }
  | { type: 'breakeven:stop' }
  | { type: 'breakeven:request-times' }
  | { type: 'breakeven:request-times-reply'; times: Record<string, number[]> }
  // A change made through one process (a reservation, a price book): relayed to the others (cache.server.ts).
  | { type: typeof INVALIDATE_DASHBOARD };

const isMessage = (m: unknown): m is Message => typeof (m as { type?: unknown })?.type === 'string' && (m as { type: string }).type.startsWith('breakeven:');

export interface WebProcesses {
  readonly pids: number[];
  /** Each process's request times since the last call, by path (only with recordRequestTimes). */
  requestTimes(): Promise<Map<string, number[]>>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/**
 * Forks `count` web processes serving `settings.port`; resolves once every one listens. They run with this
 * process's V8 heap settings (`--max-…`), or `execArgv` when given.
 */
export async function startWebProcesses(
  count: number,
  settings: WebSettings,
  log: (line: string) => void,
  execArgv = process.execArgv.filter((a) => a.startsWith('--max-')),
): Promise<WebProcesses> {
  cluster.setupPrimary({ exec: path.join(import.meta.dirname, 'web-process.js'), args: [], execArgv, silent: false });
  const workers = new Set<ClusterWorker>();
  let stopping = false;

  const fork = (): Promise<ClusterWorker> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      workers.add(worker);
      worker.on('message', (m: unknown) => {
        if (!isMessage(m)) return;
        // Sent once the process listens for messages (one sent before would be lost).
        if (m.type === 'breakeven:hello') worker.send({ type: 'breakeven:settings', settings } satisfies Message);
        else if (m.type === 'breakeven:listening') resolve(worker);
        else if (m.type === 'breakeven:failed') reject(new Error(m.message));
        else if (m.type === INVALIDATE_DASHBOARD) for (const other of workers) if (other !== worker) other.send(m);
      });
      worker.on('exit', (code, signal) => {
        workers.delete(worker);
        reject(new Error(`a web process exited while starting (${signal ?? `exit ${code}`})`));
        if (stopping) return;
        log(`a web process exited (${signal ?? `exit ${code}`}); starting another`);
        fork().catch((error: Error) => log(`the replacement web process failed: ${error.message}`));
      });
    });

  try {
    await Promise.all(Array.from({ length: count }, fork));
  } catch (error) {
    stopping = true;
    for (const w of workers) w.process.kill('SIGKILL');
    throw error;
  }

  return {
    get pids() {
      return [...workers].map((w) => w.process.pid!).filter(Boolean);
    },
    async requestTimes() {
      const replies = await Promise.all(
        [...workers].map(
          (w) =>
            new Promise<Record<string, number[]>>((resolve) => {
              const onMessage = (m: unknown) => {
                if (!isMessage(m) || m.type !== 'breakeven:request-times-reply') return;
                w.off('message', onMessage);
                resolve(m.times);
              };
              w.on('message', onMessage);
              w.send({ type: 'breakeven:request-times' } satisfies Message);
            }),
        ),
      );
      const merged = new Map<string, number[]>();
      for (const reply of replies) for (const [p, times] of Object.entries(reply)) merged.set(p, [...(merged.get(p) ?? []), ...times]);
      return merged;
    },
    async stop() {
      stopping = true;
      await Promise.all(
        [...workers].map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve();
              w.once('exit', () => resolve());
              w.send({ type: 'breakeven:stop' } satisfies Message);
              // A process that does not finish its requests in time is ended.
              setTimeout(() => w.process.kill('SIGKILL'), STOP_GRACE_MS * 2).unref();
            }),
        ),
      );
    },
  };
}

/** The body of a web process (server/web-process.js): waits for its settings, then serves until told to stop. */
export function runWebProcess(): void {
  const send = (m: Message) => process.send?.(m);
  // The primary decides when a web process ends: Ctrl-C in a terminal reaches every process of the group.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  let server: Server | undefined;
  const times = new Map<string, number[]>();

  process.on('message', async (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.type === 'breakeven:settings') {
      try {
        server = await serveWith(m.settings, times);
        send({ type: 'breakeven:listening' });
      } catch (error) {
        send({ type: 'breakeven:failed', message: (error as Error).message });
        process.exit(1);
      }
    } else if (m.type === 'breakeven:request-times') {
      send({ type: 'breakeven:request-times-reply', times: Object.fromEntries(times) });
      times.clear();
    } else if (m.type === 'breakeven:stop') {
      const s = server;
      if (!s) process.exit(0);
      s.close(() => process.exit(0));
      s.closeIdleConnections();
      setTimeout(() => s.closeAllConnections(), STOP_GRACE_MS).unref();
    }
  });
  // The primary went away without saying stop: nothing is left to serve for.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'breakeven:hello' });
}

async function serveWith(settings: WebSettings, times: Map<string, number[]>): Promise<Server> {
  const build = await loadBuild();
  setDb(createDb(settings.databaseUrl));
  setRuntime({ sessionSecret: settings.sessionSecret, appUrl: settings.appUrl, dataDir: settings.dataDir });
  const app = createApp(
    build,
    settings.recordRequestTimes
      ? {
          onRequestTime: (p, ms) => {
            const list = times.get(p);
            if (list) list.push(ms);
            else times.set(p, [ms]);
          },
        }
      : {},
  );
  return new Promise((resolve, reject) => {
    const server = app.listen(settings.port);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
