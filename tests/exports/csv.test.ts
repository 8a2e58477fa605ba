// The one CSV writer every export uses: RFC 4180 records that parse back to what was written.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvChunks, text } from '../../app/services/exports/csv.server.js';

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
