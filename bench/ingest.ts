// `npm run bench:ingest`: 5,000,000 GPU samples (2,000 GPUs × 2,500 samples at 15 s, 5 customers) written to a
// CSV file once, then, against a PostgreSQL of its own: `breakeven ingest file --kind gpu-samples` (validation,
// COPY, upsert, rollups; in a child process, which reports its peak RSS) and `psql \copy` of the same file into
// a bare table with the same column types and no keys. Prints both rates, their ratio and the peak RSS.
// Also prints the CPU seconds each side used (client process and server): on a machine shared with other work,
// wall times swing with the neighbours' load far more than CPU times do.
// BENCH_GPUS and BENCH_SAMPLES change the size; BENCH_KEEP=1 keeps the folder; BENCH_PROFILE=DIR writes a CPU profile
// of the import's process there.
import { execFile as execFileCb, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { createDb } from '../db/client.js';
import { startLocalPostgres } from '../db/local-postgres.js';
import { migrateToLatest } from '../db/migrate.js';
import { cliNodeFlags, cpuOf, postgresCpu as serverCpu } from './lib.js';

const execFile = promisify(execFileCb);
const root = path.resolve(import.meta.dirname, '..');
const GPUS = Number(process.env.BENCH_GPUS ?? 2000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 2500);
const CUSTOMERS = 5;
const STEP_S = 15;

/** CPU seconds of this process's exited children (each run() waits for its child). */
const childrenCpu = async () => (await cpuOf('self')).children;

/** A moment for the server process of a client that just exited to end and be counted with its parent's. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000));

function findPsql(): string {
  for (const p of ['/usr/bin/psql', '/usr/lib/postgresql/15/bin/psql', '/usr/local/bin/psql']) if (existsSync(p)) return p;
  throw new Error('psql not found (install postgresql-client)');
}

async function writeCsv(file: string): Promise<number> {
  const out = createWriteStream(file);
  out.write('timestamp,gpu_uuid,gpu_type,customer,utilization_pct,memory_used_mib,power_w,hostname\n');
  // Ends two hours before now: inside the retention window, never in the future.
  const start = Math.floor((Date.now() - 2 * 3_600_000 - SAMPLES * STEP_S * 1000) / 60_000) * 60_000;
  const types = ['H100', 'A100-80GB', 'L40S', 'L4'];
  let buffer = '';
  let rows = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const ts = new Date(start + i * STEP_S * 1000).toISOString();
    for (let g = 0; g < GPUS; g++) {
      const util = ((g * 37 + i * 11) % 1000) / 10;
      buffer += `${ts},GPU-${String(g).padStart(8, '0')}-4a1b-9c2d-${String(g % 97).padStart(4, '0')}-00000000aa${String(g % 100).padStart(2, '0')},${types[g % 4]},customer-${g % CUSTOMERS},${util},${(g * 13 + i) % 81_920},${(100 + ((g + i) % 600)).toFixed(2)},node-${String(g >> 3).padStart(4, '0')}\n`;
      rows++;
      if (buffer.length > 1 << 20) {
        if (!out.write(buffer)) await once(out, 'drain');
        buffer = '';
      }
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  return rows;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

async function main(): Promise<void> {
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-bench-'));
  await chmod(folder, 0o755);
  const pg = await startLocalPostgres({
    dir: path.join(folder, 'pg'),
    database: 'bench',
    auth: 'trust',
    // The same server for both sides; only checkpoints are spaced out, as for any bulk load.
    settings: { max_wal_size: '4GB', log_min_duration_statement: '500' },
  });
  try {
    const db = createDb(pg.url);
    await migrateToLatest(db);
    await db.destroy();
    const csv = path.join(folder, 'samples.csv');
    let t = Date.now();
    const rows = await writeCsv(csv);
    console.log(`wrote ${rows.toLocaleString('en-US')} samples to ${csv} in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const psql = findPsql();
    await execFile(psql, [pg.url, '-qc', `CREATE TABLE bare_samples (ts timestamptz, gpu_uuid text, gpu_type text, customer text,
      utilization_pct real, memory_used_mib real, power_w real, hostname text)`]);
    t = Date.now();
    let clientCpu = await childrenCpu();
    let dbCpu = await serverCpu(path.join(folder, 'pg'));
    const copied = await run(psql, [pg.url, '-c', `\\copy bare_samples FROM '${csv}' WITH (FORMAT csv, HEADER true)`], process.env);
    if (copied.code !== 0) throw new Error(`psql failed: ${copied.stderr}`);
    const psqlSeconds = copied.seconds;
    await settle();
    const psqlCpu = { client: (await childrenCpu()) - clientCpu, server: (await serverCpu(path.join(folder, 'pg'))) - dbCpu };
    clientCpu = await childrenCpu();
    dbCpu = await serverCpu(path.join(folder, 'pg'));

    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}`] : [];
    // With the command line's Node flags, as `npx breakeven ingest …` runs.
    const imported = await run(process.execPath, [...(await cliNodeFlags()), ...profile, path.join(root, 'bin', 'breakeven.js'), 'ingest', 'file', '--kind', 'gpu-samples', csv, '--json'], {
      ...process.env,
      DATABASE_URL: pg.url,
      BREAKEVEN_REPORT_RSS: '1',
    });
    if (imported.code !== 0) throw new Error(`ingest failed (exit ${imported.code}): ${imported.stderr}`);
    await settle();
    const importCpu = { client: (await childrenCpu()) - clientCpu, server: (await serverCpu(path.join(folder, 'pg'))) - dbCpu };
    const summary = JSON.parse(imported.stdout) as { stored: number; rejected: number; rollup_hours: number };
    const rss = Number(/peak RSS (\d+) MB/.exec(imported.stderr)?.[1] ?? NaN);
    const phases = [...imported.stderr.matchAll(/^(read|partitions|rollups): ([\d.]+) s$/gm)].map((m) => `${m[1]} ${m[2]} s`);
    const importRate = rows / imported.seconds;
    const psqlRate = rows / psqlSeconds;
    const ratio = importRate / psqlRate;
    console.log(`breakeven ingest file: ${imported.seconds.toFixed(1)} s, ${Math.round(importRate).toLocaleString('en-US')} rows/s ` +
      `(stored ${summary.stored.toLocaleString('en-US')}, rejected ${summary.rejected}, ${summary.rollup_hours} rollup hours), peak RSS ${rss} MB`);
    console.log(`  phases: ${phases.join(', ')} (read: parse, validate and COPY, overlapped; partitions: new days attached, their keys left to the worker)`);
    console.log(`psql \\copy (bare table): ${psqlSeconds.toFixed(1)} s, ${Math.round(psqlRate).toLocaleString('en-US')} rows/s`);
    const cpu = (c: { client: number; server: number }) => `client ${c.client.toFixed(1)} s + server ${c.server.toFixed(1)} s`;
    console.log(`CPU: import ${cpu(importCpu)}; \\copy ${cpu(psqlCpu)}; ratio of total CPU ${((psqlCpu.client + psqlCpu.server) / (importCpu.client + importCpu.server)).toFixed(2)}`);
    console.log(`ratio ${ratio.toFixed(2)} (target ≥ 0.5): ${ratio >= 0.5 ? 'met' : 'NOT met'}; peak RSS ${rss} MB (target ≤ 300): ${rss <= 300 ? 'met' : 'NOT met'}`);
    if (summary.stored !== rows) throw new Error(`expected ${rows} rows stored, got ${summary.stored}`);
  } finally {
    await pg.stop();
    if (!process.env.BENCH_KEEP) await rm(folder, { recursive: true, force: true });
    else console.log(`kept ${folder}`);
  }
}

await main();
