// The pure parsers, without a database: record splitting, timestamps and the three formats, with properties
// (fast-check) over random input: they never throw, a row they accept satisfies every stored invariant, and a
// record always carries its line.
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRecord, planColumns, type ColumnPlan, type FileKind, type ParsedSample, type ParsedUsage } from '../../app/domain/ingest/formats.js';
import { CsvRecordSplitter, LineFramer, type CsvRecord } from '../../app/domain/ingest/records.js';
import { MAX_TOKENS_PER_ROW } from '../../app/domain/ingest/rows.js';
import { parseSmiTimestamp, parseTimestamp } from '../../app/domain/ingest/timestamps.js';
import { SLUG_PATTERN } from '../../app/domain/customers.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');

/** Records of a file's bytes given in chunks: framed into lines, decoded, split (as the file import reads). */
function split(chunks: (string | Buffer)[]): CsvRecord[] {
  const out: CsvRecord[] = [];
  const emit = (r: CsvRecord) => out.push(r);
  const s = new CsvRecordSplitter();
  const f = new LineFramer();
  const read = () => {
    while (f.next()) s.line(f.line, f.data.toString('utf8', f.start, f.end), emit);
  };
  for (const c of chunks) {
    f.feed(typeof c === 'string' ? Buffer.from(c) : c);
    read();
  }
  f.finish();
  read();
  s.end(emit);
  return out;
}

/** Cuts text's bytes at the given fractions (a cut may fall inside a character): the same file in pieces. */
function pieces(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of at) {
    out.push(bytes.subarray(prev, a));
    prev = a;
  }
  out.push(bytes.subarray(prev));
  return out;
}

describe('CsvRecordSplitter', () => {
  it('numbers lines, skips blank ones, strips CR and a BOM, and keeps quoted newlines in one record', () => {
    const records = split(['\uFEFFa,b\r\n\r\n1,"x\ny",3\n', '4,5']);
    expect(records).toEqual([
      { line: 1, raw: 'a,b', fields: ['a', 'b'] },
      { line: 3, raw: '1,"x\ny",3', fields: ['1', 'x\ny', '3'] },
      { line: 5, raw: '4,5', fields: ['4', '5'] },
    ]);
  });

  it('a stray quote costs its own line only; an unclosed quote at the end is reported on its line', () => {
    const records = split(['a,b\n1,x"y\n2,z\n3,"w\n']);
    expect(records.map((r) => [r.line, r.fields])).toEqual([[1, ['a', 'b']], [2, null], [3, ['2', 'z']], [4, null]]);
    expect(records[1].error).toMatch(/not valid CSV/);
    expect(records[3].error).toBe('a quoted field is not closed before the end of the file');
  });

  it('property: the records do not depend on how the text is cut into chunks, and lines increase', () => {
    const char = fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '💥', '\u0000');
    fc.assert(
      fc.property(fc.array(char, { maxLength: 300 }).map((cs) => cs.join('')), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (text, cuts) => {
        const whole = split([text]);
        expect(split(pieces(text, cuts))).toEqual(whole);
        const lineCount = text.split('\n').length;
        for (let i = 0; i < whole.length; i++) {
          expect(whole[i].line).toBeGreaterThanOrEqual(1);
          expect(whole[i].line).toBeLessThanOrEqual(lineCount);
          if (i > 0) expect(whole[i].line).toBeGreaterThan(whole[i - 1].line);
          expect(whole[i].fields !== null || typeof whole[i].error === 'string').toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: what csv-stringify writes comes back field for field', () => {
    const field = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', ' ', 'ü', 'x', '1'), maxLength: 8 });
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 2, maxLength: 5 }), { maxLength: 20 }), (rows) => {
        const text = stringify(rows);
        expect(split([text]).map((r) => r.fields)).toEqual(rows);
      }),
      { numRuns: 200 },
    );
  });
});

