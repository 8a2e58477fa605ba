// `npm run bench`: how Breakeven behaves as its work grows. One PostgreSQL of its own; at each fleet size
// (100 / 1,000 / 3,000 customers; BENCH_SIZES changes them) a year of hourly rollups is generated into a
// database of that size, then the engine, page, export and ingestion benchmarks run against it, each size in a
// child process of its own (its own caches, its own peak RSS). Prints one table — size, figure, value,
// baseline, ratio — and writes it to bench/results.md with the machine and the date.
//
// BENCH_SECONDS (10) is the load time per page, BENCH_RUNS (3) the timed repeats of the engine passes after a
// warm-up (the best is shown: one timed run swung by 2× with whatever else this two-core machine did),
// BENCH_INGEST_ROWS (11,520,000: 2,000 GPUs × a day at 15 s) caps the raw samples each size ingests: 2 GPUs per
// customer, a day of 15-second samples each, at most that many rows.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb, type Db } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import { generate } from './pages-data.js';
import { ENGINE_TARGETS, measureEngine } from './engine.js';
import { measurePages, PAGES_TARGET_P95_MS, PROCESSES as PAGES_PROCESSES } from './pages.js';
import { runExport, TARGET_ROWS_PER_S as EXPORT_TARGET_ROWS_PER_S, TARGET_RSS_MB as EXPORT_TARGET_RSS_MB } from './exports.js';
import { benchPostgres, fmt, isMain, load, machine } from './lib.js';
import { explainPages, plansMarkdown } from './explain.js';

const root = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,3000').split(',').map(Number);
const DAYS = 365;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const execFileAsync = promisify(execFile);
const INGEST_ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 11_520_000);

/** One line of the table. `baseline` and `ratio` are empty where a figure has none. */
export interface Figure {
  size: number;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  /** A target of an earlier issue, and whether this figure meets it. */
  target?: string;
  met?: boolean;
}

const seconds = (ms: number) => `${fmt(ms / 1000, 3)} s`;
const millis = (ms: number) => `${fmt(ms, 1)} ms`;
const ratio = (a: number, b: number) => `${fmt(a / b, 2)}×`;

