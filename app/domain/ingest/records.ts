// Splits decoded CSV text into records with their first line number and raw text, streaming. Lines without a
// quote (machine-written logs: nearly every line) are split on the delimiter directly; a record containing a
// quote is framed by RFC 4180's quote parity and parsed by csv-parse, so quoting follows the library. A record
// that cannot be parsed is reported on its first line, and the lines after that line are read again on their
// own: one stray quote costs one line, never the rest of the file.
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

export class CsvRecordSplitter {
  private readonly delimiter: string;
  private readonly maxChars: number;
  private carry = '';
  private lineNo = 0;
  private first = true;
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

  /** Feeds decoded text; calls emit for every complete record. */
  push(text: string, emit: (record: CsvRecord) => void): void {
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    let data = text;
    if (this.carry) {
      data = this.carry + text;
      this.carry = '';
    }
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl === -1) break;
      const end = nl > start && data.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.line(++this.lineNo, data.slice(start, end), emit);
      start = nl + 1;
    }
    if (start < data.length) this.carry = data.slice(start);
  }

  /** Ends the input: the last line (without a line break) and any open record. */
  end(emit: (record: CsvRecord) => void): void {
    if (this.carry) {
      const last = this.carry.endsWith('\r') ? this.carry.slice(0, -1) : this.carry;
      this.carry = '';
      this.line(++this.lineNo, last, emit);
    }
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

  /**
   * Feeds one line already framed by the caller (its number, its text without the line break): for a reader
   * that frames lines itself and sends only some here. Do not mix with push().
   */
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
