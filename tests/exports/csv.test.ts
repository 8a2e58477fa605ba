// The one CSV writer every export uses: RFC 4180 records that parse back to what was written.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { formatUnits } from '../../app/domain/rounding.js';
import { CsvBytes, csvChunks, csvLine, type CsvText, text } from '../../app/services/exports/csv.server.js';

async function written(rows: (string | ReturnType<typeof text>)[][]): Promise<string> {
  let out = '';
  for await (const chunk of csvChunks({ header: ['a', 'b'], rows })) out += chunk;
  return out;
}

describe('csvChunks', () => {
  it('quotes cells holding a lone line feed or carriage return, so each parses back as one record', async () => {
    // A quarantined raw line can hold a bare \n or \r; unquoted, an RFC 4180 reader would start a new record there.
    const cells = ['line\nbreak', 'cr\rhere', 'crlf\r\nend', 'plain', 'a,b', 'say "hi"'];
    const csv = await written(cells.map((c) => [c, text(c)]));
    expect(csv).toContain('"line\nbreak"');
    expect(csv).toContain('"cr\rhere"');
    const parsed: string[][] = parse(csv);
    expect(parsed).toEqual([['a', 'b'], ...cells.map((c) => [c, c])]);
  });

  it('neutralises text cells a spreadsheet would run as a formula, and leaves plain strings alone', async () => {
    const parsed: string[][] = parse(await written([['-2', text('=HYPERLINK("http://x")')], ['+1', text('@sum')]]));
    expect(parsed.slice(1)).toEqual([
      ['-2', '\'=HYPERLINK("http://x")'],
      ['+1', "'@sum"],
    ]);
  });
});

describe('CsvBytes', () => {
  /** Records written through CsvBytes with the given chunk size: the chunks, and the records as csvLine writes them. */
  function writeRecords(records: string[][], chunk: number): { chunks: CsvText[]; expected: string } {
    const out = new CsvBytes(chunk);
    const chunks: CsvText[] = [];
    for (const record of records) {
      const line = Buffer.from(csvLine(record));
      const full = out.reserve(line.length);
      if (full) chunks.push(full);
      out.bytes(line);
      out.endRecord();
    }
    const last = out.take();
    if (last) chunks.push(last);
    return { chunks, expected: records.map(csvLine).join('') };
  }

  it('hands over whole records in chunks that add up to the file, a record longer than a chunk in one of its own', () => {
    // 200 records of 6 to 60 bytes (one of 300, with a multi-byte character) in chunks of 256 bytes.
    const records = Array.from({ length: 200 }, (_, i) => [`c-${i}`, 'x'.repeat(i % 50), i === 77 ? '×'.repeat(150) : '']);
    const { chunks, expected } = writeRecords(records, 256);
    const bytes = Buffer.concat(chunks.map((c) => c.text as Uint8Array));
    expect(bytes.toString('utf8')).toBe(expected);
    expect(chunks.reduce((n, c) => n + c.rows, 0)).toBe(200);
    for (const c of chunks) expect(Buffer.from(c.text as Uint8Array).toString('utf8').endsWith('\r\n')).toBe(true);
    // Every chunk within its size but the one holding the 300-byte record.
    expect(chunks.filter((c) => (c.text as Uint8Array).length > 256).map((c) => c.rows)).toEqual([1]);
  });

  it('refuses to write past what was reserved rather than lose the bytes', () => {
    const out = new CsvBytes(8);
    expect(out.reserve(8)).toBeNull();
    out.ascii('1234');
    expect(() => out.ascii('56789')).toThrow(/longer than the 8 bytes reserved/);
    expect(() => out.units(-12345)).toThrow(/longer than/); // "-123.45": 7 bytes, 4 left
    expect(() => out.bytes(Buffer.from('x'.repeat(20)))).toThrow(/longer than/);
    out.units(5); // "0.05" fits exactly
    out.endRecord();
    expect(Buffer.from(out.take()!.text as Uint8Array).toString('ascii')).toBe('12340.05');
  });

  it('writes whole units exactly as formatUnits does', () => {
    const values = [0, 5, -5, 99, 100, -100, 12345, -12345, 1000, 999_999, 1_000_000, 2 ** 53 - 1, -(2 ** 53 - 1), -0];
    for (let k = 1; k < 1e15; k = k * 7 + 3) values.push(k, -k);
    const out = new CsvBytes(1 << 16);
    for (const v of values) {
      out.units(v);
      out.bytes(Buffer.from(','));
    }
    out.endRecord();
    expect(Buffer.from(out.take()!.text as Uint8Array).toString('ascii')).toBe(values.map((v) => `${formatUnits(v)},`).join(''));
  });
});
