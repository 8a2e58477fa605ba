// A file's bytes into lines, and lines into CSV records with their first line number and raw text, streaming.
// LineFramer numbers the lines and hands each as a range of bytes, so a reader can take most lines straight
// from the bytes (the gpu-samples fast path) and decode only the others for CsvRecordSplitter. There, lines
// without a quote (machine-written logs: nearly every line) are split on the delimiter directly; a record
// containing a quote is framed by RFC 4180's quote parity and parsed by csv-parse, so quoting follows the
// library. A record that cannot be parsed is reported on its first line, and the lines after that line are
// read again on their own: one stray quote costs one line, never the rest of the file.
import { parse as parseCsvSync } from 'csv-parse/sync';

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** The record's text as in the file (lines joined by \n, without the final line break). */
  raw: string;
  /** The fields, or null when the record is not valid CSV (then `error` says why). */
  fields: string[] | null;
  error?: string;
}

export interface SplitterOptions {
  delimiter?: string;
  /** A quoted record may span lines up to this many characters; beyond, its first line is rejected. */
  maxRecordChars?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Frames a file's bytes into lines as its chunks arrive: numbered from 1, without a leading UTF-8 byte order
 * mark or a line's final CR; a line cut across chunks is joined once it ends. After feed() (and after end(),
 * for a last line without a line break), each next() that returns true describes one line: bytes
 * [start, end) of data, number `line`. No object is made per line.
 */
export class LineFramer {
  line = 0;
  data: Buffer = EMPTY;
  start = 0;
  end = 0;
  private buffer: Buffer = EMPTY;
  private at = 0;
  private carry: Buffer[] = [];
  private ended = false;

  /** The next chunk; read its lines with next() until it returns false before feeding another. */
  feed(chunk: Buffer): void {
    if (chunk.indexOf(10) === -1) {
      this.carry.push(chunk);
      return;
    }
    this.buffer = this.carry.length > 0 ? Buffer.concat([...this.carry, chunk]) : chunk;
    this.carry = [];
    this.at = 0;
  }

  /** No more chunks: the text after the last line break, if any, is the last line. */
  finish(): void {
    this.ended = true;
  }

  next(): boolean {
    const nl = this.buffer.indexOf(10, this.at);
    if (nl !== -1) {
      this.take(this.buffer, this.at, nl);
      this.at = nl + 1;
      return true;
    }
    if (this.at < this.buffer.length) this.carry.push(this.buffer.subarray(this.at));
    this.buffer = EMPTY;
    this.at = 0;
    if (!this.ended || this.carry.length === 0) return false;
    const last = Buffer.concat(this.carry);
    this.carry = [];
    this.take(last, 0, last.length);
    return true;
  }

  private take(data: Buffer, start: number, end: number): void {
    if (this.line === 0 && data[start] === 0xef && data[start + 1] === 0xbb && data[start + 2] === 0xbf) start += 3;
    this.line++;
    this.data = data;
    this.start = start;
    this.end = end > start && data[end - 1] === 13 ? end - 1 : end;
  }
}

export class CsvRecordSplitter {
  private readonly delimiter: string;
  private readonly maxChars: number;
  /** Lines of an open quoted record: [line number, text]. */
  private open: [number, string][] = [];
  private openChars = 0;
  private openQuotes = 0;
  /** Lines to read again after a failed record, last first (a stack, so a failure never recurses). */
  private replay: [number, string][] = [];
  private replaying = false;

  constructor(options: SplitterOptions = {}) {
    this.delimiter = options.delimiter ?? ',';
    this.maxChars = options.maxRecordChars ?? 65_536;
  }

  /** Ends the input: an open record's first line is rejected, and the lines after it read again. */
  end(emit: (record: CsvRecord) => void): void {
    while (this.open.length > 0) {
      this.fail('a quoted field is not closed before the end of the file', emit);
      while (this.replay.length > 0) {
        const [ln, t] = this.replay.pop()!;
        this.step(ln, t, emit);
      }
    }
  }

  /** True while a quoted record is open: the next lines belong to it. */
  get isOpen(): boolean {
    return this.open.length > 0;
  }

  /** Feeds one line (its number and decoded text, without the line break); calls emit for each complete record. */
  line(n: number, text: string, emit: (record: CsvRecord) => void): void {
    this.step(n, text, emit);
    if (this.replaying) return;
    this.replaying = true;
    while (this.replay.length > 0) {
      const [ln, t] = this.replay.pop()!;
      this.step(ln, t, emit);
    }
    this.replaying = false;
  }

  private step(n: number, text: string, emit: (record: CsvRecord) => void): void {
    if (this.open.length > 0) {
      this.open.push([n, text]);
      this.openChars += text.length + 1;
      this.openQuotes += countQuotes(text);
      if (this.openQuotes % 2 === 0) this.closeOpen(emit);
      else if (this.openChars > this.maxChars) this.fail(`a quoted field runs past ${this.maxChars} characters`, emit);
      return;
    }
    if (text.indexOf('"') === -1) {
      if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) return;
      emit({ line: n, raw: text, fields: text.split(this.delimiter) });
      return;
    }
    this.open = [[n, text]];
    this.openChars = text.length;
    this.openQuotes = countQuotes(text);
    if (this.openQuotes % 2 === 0) this.closeOpen(emit);
  }

  private closeOpen(emit: (record: CsvRecord) => void): void {
    const lines = this.open;
    const raw = lines.map((l) => l[1]).join('\n');
    let fields: string[] | null = null;
    let error = '';
    try {
      const records = parseCsvSync(raw, { delimiter: this.delimiter, relax_column_count: true, skip_empty_lines: false }) as string[][];
      if (records.length === 1) fields = records[0];
      else error = `expected one record, found ${records.length}`;
    } catch (e) {
      error = String((e as Error).message).replace(/\s+/g, ' ');
    }
    if (fields) {
      this.resetOpen();
      emit({ line: lines[0][0], raw, fields });
      return;
    }
    this.fail(`not valid CSV (${error})`, emit);
  }

  /** Rejects the open record's first line and reads the lines after it again. */
  private fail(reason: string, emit: (record: CsvRecord) => void): void {
    const [head, ...rest] = this.open;
    this.resetOpen();
    emit({ line: head[0], raw: head[1], fields: null, error: reason });
    for (let i = rest.length - 1; i >= 0; i--) this.replay.push(rest[i]);
  }

  private resetOpen(): void {
    this.open = [];
    this.openChars = 0;
    this.openQuotes = 0;
  }
}

function countQuotes(text: string): number {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) n++;
  return n;
}