/** Everything measured at one size, in this process, against a database of its own on the shared server. */
async function measureSize(serverUrl: string, customers: number, dataDir: string, log: (line: string) => void): Promise<Figure[]> {
  const name = `bench_${customers}`;
  const admin = createDb(serverUrl, 1);
  await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin);
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin);
  await admin.destroy();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), 10);
  const figures: Figure[] = [];
  const add = (f: Omit<Figure, 'size'>) => figures.push({ size: customers, ...f });
  try {
    await migrateToLatest(db);
    const t0 = performance.now();
    const rows = await generate(db, () => {}, { customers, days: DAYS });
    const generatedMs = performance.now() - t0;
    // The generated gigabytes are written out before anything is timed: PostgreSQL's checkpoint and the
    // kernel's write-back would otherwise share the two cores with the first measurements (the engine's), for
    // longer the larger the size — a growth of the machine's, not of the engine's.
    await sql`CHECKPOINT`.execute(db);
    await execFileAsync('sync');
    const bytes = await sql<{ size: number }>`SELECT pg_database_size(current_database())::float8 AS size`.execute(db);
    log(`[${customers}] generated ${(rows.gpuRows + rows.tokenRows).toLocaleString('en-US')} rollup rows (${fmt(bytes.rows[0].size / 2 ** 30, 2)} GiB) in ${seconds(generatedMs)}`);
    add({ figure: 'rollup rows (a year, hourly)', value: (rows.gpuRows + rows.tokenRows).toLocaleString('en-US'), baseline: '', ratio: '' });

    // The engine: every customer and pool over the last 90 days (issue 5's window).
    const end = new Date('2026-11-28T00:00:00Z');
    const window = { from: new Date(end.getTime() - 90 * 86_400_000), to: end };
    const engine = await measureEngine(db, window, RUNS);
    log(`[${customers}] engine: in memory ${seconds(engine.inMemory.best)}, end to end ${seconds(engine.endToEnd.best)}`);
    const scan = engine.baseline.best;
    add({ figure: `engine in memory, 90 days, best of ${RUNS} (CPU ${seconds(engine.inMemory.cpu)}; vs bare count(*) of the rollups)`, value: seconds(engine.inMemory.best), baseline: seconds(scan), ratio: ratio(engine.inMemory.best, scan), target: '≤ 1 s at 1,000', met: customers !== 1000 || engine.inMemory.best <= ENGINE_TARGETS.inMemoryMs });
    add({ figure: 'engine end to end, 90 days', value: seconds(engine.endToEnd.best), baseline: seconds(scan), ratio: ratio(engine.endToEnd.best, scan), target: '≤ 10 s at 1,000', met: customers !== 1000 || engine.endToEnd.best <= ENGINE_TARGETS.endToEndMs });
    add({ figure: 'engine customer-hours/s end to end', value: `${fmt(engine.customerHours / (engine.endToEnd.best / 1000) / 1e6, 2)} M`, baseline: '', ratio: '' });

    // The pages, 20 concurrent clients each, against the rollups.
    const pages = await measurePages(db, { databaseUrl: url.toString(), seconds: SECONDS, clients: 20, customers, dataDir, processes: PAGES_PROCESSES, log: () => {} });
    const healthz = pages.runs[0];
    add({ figure: 'cold fleet evaluation, 30 days', value: millis(pages.coldFleetMs), baseline: '', ratio: '' });
    for (const run of pages.runs.slice(1)) {
      add({
        figure: `page ${run.label}: server p95 (p50 ${millis(run.serverP50)}, ${run.rps.toFixed(0)} req/s${run.errors ? `, ${run.errors} errors` : ''})`,
        value: millis(run.serverP95),
        baseline: millis(healthz.serverP95),
        ratio: ratio(run.serverP95, healthz.serverP95),
        ...(run.target ? { target: `p95 ≤ ${PAGES_TARGET_P95_MS} ms`, met: run.serverP95 <= PAGES_TARGET_P95_MS } : {}),
      });
    }
    log(`[${customers}] pages: worst p95 ${millis(pages.worstP95)}`);

    // What the pages avoid: one day of raw 15-second samples for the fleet's GPUs, aggregated to hours the way
    // the rollups are (the least any page would have to do per day of its period without them).
    const gpus = Math.min(customers * 2, Math.floor(INGEST_ROWS / SAMPLES_PER_DAY));
    const rawRows = await generateRawDay(db, gpus, end);
    const raw = await measureRawAggregation(db, end);
    const overview = pages.runs.find((r) => r.label.startsWith('overview'))!;
    add({
      figure: `one day of raw samples (${gpus.toLocaleString('en-US')} GPUs, ${rawRows.toLocaleString('en-US')} rows) aggregated to hours, vs the overview's p95 for 30 days from rollups`,
      value: millis(raw),
      baseline: millis(overview.serverP95),
      ratio: ratio(raw, overview.serverP95),
    });
    log(`[${customers}] raw day: ${millis(raw)}`);

    // Ingestion of a day of samples for the fleet's GPUs, against psql \copy of the same file (bench/ingest.ts).
    const ingest = await runIngestBench(gpus, SAMPLES_PER_DAY);
    add({ figure: `ingest file, ${ingest.rows.toLocaleString('en-US')} samples (rows/s; baseline psql \\copy)`, value: ingest.importRate.toLocaleString('en-US'), baseline: ingest.copyRate.toLocaleString('en-US'), ratio: ratio(ingest.importRate, ingest.copyRate), target: '≥ 0.5× \\copy', met: ingest.importRate >= 0.5 * ingest.copyRate });
    add({ figure: 'ingest file: peak RSS', value: `${ingest.rssMb} MB`, baseline: '', ratio: '', target: '≤ 300 MB', met: ingest.rssMb <= 300 });
    log(`[${customers}] ingest: ${ingest.importRate.toLocaleString('en-US')} rows/s vs \\copy ${ingest.copyRate.toLocaleString('en-US')} rows/s`);

    // The exports of the year, each as `breakeven export …` (bench/exports.ts).
    for (const kind of ['costs', 'focus'] as const) {
      const m = await runExport(kind, url.toString(), new Date(end.getTime() - DAYS * 86_400_000), end);
      const total = m.totalMs;
      const rate = m.rows / (total / 1000);
      add({ figure: `export ${kind}.csv, a year: ${m.rows.toLocaleString('en-US')} rows in ${seconds(total)} (rows/s end to end)`, value: Math.round(rate).toLocaleString('en-US'), baseline: '', ratio: '', target: `≥ ${EXPORT_TARGET_ROWS_PER_S.toLocaleString('en-US')} rows/s`, met: rate >= EXPORT_TARGET_ROWS_PER_S });
      add({ figure: `export ${kind}.csv: peak RSS`, value: `${Math.round(m.peakRssMb)} MB`, baseline: '', ratio: '', target: `≤ ${EXPORT_TARGET_RSS_MB} MB`, met: m.peakRssMb <= EXPORT_TARGET_RSS_MB });
      log(`[${customers}] export ${kind}.csv: ${Math.round(rate).toLocaleString('en-US')} rows/s, ${Math.round(m.peakRssMb)} MB`);
    }

    // The middle size's query plans go to docs/performance.md, between its markers.
    if (customers === SIZES[Math.floor(SIZES.length / 2)]) {
      const plans = await explainPages(url.toString(), end);
      const file = path.join(root, 'docs/performance.md');
      const doc = await readFile(file, 'utf8');
      const [before, rest] = doc.split('<!-- plans:start -->');
      const after = rest?.split('<!-- plans:end -->')[1];
      if (after === undefined) throw new Error('docs/performance.md lacks its <!-- plans:start --> / <!-- plans:end --> markers');
      await writeFile(file, `${before}<!-- plans:start -->\n${plansMarkdown(plans, customers)}<!-- plans:end -->${after}`);
      log(`[${customers}] ${plans.length} query plans written to docs/performance.md`);
    }
    return figures;
  } finally {
    await db.destroy();
  }
}

