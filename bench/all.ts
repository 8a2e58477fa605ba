// `npm run bench`: how Breakeven behaves as its work grows. One PostgreSQL of its own; at each fleet size
// (100 / 1,000 / 3,000 customers; BENCH_SIZES changes them) a year of hourly rollups is generated into a
// database of that size, then the engine, page, export and ingestion benchmarks run against it, each size in a
// child process of its own (its own caches, its own peak RSS). Prints one table — size, figure, value,
// baseline, ratio — and writes it to bench/results.md with the machine and the date.
//
// BENCH_SECONDS (10) is the load time per page, BENCH_RUNS (1) the timed repeats of the engine passes,
// BENCH_INGEST_ROWS (11,520,000: 2,000 GPUs × a day at 15 s) caps the raw samples each size ingests.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb } from '../db/client.js';
import { migrateToLatest } from '../db/migrate.js';
import { generate } from './pages-data.js';
import { ENGINE_TARGETS, measureEngine } from './engine.js';
import { measurePages, PAGES_TARGET_P95_MS } from './pages.js';
import { benchPostgres, fmt, isMain, load, machine } from './lib.js';
import { explainPages, plansMarkdown } from './explain.js';

const root = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,3000').split(',').map(Number);
const DAYS = 365;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);

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
    const bytes = await sql<{ size: number }>`SELECT pg_database_size(current_database())::float8 AS size`.execute(db);
    log(`[${customers}] generated ${(rows.gpuRows + rows.tokenRows).toLocaleString('en-US')} rollup rows (${fmt(bytes.rows[0].size / 2 ** 30, 2)} GiB) in ${seconds(generatedMs)}`);
    add({ figure: 'rollup rows (a year, hourly)', value: (rows.gpuRows + rows.tokenRows).toLocaleString('en-US'), baseline: '', ratio: '' });

    // The engine: every customer and pool over the last 90 days (issue 5's window).
    const end = new Date('2026-11-28T00:00:00Z');
    const window = { from: new Date(end.getTime() - 90 * 86_400_000), to: end };
    const engine = await measureEngine(db, window, RUNS);
    log(`[${customers}] engine: in memory ${seconds(engine.inMemory.best)}, end to end ${seconds(engine.endToEnd.best)}`);
    const scan = engine.baseline.best;
    add({ figure: 'engine in memory, 90 days (vs bare count(*) of the rollups)', value: seconds(engine.inMemory.best), baseline: seconds(scan), ratio: ratio(engine.inMemory.best, scan), target: '≤ 1 s at 1,000', met: customers !== 1000 || engine.inMemory.best <= ENGINE_TARGETS.inMemoryMs });
    add({ figure: 'engine end to end, 90 days', value: seconds(engine.endToEnd.best), baseline: seconds(scan), ratio: ratio(engine.endToEnd.best, scan), target: '≤ 10 s at 1,000', met: customers !== 1000 || engine.endToEnd.best <= ENGINE_TARGETS.endToEndMs });
    add({ figure: 'engine customer-hours/s end to end', value: `${fmt(engine.customerHours / (engine.endToEnd.best / 1000) / 1e6, 2)} M`, baseline: '', ratio: '' });

    // The pages, 20 concurrent clients each, against the rollups.
    const pages = await measurePages(db, { seconds: SECONDS, clients: 20, customers, dataDir, log: () => {} });
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
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/all.ts'), '--size', String(customers)], {
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
