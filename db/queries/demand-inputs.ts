// The hourly rollups a window's demand is computed from: GPU telemetry per customer and GPU type, token usage
// per customer and model. Two set-based reads (binary COPY, side by side on two connections) however many
// customers, into shared typed-array columns in arrival order, then grouped by customer with a counting sort
// of row indexes. Millions of rows stay a few flat buffers, not millions of objects for the garbage collector
// to trace; the columns are sized from the table's row estimate up front, because memory is only paid for when
// first written and copying grown buffers would pay for it twice. The batch views and the single-scope CLI read
// through this same function.
import { sql, type Kysely } from 'kysely';
import type { CountArray, TelemetryColumns, TokenColumns } from '../../app/services/costing/columns.js';
import type { Database } from '../schema.js';
import { copyOutBinary, integerListLiteral, integerLiteral, timestampLiteral, type BinaryRow } from './copy-out.js';

type Handle = Kysely<Database>;

export type { TelemetryColumns, TokenColumns };

export interface DemandInputsQuery {
  /** Window [from, to), whole UTC hours. */
  from: Date;
  to: Date;
  /** Only these customers. */
  customerIds?: readonly number[];
  /** Only the customers of this pool. */
  poolId?: number;
  /** Only telemetry of this GPU type (token usage has no GPU type). */
  gpuTypeId?: number;
}

export interface HourlyDemandInputs {
  from_ms: number;
  to_ms: number;
  /** customer id → GPU type id → that type's hourly telemetry. */
  telemetry: Map<number, Map<number, TelemetryColumns>>;
  /** customer id → hourly token usage, every model. */
  tokens: Map<number, TokenColumns>;
  /** Every model name met, in the order first met (what TokenColumns.model indexes). */
  models: string[];
  rows: { telemetry: number; tokens: number };
}

function filters(q: DemandInputsQuery, withGpuType: boolean): string {
  if (q.from.getTime() >= q.to.getTime()) throw new RangeError('the window is empty');
  const where = [`hour >= ${timestampLiteral(q.from)}`, `hour < ${timestampLiteral(q.to)}`];
  if (q.customerIds) where.push(`customer_id = ANY(${integerListLiteral(q.customerIds)})`);
  if (q.poolId !== undefined) where.push(`customer_id IN (SELECT id FROM customers WHERE pool_id = ${integerLiteral(q.poolId)})`);
  if (withGpuType && q.gpuTypeId !== undefined) where.push(`gpu_type_id = ${integerLiteral(q.gpuTypeId)}`);
  return where.join(' AND ');
}