const SAMPLES_PER_DAY = 5760;

/** One UTC day (the one before `end`) of 15-second samples for `gpus` GPUs spread over the customers, set-based. */
async function generateRawDay(db: Db, gpus: number, end: Date): Promise<number> {
  const day = new Date(end.getTime() - 86_400_000);
  await sql`SELECT ensure_gpu_sample_partition(${day.toISOString().slice(0, 10)}::date)`.execute(db);
  const result = await sql`
    INSERT INTO gpu_samples (customer_id, gpu_uuid, ts, gpu_type_id, utilization_pct, memory_used_mib, power_w, hostname)
    SELECT c.id, 'GPU-' || lpad(g::text, 8, '0'), ${day.toISOString()}::timestamptz + s * interval '15 seconds', t.id,
           ((g * 37 + s * 11) % 1000) / 10.0, (g * 13 + s) % 81920, 100 + (g + s) % 600, 'node-' || (g / 8)
    FROM generate_series(0, ${gpus - 1}::int) g
    JOIN customers c ON c.id = 1 + g % (SELECT count(*) FROM customers)
    JOIN gpu_types t ON t.name = 'H100',
         generate_series(0, ${SAMPLES_PER_DAY - 1}::int) s`.execute(db);
  await sql`ANALYZE gpu_samples`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Best of three: the day's samples grouped by customer, GPU type and hour, as the rollups hold them. */
async function measureRawAggregation(db: Db, end: Date): Promise<number> {
  const from = new Date(end.getTime() - 86_400_000);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await sql`
      SELECT customer_id, gpu_type_id, date_trunc('hour', ts) AS hour, count(*) * 15.0 AS allocated, sum(utilization_pct) / 100 * 15 AS busy
      FROM gpu_samples WHERE ts >= ${from} AND ts < ${end} GROUP BY 1, 2, 3`.execute(db);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** bench/ingest.ts in a child process (its own PostgreSQL, as it always runs), its printed figures read back. */
function runIngestBench(gpus: number, samples: number): Promise<{ rows: number; importRate: number; copyRate: number; rssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/ingest.ts')], {
      cwd: root,
      env: { ...process.env, BENCH_GPUS: String(gpus), BENCH_SAMPLES: String(samples) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const number = (re: RegExp) => Number((re.exec(out)?.[1] ?? 'NaN').replace(/,/g, ''));
      const figures = {
        rows: number(/wrote ([\d,]+) samples/),
        importRate: number(/breakeven ingest file: [\d.]+ s, ([\d,]+) rows\/s/),
        copyRate: number(/psql \\copy \(bare table\): [\d.]+ s, ([\d,]+) rows\/s/),
        rssMb: number(/peak RSS (\d+) MB/),
      };
      if (code !== 0 || Object.values(figures).some(Number.isNaN)) reject(new Error(`bench/ingest.ts failed (exit ${code}):\n${out}`));
      else resolve(figures);
    });
  });
}

