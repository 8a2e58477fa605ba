// `COPY (SELECT …) TO STDOUT (FORMAT binary)` read straight off the connection's socket. Why: the cost engine
// reads millions of hourly rollup rows at once. pg's row protocol builds an object per row and parses every
// value from text; pg-copy-streams re-buffers each row (one CopyData message per row) before handing it on.
// Here each socket chunk is walked once: message frames and binary tuples are decoded in place, fixed-width
// values read from the buffer, and a tuple straddling two chunks is the only thing ever copied.
//
// How it plugs in: Kysely hands the compiled "SQL" straight to pg's `client.query()`, which runs any object with
// a `submit(connection)` method as the active query. submit() sends the statement and takes over the socket's
// 'data' events (as pg-copy-streams does) until CopyDone, then gives the rest of the bytes back to pg's parser,
// which sees CommandComplete and ReadyForQuery as for any query. The statement must run on one connection, so a
// pool handle is pinned to one for the duration.
import { CompiledQuery, type Kysely } from 'kysely';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Milliseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
const PG_EPOCH_HOUR = PG_EPOCH_MS / 3_600_000;

const MSG_COPY_DATA = 0x64; // 'd'
const MSG_COPY_DONE = 0x63; // 'c'
const MSG_ERROR = 0x45; // 'E'

/** One tuple of a binary COPY: typed reads of its fields, valid only inside the onRow callback. */
export class BinaryRow {
  buf: Buffer = Buffer.alloc(0);
  /** The same bytes as buf: DataView reads are V8 intrinsics, cheaper than Buffer's checked readers. */
  view: DataView = new DataView(new ArrayBuffer(0));
  /** Start of each field's data; -1 for NULL. */
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
  fields = 0;

  constructor(maxFields: number) {
    this.starts = new Int32Array(maxFields);
    this.lengths = new Int32Array(maxFields);
  }

  isNull(i: number): boolean {
    return this.starts[i] < 0;
  }

  int4(i: number): number {
    return this.view.getInt32(this.starts[i]);
  }

  /** An int8 as a number: exact below 2^53, which db/client.ts also insists on. */
  int8(i: number): number {
    const at = this.starts[i];
    return this.view.getInt32(at) * TWO_32 + this.view.getUint32(at + 4);
  }

  float8(i: number): number {
    return this.view.getFloat64(this.starts[i]);
  }

  /** A timestamptz (µs since 2000-01-01 UTC) as epoch milliseconds. */
  timestampMs(i: number): number {
    return this.int8(i) / 1000 + PG_EPOCH_MS;
  }

  text(i: number): string {
    const at = this.starts[i];
    return this.buf.toString('utf8', at, at + this.lengths[i]);
  }

  /** A date (days since 2000-01-01) as hours since the Unix epoch, at its 00:00 UTC. */
  dateEpochHour(i: number): number {
    return PG_EPOCH_HOUR + this.int4(i) * 24;
  }

  /** An int8 at a byte offset of `buf` (inside a bytea field). */
  int8At(at: number): number {
    return this.view.getInt32(at) * TWO_32 + this.view.getUint32(at + 4);
  }

  float8At(at: number): number {
    return this.view.getFloat64(at);
  }

  /**
   * The hours of a packed day (migrations/20261129_02_daily_usage.ts: per hour an int2 hour of the day, then
   * `size` − 2 bytes of values) that fall in [fromHour, toHour), epoch hours: `visit(epochHour, at)` with `at`
   * the offset of the hour's values in `buf`.
   */
  eachPackedHour(dayField: number, hoursField: number, size: number, fromHour: number, toHour: number, visit: (epochHour: number, at: number) => void): void {
    const day = this.dateEpochHour(dayField);
    const start = this.starts[hoursField];
    const end = start + this.lengths[hoursField];
    if ((end - start) % size !== 0) throw new Error(`a packed day of ${end - start} bytes is not whole ${size}-byte hours`);
    for (let at = start; at < end; at += size) {
      const hour = day + this.view.getInt16(at);
      if (hour >= fromHour && hour < toHour) visit(hour, at + 2);
    }
  }
}

