// What the benchmarks share: a throwaway PostgreSQL of their own, timing of repeated runs, percentiles, CPU seconds
// of processes (from /proc).
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startLocalPostgres, type LocalPostgres } from '../db/local-postgres.js';

/**
 * The Node flags `breakeven` runs with (bin/breakeven.js's first line): a benchmark that runs a command in a
 * process of its own passes them too, so it measures what a user's `npx breakeven …` runs.
 */
export async function cliNodeFlags(): Promise<string[]> {
  const shebang = (await readFile(path.resolve(import.meta.dirname, '..', 'bin', 'breakeven.js'), 'utf8')).split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(shebang);
  if (!match) throw new Error(`bin/breakeven.js: unexpected first line ${shebang}`);
  return match[1].trim().split(/\s+/).filter(Boolean);
}

/** True when the module is the script being run (not imported by `npm run bench`). */
export const isMain = (url: string) => process.argv[1] !== undefined && url === pathToFileURL(path.resolve(process.argv[1])).href;

export interface BenchPostgres {
  server: LocalPostgres;
  folder: string;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL in a temporary folder, configured for throwaway data: durability off (a crash loses nothing that
 * matters) and checkpoints spaced out, as for any bulk load.
 */
export async function benchPostgres(prefix: string, settings: Record<string, string> = {}): Promise<BenchPostgres> {
  const folder = await mkdtemp(path.join(tmpdir(), `breakeven-${prefix}-`));
  await chmod(folder, 0o755);
  const server = await startLocalPostgres({
    dir: path.join(folder, 'pg'),
    database: 'bench',
    auth: 'trust',
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', shared_buffers: '512MB', max_wal_size: '4GB', ...settings },
  });
  return {
    server,
    folder,
    async stop() {
      await server.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Wall time, and this process's CPU time (user + system): on a shared machine the second is the steadier. */
export async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; cpu: number; value: T }> {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return { ms: performance.now() - start, cpu: (cpu.user + cpu.system) / 1000, value };
}

export interface Timing<T> {
  best: number;
  median: number;
  /** Node CPU of the fastest run. */
  cpu: number;
  value: T;
}

/** Best and median of repeated runs (after one warm-up), each timed alone. */
export async function repeat<T>(fn: () => Promise<T> | T, runs: number): Promise<Timing<T>> {
  let value: T = await fn();
  const timed: { ms: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await time(fn);
    timed.push(r);
    value = r.value;
  }
  timed.sort((a, b) => a.ms - b.ms);
  return { best: timed[0].ms, median: timed[Math.floor(timed.length / 2)].ms, cpu: timed[0].cpu, value };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function machine(): string {
  return `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, PostgreSQL 15`;
}

export const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const TICKS = 100;

/** utime, stime, cutime, cstime of a process in seconds (cutime/cstime: its children that have exited). */
export async function cpuOf(pid: number | 'self'): Promise<{ own: number; children: number; ppid: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis: state is field 3, ppid 4, utime 14 … cstime 17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) / TICKS, children: (Number(f[13]) + Number(f[14])) / TICKS };
}

/** CPU seconds used so far by the server: the postmaster, its exited children (backends, parallel workers) and live ones. */
export async function postgresCpu(dataDir: string): Promise<number> {
  const postmaster = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const main = await cpuOf(postmaster);
  let total = main.own + main.children;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = await cpuOf(Number(entry)).catch(() => null);
    if (child?.ppid === postmaster) total += child.own;
  }
  return total;
}
