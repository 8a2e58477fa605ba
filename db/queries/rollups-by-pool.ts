// Every hourly rollup of a window, handed over pool by pool (a pool's members together, or a customer without a
// pool), for the exports that cost a whole fleet without holding it in memory (costs.csv, focus.csv).
//
// Why not a read ordered by customer: the rollups are stored hour by hour across customers, so reading them in
// primary-key order (customer first) fetches a different heap page for nearly every row — measured on a year ×
// 1,000 customers, 60 days of it: 14.3 s in PostgreSQL for an index-ordered read, 9.7 s for a sorted one, against
// 1.9 s for the sequential reads of demand-inputs.ts. So this module runs those same two sequential reads (binary
// COPY of the packed days, decoded in place by copy-out.ts) once, side by side in one snapshot, and writes each row to a temporary file of its
// group's bucket (~50,000 customer-hours: a year of ~6 customers); then it loads one bucket at a time into the
// engine's column layout and yields its groups. Memory holds one bucket, the disk the window's rows once (~50
// bytes a row), and each customer's rows keep the order the engine's own loader sees them in (so its sums are
// added in the same order).
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { TelemetryColumns, TokenColumns } from '../../app/services/costing/columns.js';
import type { Database } from '../schema.js';
import { copyOutBinary } from './copy-out.js';
import { demandInputsSql, modelIndexer, sameSnapshot, TELEMETRY_HOUR_BYTES, TOKEN_HOUR_BYTES, windowHours } from './demand-inputs.js';

type Handle = Kysely<Database>;

/** One customer's rollups in the window, as the engine's loader shapes them. */
export interface CustomerRollups {
  /** GPU type id → hourly telemetry of that type. */
  telemetry: Map<number, TelemetryColumns>;
  tokens: TokenColumns | null;
}

/** A pool's members that have rollups in the window (or one customer without a pool), by customer id. */
export interface RollupGroup {
  poolId: number | null;
  customers: Map<number, CustomerRollups>;
}

const HOUR_MS = 3_600_000;
/** Customer-hours per bucket: a year of ~6 customers, ~8 MB once loaded. */
const CUSTOMER_HOURS_PER_BUCKET = 50_000;
const MAX_BUCKETS = 256;
/** Spilled records: telemetry (customer, type, hour, allocated, busy), tokens (customer, model, hour, 4 counts, requests). */
const TELEMETRY_BYTES = 4 + 4 + 4 + 8 + 8;
const TOKEN_BYTES = 4 + 2 + 4 + 5 * 8;
const BUFFER_BYTES = 32 * 1024;
/** Spilled bytes read back at a time. */
const READ_BYTES = 1024 * 1024;

/**
 * Fixed-size records appended to an anonymous temporary file through a small buffer. The file is unlinked as soon
 * as it is open: nothing is left on disk whatever ends the process (even `process.exit` on a closed pipe).
 */
class Spill {
  readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  /** DataView writes are V8 intrinsics, cheaper than Buffer's checked writers. */
  readonly view = new DataView(this.buf.buffer, this.buf.byteOffset, BUFFER_BYTES);
  used = 0;
  bytes = 0;
  fd: number;

  constructor(
    dir: string,
    name: string,
    readonly size: number,
  ) {
    const file = path.join(dir, name);
    this.fd = openSync(file, 'w+');
    unlinkSync(file);
  }

  /** Offset in `buf` to write the next record at. */
  next(): number {
    if (this.used + this.size > BUFFER_BYTES) this.flush();
    const at = this.used;
    this.used += this.size;
    return at;
  }

  flush(): void {
    for (let at = 0; at < this.used; ) at += writeSync(this.fd, this.buf, at, this.used - at, this.bytes + at);
    this.bytes += this.used;
    this.used = 0;
  }

  /** Closes the file (once; later calls do nothing). */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Arrays reused from bucket to bucket, grown when a bucket needs more: a bucket's garbage would otherwise pile
 * up as external memory faster than the collector returns it. */
class Scratch {
  private arrays = new Map<string, Uint32Array | Uint16Array | Int32Array | Float64Array>();
  private buf = Buffer.alloc(0);

  get<T extends Uint32Array | Uint16Array | Int32Array | Float64Array>(name: string, type: new (n: number) => T, n: number): T {
    let a = this.arrays.get(name) as T | undefined;
    // Buckets are of similar sizes: a little room, not double, so one large bucket does not double the memory.
    if (!a || a.length < n) this.arrays.set(name, (a = new type(Math.ceil(n * 1.1))));
    return a;
  }

  /** Records in a spill (its buffer flushed). */
  count(spill: Spill): number {
    spill.flush();
    return spill.bytes / spill.size;
  }

