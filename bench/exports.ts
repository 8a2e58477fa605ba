// `npm run bench:exports`: the CSV exports at scale. A year of hourly rollups for 1,000 customers (bench/pages-data.ts)
// in a throwaway PostgreSQL; then, each in a process of its own so that its peak RSS is its own:
//   - `breakeven export costs` for the year (1,000 customers × 365 days × up to 4 scenarios), as a user runs it;
//   - `breakeven export focus` for the year (customer × day × charge);
//   - 10 million CSV rows from a generator, through the same writer (this file, compiled as the command line is),
//     with the RSS sampled every million rows: the writer's memory stays flat whatever the length.
// Printed: rows, the time from the start of the process to the last row (for the commands: loading, the engine's
// evaluation of the period pool by pool, and writing the file), rows/s over that time, and peak RSS.
// Target (issue 7): ≥ 100,000 rows/s end to end and peak RSS ≤ 200 MB.
//
// BENCH_CUSTOMERS (1000), BENCH_DAYS (365) and BENCH_STREAM_ROWS (10,000,000) change the run; BENCH_PROFILE=DIR
// writes a CPU profile of each export's process there.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { sql } from 'kysely';
import { createDb } from '../db/client.js';
import { startLocalPostgres } from '../db/local-postgres.js';
import { migrateToLatest } from '../db/migrate.js';
import { csvChunks, CsvText, type CsvExport, type Row } from '../app/services/exports/csv.server.js';
import { DAYS, END, generate } from './pages-data.js';
import { cliNodeFlags, isMain } from './lib.js';
import { peakRssMb } from '../server/peak-memory.js';

const STREAM_ROWS = Number(process.env.BENCH_STREAM_ROWS ?? 10_000_000);
const MB = 1024 * 1024;
export const TARGET_ROWS_PER_S = 100_000;
export const TARGET_RSS_MB = 200;

export interface Measure {
  rows: number;
  bytes: number;
  /** From the start (of the process, for a command) to the last byte. */
  totalMs: number;
  /** The writer's child only: to its first row, and from there to the end. */
  firstByteMs?: number;
  writeMs?: number;
  peakRssMb: number;
  samples: number[];
}

/** Writes the CSV to nowhere, counting; RSS sampled every `every` rows. "First byte": of the first row (the header comes at once). */
async function drain(file: CsvExport, started: number, every = 0): Promise<Measure> {
  let rows = 0;
  const samples: number[] = [];
  let firstByteMs = 0;
  let writing = 0;
  async function* counted(): AsyncGenerator<Row | CsvText> {
    for await (const row of file.rows as AsyncIterable<Row | CsvText>) {
      if (!firstByteMs) {
        firstByteMs = performance.now() - started;
        writing = performance.now();
      }
      rows += row instanceof CsvText ? row.rows : 1;
      if (every && rows % every === 0) samples.push(process.memoryUsage.rss() / MB);
      yield row;
    }
  }
  let bytes = 0;
  for await (const chunk of csvChunks({ header: file.header, rows: counted() })) bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  const ended = performance.now();
  return { rows, bytes, totalMs: ended - started, firstByteMs, writeMs: ended - writing, peakRssMb: peakRssMb(), samples };
}

/** 10 million costs-like rows from a generator: no database, only the writer. */
function syntheticRows(n: number): CsvExport {
  function* rows(): Generator<Row> {
    for (let i = 0; i < n; i++) {
      const day = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);
      yield [day, `c-${String(i % 100_000).padStart(5, '0')}`, 'H100', 'current', ((i * 7919) % 1_000_000 / 100).toFixed(2)];
    }
  }
  return { filename: 'synthetic.csv', header: ['day', 'customer', 'gpu_type', 'scenario', 'cost_usd'], rows: rows() };
}

/** The writer's measurement, in this process (run as a child of the benchmark). */
async function streamChild(): Promise<void> {
  const m = await drain(syntheticRows(STREAM_ROWS), performance.now(), 1_000_000);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

let compiled: Promise<string> | undefined;

/**
 * This file compiled as the command line is (scripts/build-cli.mjs: ES modules, packages external), so that the
 * stream's child runs plain JavaScript without tsx's loader.
 */
function compiledChild(): Promise<string> {
  compiled ??= (async () => {
    const outfile = path.resolve(import.meta.dirname, '..', 'build', 'bench', 'exports.js');
    await build({ entryPoints: [import.meta.filename], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
    return outfile;
  })();
  return compiled;
}

const profileFlags = () => (process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);

/** The writer alone, 10 million generated rows, in a process of its own (so that its peak RSS is its own). */
async function runStream(): Promise<Measure> {
  const [flags, script] = await Promise.all([cliNodeFlags(), compiledChild()]);
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...flags, ...profileFlags(), script, 'child'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`stream: exit ${code}`))));
  });
}

