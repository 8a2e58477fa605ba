// A real Prometheus (Debian's `prometheus` package) for tests: history is written as OpenMetrics text, turned
// into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, and served by a Prometheus started on
// a free loopback port with no scrape targets. More history can be added later (restart with extra blocks:
// Prometheus ≥ 2.39 merges overlapping blocks), and the server can be stopped and started again to play a
// source that goes away.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../db/local-postgres.js';

const run = promisify(execFile);

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

/** Why Prometheus tests cannot run here, or null when they can. */
export function prometheusMissing(): string | null {
  if (!existsSync(PROMETHEUS_BIN) || !existsSync(PROMTOOL_BIN)) {
    return 'Prometheus is not installed: apt-get install -y --no-install-recommends prometheus (npm test installs it)';
  }
  return null;
}

export interface SeriesSpec {
  /** The sample name as exposed, e.g. `vllm:prompt_tokens_total` or `DCGM_FI_DEV_GPU_UTIL`. */
  name: string;
  labels: Record<string, string>;
  /** [epoch ms, value]; written in time order. */
  samples: [number, number][];
  type?: 'gauge' | 'counter';
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** OpenMetrics text of the series, grouped by metric family (timestamps in seconds), ending with `# EOF`. */
export function openMetricsText(series: readonly SeriesSpec[]): string {
  const families = new Map<string, SeriesSpec[]>();
  for (const s of series) {
    const family = s.type === 'counter' ? s.name.replace(/_total$/, '') : s.name;
    const list = families.get(family) ?? [];
    list.push(s);
    families.set(family, list);
  }
  const lines: string[] = [];
  for (const [family, list] of families) {
    lines.push(`# TYPE ${family} ${list[0].type ?? 'gauge'}`);
    for (const s of list) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      const sorted = [...s.samples].sort((a, b) => a[0] - b[0]);
      for (const [ts, value] of sorted) lines.push(`${s.name}{${labels}} ${value} ${(ts / 1000).toFixed(3)}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

/** Label sets of an exposition-format file (e.g. a real dcgm-exporter scrape): metric name → label sets. */
export function labelSetsOf(file: string): Map<string, Record<string, string>[]> {
  const out = new Map<string, Record<string, string>[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    const list = out.get(m[1]) ?? [];
    if (!list.some((x) => JSON.stringify(x) === JSON.stringify(labels))) list.push(labels);
    out.set(m[1], list);
  }
  return out;
}

export interface TestPrometheus {
  url: string;
  port: number;
  dataDir: string;
  /** Writes more history as blocks (Prometheus stopped meanwhile when running) and starts it again. */
  addSeries(series: readonly SeriesSpec[]): Promise<void>;
  start(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Stops and removes the data. */
  destroy(): Promise<void>;
  log(): string;
}

let blockFile = 0;

async function createBlocks(dir: string, series: readonly SeriesSpec[]): Promise<void> {
  const file = path.join(dir, `history-${++blockFile}.om`);
  await writeFile(file, openMetricsText(series));
  try {
    await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', file, path.join(dir, 'data')], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`promtool failed: ${(e.stderr || e.stdout || e.message).trim().slice(-2_000)}`);
  }
}

/** Starts Prometheus over this history. The caller stops it (destroy) in afterAll. */
export async function startPrometheus(series: readonly SeriesSpec[]): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'breakeven-prom-'));
  await writeFile(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs: []\n');
  if (series.length) await createBlocks(dir, series);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> | undefined;
  let output = '';

  const start = async () => {
    if (child) return;
    const c = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        '--storage.tsdb.retention.time=100y',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout!.on('data', (d) => (output += d));
    c.stderr!.on('data', (d) => (output += d));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`prometheus exited:\n${output.slice(-2_000)}`);
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${output.slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    if (c.exitCode === null) c.kill('SIGTERM');
    const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };

  await start();
  return {
    url,
    port,
    dataDir: path.join(dir, 'data'),
    async addSeries(more) {
      const wasRunning = child !== undefined;
      await stop();
      await createBlocks(dir, more);
      if (wasRunning) await start();
    },
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

/** A deterministic pseudo-random stream in [0, 1) (mulberry32), so test data are the same every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
