// Every CSV the app and the command line write goes through here: RFC 4180 (CRLF records, fields quoted when
// they hold a comma, quote or line break) by csv-stringify, UTF-8 without a byte-order mark, a fixed header, and
// text cells neutralised against spreadsheet formulas. Rows are pulled lazily, a batch at a time, so a file of
// any length streams in constant memory. A wide, long file (FOCUS: 57 columns) may hand over records it wrote
// itself with csvLine, the same rules without csv-stringify's per-cell overhead.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';

/** One cell: text (neutralised), or a value already formatted by the export (numbers, dates, identifiers). */
export type Cell = string | number | null | undefined;

/** A text cell: the caller's string, neutralised when written. */
export class Text {
  constructor(readonly value: string) {}
}

export type Row = readonly (Cell | Text)[];

/** Records already written as CSV (by csvLine): UTF-8 text of whole records, and how many. */
export class CsvText {
  constructor(
    readonly text: string | Uint8Array,
    readonly rows: number,
  ) {}
}

/**
 * Records written straight into UTF-8 bytes (by an export that writes its own, as csvLine would), handed over a
 * chunk at a time. Why: a file of millions of records built as strings makes a string per cell and per record,
 * which live until the chunk is written, and then encodes them all once more.
 */
export class CsvBytes {
  private buf: Buffer;
  private at = 0;
  private rows = 0;

  /** `chunk`: the size of each chunk handed over (a record longer than that gets a chunk of its own). */
  constructor(private readonly chunk = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(chunk);
  }

  /**
   * Makes room for a record of at most `bytes`: when it would not fit, the records so far are returned to be
   * handed over (the chunk is the reader's from then on) and the next ones go into a new chunk.
   */
  reserve(bytes: number): CsvText | null {
    if (this.at + bytes <= this.buf.length) return null;
    const full = this.take();
    this.buf = Buffer.allocUnsafe(Math.max(this.chunk, bytes));
    return full;
  }

  /** The records written since the last chunk was handed over, if any. */
  take(): CsvText | null {
    if (this.rows === 0) return null;
    const full = new CsvText(this.buf.subarray(0, this.at), this.rows);
    this.buf = this.buf.subarray(this.at);
    this.at = 0;
    this.rows = 0;
    return full;
  }

  endRecord(): void {
    this.rows++;
  }

  /** A typed array ignores writes past its end: a record longer than reserved would lose bytes without a word. */
  private room(bytes: number): void {
    if (this.at + bytes > this.buf.length) throw new RangeError(`a CSV record is longer than the ${this.buf.length} bytes reserved for it`);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    // Most pieces are a few bytes: a loop beats set()'s call for those.
    if (b.length > 16) this.buf.set(b, this.at);
    else for (let i = 0; i < b.length; i++) this.buf[this.at + i] = b[i];
    this.at += b.length;
  }

  /** Text known to be ASCII (numbers and dates the export formatted). */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.at + i] = s.charCodeAt(i);
    this.at += s.length;
  }

  /** Whole units as formatUnits(units, 2) writes them: 12345 → "123.45", −5 → "-0.05". */
  units(units: number): void {
    let n = Math.abs(units);
    // At least three digits ("0.05"), a point before the last two; written from the last.
    let digits = 3;
    for (let p = 1000; p <= n; p *= 10) digits++;
    this.room(digits + 1 + (units < 0 ? 1 : 0));
    if (units < 0) this.buf[this.at++] = 45; // '-'
    let i = this.at + digits + 1;
    this.at = i;
    for (let k = 0; k < digits; k++) {
      if (k === 2) this.buf[--i] = 46; // '.'
      const digit = n % 10;
      this.buf[--i] = 48 + digit;
      n = (n - digit) / 10;
    }
  }
}

export interface CsvExport {
  /** The download's name, e.g. costs-2026-10-01-to-2026-11-01.csv. */
  filename: string;
  header: readonly string[];
  rows: Iterable<Row | CsvText> | AsyncIterable<Row | CsvText>;
}

/**
 * A cell a spreadsheet would run as a formula (it begins with =, +, -, @, tab or carriage return) gets a
 * leading apostrophe, which spreadsheets show as text (OWASP's advice for CSV injection).
 */
export function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** Free text from users or files; numbers and dates formatted by the exports are written as they are. */
export const text = (value: string | null | undefined): Text | null => (value === null || value === undefined ? null : new Text(value));

function cellText(cell: Cell | Text): string {
  if (cell instanceof Text) return neutralise(cell.value);
  if (cell === null || cell === undefined) return '';
  return typeof cell === 'number' ? String(cell) : cell;
}

/** One cell as csv-stringify writes it with OPTIONS: text neutralised; quoted when it holds a comma, a quote, CR or LF. */
export function csvCell(value: Cell | Text): string {
  const cell = cellText(value);
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** One record, as csv-stringify writes it with OPTIONS. */
export function csvLine(row: Row): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) line += ',';
    line += csvCell(row[i]);
  }
  return `${line}\r\n`;
}

// csv-stringify quotes a cell holding its record delimiter (CRLF) but not a lone LF or CR, which RFC 4180
// readers (and spreadsheets) take as the end of the record: such cells are quoted too.
const OPTIONS = { record_delimiter: 'windows' as const, quoted_string: false, quoted_match: /[\r\n]/ };

/** The header and rows as CSV text chunks of about `batch` rows each (records written already pass as they are). */
export async function* csvChunks(file: Pick<CsvExport, 'header' | 'rows'>, batch = 2_000): AsyncGenerator<string | Uint8Array> {
  yield stringify([file.header.map(String)], OPTIONS);
  let pending: string[][] = [];
  for await (const row of file.rows as AsyncIterable<Row | CsvText>) {
    if (row instanceof CsvText) {
      if (pending.length) yield stringify(pending, OPTIONS);
      pending = [];
      yield row.text;
      continue;
    }
    pending.push(row.map(cellText));
    if (pending.length >= batch) {
      yield stringify(pending, OPTIONS);
      pending = [];
    }
  }
  if (pending.length) yield stringify(pending, OPTIONS);
}

/** The CSV as a web stream of UTF-8 bytes, produced as the reader pulls (backpressure: nothing runs ahead). */
export function csvStream(file: Pick<CsvExport, 'header' | 'rows'>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const chunks = csvChunks(file);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(typeof next.value === 'string' ? encoder.encode(next.value) : next.value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/** The CSV as a Node stream (the command line writes it to a file or stdout). */
export function csvReadable(file: Pick<CsvExport, 'header' | 'rows'>): Readable {
  return Readable.from(csvChunks(file), { objectMode: false });
}

/** A download: streamed, named with its period, never cached (it holds figures only signed-in users may read). */
export function csvResponse(file: CsvExport): Response {
  return new Response(csvStream(file), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${file.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