interface PgConnection {
  stream: NodeJS.EventEmitter;
  query(text: string): void;
}

/** The active query while a binary COPY streams: see the file comment. Has no `then`, so awaiting it is a no-op. Exported for tests. */
export class BinaryCopyOut {
  readonly done: Promise<number>;
  private settle!: { resolve: (rows: number) => void; reject: (error: Error) => void };
  private stream: NodeJS.EventEmitter | undefined;
  private pgHandler: ((chunk: Buffer) => void) | undefined;
  private readonly onData = (chunk: Buffer) => this.consume(chunk);
  private headerDone = false;
  private trailerSeen = false;
  private failure: Error | undefined;
  rows = 0;

  constructor(
    private readonly text: string,
    private readonly row: BinaryRow,
    private readonly onRow: (row: BinaryRow) => void,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // Awaited by the caller; marked handled so an early failure is not reported as unhandled meanwhile.
    this.done.catch(() => {});
  }

  submit(connection: PgConnection): void {
    const stream = connection.stream;
    const listeners = stream.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) throw new Error('unexpected connection state for COPY');
    this.stream = stream;
    this.pgHandler = listeners[0];
    stream.removeListener('data', this.pgHandler);
    stream.on('data', this.onData);
    connection.query(this.text);
  }

  /** Hands the socket back to pg, with the bytes from a message boundary on. */
  private detach(rest: Buffer): void {
    this.stream!.removeListener('data', this.onData);
    this.stream!.on('data', this.pgHandler!);
    if (rest.length > 0) this.pgHandler!(rest);
  }

  /** A message split across socket chunks: its bytes so far (the only copying this reader does). */
  private carry: Buffer | null = null;
  private carried = 0;

  private consume(chunk: Buffer): void {
    let pos = 0;
    if (this.carry) {
      pos = this.fillCarry(chunk);
      if (pos < 0) return;
      const message = this.carry.subarray(0, this.carried);
      this.carry = null;
      if (message[0] === MSG_ERROR) return this.detach(Buffer.concat([message, chunk.subarray(pos)]));
      if (this.message(message, 0, message.length)) return this.detach(chunk.subarray(pos));
    }
    const end = chunk.length;
    while (pos + 5 <= end) {
      if (chunk[pos] === MSG_ERROR) return this.detach(chunk.subarray(pos));
      const next = pos + 1 + chunk.readUInt32BE(pos + 1);
      if (next > end) break;
      if (this.message(chunk, pos, next)) return this.detach(chunk.subarray(next));
      pos = next;
    }
    if (pos < end) {
      const known = end - pos >= 5 ? 1 + chunk.readUInt32BE(pos + 1) : 5;
      this.carry = Buffer.allocUnsafe(Math.max(5, known));
      this.carried = chunk.copy(this.carry, 0, pos, end);
    }
  }

  /** Completes the carried message from the chunk; returns how many of its bytes were used, −1 if still short. */
  private fillCarry(chunk: Buffer): number {
    let used = 0;
    if (this.carried < 5) {
      used = chunk.copy(this.carry!, this.carried, 0, Math.min(chunk.length, 5 - this.carried));
      this.carried += used;
      if (this.carried < 5) return -1;
      const total = 1 + this.carry!.readUInt32BE(1);
      if (total > this.carry!.length) {
        const bigger = Buffer.allocUnsafe(total);
        this.carry!.copy(bigger, 0, 0, this.carried);
        this.carry = bigger;
      }
    }
    const total = 1 + this.carry!.readUInt32BE(1);
    const take = Math.min(chunk.length - used, total - this.carried);
    chunk.copy(this.carry!, this.carried, used, used + take);
    this.carried += take;
    used += take;
    return this.carried < total ? -1 : used;
  }

  /** One whole message at [pos, next) of buf; true when it ends the COPY (CopyDone). */
  private message(buf: Buffer, pos: number, next: number): boolean {
    const code = buf[pos];
    if (code === MSG_COPY_DATA) {
      if (!this.failure) {
        try {
          this.copyData(buf, pos + 5, next);
        } catch (error) {
          // Keep reading to CopyDone so the connection stays usable; report at ReadyForQuery.
          this.failure = error as Error;
        }
      }
      return false;
    }
    // CopyOutResponse, and the notices and parameter changes the protocol may intersperse: nothing to do.
    return code === MSG_COPY_DONE;
  }

  /** Tuples of one CopyData message, [start, end) of buf (PostgreSQL sends one tuple per message). */
  private copyData(buf: Buffer, start: number, end: number): void {
    let pos = start;
    if (!this.headerDone) {
      if (end - pos < 19 || !buf.subarray(pos, pos + 11).equals(SIGNATURE)) throw new Error('COPY output is not in binary format');
      pos += 19 + buf.readUInt32BE(pos + 15);
      this.headerDone = true;
    }
    const row = this.row;
    if (row.buf !== buf) {
      row.buf = buf;
      row.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const view = row.view;
    const starts = row.starts;
    const lengths = row.lengths;
    const max = starts.length;
    while (pos < end) {
      const fields = view.getInt16(pos);
      pos += 2;
      if (fields === -1) {
        this.trailerSeen = true;
        continue;
      }
      if (fields > max) throw new Error(`COPY tuple has ${fields} fields, more than the ${max} expected`);
      for (let f = 0; f < fields; f++) {
        const length = view.getInt32(pos);
        pos += 4;
        if (length < 0) {
          starts[f] = -1;
          lengths[f] = 0;
        } else {
          starts[f] = pos;
          lengths[f] = length;
          pos += length;
        }
      }
      if (pos > end) throw new Error('COPY tuple overruns its message');
      row.fields = fields;
      this.onRow(row);
      this.rows++;
    }
  }

  // Called by pg once the socket is back in its hands.
  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    if (this.failure) this.settle.reject(this.failure);
    else if (!this.trailerSeen) this.settle.reject(new Error('COPY output ended without its trailer'));
    else this.settle.resolve(this.rows);
  }

  handleError(error: Error): void {
    if (this.stream && this.stream.listeners('data').includes(this.onData)) this.detach(Buffer.alloc(0));
    this.settle.reject(error);
  }
}