  /** A spill's records, a read buffer at a time (whole records only); the spill is closed at the end. */
  *records(spill: Spill): Generator<DataView> {
    spill.flush();
    const chunk = Math.floor(READ_BYTES / spill.size) * spill.size;
    if (this.buf.length < chunk) this.buf = Buffer.allocUnsafe(chunk);
    for (let at = 0; at < spill.bytes; ) {
      const want = Math.min(chunk, spill.bytes - at);
      for (let got = 0; got < want; ) {
        const n = readSync(spill.fd, this.buf, got, want - got, at + got);
        if (n <= 0) throw new Error('a rollup spill file ended early');
        got += n;
      }
      at += want;
      yield new DataView(this.buf.buffer, this.buf.byteOffset, want);
    }
    spill.close();
  }
}

/**
 * Row indexes grouped by (customer, GPU type) — or customer, with types all 0 — in the order read (a counting sort
 * on dense keys numbered as first met): for each key, its rows are order[start … end − 1].
 */
function groupRows(
  scratch: Scratch,
  prefix: string,
  n: number,
  customer: Uint32Array,
  type: Uint32Array | null,
): { order: Int32Array; groups: { customer: number; type: number; start: number; end: number }[] } {
  const ids = new Map<number, number>();
  const groups: { customer: number; type: number; start: number; end: number }[] = [];
  const keys = scratch.get(`${prefix}.keys`, Int32Array, n);
  for (let i = 0; i < n; i++) {
    const t = type ? type[i] : 0;
    const id = customer[i] * 2 ** 16 + t;
    let k = ids.get(id);
    if (k === undefined) {
      k = groups.length;
      ids.set(id, k);
      groups.push({ customer: customer[i], type: t, start: 0, end: 0 });
    }
    keys[i] = k;
    groups[k].end++;
  }
  let at = 0;
  for (const g of groups) {
    g.start = at;
    at += g.end;
    g.end = g.start;
  }
  const order = scratch.get(`${prefix}.order`, Int32Array, n);
  for (let i = 0; i < n; i++) order[groups[keys[i]].end++] = i;
  return { order, groups };
}

/**
 * One bucket's spilled rows as the engine's columns, per customer (each customer's rows in the order they were
 * read). The columns live in `scratch`: valid until the next bucket is loaded.
 */
function loadBucket(scratch: Scratch, telemetrySpill: Spill, tokenSpill: Spill, models: readonly string[]): Map<number, CustomerRollups> {
  const customers = new Map<number, CustomerRollups>();
  const of = (id: number) => {
    let c = customers.get(id);
    if (!c) customers.set(id, (c = { telemetry: new Map(), tokens: null }));
    return c;
  };

  const tn = scratch.count(telemetrySpill);
  const tCustomer = scratch.get('t.customer', Uint32Array, tn);
  const tType = scratch.get('t.type', Uint32Array, tn);
  const hour = scratch.get('t.hour', Uint32Array, tn);
  const allocated = scratch.get('t.allocated', Float64Array, tn);
  const busy = scratch.get('t.busy', Float64Array, tn);
  let i = 0;
  for (const t of scratch.records(telemetrySpill)) {
    for (let at = 0; at < t.byteLength; i++, at += TELEMETRY_BYTES) {
      tCustomer[i] = t.getUint32(at, true);
      tType[i] = t.getUint32(at + 4, true);
      hour[i] = t.getUint32(at + 8, true);
      allocated[i] = t.getFloat64(at + 12, true);
      busy[i] = t.getFloat64(at + 20, true);
    }
  }
  const tg = groupRows(scratch, 't', tn, tCustomer, tType);
  for (const g of tg.groups) {
    of(g.customer).telemetry.set(g.type, {
      length: g.end - g.start,
      rows: tg.order.subarray(g.start, g.end),
      epoch_hour: hour,
      allocated_gpu_seconds: allocated,
      busy_gpu_seconds: busy,
    });
  }

  const bn = scratch.count(tokenSpill);
  const kCustomer = scratch.get('k.customer', Uint32Array, bn);
  const kModel = scratch.get('k.model', Uint16Array, bn);
  const kHour = scratch.get('k.hour', Uint32Array, bn);
  // Token counts as doubles: exact to 2^53, the engine's own bound.
  const counts = [0, 1, 2, 3].map((c) => scratch.get(`k.count${c}`, Float64Array, bn));
  const requests = scratch.get('k.requests', Float64Array, bn);
  i = 0;
  for (const b of scratch.records(tokenSpill)) {
    for (let at = 0; at < b.byteLength; i++, at += TOKEN_BYTES) {
      kCustomer[i] = b.getUint32(at, true);
      kModel[i] = b.getUint16(at + 4, true);
      kHour[i] = b.getUint32(at + 6, true);
      for (let c = 0; c < 4; c++) counts[c][i] = b.getFloat64(at + 10 + 8 * c, true);
      requests[i] = b.getFloat64(at + 42, true);
    }
  }
  const kg = groupRows(scratch, 'k', bn, kCustomer, null);
  for (const g of kg.groups) {
    const rows = kg.order.subarray(g.start, g.end);
    let total = 0;
    for (const i of rows) total += requests[i];
    of(g.customer).tokens = {
      length: rows.length,
      rows,
      models,
      epoch_hour: kHour,
      model: kModel,
      input_tokens: counts[0],
      cached_input_tokens: counts[1],
      cache_write_input_tokens: counts[2],
      output_tokens: counts[3],
      requests: total,
    };
  }
  return customers;
}

/**
 * The window's rollups, one group at a time: each pool with those of its members that have rows, and each customer
 * without a pool that has rows. `customers` says who is in which pool. A group's columns are valid until the
 * caller asks for the next group (they are reused). Temporary files are removed as each bucket is loaded, and all
 * of them when the caller stops.
 */
export async function* rollupsByPool(
  db: Handle,
  window: { from: Date; to: Date },
  customers: readonly { id: number; pool_id: number | null }[],
): AsyncGenerator<RollupGroup> {
  const hours = (window.to.getTime() - window.from.getTime()) / HOUR_MS;
  const groupKeys = [...new Set(customers.map((c) => (c.pool_id !== null ? `p${c.pool_id}` : `c${c.id}`)))];
  const buckets = Math.max(1, Math.min(MAX_BUCKETS, groupKeys.length, Math.ceil((customers.length * hours) / CUSTOMER_HOURS_PER_BUCKET)));
  const groupBucket = new Map(groupKeys.map((key, i) => [key, i % buckets]));
  // Customer id → bucket + 1 (0: not listed, e.g. created after the list was read); ids are small integers.
  const bucketOf = new Int32Array(customers.reduce((max, c) => Math.max(max, c.id), 0) + 1);
  for (const c of customers) bucketOf[c.id] = groupBucket.get(c.pool_id !== null ? `p${c.pool_id}` : `c${c.id}`)! + 1;
  const bucket = (id: number) => (id < bucketOf.length ? bucketOf[id] - 1 : -1);
  const poolOf = new Map(customers.map((c) => [c.id, c.pool_id]));

  const telemetry: Spill[] = [];
  const tokens: Spill[] = [];
  try {
    const dir = mkdtempSync(path.join(tmpdir(), 'breakeven-rollups-'));
    try {
      for (let b = 0; b < buckets; b++) {
        telemetry.push(new Spill(dir, `${b}.gpu`, TELEMETRY_BYTES));
        tokens.push(new Spill(dir, `${b}.tok`, TOKEN_BYTES));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const models: string[] = [];
    const modelIndex = modelIndexer(models);
    const sqlOf = demandInputsSql(window);
    // Side by side on two connections that see one snapshot, so rows ingested meanwhile are in both or in neither.
    const { fromHour, toHour } = windowHours(window);
    await sameSnapshot(
      db,
      (conn) =>
        copyOutBinary(conn, sqlOf.telemetry, 4, (r) => {
          const customer = r.int8(0);
          const b = bucket(customer);
          if (b < 0) return;
          const type = r.int8(1);
          const s = telemetry[b];
          r.eachPackedHour(2, 3, TELEMETRY_HOUR_BYTES, fromHour, toHour, (hour, at) => {
            const to = s.next();
            s.view.setUint32(to, customer, true);
            s.view.setUint32(to + 4, type, true);
            s.view.setUint32(to + 8, hour, true);
            s.view.setFloat64(to + 12, r.float8At(at), true);
            s.view.setFloat64(to + 20, r.float8At(at + 8), true);
          });
        }),
      (conn) =>
        copyOutBinary(conn, sqlOf.tokens, 4, (r) => {
          const customer = r.int8(0);
          const b = bucket(customer);
          if (b < 0) return;
          const model = modelIndex(r, 1);
          const s = tokens[b];
          r.eachPackedHour(2, 3, TOKEN_HOUR_BYTES, fromHour, toHour, (hour, at) => {
            const to = s.next();
            s.view.setUint32(to, customer, true);
            s.view.setUint16(to + 4, model, true);
            s.view.setUint32(to + 6, hour, true);
            for (let c = 0; c < 5; c++) s.view.setFloat64(to + 10 + 8 * c, r.int8At(at + 8 * c), true);
          });
        }),
    );
    const scratch = new Scratch();
    for (let b = 0; b < buckets; b++) {
      const loaded = loadBucket(scratch, telemetry[b], tokens[b], models);
      const groups = new Map<string, RollupGroup>();
      for (const [id, rollups] of loaded) {
        const poolId = poolOf.get(id)!;
        const key = poolId !== null ? `p${poolId}` : `c${id}`;
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { poolId, customers: new Map() }));
        group.customers.set(id, rollups);
      }
      yield* groups.values();
    }
  } finally {
    for (const s of [...telemetry, ...tokens]) s.close();
  }
}