describe('timestamps', () => {
  it('accepts ISO 8601 with an offset or Z, and Unix seconds; refuses the rest with the reason', () => {
    expect(parseTimestamp('2026-11-20T10:15:00Z', NOW)).toEqual({ ok: true, ms: Date.UTC(2026, 10, 20, 10, 15) });
    expect(parseTimestamp('2026-11-20T10:15:00.123456+01:00', NOW)).toEqual({ ok: true, ms: Date.UTC(2026, 10, 20, 9, 15, 0, 123) });
    expect(parseTimestamp('2026-11-20 10:15-0530', NOW)).toEqual({ ok: true, ms: Date.UTC(2026, 10, 20, 15, 45) });
    expect(parseTimestamp('1763633700', NOW)).toEqual({ ok: true, ms: 1763633700000 });
    expect(parseTimestamp('1763633700.5', NOW)).toEqual({ ok: true, ms: 1763633700500 });
    expect(parseTimestamp('yesterday', NOW)).toEqual({ ok: false, reason: '"yesterday" is not ISO 8601 with an offset, or Unix seconds' });
    expect(parseTimestamp('2026-11-20T10:15:00', NOW).ok).toBe(false);
    expect(parseTimestamp('2026-02-30T10:15:00Z', NOW)).toEqual({ ok: false, reason: '"2026-02-30T10:15:00Z" is not a valid date and time' });
    expect(parseTimestamp('1763633700000', NOW).ok).toBe(false);
    expect(parseTimestamp('2027-01-01T00:00:00Z', NOW)).toEqual({ ok: false, reason: '"2027-01-01T00:00:00Z" is more than a day in the future' });
    expect(parseTimestamp('1999-12-31T23:59:59Z', NOW)).toEqual({ ok: false, reason: '"1999-12-31T23:59:59Z" is before 2000-01-01' });
  });

  it('reads nvidia-smi local times in a zone, across daylight saving', () => {
    expect(parseSmiTimestamp('2026/01/03 15:37:00.527', 'UTC', NOW)).toEqual({ ok: true, ms: Date.UTC(2026, 0, 3, 15, 37, 0, 527) });
    // Paris: UTC+1 in January, UTC+2 in July.
    expect(parseSmiTimestamp('2026/01/03 15:37:00.527', 'Europe/Paris', NOW)).toEqual({ ok: true, ms: Date.UTC(2026, 0, 3, 14, 37, 0, 527) });
    expect(parseSmiTimestamp('2026/07/03 15:37:00', 'Europe/Paris', NOW)).toEqual({ ok: true, ms: Date.UTC(2026, 6, 3, 13, 37) });
    expect(parseSmiTimestamp('2026/13/03 15:37:00', 'UTC', NOW).ok).toBe(false);
  });

  it('property: any ISO time with any offset round-trips; any string is answered without throwing', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 2), max: NOW }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (ms, offsetMin) => {
        const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseTimestamp(text, NOW)).toEqual({ ok: true, ms });
        expect(parseTimestamp(String(ms / 1000), NOW)).toEqual({ ok: true, ms });
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const r = parseTimestamp(text, NOW);
        if (r.ok) expect(r.ms).toBeGreaterThanOrEqual(Date.UTC(2000, 0, 1));
        const s = parseSmiTimestamp(text, 'America/New_York', NOW);
        if (s.ok) expect(Number.isFinite(s.ms)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

function plan<T>(kind: FileKind, header: string, options: Record<string, string> = {}): ColumnPlan<T> {
  const planned = planColumns(kind, header.split(','), { nowMs: NOW, ...options });
  if (!planned.ok) throw new Error(planned.problem);
  return planned.plan as unknown as ColumnPlan<T>;
}

// Values of every kind a field might hold in a broken file: good ones, empty, wrong types, huge, negative,
// non-finite, invalid UTF-8 (decoded as U+FFFD), NUL, markers.
const anyValue = fc.oneof(
  fc.constantFrom('', ' ', '0', '1', '50', '100', '100.0001', '-1', '1e308', '1e400', 'NaN', 'Infinity', '0x10', '１２', '1,5', '12 %', '[N/A]',
    '99999999999999999999', '1000000000000', '1000000000001', '2026-11-20T10:00:00Z', '1763633700', 'acme', 'Acme', 'GPU-1', 'H100', 'NVIDIA', '\uFFFD', 'a\u0000b'),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer().map(String),
  fc.double().map(String),
);

/** Per column, a good value half the time: accepted rows happen often enough to check what they hold. */
const column = (...good: string[]) => fc.oneof(fc.constantFrom(...good), anyValue);
const goodTs = column('2026-11-20T10:00:00Z', '1763633700', '2026-11-20T10:00:00.5-03:00');
const goodNumber = column('0', '7', '100', '12.5', '');

describe('formats', () => {
  it('property: a sample value is the number Number() reads from the text, or refused with the same reason', () => {
    const p = plan<ParsedSample>('gpu-samples', 'timestamp,gpu_uuid,gpu_type,customer,utilization_pct,memory_used_mib');
    // Plain decimals of up to 17 digits (the read without a regular expression takes up to 15), and near misses.
    const digits = (max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: max });
    const text = fc.oneof(
      fc.tuple(digits(9), fc.option(digits(9))).map(([a, b]) => (b === null ? a : `${a}.${b}`)),
      fc.tuple(fc.constantFrom('', ' ', '+', '-', '.'), digits(4), fc.constantFrom('', '.', ' ', 'e2', '.5', '..1')).map((t) => t.join('')),
      fc.double({ min: 0, max: 1e9, noNaN: true }).map(String),
    );
    fc.assert(
      fc.property(text, text, (util, memory) => {
        const r = parseRecord(p, { raw: '', fields: ['2026-11-20T10:00:00Z', 'GPU-1', 'H100', 'acme', util, memory] });
        const u = Number(util.trim());
        const m = Number(memory.trim());
        const utilOk = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(util.trim()) && u >= 0 && u <= 100;
        const memoryOk = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(memory.trim()) && m >= 0 && m <= 1e9;
        if (!utilOk) expect(r).toMatchObject({ ok: false, field: 'utilization_pct' });
        else if (!memoryOk) expect(r).toMatchObject({ ok: false, field: 'memory_used_mib' });
        else expect(r).toMatchObject({ ok: true, row: { utilizationPct: u, memoryUsedMib: m } });
      }),
      { numRuns: 5000 },
    );
  });

  it('property: gpu-samples rows accepted are valid; everything else is named by field', () => {
    const p = plan<ParsedSample>('gpu-samples', 'timestamp,gpu_uuid,gpu_type,customer,utilization_pct,memory_used_mib,power_w,hostname');
    fc.assert(
      fc.property(
        fc.oneof(fc.tuple(goodTs, column('GPU-1'), column('H100', 'NVIDIA L4'), column('acme'), goodNumber, goodNumber, goodNumber, column('node-1', '')), fc.array(anyValue, { maxLength: 10 })),
        (fields) => {
        const r = parseRecord(p, { raw: fields.join(','), fields });
        if (!r.ok) {
          expect(typeof r.reason).toBe('string');
          return;
        }
        const row = r.row;
        expect(fields).toHaveLength(8);
        expect(row.utilizationPct).toBeGreaterThanOrEqual(0);
        expect(row.utilizationPct).toBeLessThanOrEqual(100);
        expect(SLUG_PATTERN.test(row.customer ?? '')).toBe(true);
        for (const text of [row.gpuUuid, row.gpuType, row.hostname ?? 'x']) expect(text.includes('\u0000') || text.includes('\uFFFD')).toBe(false);
        if (row.memoryUsedMib !== null) expect(Number.isFinite(row.memoryUsedMib)).toBe(true);
        expect(Number.isFinite(row.ts)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: the byte reader of gpu-samples lines gives parse()’s row, or leaves the line to it', () => {
    const header = 'timestamp,gpu_uuid,gpu_type,customer,utilization_pct,memory_used_mib,power_w,hostname';
    const fast = plan<ParsedSample>('gpu-samples', header);
    const general = plan<ParsedSample>('gpu-samples', header);
    // Near misses of every field the reader reads from bytes: times with fractions, offsets, impossible dates
    // and the edges of the accepted range; decimals with spaces, signs, exponents and 15–17 digits.
    // Mostly good values (so that many lines are the reader's to take), a near miss one time in eight (a
    // tab or CR around a field one time in forty).
    const often = <T,>(good: fc.Arbitrary<T>, miss: fc.Arbitrary<T>, weight = 7) => fc.oneof({ arbitrary: good, weight }, { arbitrary: miss, weight: 1 });
    const padded = (values: fc.Arbitrary<string>) =>
      fc.tuple(often(fc.constantFrom('', '', ' '), fc.constant('\t'), 40), values, often(fc.constantFrom('', '', ' '), fc.constantFrom('\t', '\r'), 40)).map((t) => t.join(''));
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const time = often(
      fc.oneof(
        fc.integer({ min: Date.UTC(1999, 11, 31), max: NOW + 2 * 86_400_000 }).map((ms) => new Date(ms).toISOString()),
        fc.tuple(fc.integer({ min: Date.UTC(2025, 0, 1), max: NOW }), digits(0, 11)).map(([ms, frac]) => `${new Date(ms).toISOString().slice(0, 19)}${frac === '' ? '' : `.${frac}`}Z`),
      ),
      fc.constantFrom('2026-02-30T10:00:00Z', '2026-11-20T24:00:00Z', '2026-11-20T10:00:60Z', '2026-11-20T10:00:00z', '2026-11-20 10:00:00Z',
        '2026-11-20T10:00:00+00:00', '2026-11-20T10:00Z', '2026-11-20T10:00:00.Z', '1763633700', '2026-11-2OT10:00:00Z'),
    );
    const decimal = often(
      fc.tuple(digits(1, 2), fc.option(digits(0, 13))).map(([a, b]) => (b === null ? a : `${a}.${b}`)),
      fc.oneof(
        fc.tuple(digits(1, 17), fc.option(digits(0, 17))).map(([a, b]) => (b === null ? a : `${a}.${b}`)),
        fc.constantFrom('', '100', '100.0', '100.1', '-0', '+5', '.5', '5.', '1e2', '0x10', '1000000000', '1000000000.5', '1000001'),
      ),
    );
    const miss = fc.oneof(fc.constantFrom('', 'x'.repeat(101), 'x'.repeat(201), 'a"b', 'é', 'nope type', 'Acme'), fc.string({ maxLength: 8 }));
    const named = (...good: string[]) => often(fc.constantFrom(...good), miss);
    let taken = 0;
    const runs = 20_000;
    fc.assert(
      fc.property(
        fc.tuple(padded(time), padded(named('GPU-1', 'gpu-2')), padded(named('H100', 'NVIDIA L4')), padded(named('acme', 'b-2')), padded(decimal), padded(decimal), padded(decimal), padded(named('node-1', '')), often(fc.constant(0), fc.constantFrom(1, -1))),
        ([ts, uuid, type, customer, util, memory, power, host, extra]) => {
          const fields = [ts, uuid, type, customer, util, memory, power, host];
          if (extra === 1) fields.push('x');
          if (extra === -1) fields.pop();
          const text = fields.join(',');
          const bytes = Buffer.from(`#${text}\n`, 'utf8');
          const row = fast.parseBytes!(bytes, 1, bytes.length - 1);
          const expected = parseRecord(general, { raw: text, fields: text.split(',') });
          if (row !== null) {
            taken++;
            expect(expected).toEqual({ ok: true, row });
          }
        },
      ),
      { numRuns: runs },
    );
    // Not a bystander: a good share of the lines were the reader's.
    expect(taken).toBeGreaterThan(runs / 20);
    // And the lines machines write are read from their bytes (the reader is the path, not a bystander).
    for (const text of ['2026-11-20T10:00:00Z,GPU-1,H100,acme,12.5,100,33.09,node-1', '2026-11-20T10:00:00.123Z, GPU-1 ,H100,acme,0,,,']) {
      const bytes = Buffer.from(text);
      expect(fast.parseBytes!(bytes, 0, bytes.length)).toEqual((parseRecord(general, { raw: text, fields: text.split(',') }) as { row: ParsedSample }).row);
    }
  });

  it('property: token-usage rows accepted keep cached + cache-write ≤ input and counts ≤ 10^12', () => {
    const p = plan<ParsedUsage>('token-usage', 'timestamp,customer,model,input_tokens,cached_input_tokens,cache_write_input_tokens,output_tokens,requests');
    fc.assert(
      fc.property(fc.tuple(goodTs, column('acme'), column('llama'), goodNumber, goodNumber, goodNumber, goodNumber, goodNumber), (fields) => {
        const r = parseRecord(p, { raw: fields.join(','), fields });
        if (!r.ok) {
          expect(r.reason.length).toBeGreaterThan(0);
          return;
        }
        const u = r.row;
        for (const n of [u.inputTokens, u.cachedInputTokens, u.cacheWriteInputTokens, u.outputTokens, u.requests]) {
          expect(Number.isSafeInteger(n) && n >= 0 && n <= MAX_TOKENS_PER_ROW).toBe(true);
        }
        expect(u.cachedInputTokens + u.cacheWriteInputTokens).toBeLessThanOrEqual(u.inputTokens);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: nvidia-smi rows accepted have a reading; units must match', () => {
    const p = plan<ParsedSample>('nvidia-smi', 'timestamp, name, uuid, utilization.gpu [%], memory.used [MiB], power.draw [W]');
    expect(parseRecord(p, { raw: '', fields: ['2026/11/20 10:00:00.000', 'NVIDIA H100 80GB HBM3', 'GPU-1', '86 %', '17902 MiB', '33.09 W'] })).toEqual({
      ok: true,
      row: { ts: Date.UTC(2026, 10, 20, 10), gpuUuid: 'GPU-1', gpuType: 'NVIDIA H100 80GB HBM3', customer: null, utilizationPct: 86, memoryUsedMib: 17902, powerW: 33.09, hostname: null },
    });
    expect(parseRecord(p, { raw: '', fields: ['2026/11/20 10:00:00.000', 'H100', 'GPU-1', '86 W', '', ''] })).toEqual({ ok: false, field: 'utilization.gpu', reason: '"86 W": expected a value in %' });
    fc.assert(
      fc.property(fc.tuple(column('2026/11/20 10:00:00.000'), column('H100'), column('GPU-1'), column('86 %', '0', '[N/A]'), column('1 MiB', '[N/A]'), column('1.5 W', '')), (fields) => {
        const r = parseRecord(p, { raw: fields.join(', '), fields });
        if (r.ok) {
          expect(r.row.utilizationPct).toBeGreaterThanOrEqual(0);
          expect(r.row.utilizationPct).toBeLessThanOrEqual(100);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
