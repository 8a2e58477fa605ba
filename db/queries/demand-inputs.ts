// The hourly rollups a window's demand is computed from: GPU telemetry per customer and GPU type, token usage
// per customer and model. Two set-based reads (binary COPY, side by side on two connections) however many
// customers, of the rollups' packed days (a day's hours in one row: PostgreSQL's cost of a read is mostly per
// row), unpacked into shared typed-array columns in arrival order, then grouped by customer with a counting sort
// of row indexes. Millions of rows stay a few flat buffers, not millions of objects for the garbage collector
// to trace; the columns are sized from the table's row estimate up front, because memory is only paid for when
// first written and copying grown buffers would pay for it twice. The batch views and the single-scope CLI read
// through this same function.
import { sql, type Kysely } from 'kysely';
import type { CountArray, TelemetryColumns, TokenColumns } from '../../app/services/costing/columns.js';
import type { Database } from '../schema.js';
import { concurrencyLimit } from '../../app/lib/limit.js';
import { copyOutBinary, dateLiteral, integerListLiteral, integerLiteral, type BinaryRow } from './copy-out.js';

type Handle = Kysely<Database>;

const HOUR_MS = 3_600_000;

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
  // Every day the window touches; hours outside it are skipped as the days are unpacked.
  const where = [`day >= ${dateLiteral(q.from)}`, `day <= ${dateLiteral(new Date(q.to.getTime() - 1))}`];
  if (q.customerIds) where.push(`customer_id = ANY(${integerListLiteral(q.customerIds)})`);
  if (q.poolId !== undefined) where.push(`customer_id IN (SELECT id FROM customers WHERE pool_id = ${integerLiteral(q.poolId)})`);
  if (withGpuType && q.gpuTypeId !== undefined) where.push(`gpu_type_id = ${integerLiteral(q.gpuTypeId)}`);
  return where.join(' AND ');
}

/** Bytes of one packed hour (migrations/20261129_02_daily_usage.ts): int2 hour of the day, then its values. */
export const TELEMETRY_HOUR_BYTES = 2 + 2 * 8;
export const TOKEN_HOUR_BYTES = 2 + 5 * 8;

/**
 * The two statements the reader copies out (exported so that docs/performance.md can show their plans): the
 * window's days of the packed copies of the hourly rollups, one row per customer × GPU type or model × day.
 */
export function demandInputsSql(q: DemandInputsQuery): { telemetry: string; tokens: string } {
  return {
    telemetry: `SELECT customer_id, gpu_type_id, day, hours FROM daily_gpu_usage WHERE ${filters(q, true)}`,
    tokens: `SELECT customer_id, model, day, hours FROM daily_token_usage WHERE ${filters(q, false)}`,
  };
}

/** The window as epoch hours [from, to). */
export function windowHours(q: { from: Date; to: Date }): { fromHour: number; toHour: number } {
  return { fromHour: Math.ceil(q.from.getTime() / HOUR_MS), toHour: Math.ceil(q.to.getTime() / HOUR_MS) };
}

