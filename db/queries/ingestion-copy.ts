// `COPY … FROM STDIN` through a Kysely transaction. Kysely does not expose the pg client it holds, but it hands
// the compiled "SQL" straight to `client.query()`, and pg runs any object with a `submit` method as a query:
// so a pg-copy-streams stream passed as the SQL text becomes the connection's active query. The handle must
// be bound to one connection (a transaction): on a pool handle Kysely would release the connection at once.
import { CompiledQuery, type Kysely } from 'kysely';
import copyStreams from 'pg-copy-streams';

/** Sends data (already in the statement's COPY format) through `COPY … FROM STDIN`; returns the rows copied. */
export async function copyFromText(trx: Kysely<any>, statement: string, text: string | Buffer | (string | Buffer)[]): Promise<number> {
  if (!trx.isTransaction) throw new Error('COPY needs a transaction handle (one connection)');
  const stream = copyStreams.from(statement);
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', () => resolve());
    stream.on('error', reject);
  });
  // Awaited below; marked handled now so an early server error is not reported as unhandled meanwhile.
  finished.catch(() => {});
  // Resolves as soon as pg has queued the stream; the rows flow through it below.
  await trx.executeQuery(CompiledQuery.raw(stream as unknown as string));
  const parts = Array.isArray(text) ? text : [text];
  for (const part of parts) {
    if (part.length > 0 && !stream.write(part)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        stream.once('error', onError);
        stream.once('drain', () => {
          stream.off('error', onError);
          resolve();
        });
      });
    }
  }
  stream.end();
  await finished;
  return stream.rowCount;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A text value in COPY's text format: backslash, tab, newline and carriage return escaped. */
export function copyTextValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A nullable value in COPY's text format (`\N` is NULL). */
export function copyNullable(value: string | number | null): string {
  if (value === null) return '\\N';
  return typeof value === 'number' ? String(value) : copyTextValue(value);
}

const PGCOPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 4_294_967_296;

/**
 * Rows in COPY's binary format (no text to parse on the server: the cheapest way in). Fields are written in
 * column order with the typed methods; `finish()` returns the bytes, header and trailer included.
 */
export class BinaryCopyWriter {
  private buf: Buffer;
  private at: number;
  rows = 0;

  constructor(capacity = 1 << 20) {
    this.buf = Buffer.allocUnsafe(capacity);
    PGCOPY_SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11);
    this.buf.writeInt32BE(0, 15);
    this.at = 19;
  }

  get size(): number {
    return this.at;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  row(fields: number): this {
    this.room(2);
    this.buf.writeInt16BE(fields, this.at);
    this.at += 2;
    this.rows++;
    return this;
  }

  null(): this {
    this.room(4);
    this.buf.writeInt32BE(-1, this.at);
    this.at += 4;
    return this;
  }

  /** A non-negative whole number below 2^53 as int8. */
  int8(value: number): this {
    this.room(12);
    const hi = Math.floor(value / TWO_32);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeUInt32BE(hi, this.at + 4);
    this.buf.writeUInt32BE(value - hi * TWO_32, this.at + 8);
    this.at += 12;
    return this;
  }

  float4(value: number | null): this {
    if (value === null) return this.null();
    this.room(8);
    this.buf.writeInt32BE(4, this.at);
    this.buf.writeFloatBE(value, this.at + 4);
    this.at += 8;
    return this;
  }

  text(value: string | null): this {
    if (value === null) return this.null();
    this.room(4 + value.length * 3);
    const n = this.buf.write(value, this.at + 4, 'utf8');
    this.buf.writeInt32BE(n, this.at);
    this.at += 4 + n;
    return this;
  }

  /** An instant from 2000 on (epoch ms) as timestamptz: microseconds since 2000-01-01 UTC. */
  timestamptz(ms: number): this {
    this.room(12);
    const us = (ms - PG_EPOCH_MS) * 1000;
    const hi = Math.floor(us / TWO_32);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeInt32BE(hi, this.at + 4);
    this.buf.writeUInt32BE(us - hi * TWO_32, this.at + 8);
    this.at += 12;
    return this;
  }

  /** Empties the writer for reuse, keeping its memory (once the bytes of finish() have been sent). */
  reset(): void {
    this.at = 19;
    this.rows = 0;
  }

  /** The COPY data, trailer included (a view of the writer's memory: send it before reset()). */
  finish(): Buffer {
    this.room(2);
    this.buf.writeInt16BE(-1, this.at);
    this.at += 2;
    return this.buf.subarray(0, this.at);
  }
}