function markdown(figures: Figure[], header: string[]): string {
  const lines = [
    '| size | figure | value | baseline | ratio | target |',
    '|---:|---|---:|---:|---:|---|',
    ...figures.map((f) => `| ${f.size.toLocaleString('en-US')} | ${f.figure} | ${f.value} | ${f.baseline} | ${f.ratio} | ${f.target ? `${f.target}: ${f.met ? 'met' : '**missed**'}` : ''} |`),
  ];
  return [...header, '', ...lines, ''].join('\n');
}

/** Runs one size in a child process (fresh caches and a peak RSS of its own) and collects its figures. */
function runSize(serverUrl: string, customers: number, dataDir: string): Promise<Figure[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', path.join(root, 'bench/all.ts'), '--size', String(customers)], {
      cwd: root,
      env: { ...process.env, BENCH_SERVER_URL: serverUrl, BENCH_DATA_DIR: dataDir, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      for (const line of text.split('\n')) if (line && !line.startsWith('FIGURES ')) console.log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('FIGURES '));
      if (code !== 0 || !line) reject(new Error(`size ${customers} failed (exit ${code})`));
      else resolve(JSON.parse(line.slice('FIGURES '.length)) as Figure[]);
    });
  });
}

async function main(): Promise<void> {
  const sizeArg = process.argv.indexOf('--size');
  if (sizeArg > 0) {
    const customers = Number(process.argv[sizeArg + 1]);
    const figures = await measureSize(process.env.BENCH_SERVER_URL!, customers, process.env.BENCH_DATA_DIR!, (l) => console.log(l));
    console.log(`FIGURES ${JSON.stringify(figures)}`);
    return;
  }
  const started = new Date();
  console.log(`Breakeven benchmarks at ${SIZES.join(' / ')} customers (${machine()}; load average ${load()})`);
  const pg = await benchPostgres('bench-all', { max_connections: '100' });
  const figures: Figure[] = [];
  try {
    for (const customers of SIZES) figures.push(...(await runSize(pg.server.url, customers, pg.folder)));
  } finally {
    await pg.stop();
  }
  const header = [
    '# Benchmark results',
    '',
    `\`npm run bench\` on ${started.toISOString().slice(0, 10)}: ${machine()}; load average at the end ${load()}.`,
    `Sizes: ${SIZES.map((s) => s.toLocaleString('en-US')).join(' / ')} customers, a year of hourly rollups each; pages under 20 concurrent clients for ${SECONDS} s each.`,
  ];
  const table = markdown(figures, header);
  console.log(`\n${table}`);
  await writeFile(path.join(root, 'bench/results.md'), table);
  console.log('written to bench/results.md');
  if (figures.some((f) => f.met === false)) process.exitCode = 1;
}

if (isMain(import.meta.url)) await main();