function sameBytes(a: Buffer, b: Buffer, start: number, length: number): boolean {
  if (a.length !== length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

/** Model names arrive as bytes; the few distinct ones are decoded once and recognised by a byte compare. */
export function modelIndexer(models: string[]): (row: BinaryRow, field: number) => number {
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

/** Rows a key gets in a row of consecutive slots before it takes another block. */
const BLOCK = 256;

/**
 * Where arriving rows go: each key fills blocks of BLOCK consecutive slots, so a customer's rows lie in long
 * consecutive runs even when customers arrive interleaved hour by hour (as ingestion stores them). Reading a
 * customer then walks memory in order instead of jumping a cache line and a page per row.
 */
class Placement {
  private blockStart = new Int32Array(1024);
  /** Rows in each key's current block; BLOCK (full) until the key's first row, so its first row opens a block. */
  private blockFill = new Int32Array(1024).fill(BLOCK);
  /** Slots handed out: [0, used). */
  used = 0;
  /** keyPlusOne[slot] = key + 1 of the row in it, 0 for a slot never filled (the tail of a block). */
  keyPlusOne: Int32Array;

  constructor(capacity: number) {
    this.keyPlusOne = new Int32Array(capacity);
  }

  /** The slot for a row of this key; `capacity()` afterwards says how far the columns must reach. */
  place(key: number): number {
    if (key >= this.blockStart.length) {
      const size = Math.max(key + 1, this.blockStart.length * 2);
      const start = new Int32Array(size);
      start.set(this.blockStart);
      this.blockStart = start;
      const fill = new Int32Array(size);
      fill.set(this.blockFill);
      fill.fill(BLOCK, this.blockFill.length);
      this.blockFill = fill;
    }
    if (this.blockFill[key] === BLOCK) {
      this.blockStart[key] = this.used;
      this.blockFill[key] = 0;
      this.used += BLOCK;
      if (this.used > this.keyPlusOne.length) this.keyPlusOne = growI32(this.keyPlusOne, Math.max(this.used, this.keyPlusOne.length * 2));
    }
    const slot = this.blockStart[key] + this.blockFill[key]++;
    this.keyPlusOne[slot] = key + 1;
    return slot;
  }

  /** Slot indexes grouped by key (a counting sort, slots in increasing order): key k's are order[offsets[k] … offsets[k+1] − 1]. */
  grouped(keyCount: number): { order: Int32Array; offsets: Int32Array } {
    const marks = this.keyPlusOne;
    const offsets = new Int32Array(keyCount + 1);
    for (let i = 0; i < this.used; i++) if (marks[i] > 0) offsets[marks[i]]++;
    for (let k = 0; k < keyCount; k++) offsets[k + 1] += offsets[k];
    const next = offsets.slice(0, keyCount);
    const order = new Int32Array(offsets[keyCount]);
    for (let i = 0; i < this.used; i++) if (marks[i] > 0) order[next[marks[i] - 1]++] = i;
    return { order, offsets };
  }
}

/**
 * Rows a read will probably return: the planner's estimate for the table, capped for a read of a few customers.
 * Only a guess for sizing — a larger result grows the columns.
 */
async function expectedRows(db: Handle, table: 'hourly_gpu_usage' | 'hourly_token_usage', q: DemandInputsQuery): Promise<number> {
  const { rows } = await sql<{ n: number; customers: number }>`
    SELECT greatest(reltuples, 0)::float8 AS n, (SELECT count(*) FROM customers)::float8 AS customers
    FROM pg_class WHERE oid = ${table}::regclass`.execute(db);
  const customers = q.customerIds ? q.customerIds.length : (rows[0]?.customers ?? 0);
  // Each customer's last block is part-filled: room for one more block each.
  const estimate = Math.ceil((rows[0]?.n ?? 0) * 1.05) + (customers + 4) * BLOCK;
  const hours = Math.ceil((q.to.getTime() - q.from.getTime()) / HOUR_MS);
  const cap = q.customerIds ? q.customerIds.length * (hours * 4 + BLOCK) + BLOCK : Infinity;
  return Math.min(estimate, cap, 1 << 28);
}

/**
 * Paired reads in flight at once. Each holds one pooled connection while it waits for a second, so without a
 * bound enough concurrent callers would take every connection of the pool and wait on each other for ever;
 * two pairs (four connections) leave the rest of the pool (ten by default) to everything else.
 */
const pairedReads = concurrencyLimit(2);

/**
 * Runs two reads side by side on two connections that see one snapshot (the first transaction exports it, the
 * second adopts it), so rows ingested meanwhile are seen by both or by neither. In a caller's transaction
 * there is one connection: the reads run one after the other in it.
 */
export async function sameSnapshot<A, B>(db: Handle, a: (conn: Handle) => Promise<A>, b: (conn: Handle) => Promise<B>): Promise<[A, B]> {
  if (db.isTransaction) return [await a(db), await b(db)];
  return pairedReads(() =>
    db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (first) => {
        const { rows } = await sql<{ id: string }>`SELECT pg_export_snapshot() AS id`.execute(first);
        const id = rows[0].id;
        if (!/^[0-9A-Fa-f-]+$/.test(id)) throw new Error(`unexpected snapshot id ${id}`);
        return Promise.all([
          a(first),
          db
            .transaction()
            .setIsolationLevel('repeatable read')
            .setAccessMode('read only')
            .execute(async (second) => {
              await sql`SET TRANSACTION SNAPSHOT ${sql.lit(id)}`.execute(second);
              return b(second);
            }),
        ]);
      }),
  );
}

/**
 * Every hourly GPU-telemetry and token-usage rollup of the window (optionally of some customers, a pool's
 * members, or one GPU type's telemetry), grouped by customer; within a customer, rows come in no particular order.
 */
export async function loadHourlyDemandInputs(db: Handle, q: DemandInputsQuery): Promise<HourlyDemandInputs> {
  const [telemetryCapacity, tokenCapacity] = await Promise.all([expectedRows(db, 'hourly_gpu_usage', q), expectedRows(db, 'hourly_token_usage', q)]);

  const tKeys = new Keys();
  let tCap = telemetryCapacity;
  const tPlace = new Placement(tCap);
  let tHour: Uint32Array = new Uint32Array(tCap);
  let tAllocated: Float64Array = new Float64Array(tCap);
  let tBusy: Float64Array = new Float64Array(tCap);
  const { fromHour, toHour } = windowHours(q);
  // Hourly rows read (the packed days' hours in the window), as the hourly tables count them.
  let telemetryRows = 0;
  let tokenRows = 0;
  const readTelemetry = (conn: Handle) =>
    copyOutBinary(conn, demandInputsSql(q).telemetry, 4, (r) => {
      const key = tKeys.key(r.int8(0), r.int8(1));
      r.eachPackedHour(2, 3, TELEMETRY_HOUR_BYTES, fromHour, toHour, (hour, at) => {
        const i = tPlace.place(key);
        if (tPlace.used > tCap) {
          tCap = Math.max(tPlace.used, tCap * 2);
          tHour = growU32(tHour, tCap);
          tAllocated = growF64(tAllocated, tCap);
          tBusy = growF64(tBusy, tCap);
        }
        tHour[i] = hour;
        tAllocated[i] = r.float8At(at);
        tBusy[i] = r.float8At(at + 8);
        telemetryRows++;
      });
    });

  const models: string[] = [];
  const modelIndex = modelIndexer(models);
  const kKeys = new Keys();
  let kCap = tokenCapacity;
  const kPlace = new Placement(kCap);
  let kHour: Uint32Array = new Uint32Array(kCap);
  let kModel: Uint16Array = new Uint16Array(kCap);
  const input = new Counts(kCap);
  const cached = new Counts(kCap);
  const cacheWrite = new Counts(kCap);
  const output = new Counts(kCap);
  let requests: Float64Array = new Float64Array(1024);
  const readTokens = (conn: Handle) =>
    copyOutBinary(conn, demandInputsSql(q).tokens, 4, (r) => {
      const key = kKeys.key(r.int8(0), 0);
      const model = modelIndex(r, 1);
      r.eachPackedHour(2, 3, TOKEN_HOUR_BYTES, fromHour, toHour, (hour, at) => {
        const i = kPlace.place(key);
        if (kPlace.used > kCap) {
          kCap = Math.max(kPlace.used, kCap * 2);
          kHour = growU32(kHour, kCap);
          kModel = growU16(kModel, kCap);
          for (const c of [input, cached, cacheWrite, output]) c.grow(kCap);
        }
        if (key >= requests.length) requests = growF64(requests, requests.length * 2);
        kModel[i] = model;
        kHour[i] = hour;
        input.set(i, r.int8At(at));
        cached.set(i, r.int8At(at + 8));
        cacheWrite.set(i, r.int8At(at + 16));
        output.set(i, r.int8At(at + 24));
        requests[key] += r.int8At(at + 32);
        tokenRows++;
      });
    });

  await sameSnapshot(db, readTelemetry, readTokens);

  const telemetry = new Map<number, Map<number, TelemetryColumns>>();
  {
    const { order, offsets } = tPlace.grouped(tKeys.groups.length);
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
    const { order, offsets } = kPlace.grouped(kKeys.groups.length);
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