function sameBytes(a: Buffer, b: Buffer, start: number, length: number): boolean {
  if (a.length !== length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

/** Model names arrive as bytes; the few distinct ones are decoded once and recognised by a byte compare. */
function modelIndexer(models: string[]): (row: BinaryRow, field: number) => number {
  const known: Buffer[] = [];
  let last = -1;
  return (row, field) => {
    const start = row.starts[field];
    const length = row.lengths[field];
    if (last >= 0 && sameBytes(known[last], row.buf, start, length)) return last;
    for (let k = 0; k < known.length; k++) {
      if (sameBytes(known[k], row.buf, start, length)) return (last = k);
    }
    if (known.length === 0xffff) throw new RangeError('more than 65 535 distinct models in one window');
    known.push(Buffer.from(row.buf.subarray(start, start + length)));
    models.push(row.text(field));
    return (last = known.length - 1);
  };
}



const HOUR_MS = 3_600_000;
const U32_MAX = 0xffff_ffff;

function growU32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

function growU16(a: Uint16Array, n: number): Uint16Array {
  const b = new Uint16Array(n);
  b.set(a);
  return b;
}

function growI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

/** A count column: 32-bit while every count fits, 64-bit float (exact to 2^53) once one does not. */
class Counts {
  values: CountArray;
  constructor(n: number) {
    this.values = new Uint32Array(n);
  }

  set(i: number, v: number): void {
    if (v > U32_MAX && this.values instanceof Uint32Array) this.values = Float64Array.from(this.values);
    this.values[i] = v;
  }

  grow(n: number): void {
    this.values = this.values instanceof Uint32Array ? growU32(this.values, n) : growF64(this.values, n);
  }
}

/**
 * Dense keys for (customer, GPU type) as rows arrive. Rows of one key often arrive together, so the last key is
 * tried first; otherwise a numeric map (customer ids and type ids are small integers) avoids building a string
 * per row when customers arrive interleaved, hour by hour.
 */
class Keys {
  readonly groups: { customer: number; type: number }[] = [];
  private readonly map = new Map<number, number>();
  private lastCustomer = NaN;
  private lastType = NaN;
  private last = -1;

  key(customer: number, type: number): number {
    if (customer !== this.lastCustomer || type !== this.lastType) {
      if (!(customer >= 0 && customer < 2 ** 36 && type >= 0 && type < 2 ** 16)) throw new RangeError(`id ${customer}/${type} out of range`);
      const id = customer * 2 ** 16 + type;
      let k = this.map.get(id);
      if (k === undefined) {
        k = this.groups.length;
        this.map.set(id, k);
        this.groups.push({ customer, type });
      }
      this.last = k;
      this.lastCustomer = customer;
      this.lastType = type;
    }
    return this.last;
  }
}

/** Row indexes grouped by key (a stable counting sort): key k's rows are order[offsets[k] … offsets[k+1] − 1]. */
function groupRows(keys: Int32Array, n: number, keyCount: number): { order: Int32Array; offsets: Int32Array } {
  const offsets = new Int32Array(keyCount + 1);
  for (let i = 0; i < n; i++) offsets[keys[i] + 1]++;
  for (let k = 0; k < keyCount; k++) offsets[k + 1] += offsets[k];
  const next = offsets.slice(0, keyCount);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[next[keys[i]]++] = i;
  return { order, offsets };
}

/**
 * Rows a read will probably return: the planner's estimate for the table, capped for a read of a few customers.
 * Only a guess for sizing — a larger result grows the columns.
 */
async function expectedRows(db: Handle, table: 'hourly_gpu_usage' | 'hourly_token_usage', q: DemandInputsQuery): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = ${table}::regclass`.execute(db);
  const estimate = Math.ceil((rows[0]?.n ?? 0) * 1.05) + 1024;
  const hours = Math.ceil((q.to.getTime() - q.from.getTime()) / HOUR_MS);
  const cap = q.customerIds ? q.customerIds.length * hours * 4 + 1024 : Infinity;
  return Math.min(estimate, cap, 1 << 28);
}

/**
 * Every hourly GPU-telemetry and token-usage rollup of the window (optionally of some customers, a pool's
 * members, or one GPU type's telemetry), grouped by customer; within a customer, rows come in no particular order.
 */
export async function loadHourlyDemandInputs(db: Handle, q: DemandInputsQuery): Promise<HourlyDemandInputs> {
  const [telemetryCapacity, tokenCapacity] = await Promise.all([expectedRows(db, 'hourly_gpu_usage', q), expectedRows(db, 'hourly_token_usage', q)]);

  const tKeys = new Keys();
  let tn = 0;
  let tCap = telemetryCapacity;
  let tKey: Int32Array = new Int32Array(tCap);
  let tHour: Uint32Array = new Uint32Array(tCap);
  let tAllocated: Float64Array = new Float64Array(tCap);
  let tBusy: Float64Array = new Float64Array(tCap);
  const readTelemetry = () =>
    copyOutBinary(
      db,
      `SELECT customer_id, gpu_type_id, hour, allocated_gpu_seconds, busy_gpu_seconds FROM hourly_gpu_usage WHERE ${filters(q, true)}`,
      5,
      (r) => {
        if (tn === tCap) {
          tCap *= 2;
          tKey = growI32(tKey, tCap);
          tHour = growU32(tHour, tCap);
          tAllocated = growF64(tAllocated, tCap);
          tBusy = growF64(tBusy, tCap);
        }
        const i = tn++;
        tKey[i] = tKeys.key(r.int8(0), r.int8(1));
        tHour[i] = r.timestampMs(2) / HOUR_MS;
        tAllocated[i] = r.float8(3);
        tBusy[i] = r.float8(4);
      },
    );

  const models: string[] = [];
  const modelIndex = modelIndexer(models);
  const kKeys = new Keys();
  let kn = 0;
  let kCap = tokenCapacity;
  let kKey: Int32Array = new Int32Array(kCap);
  let kHour: Uint32Array = new Uint32Array(kCap);
  let kModel: Uint16Array = new Uint16Array(kCap);
  const input = new Counts(kCap);
  const cached = new Counts(kCap);
  const cacheWrite = new Counts(kCap);
  const output = new Counts(kCap);
  let requests: Float64Array = new Float64Array(1024);
  const readTokens = () =>
    copyOutBinary(
      db,
      `SELECT customer_id, model, hour, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, requests
       FROM hourly_token_usage WHERE ${filters(q, false)}`,
      8,
      (r) => {
        if (kn === kCap) {
          kCap *= 2;
          kKey = growI32(kKey, kCap);
          kHour = growU32(kHour, kCap);
          kModel = growU16(kModel, kCap);
          for (const c of [input, cached, cacheWrite, output]) c.grow(kCap);
        }
        const i = kn++;
        const key = kKeys.key(r.int8(0), 0);
        if (key >= requests.length) requests = growF64(requests, requests.length * 2);
        kKey[i] = key;
        kModel[i] = modelIndex(r, 1);
        kHour[i] = r.timestampMs(2) / HOUR_MS;
        input.set(i, r.int8(3));
        cached.set(i, r.int8(4));
        cacheWrite.set(i, r.int8(5));
        output.set(i, r.int8(6));
        requests[key] += r.int8(7);
      },
    );

  // Side by side on two connections (one scan each); in a transaction there is only the one connection.
  const [telemetryRows, tokenRows] = db.isTransaction
    ? [await readTelemetry(), await readTokens()]
    : await Promise.all([readTelemetry(), readTokens()]);

  const telemetry = new Map<number, Map<number, TelemetryColumns>>();
  {
    const { order, offsets } = groupRows(tKey, tn, tKeys.groups.length);
    tKeys.groups.forEach(({ customer, type }, k) => {
      let byType = telemetry.get(customer);
      if (!byType) telemetry.set(customer, (byType = new Map()));
      byType.set(type, {
        length: offsets[k + 1] - offsets[k],
        rows: order.subarray(offsets[k], offsets[k + 1]),
        epoch_hour: tHour,
        allocated_gpu_seconds: tAllocated,
        busy_gpu_seconds: tBusy,
      });
    });
  }
  const tokens = new Map<number, TokenColumns>();
  {
    const { order, offsets } = groupRows(kKey, kn, kKeys.groups.length);
    kKeys.groups.forEach(({ customer }, k) => {
      tokens.set(customer, {
        length: offsets[k + 1] - offsets[k],
        rows: order.subarray(offsets[k], offsets[k + 1]),
        models,
        epoch_hour: kHour,
        model: kModel,
        input_tokens: input.values,
        cached_input_tokens: cached.values,
        cache_write_input_tokens: cacheWrite.values,
        output_tokens: output.values,
        requests: requests[k],
      });
    });
  }
  return { from_ms: q.from.getTime(), to_ms: q.to.getTime(), telemetry, tokens, models, rows: { telemetry: telemetryRows, tokens: tokenRows } };
}
