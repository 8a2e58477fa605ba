// The binary COPY reader against a synthetic protocol stream cut into chunks at every size: every tuple read
// whole wherever the cuts fall, and the bytes after CopyDone (or from an ErrorResponse on) handed back to pg.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BinaryCopyOut, BinaryRow } from '../../db/queries/copy-out.js';

const PG_EPOCH_MS = 946_684_800_000;

function message(code: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function tuple(id: number, name: string | null, ms: number, value: number): Buffer {
  const fields: (Buffer | null)[] = [];
  const int8 = Buffer.alloc(8);
  int8.writeBigInt64BE(BigInt(id));
  fields.push(int8);
  fields.push(name === null ? null : Buffer.from(name, 'utf8'));
  const ts = Buffer.alloc(8);
  ts.writeBigInt64BE(BigInt((ms - PG_EPOCH_MS) * 1000));
  fields.push(ts);
  const f8 = Buffer.alloc(8);
  f8.writeDoubleBE(value);
  fields.push(f8);
  const parts: Buffer[] = [Buffer.from([0, fields.length])];
  for (const f of fields) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(f === null ? -1 : f.length);
    parts.push(len);
    if (f) parts.push(f);
  }
  return Buffer.concat(parts);
}

const rows = Array.from({ length: 40 }, (_, i) => ({
  id: i * 1_000_000_007 + 3, // beyond 32 bits
  name: i % 7 === 3 ? null : `model-${'é'.repeat(i % 4)}${i}`,
  ms: Date.parse('2026-03-01T00:00:00Z') + i * 3_600_000,
  value: i / 3,
}));

function copyStream(withError = false): { bytes: Buffer; afterEnd: Buffer } {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
  const messages = [message('H', Buffer.from([1, 0, 4, 0, 1, 0, 1, 0, 1, 0, 1]))];
  rows.forEach((r, i) => {
    const t = tuple(r.id, r.name, r.ms, r.value);
    messages.push(message('d', i === 0 ? Buffer.concat([header, t]) : t));
    if (i === 5) messages.push(message('N', Buffer.from('a notice\0'))); // interspersed, ignored
  });
  if (withError) {
    const afterEnd = Buffer.concat([message('E', Buffer.from('SERROR\0')), message('Z', Buffer.from('I'))]);
    return { bytes: Buffer.concat([...messages, afterEnd]), afterEnd };
  }
  messages.push(message('d', Buffer.from([0xff, 0xff])), message('c', Buffer.alloc(0)));
  const afterEnd = Buffer.concat([message('C', Buffer.from('COPY 40\0')), message('Z', Buffer.from('I'))]);
  return { bytes: Buffer.concat([...messages, afterEnd]), afterEnd };
}

function run(bytes: Buffer, chunk: number) {
  const stream = new EventEmitter();
  const handedBack: Buffer[] = [];
  stream.on('data', (b: Buffer) => handedBack.push(Buffer.from(b)));
  const seen: { id: number; name: string | null; ms: number; value: number }[] = [];
  const q = new BinaryCopyOut('COPY …', new BinaryRow(4), (r) =>
    seen.push({ id: r.int8(0), name: r.isNull(1) ? null : r.text(1), ms: r.timestampMs(2), value: r.float8(3) }),
  );
  let sent = '';
  q.submit({ stream, query: (text) => (sent = text) });
  expect(sent).toBe('COPY …');
  for (let at = 0; at < bytes.length; at += chunk) stream.emit('data', bytes.subarray(at, at + chunk));
  return { q, seen, handedBack: Buffer.concat(handedBack), listeners: stream.listeners('data').length };
}

describe('the binary COPY reader', () => {
  it.each([1, 2, 3, 5, 7, 13, 64, 100_000])('reads every tuple whole in chunks of %i bytes', async (size) => {
    const { bytes, afterEnd } = copyStream();
    const { q, seen, handedBack, listeners } = run(bytes, size);
    expect(seen).toEqual(rows);
    expect(handedBack.equals(afterEnd)).toBe(true); // CommandComplete and ReadyForQuery go back to pg
    expect(listeners).toBe(1);
    q.handleCommandComplete();
    q.handleReadyForQuery();
    await expect(q.done).resolves.toBe(40);
  });

  it.each([1, 4, 64])('gives an ErrorResponse back to pg and fails (chunks of %i)', async (size) => {
    const { bytes, afterEnd } = copyStream(true);
    const { q, handedBack } = run(bytes, size);
    expect(handedBack.equals(afterEnd)).toBe(true);
    q.handleError(new Error('division by zero'));
    await expect(q.done).rejects.toThrow('division by zero');
  });

  it('reports a row callback that throws once the COPY is over', async () => {
    const { bytes } = copyStream();
    const stream = new EventEmitter();
    stream.on('data', () => {});
    const q = new BinaryCopyOut('COPY …', new BinaryRow(4), () => {
      throw new Error('bad row');
    });
    q.submit({ stream, query: () => {} });
    stream.emit('data', bytes);
    q.handleReadyForQuery();
    await expect(q.done).rejects.toThrow('bad row');
  });
});
