// The real files in ../shared/data, read in place: the nvidia-smi log of an RTX 4090 (name but no uuid) and
// the Azure LLM code trace converted to token usage. Skipped, with a note, where the folder is absent.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { rollupSamples } from '../../app/domain/telemetry.js';
import { azureTraceToTokenUsageCsv } from '../support/azure-trace.js';
import { runCli } from '../support/cli.js';
import { freshDatabase } from '../support/database.js';
import { dumpData } from './helpers.js';

// Each test runs the real command (a Node process starting tsx) a few times: slow on a busy two-core machine.
vi.setConfig({ testTimeout: 120_000 });

const dataDir = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data');
const present = existsSync(dataDir);
if (!present) console.warn(`tests/ingest/real-files: skipped, ${dataDir} (the shared real data) is absent`);

describe.skipIf(!present)('real files from ../shared/data', () => {
  let db: Db;
  let env: Record<string, string>;
  let folder: string;

  beforeAll(async () => {
    const fresh = await freshDatabase();
    db = fresh.db;
    env = { DATABASE_URL: fresh.url };
    folder = await mkdtemp(path.join(tmpdir(), 'breakeven-real-'));
  });

  it('the RTX 4090 nvidia-smi log imports cleanly with --gpu-uuid, and its rollups equal rollupSamples', async () => {
    const file = path.join(dataDir, 'nvidia_smi_log_rtx4090_1s.csv');
    const result = await runCli(['ingest', 'file', '--kind', 'nvidia-smi', file, '--customer', 'lab', '--gpu-uuid', 'GPU-rtx4090-lab', '--json'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    expect(JSON.parse(result.stdout)).toMatchObject({ read: lines.length - 1, stored: lines.length - 1, rejected: 0, customers_created: ['lab'] });
    const type = await db.selectFrom('gpu_types').select('name').executeTakeFirstOrThrow();
    expect(type.name).toBe('RTX-4090');
    // The reference: the log parsed here independently (UTC wall-clock, "N %"), rolled up by the pure rule.
    const samples = lines.slice(1).map((l) => {
      const f = l.split(', ');
      const [d, t] = f[0].split(' ');
      return { ts: Date.parse(`${d.replaceAll('/', '-')}T${t}Z`), utilization_pct: Number(f[2].replace(' %', '')) };
    });
    const expected = rollupSamples(samples);
    const stored = await db.selectFrom('hourly_gpu_usage').selectAll().orderBy('hour').execute();
    expect(stored.map((r) => [r.hour.getTime(), r.samples])).toEqual(expected.map((r) => [r.hour, r.samples]));
    stored.forEach((r, i) => {
      expect(r.allocated_gpu_seconds).toBeCloseTo(expected[i].allocated_gpu_seconds, 6);
      expect(r.busy_gpu_seconds).toBeCloseTo(expected[i].busy_gpu_seconds, 6);
    });
  });

  it('the same log without name and uuid columns imports with --gpu-type and --gpu-uuid', async () => {
    const lines = readFileSync(path.join(dataDir, 'nvidia_smi_log_rtx4090_1s.csv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    // Keep timestamp, utilization.gpu and memory.used: what `--query-gpu=timestamp,utilization.gpu,memory.used` prints.
    const stripped = lines.map((l) => {
      const f = l.split(', ');
      return [f[0], f[2], f[4]].join(', ');
    });
    const file = path.join(folder, 'smi-no-name-no-uuid.csv');
    await writeFile(file, `${stripped.join('\n')}\n`);
    const result = await runCli(['ingest', 'file', '--kind', 'nvidia-smi', file, '--customer', 'lab2', '--gpu-type', 'NVIDIA GeForce RTX 4090', '--gpu-uuid', 'GPU-x', '--json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: lines.length - 1, stored: lines.length - 1, rejected: 0 });
  });

  it('the Azure code trace, converted to token usage, imports and sums per hour; twice changes nothing', async () => {
    const csv = azureTraceToTokenUsageCsv(readFileSync(path.join(dataDir, 'azure_llm_2023_code.csv'), 'utf8'), { customer: 'azure-code', model: 'llama-2-70b' });
    const file = path.join(folder, 'azure-code-tokens.csv');
    await writeFile(file, csv);
    const rows = csv.trim().split('\n').slice(1).map((l) => l.split(','));
    // Per hour, summed here from the converted file: the import must agree to the token.
    const byHour = new Map<string, { input: number; output: number; requests: number }>();
    for (const r of rows) {
      const hour = `${r[0].slice(0, 13)}:00:00.000Z`;
      const h = byHour.get(hour) ?? { input: 0, output: 0, requests: 0 };
      h.input += Number(r[3]);
      h.output += Number(r[4]);
      h.requests += 1;
      byHour.set(hour, h);
    }
    const result = await runCli(['ingest', 'file', '--kind', 'token-usage', file, '--json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: rows.length, stored: rows.length, rejected: 0, customers_created: ['azure-code'] });
    const hourly = await db.selectFrom('hourly_token_usage').select(['hour', 'input_tokens', 'output_tokens', 'requests']).where('model', '=', 'llama-2-70b').orderBy('hour').execute();
    expect(hourly.map((h) => [h.hour.toISOString(), h.input_tokens, h.output_tokens, h.requests])).toEqual(
      [...byHour.entries()].sort().map(([hour, h]) => [hour, h.input, h.output, h.requests]),
    );
    // The trace has 8,819 requests, 7,717 of them in 18:00–19:00 UTC on 2023-11-16.
    expect(rows.length).toBe(8819);
    expect(byHour.get('2023-11-16T18:00:00.000Z')?.requests).toBe(7717);
    const before = await dumpData(db);
    const again = await runCli(['ingest', 'file', '--kind', 'token-usage', file, '--json'], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, duplicates: rows.length });
    expect(await dumpData(db)).toBe(before);
  });
});
