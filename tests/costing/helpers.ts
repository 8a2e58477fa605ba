// Shared by the costing tests: writing price books, rollups and reservations, and comparing money.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import type { Db } from '../../db/client.js';
import { runCli, type CliResult } from '../support/cli.js';

export const H = 3_600_000;

/** Equal up to float summation noise (1e-9 relative), with a readable failure. */
export function expectClose(actual: number | null | undefined, expected: number, what = 'value'): void {
  expect(actual, what).not.toBeNull();
  expect(actual, what).not.toBeUndefined();
  const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
  if (Math.abs((actual as number) - expected) > tolerance) {
    throw new Error(`${what}: expected ${expected}, got ${actual}`);
  }
}

const folders: string[] = [];
// Registered when a test file imports this module, so it runs after that file's tests.
afterAll(async () => {
  await Promise.all(folders.splice(0).map((f) => rm(f, { recursive: true, force: true })));
});

/** A temporary folder, removed after the file's tests. */
export async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-costing-'));
  folders.push(folder);
  return folder;
}

export async function writeJson(folder: string, name: string, value: unknown): Promise<string> {
  const file = path.join(folder, name);
  await writeFile(file, JSON.stringify(value, null, 2));
  return file;
}

export async function cli(env: Record<string, string>, args: string[]): Promise<CliResult> {
  return runCli(args, { env });
}

/** Runs a --json command and parses its stdout; fails the test with stderr when it did not exit 0. */
export async function cliJson<T = any>(env: Record<string, string>, args: string[]): Promise<T> {
  const result = await runCli(args, { env });
  if (result.code !== 0) throw new Error(`breakeven ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export async function gpuTypeId(db: Db, name: string): Promise<number> {
  const row = await db.selectFrom('gpu_types').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return row.id;
}

export async function addPool(db: Db, name: string): Promise<number> {
  const { id } = await db.insertInto('pools').values({ name }).returning('id').executeTakeFirstOrThrow();
  return id;
}

export async function addCustomer(db: Db, slug: string, poolId: number | null = null): Promise<number> {
  const { id } = await db.insertInto('customers').values({ slug, name: slug, pool_id: poolId }).returning('id').executeTakeFirstOrThrow();
  return id;
}

export async function addTelemetry(db: Db, customerId: number, typeId: number, rows: { hour: string; allocated: number; busy: number }[]): Promise<void> {
  await db
    .insertInto('hourly_gpu_usage')
    .values(rows.map((r) => ({ customer_id: customerId, gpu_type_id: typeId, hour: r.hour, allocated_gpu_seconds: r.allocated, busy_gpu_seconds: r.busy, samples: 60 })))
    .execute();
}

export interface TokenHour {
  hour: string;
  model: string;
  input: number;
  cached?: number;
  cacheWrite?: number;
  output: number;
}

export async function addTokens(db: Db, customerId: number, rows: TokenHour[]): Promise<void> {
  await db
    .insertInto('hourly_token_usage')
    .values(
      rows.map((r) => ({
        customer_id: customerId,
        model: r.model,
        hour: r.hour,
        input_tokens: r.input,
        cached_input_tokens: r.cached ?? 0,
        cache_write_input_tokens: r.cacheWrite ?? 0,
        output_tokens: r.output,
        requests: 1,
      })),
    )
    .execute();
}

/** Only the fields of DESIGN.md's `recommend --json` example, to check none is missing or renamed. */
export const DESIGN_FIELDS = [
  'scope', 'gpu_type', 'from', 'to', 'hours', 'overflow', 'demand', 'all_api_usd', 'all_on_demand_usd', 'current', 'best',
  'savings_vs_api_usd', 'savings_vs_on_demand_usd', 'stability', 'curve',
];
export const DESIGN_DEMAND_FIELDS = ['mean_gpus', 'p50_gpus', 'p95_gpus', 'peak_gpus', 'hours_without_data'];
export const DESIGN_BEST_FIELDS = ['provider', 'term_days', 'block_size', 'gpus', 'cost_usd', 'fill', 'idle_cost_usd', 'break_even_fill'];

/** Checks a document has every field of DESIGN.md's example, with the right types. */
export function expectDesignShape(doc: any): void {
  for (const f of DESIGN_FIELDS) expect(doc, `field ${f}`).toHaveProperty(f);
  for (const f of DESIGN_DEMAND_FIELDS) expect(typeof doc.demand[f], `demand.${f}`).toBe('number');
  expect(['on_demand', 'api']).toContain(doc.overflow);
  expect(doc.from).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
  expect(doc.to).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
  expect(doc.hours).toBe((Date.parse(doc.to) - Date.parse(doc.from)) / H);
  if (doc.best) for (const f of DESIGN_BEST_FIELDS) expect(doc.best, `best.${f}`).toHaveProperty(f);
  if (doc.current) {
    expect(typeof doc.current.gpus).toBe('number');
    expect(typeof doc.current.cost_usd).toBe('number');
  }
  if (doc.stability) {
    expect(typeof doc.stability.min_gpus).toBe('number');
    expect(typeof doc.stability.max_gpus).toBe('number');
  }
  for (const p of doc.curve) expect(Object.keys(p).sort()).toEqual(['cost_usd', 'gpus']);
}
