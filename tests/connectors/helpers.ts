// Shared by the connector tests: sources, a faulty proxy in front of a real server, and the reference rollups
// the stored ones are compared with.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sql } from 'kysely';
import { afterAll } from 'vitest';
import type { Db } from '../../db/client.js';
import { rollupSamples, sumHourlyTelemetry } from '../../app/domain/telemetry.js';
import type { RetryPolicy, SourceCredentials } from '../../app/services/connectors/http.server.js';
import { createSource, type SourceInput } from '../../app/services/sources.server.js';
import { findSourceByName } from '../../db/queries/sources.js';

export const HOUR = 3_600_000;
export const SECRET = 'connector-tests-session-secret-0123456789abcdef';
export const FAST_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 };

/** The start of the UTC hour `hoursAgo` hours before now: test data sit in the last few days. */
export function hourAgo(hoursAgo: number): number {
  return Math.floor(Date.now() / HOUR) * HOUR - hoursAgo * HOUR;
}

export async function addSource(
  db: Db,
  input: Partial<SourceInput> & Pick<SourceInput, 'name' | 'kind' | 'url'>,
  credentials: SourceCredentials | null = null,
): Promise<number> {
  await createSource(
    db,
    { userId: null, actor: 'test' },
    { interval_seconds: 300, lookback_seconds: 3_600, delay_seconds: 0, enabled: true, config: {}, ...input },
    credentials,
    SECRET,
  );
  return (await findSourceByName(db, input.name))!.id;
}

export interface Proxy {
  url: string;
  requests: number;
  failNext(n: number, status?: number): void;
  latencyMs: number;
}

/** An HTTP proxy to `target` that can answer 5xx or be slow, for faults a real server will not produce on cue. */
export async function startFaultProxy(target: string): Promise<Proxy> {
  let failures = 0;
  let status = 503;
  const sockets = new Set<Socket>();
  const state: Proxy = {
    url: '',
    requests: 0,
    failNext(n, s = 503) {
      failures = n;
      status = s;
    },
    latencyMs: 0,
  };
  const upstream = new URL(target);
  const server = createServer(async (req, res) => {
    state.requests += 1;
    if (state.latencyMs) await new Promise((r) => setTimeout(r, state.latencyMs));
    if (failures > 0) {
      failures -= 1;
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end('upstream unavailable');
      return;
    }
    const forward = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return state;
}

export interface RefSample {
  customerId: number;
  gpuTypeId: number;
  gpu: string;
  ts: number;
  util: number;
}

export interface GpuHour {
  customer_id: number;
  gpu_type_id: number;
  hour: number;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
  samples: number;
}

/** DESIGN.md's sample-interval rule applied by the pure engine (utilization as stored: float4). */
export function referenceRollups(samples: readonly RefSample[]): GpuHour[] {
  const groups = new Map<string, Map<string, RefSample[]>>();
  for (const s of samples) {
    const key = `${s.customerId}:${s.gpuTypeId}`;
    let gpus = groups.get(key);
    if (!gpus) groups.set(key, (gpus = new Map()));
    const list = gpus.get(s.gpu) ?? [];
    list.push(s);
    gpus.set(s.gpu, list);
  }
  const out: GpuHour[] = [];
  for (const [key, gpus] of groups) {
    const [customer_id, gpu_type_id] = key.split(':').map(Number);
    const rows = sumHourlyTelemetry(
      [...gpus.values()].map((list) => rollupSamples([...list].sort((a, b) => a.ts - b.ts).map((s) => ({ ts: s.ts, utilization_pct: Math.fround(s.util) })))),
    );
    for (const r of rows) out.push({ customer_id, gpu_type_id, ...r });
  }
  return out.sort((a, b) => a.customer_id - b.customer_id || a.gpu_type_id - b.gpu_type_id || a.hour - b.hour);
}

export async function storedRollups(db: Db): Promise<GpuHour[]> {
  const rows = await db.selectFrom('hourly_gpu_usage').selectAll().orderBy('customer_id').orderBy('gpu_type_id').orderBy('hour').execute();
  return rows.map((r) => ({ ...r, hour: new Date(r.hour).getTime() }));
}

/** Rollups compared to 1e-6 s, hour by hour. */
export function rollupDiff(actual: GpuHour[], expected: GpuHour[]): string[] {
  const problems: string[] = [];
  const key = (r: GpuHour) => `${r.customer_id}/${r.gpu_type_id}@${new Date(r.hour).toISOString()}`;
  const byKey = new Map(actual.map((r) => [key(r), r]));
  for (const e of expected) {
    const a = byKey.get(key(e));
    byKey.delete(key(e));
    if (!a) problems.push(`missing ${key(e)}`);
    else if (
      Math.abs(a.allocated_gpu_seconds - e.allocated_gpu_seconds) > 1e-6 ||
      Math.abs(a.busy_gpu_seconds - e.busy_gpu_seconds) > 1e-6 ||
      a.samples !== e.samples
    ) {
      problems.push(`${key(e)}: got ${a.allocated_gpu_seconds}/${a.busy_gpu_seconds}/${a.samples}, want ${e.allocated_gpu_seconds}/${e.busy_gpu_seconds}/${e.samples}`);
    }
  }
  for (const k of byKey.keys()) problems.push(`unexpected ${k}`);
  return problems;
}

export async function runsOf(db: Db, sourceId: number) {
  return db.selectFrom('ingestion_runs').selectAll().where('source_id', '=', sourceId).orderBy('id').execute();
}

export async function watermarkOf(db: Db, sourceId: number): Promise<number | null> {
  const row = await db.selectFrom('ingestion_sources').select('watermark').where('id', '=', sourceId).executeTakeFirstOrThrow();
  return row.watermark ? row.watermark.getTime() : null;
}

export async function count(db: Db, table: 'gpu_samples' | 'token_usage' | 'hourly_gpu_usage' | 'hourly_token_usage' | 'customers' | 'rejected_rows'): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(db);
  return rows[0].n;
}

export async function customerIds(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('customers').select(['id', 'slug']).execute();
  return new Map(rows.map((r) => [r.slug, r.id]));
}

export async function gpuTypeId(db: Db, name: string): Promise<number> {
  return (await db.selectFrom('gpu_types').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
}

/** Kills the database connection holding the source's lock (the one running the pull's transaction). */
export async function killSourceConnection(db: Db, sourceId: number): Promise<number> {
  const { rows } = await sql<{ killed: boolean }>`
    SELECT pg_terminate_backend(l.pid) AS killed FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objid = ${sourceId}::oid AND l.objsubid = 2
      AND l.classid = (hashtext('breakeven:ingestion-source')::bigint & 4294967295)::oid`.execute(db);
  return rows.filter((r) => r.killed).length;
}
