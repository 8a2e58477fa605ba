// Shared by the ingestion tests: table dumps to compare before and after, and the pure rollup of samples.
import { sql } from 'kysely';
import type { Db } from '../../db/client.js';
import { rollupSamples, sumHourlyTelemetry, type HourlyTelemetry } from '../../app/domain/telemetry.js';

export const HOUR = 3_600_000;

/** Every row of the tables an import writes (not the run log), in a stable order, as text. */
export async function dumpData(db: Db): Promise<string> {
  const parts = await Promise.all([
    sql`SELECT customer_id, gpu_uuid, ts, gpu_type_id, utilization_pct, memory_used_mib, power_w, hostname FROM gpu_samples ORDER BY 1, 2, 3`.execute(db),
    sql`SELECT customer_id, record_key, ts, model, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests FROM token_usage ORDER BY 1, 2`.execute(db),
    sql`SELECT * FROM hourly_gpu_usage ORDER BY 1, 2, 3`.execute(db),
    sql`SELECT * FROM hourly_token_usage ORDER BY 1, 2, 3`.execute(db),
    sql`SELECT id, slug, name FROM customers ORDER BY id`.execute(db),
    sql`SELECT id, name FROM gpu_types ORDER BY id`.execute(db),
  ]);
  return JSON.stringify(parts.map((p) => p.rows));
}

export interface GpuHourRow {
  customer_id: number;
  gpu_type_id: number;
  hour: number;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
  samples: number;
}

export async function gpuRollups(db: Db, customerId?: number): Promise<GpuHourRow[]> {
  let q = db.selectFrom('hourly_gpu_usage').selectAll();
  if (customerId !== undefined) q = q.where('customer_id', '=', customerId);
  const rows = await q.orderBy('customer_id').orderBy('gpu_type_id').orderBy('hour').execute();
  return rows.map((r) => ({ ...r, hour: new Date(r.hour).getTime() }));
}

export interface PureSample {
  gpu: string;
  gpuTypeId: number;
  ts: number;
  util: number;
}

/** What rollupSamples says per GPU type and hour for one customer's samples (utilization as stored: float4). */
export function pureRollup(samples: readonly PureSample[]): { gpu_type_id: number; rows: HourlyTelemetry[] }[] {
  const byType = new Map<number, Map<string, PureSample[]>>();
  for (const s of samples) {
    let gpus = byType.get(s.gpuTypeId);
    if (!gpus) byType.set(s.gpuTypeId, (gpus = new Map()));
    let list = gpus.get(s.gpu);
    if (!list) gpus.set(s.gpu, (list = []));
    list.push(s);
  }
  return [...byType.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([gpu_type_id, gpus]) => ({
      gpu_type_id,
      rows: sumHourlyTelemetry(
        [...gpus.values()].map((list) =>
          rollupSamples([...list].sort((a, b) => a.ts - b.ts).map((s) => ({ ts: s.ts, utilization_pct: Math.fround(s.util) }))),
        ),
      ),
    }));
}

/** Compares stored rollups of one customer with the pure reference, to 1e-6 s. */
export function expectRollupsEqual(actual: GpuHourRow[], expected: ReturnType<typeof pureRollup>, expect: (v: unknown) => any): void {
  const flat = expected.flatMap((t) => t.rows.map((r) => ({ gpu_type_id: t.gpu_type_id, ...r })));
  expect(actual.map((r) => `${r.gpu_type_id}@${r.hour}:${r.samples}`)).toEqual(flat.map((r) => `${r.gpu_type_id}@${r.hour}:${r.samples}`));
  for (let i = 0; i < flat.length; i++) {
    expect(Math.abs(actual[i].allocated_gpu_seconds - flat[i].allocated_gpu_seconds)).toBeLessThan(1e-6);
    expect(Math.abs(actual[i].busy_gpu_seconds - flat[i].busy_gpu_seconds)).toBeLessThan(1e-6);
  }
}