/**
 * Runs `COPY (select) TO STDOUT (FORMAT binary)` and calls onRow for each tuple, in order. `select` is
 * inlined into the COPY statement (COPY takes no bind parameters): build it only from trusted literals —
 * integers checked with integerLiteral, timestamps with timestampLiteral. Returns the number of rows.
 */
export async function copyOutBinary(
  db: Kysely<any>,
  select: string,
  maxFields: number,
  onRow: (row: BinaryRow) => void,
): Promise<number> {
  const run = async (conn: Kysely<any>): Promise<number> => {
    const query = new BinaryCopyOut(`COPY (${select}) TO STDOUT (FORMAT binary)`, new BinaryRow(maxFields), onRow);
    await conn.executeQuery(CompiledQuery.raw(query as unknown as string));
    return query.done;
  };
  return db.isTransaction ? run(db) : db.connection().execute(run);
}

/** A timestamp literal for an inlined statement: only ever built from a valid Date. */
export function timestampLiteral(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('invalid date');
  return `'${at.toISOString()}'::timestamptz`;
}

/** The UTC date of a valid Date, as a literal for an inlined statement. */
export function dateLiteral(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('invalid date');
  return `'${at.toISOString().slice(0, 10)}'::date`;
}

/** An integer literal for an inlined statement. */
export function integerLiteral(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an integer id`);
  return String(value);
}

/** An integer list literal for an inlined statement: every element checked to be a safe integer. */
export function integerListLiteral(values: readonly number[]): string {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not an integer id`);
  return `'{${values.join(',')}}'::bigint[]`;
}