/**
 * `breakeven export costs|focus --from … --to … --out FILE` run as a user runs it (bin/breakeven.js with its Node
 * flags, compiled after `npm run build`): timed from the start of its process (loading included) to its exit; rows
 * as it reports them, bytes as written; its peak RSS the kernel's high-water mark as it exits
 * (bench/peak-at-exit.mjs). The file goes to a temporary folder, removed after.
 */
export async function runExport(kind: 'costs' | 'focus', url: string, from: Date, to: Date): Promise<Measure> {
  const flags = await cliNodeFlags();
  const bin = path.resolve(import.meta.dirname, '..', 'bin', 'breakeven.js');
  const preload = path.resolve(import.meta.dirname, 'peak-at-exit.mjs');
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-bench-export-'));
  const out = path.join(folder, `${kind}.csv`);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  try {
    const started = performance.now();
    const { said, peak } = await new Promise<{ said: string; peak: string }>((resolve, reject) => {
      const proc = spawn(process.execPath, [...flags, ...profileFlags(), '--import', preload, bin, 'export', kind, '--from', day(from), '--to', day(to), '--out', out], {
        stdio: ['ignore', 'inherit', 'pipe', 'pipe'],
        env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'production' },
      });
      let said = '';
      let peak = '';
      proc.stderr!.on('data', (d) => (said += d));
      (proc.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (peak += d));
      proc.on('error', reject);
      proc.on('close', (code) => (code === 0 ? resolve({ said, peak }) : reject(new Error(`breakeven export ${kind}: exit ${code}: ${said}`))));
    });
    const totalMs = performance.now() - started;
    const rows = /Wrote ([\d,]+) rows/.exec(said)?.[1];
    if (!rows) throw new Error(`breakeven export ${kind} did not say how many rows it wrote: ${said}`);
    const peakKb = Number(peak.trim());
    if (!(peakKb > 0)) throw new Error(`breakeven export ${kind}: no peak RSS reported (got "${peak.trim()}")`);
    return { rows: Number(rows.replaceAll(',', '')), bytes: (await stat(out)).size, totalMs, peakRssMb: peakKb / 1024, samples: [] };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

function report(label: string, m: Measure, log: (line: string) => void): void {
  const rate = m.rows / (m.totalMs / 1000);
  const n = (x: number) => Math.round(x).toLocaleString('en-US').padStart(10);
  const s = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
  const phases = m.firstByteMs !== undefined && m.writeMs !== undefined ? ` (first row ${s(m.firstByteMs)}, writing ${s(m.writeMs)})` : '';
  log(
    `${label.padEnd(34)} ${m.rows.toLocaleString('en-US').padStart(12)} rows ${(m.bytes / MB).toFixed(0).padStart(6)} MB  ` +
      `in ${s(m.totalMs)}${phases}  ${n(rate)} rows/s  peak RSS ${m.peakRssMb.toFixed(0).padStart(5)} MB` +
      `   ${rate >= TARGET_ROWS_PER_S ? 'rows/s ok' : 'rows/s BELOW target'}, ${m.peakRssMb <= TARGET_RSS_MB ? 'RSS ok' : 'RSS ABOVE target'}` +
      `  (load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`,
  );
  if (m.samples.length) log(`  RSS every million rows (MB): ${m.samples.map((x) => x.toFixed(0)).join(' ')}`);
}

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-bench-exports-'));
  await chmod(folder, 0o755);
  const server = await startLocalPostgres({
    dir: path.join(folder, 'pg'),
    database: 'bench',
    auth: 'trust',
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', shared_buffers: '512MB', max_wal_size: '4GB' },
  });
  const db = createDb(server.url, 4);
  try {
    await migrateToLatest(db);
    log(`Breakeven export benchmark (node ${process.version}, PostgreSQL 15, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    const started = performance.now();
    const rows = await generate(db, log);
    const size = await sql<{ size: string }>`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`.execute(db);
    log(`data: ${rows.gpuRows.toLocaleString('en-US')} GPU + ${rows.tokenRows.toLocaleString('en-US')} token rollup rows, ${size.rows[0].size}, generated in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const from = new Date(END.getTime() - DAYS * 86_400_000);
    log(`\nperiod: ${from.toISOString().slice(0, 10)} to ${END.toISOString().slice(0, 10)} (${DAYS} days)`);
    log('each export as a user runs it, to a file: its time from the start of the process to its exit (loading, the engine evaluating');
    log('the period pool by pool from one read of the rollups, writing the file); rows/s = rows / that time');
    report('breakeven export costs', await runExport('costs', server.url, from, END), log);
    report('breakeven export focus', await runExport('focus', server.url, from, END), log);
    report(`${(STREAM_ROWS / 1e6).toFixed(0)} million generated rows (writer only)`, await runStream(), log);
  } finally {
    await db.destroy();
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  await streamChild();
} else if (isMain(import.meta.url)) {
  await main();
}
