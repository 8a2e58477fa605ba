// The three file kinds of DESIGN.md ("Files users bring"): which columns each needs, and how one record becomes
// a parsed row or a reason naming the field. Pure: ids, customers by assignment and GPU types are resolved by
// the import service afterwards.
import { SLUG_PATTERN } from '../customers.js';
import { normalizeGpuType } from '../gpu-types.js';
import { MAX_MEMORY_MIB, MAX_POWER_W, MAX_TEXT_LENGTH, MAX_TOKENS_PER_ROW, textProblem } from './rows.js';
import { EARLIEST_MS, FUTURE_SLACK_MS, parseSmiTimestamp, parseTimestamp, utcFields } from './timestamps.js';

import type { FileKind } from './kinds.js';

export { FILE_KINDS, type FileKind } from './kinds.js';

export interface FormatOptions {
  /** Overrides the customer column (which then need not exist). */
  customer?: string;
  /** nvidia-smi: the zone of its timestamps (IANA), default UTC. */
  tz?: string;
  /** nvidia-smi: the GPU when the log has no uuid column (or the value is missing). */
  gpuUuid?: string;
  /** nvidia-smi: the GPU type when the log has no name column (or the value is missing). */
  gpuType?: string;
  /** "Now" for refusing times more than a day ahead (the domain has no clock). */
  nowMs: number;
}

export interface ParsedSample {
  ts: number;
  gpuUuid: string;
  /** The vendor or normalised name, as given: the service resolves it to a type. */
  gpuType: string;
  /** Null: from the GPU's assignment at ts. */
  customer: string | null;
  utilizationPct: number;
  memoryUsedMib: number | null;
  powerW: number | null;
  hostname: string | null;
}

export interface ParsedUsage {
  ts: number;
  customer: string;
  model: string;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  requests: number;
}

export type RecordResult<T> = { ok: true; row: T } | { ok: false; field: string | null; reason: string };

export interface ColumnPlan<T> {
  kind: FileKind;
  /** Fields a record must have (the header's). */
  width: number;
  /** Splits records on this (nvidia-smi: ", " read as "," with values trimmed). */
  delimiter: string;
  parse(fields: string[]): RecordResult<T>;
  /**
   * A fast path for the common line, read from the file's bytes without a string per field: the row parse()
   * would give, or null for any line it does not take (then parse() reads the line and names its problem).
   */
  parseBytes?(line: Buffer, start: number, end: number): T | null;
}

export type PlanResult = { ok: true; plan: ColumnPlan<ParsedSample> | ColumnPlan<ParsedUsage> } | { ok: false; problem: string };

const bad = (field: string | null, reason: string) => ({ ok: false as const, field, reason });
const shown = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** A header name made comparable: trimmed, lower-case, without nvidia-smi's unit (`utilization.gpu [%]`). */
export function headerKey(name: string): string {
  return name.trim().toLowerCase().replace(/\s*\[[^\]]*\]$/, '');
}

/** Header names shown in a message: printable, short. */
function foundList(header: string[]): string {
  const names = header.slice(0, 20).map((h) => {
    // eslint-disable-next-line no-control-regex
    const clean = h.trim().replace(/[\u0000-\u001f\u007f\uFFFD]/g, '?');
    return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
  });
  return names.join(', ') + (header.length > 20 ? `, … (${header.length} columns)` : '');
}

function indexColumns(header: string[]): Map<string, number> | string {
  const index = new Map<string, number>();
  for (let i = 0; i < header.length; i++) {
    const key = headerKey(header[i]);
    if (key === '') continue;
    if (index.has(key)) return `column ${key} appears twice`;
    index.set(key, i);
  }
  return index;
}

function missingProblem(missing: string[], header: string[]): string {
  return `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${foundList(header) || 'nothing'})`;
}

const CUSTOMER_HINT = 'a customer slug (lower-case letters, digits and dashes)';

function checkSlug(value: string): string | null {
  if (value === '') return 'is empty';
  if (!SLUG_PATTERN.test(value) || value.length > 100) return `${shown(value)} is not ${CUSTOMER_HINT}`;
  return null;
}

const COUNT = /^\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function count(text: string, field: string, dflt: number | null): RecordResult<number> {
  const t = text.trim();
  if (t === '') return dflt === null ? bad(field, 'is empty') : { ok: true, row: dflt };
  if (!COUNT.test(t)) return bad(field, `${shown(t)} is not a whole number`);
  const n = t.length > 16 ? Number.POSITIVE_INFINITY : Number(t);
  if (n > MAX_TOKENS_PER_ROW) return bad(field, `${shown(t)} is larger than ${MAX_TOKENS_PER_ROW} (10^12)`);
  return { ok: true, row: n };
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * `digits[.digits]` at bytes [start, end) of a line, with at most 15 digits in all, read without a regular
 * expression or a string: the digits as a whole number m < 10^15 (exact in a double) divided by 10^k (exact
 * too, k ≤ 15) is one correctly rounded division, i.e. exactly Number(text). NaN for anything else (signs,
 * exponents, spaces, more digits): the line is then read by parse(), whose decimal() takes the general way.
 */
function plainDecimalBytes(b: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n === 0 || n > 16) return NaN;
  let m = 0;
  let digits = 0;
  let point = -1;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
    } else if (c === 46 && point === -1 && i > start && i < end - 1) point = i;
    else return NaN;
  }
  if (digits > 15) return NaN;
  return point === -1 ? m : m / POW10[end - 1 - point];
}

/** A decimal within [min, max], or the reason it is not (a string). */
function decimal(text: string, min: number, max: number, unit: string): number | string {
  const t = text.trim();
  if (!DECIMAL.test(t)) return `${shown(t)} is not a number`;
  const n = Number(t);
  if (!(n >= min && n <= max)) return `${t} is outside ${min}–${max}${unit}`;
  return n;
}

/** parseTimestamp remembering its last answer: consecutive rows often carry the same time. */
function lastTime(nowMs: number): (text: string) => ReturnType<typeof parseTimestamp> {
  let text = '';
  let result = parseTimestamp('', nowMs);
  return (t) => {
    if (t !== text) {
      text = t;
      result = parseTimestamp(t, nowMs);
    }
    return result;
  };
}

/** Column plan of a token-usage file: timestamp,customer,model,input_tokens,output_tokens[,cached_input_tokens,cache_write_input_tokens,requests]. */
function tokenUsagePlan(header: string[], options: FormatOptions): PlanResult {
  const index = indexColumns(header);
  if (typeof index === 'string') return { ok: false, problem: index };
  const required = ['timestamp', ...(options.customer ? [] : ['customer']), 'model', 'input_tokens', 'output_tokens'];
  const missing = required.filter((c) => !index.has(c));
  if (missing.length) return { ok: false, problem: missingProblem(missing, header) };
  const at = (name: string) => index.get(name) ?? -1;
  const [iTs, iCustomer, iModel, iIn, iOut, iCached, iWrite, iReq] = [
    'timestamp', 'customer', 'model', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_input_tokens', 'requests',
  ].map(at);
  const fixedCustomer = options.customer;
  const plan: ColumnPlan<ParsedUsage> = {
    kind: 'token-usage',
    width: header.length,
    delimiter: ',',
    parse(f) {
      const ts = parseTimestamp(f[iTs].trim(), options.nowMs);
      if (!ts.ok) return bad('timestamp', ts.reason);
      const customer = fixedCustomer ?? f[iCustomer].trim();
      const slug = checkSlug(customer);
      if (slug) return bad('customer', slug);
      const model = f[iModel].trim();
      const modelProblem = textProblem(model);
      if (modelProblem) return bad('model', modelProblem);
      const input = count(f[iIn], 'input_tokens', null);
      if (!input.ok) return input;
      const output = count(f[iOut], 'output_tokens', null);
      if (!output.ok) return output;
      const cached = iCached >= 0 ? count(f[iCached], 'cached_input_tokens', 0) : { ok: true as const, row: 0 };
      if (!cached.ok) return cached;
      const write = iWrite >= 0 ? count(f[iWrite], 'cache_write_input_tokens', 0) : { ok: true as const, row: 0 };
      if (!write.ok) return write;
      const requests = iReq >= 0 ? count(f[iReq], 'requests', 1) : { ok: true as const, row: 1 };
      if (!requests.ok) return requests;
      if (cached.row + write.row > input.row) {
        return bad('cached_input_tokens', `cached_input_tokens + cache_write_input_tokens exceeds input_tokens (${cached.row} + ${write.row} > ${input.row})`);
      }
      return {
        ok: true,
        row: {
          ts: ts.ms, customer, model, inputTokens: input.row, cachedInputTokens: cached.row, cacheWriteInputTokens: write.row,
          outputTokens: output.row, requests: requests.row,
        },
      };
    },
  };
  return { ok: true, plan };
}

function gpuTypeProblem(name: string): string | null {
  const text = textProblem(name);
  if (text) return text;
  return normalizeGpuType(name) === '' ? `${shown(name)} does not name a GPU type` : null;
}

/** A check that remembers the values it passed (up to 10,000): the same few values are checked once. */
function remembered(problem: (value: string) => string | null): (value: string) => string | null {
  const passed = new Set<string>();
  return (value) => {
    if (passed.has(value)) return null;
    const reason = problem(value);
    if (reason === null && passed.size < 10_000) passed.add(value);
    return reason;
  };
}

/** Column plan of a gpu-samples file: timestamp,gpu_uuid,gpu_type,customer,utilization_pct[,memory_used_mib,power_w,hostname]. */
function gpuSamplesPlan(header: string[], options: FormatOptions): PlanResult {
  const index = indexColumns(header);
  if (typeof index === 'string') return { ok: false, problem: index };
  const required = ['timestamp', 'gpu_uuid', 'gpu_type', ...(options.customer ? [] : ['customer']), 'utilization_pct'];
  const missing = required.filter((c) => !index.has(c));
  if (missing.length) return { ok: false, problem: missingProblem(missing, header) };
  const at = (name: string) => index.get(name) ?? -1;
  const [iTs, iUuid, iType, iCustomer, iUtil, iMem, iPower, iHost] = [
    'timestamp', 'gpu_uuid', 'gpu_type', 'customer', 'utilization_pct', 'memory_used_mib', 'power_w', 'hostname',
  ].map(at);
  const fixedCustomer = options.customer;
  // Values seen before: a file names a handful of types and customers thousands of times, and a scrape
  // writes one time for every GPU.
  const knownTypeProblem = remembered(gpuTypeProblem);
  const knownCustomerProblem = remembered(checkSlug);
  const time = lastTime(options.nowMs);
  const width = header.length;
  /** [start, end) of each field of the line parseBytes is reading. */
  const bounds = new Int32Array(2 * width);
  /** Field i as text (printable ASCII: one byte a character), or null when empty or longer than max. */
  const text = (b: Buffer, i: number, max: number): string | null => {
    const s0 = bounds[2 * i];
    const e0 = bounds[2 * i + 1];
    return e0 > s0 && e0 - s0 <= max ? b.toString('latin1', s0, e0) : null;
  };
  const isoTime = lastIsoTime();
  const plan: ColumnPlan<ParsedSample> = {
    kind: 'gpu-samples',
    width,
    delimiter: ',',
    parse(f) {
      const ts = time(f[iTs].trim());
      if (!ts.ok) return bad('timestamp', ts.reason);
      const gpuUuid = f[iUuid].trim();
      const uuidProblem = textProblem(gpuUuid);
      if (uuidProblem) return bad('gpu_uuid', uuidProblem);
      const gpuType = f[iType].trim();
      const typeProblem = knownTypeProblem(gpuType);
      if (typeProblem) return bad('gpu_type', typeProblem);
      const customer = fixedCustomer ?? f[iCustomer].trim();
      const slug = knownCustomerProblem(customer);
      if (slug) return bad('customer', slug);
      const util = decimal(f[iUtil], 0, 100, '');
      if (typeof util === 'string') return bad('utilization_pct', util);
      let memory: number | null = null;
      if (iMem >= 0 && f[iMem].trim() !== '') {
        const m = decimal(f[iMem], 0, MAX_MEMORY_MIB, ' MiB');
        if (typeof m === 'string') return bad('memory_used_mib', m);
        memory = m;
      }
      let power: number | null = null;
      if (iPower >= 0 && f[iPower].trim() !== '') {
        const p = decimal(f[iPower], 0, MAX_POWER_W, ' W');
        if (typeof p === 'string') return bad('power_w', p);
        power = p;
      }
      let hostname: string | null = null;
      if (iHost >= 0 && f[iHost].trim() !== '') {
        hostname = f[iHost].trim();
        const hostProblem = textProblem(hostname, 255);
        if (hostProblem) return bad('hostname', hostProblem);
      }
      return { ok: true, row: { ts: ts.ms, gpuUuid, gpuType, customer, utilizationPct: util, memoryUsedMib: memory, powerW: power, hostname } };
    },
    parseBytes(b, start, end) {
      // Fields located by their commas, each trimmed of spaces: a line of printable ASCII only (no quote, no
      // tab, no control character, no byte of a UTF-8 sequence), with the header's number of fields.
      let k = 0;
      let from = start;
      for (let i = start; i <= end; i++) {
        const c = i < end ? b[i] : 44;
        if (c === 44) {
          if (k === width) return null;
          let s0 = from;
          let e0 = i;
          while (s0 < e0 && b[s0] === 32) s0++;
          while (e0 > s0 && b[e0 - 1] === 32) e0--;
          bounds[2 * k] = s0;
          bounds[2 * k + 1] = e0;
          k++;
          from = i + 1;
        } else if (c < 32 || c > 126 || c === 34) return null;
      }
      if (k !== width) return null;
      const ms = isoTime(b, bounds[2 * iTs], bounds[2 * iTs + 1]);
      if (!(ms >= EARLIEST_MS && ms <= options.nowMs + FUTURE_SLACK_MS)) return null;
      const gpuUuid = text(b, iUuid, MAX_TEXT_LENGTH);
      if (gpuUuid === null) return null;
      const gpuType = text(b, iType, MAX_TEXT_LENGTH);
      if (gpuType === null || knownTypeProblem(gpuType)) return null;
      let customer = fixedCustomer;
      if (customer === undefined) {
        const c = text(b, iCustomer, 100);
        if (c === null || knownCustomerProblem(c)) return null;
        customer = c;
      }
      const util = plainDecimalBytes(b, bounds[2 * iUtil], bounds[2 * iUtil + 1]);
      if (!(util >= 0 && util <= 100)) return null;
      let memory: number | null = null;
      if (iMem >= 0 && bounds[2 * iMem] < bounds[2 * iMem + 1]) {
        memory = plainDecimalBytes(b, bounds[2 * iMem], bounds[2 * iMem + 1]);
        if (!(memory >= 0 && memory <= MAX_MEMORY_MIB)) return null;
      }
      let power: number | null = null;
      if (iPower >= 0 && bounds[2 * iPower] < bounds[2 * iPower + 1]) {
        power = plainDecimalBytes(b, bounds[2 * iPower], bounds[2 * iPower + 1]);
        if (!(power >= 0 && power <= MAX_POWER_W)) return null;
      }
      let hostname: string | null = null;
      if (iHost >= 0 && bounds[2 * iHost] < bounds[2 * iHost + 1]) {
        hostname = text(b, iHost, 255);
        if (hostname === null) return null;
      }
      return { ts: ms, gpuUuid, gpuType, customer, utilizationPct: util, memoryUsedMib: memory, powerW: power, hostname };
    },
  };
  return { ok: true, plan };
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` read from bytes, as parseTimestamp reads it (epoch ms, NaN for a field
 * out of range or any other shape: the general path then answers), remembering the last one: a scrape writes
 * one time for every GPU.
 */
function lastIsoTime(): (b: Buffer, start: number, end: number) => number {
  const last = Buffer.alloc(40);
  let lastLength = -1;
  let lastMs = NaN;
  const digits = (b: Buffer, at: number, n: number): number => {
    let v = 0;
    for (let i = at; i < at + n; i++) {
      const c = b[i] - 48;
      if (c < 0 || c > 9) return NaN;
      v = v * 10 + c;
    }
    return v;
  };
  return (b, start, end) => {
    const n = end - start;
    if (n === lastLength) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (b[start + i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return lastMs;
    }
    // 20 characters without a fraction; with one, a point and 1–9 digits.
    if (n < 20 || n > 30 || n === 21 || b[end - 1] !== 90 /* Z */) return NaN;
    if (b[start + 4] !== 45 || b[start + 7] !== 45 || b[start + 10] !== 84 || b[start + 13] !== 58 || b[start + 16] !== 58) return NaN;
    let ms = 0;
    if (n > 20) {
      if (b[start + 19] !== 46) return NaN;
      const f = digits(b, start + 20, n - 21);
      if (Number.isNaN(f)) return NaN;
      ms = digits(b, start + 20, Math.min(3, n - 21)) * POW10[3 - Math.min(3, n - 21)];
    }
    const t = utcFields(digits(b, start, 4), digits(b, start + 5, 2), digits(b, start + 8, 2), digits(b, start + 11, 2), digits(b, start + 14, 2), digits(b, start + 17, 2), ms);
    if (n <= last.length) {
      b.copy(last, 0, start, end);
      lastLength = n;
      lastMs = t;
    }
    return t;
  };
}

/** nvidia-smi's markers for a value it could not read. */
const SMI_MISSING = /^\[[^\]]*\]$|^N\/A$/i;

/** A nvidia-smi number with its optional unit (`86 %`, `17902 MiB`, `33.09 W`), or null when missing. */
function smiNumber(text: string, field: string, unit: string, max: number): RecordResult<number | null> {
  const t = text.trim();
  if (t === '' || SMI_MISSING.test(t)) return { ok: true, row: null };
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([A-Za-z%]+)?$/.exec(t);
  if (!m) return bad(field, `${shown(t)} is not a number`);
  if (m[2] !== undefined && m[2] !== unit) return bad(field, `${shown(t)}: expected a value in ${unit}`);
  const n = Number(m[1]);
  if (!(n >= 0 && n <= max)) return bad(field, `${m[1]} is outside 0–${max}${unit === '%' ? ' %' : ` ${unit}`}`);
  return { ok: true, row: n };
}

/**
 * Column plan of `nvidia-smi --query-gpu=… --format=csv[,nounits]`. Needs the header (with `noheader` the
 * columns cannot be known: refused with a hint). Missing uuid/name come from --gpu-uuid/--gpu-type.
 */
function nvidiaSmiPlan(header: string[], options: FormatOptions): PlanResult {
  const index = indexColumns(header.map((h) => h.trim()));
  if (typeof index === 'string') return { ok: false, problem: index };
  const alias = (...names: string[]) => names.map((n) => index.get(n)).find((i) => i !== undefined) ?? -1;
  const iTs = alias('timestamp');
  const iUtil = alias('utilization.gpu');
  const iUuid = alias('uuid', 'gpu_uuid');
  const iName = alias('name', 'gpu_name');
  const iMem = alias('memory.used');
  const iPower = alias('power.draw', 'power.draw.instant', 'power.draw.average');
  const missing: string[] = [];
  if (iTs < 0) missing.push('timestamp');
  if (iUtil < 0) missing.push('utilization.gpu');
  if (iUuid < 0 && !options.gpuUuid) missing.push('uuid (or --gpu-uuid)');
  if (iName < 0 && !options.gpuType) missing.push('name (or --gpu-type)');
  if (missing.length) {
    const looksHeaderless = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}/.test(header[0]?.trim() ?? '');
    const hint = looksHeaderless ? '; the first line is data: run nvidia-smi without `noheader`, or add its header line' : '';
    return { ok: false, problem: missingProblem(missing, header) + hint };
  }
  const zone = options.tz ?? 'UTC';
  const plan: ColumnPlan<ParsedSample> = {
    kind: 'nvidia-smi',
    width: header.length,
    delimiter: ',',
    parse(f) {
      const rawTs = f[iTs].trim();
      const ts = parseSmiTimestamp(rawTs, zone, options.nowMs);
      if (!ts.ok) return bad('timestamp', ts.reason);
      let gpuUuid = iUuid >= 0 ? f[iUuid].trim() : '';
      if (gpuUuid === '' || SMI_MISSING.test(gpuUuid)) gpuUuid = options.gpuUuid ?? '';
      if (gpuUuid === '') return bad('uuid', 'is missing (give --gpu-uuid)');
      const uuidProblem = textProblem(gpuUuid);
      if (uuidProblem) return bad('uuid', uuidProblem);
      let gpuType = iName >= 0 ? f[iName].trim() : '';
      if (gpuType === '' || SMI_MISSING.test(gpuType)) gpuType = options.gpuType ?? '';
      if (gpuType === '') return bad('name', 'is missing (give --gpu-type)');
      const typeProblem = gpuTypeProblem(gpuType);
      if (typeProblem) return bad('name', typeProblem);
      const util = smiNumber(f[iUtil], 'utilization.gpu', '%', 100);
      if (!util.ok) return util;
      if (util.row === null) return bad('utilization.gpu', `${shown(f[iUtil].trim())} is not a reading`);
      const memory = iMem >= 0 ? smiNumber(f[iMem], 'memory.used', 'MiB', MAX_MEMORY_MIB) : { ok: true as const, row: null };
      if (!memory.ok) return memory;
      const power = iPower >= 0 ? smiNumber(f[iPower], 'power.draw', 'W', MAX_POWER_W) : { ok: true as const, row: null };
      if (!power.ok) return power;
      return {
        ok: true,
        row: { ts: ts.ms, gpuUuid, gpuType, customer: options.customer ?? null, utilizationPct: util.row, memoryUsedMib: memory.row, powerW: power.row, hostname: null },
      };
    },
  };
  return { ok: true, plan };
}

/** The column plan of a file from its header row, or the one-line problem that refuses the whole file. */
export function planColumns(kind: FileKind, header: string[], options: FormatOptions): PlanResult {
  if (kind === 'token-usage') return tokenUsagePlan(header, options);
  if (kind === 'gpu-samples') return gpuSamplesPlan(header, options);
  return nvidiaSmiPlan(header, options);
}

/** Parses one record against a plan: wrong width, invalid UTF-8 and each field's problem are named. */
export function parseRecord<T>(plan: ColumnPlan<T>, record: { raw: string; fields: string[] | null; error?: string }): RecordResult<T> {
  if (record.fields === null) return bad(null, record.error ?? 'not valid CSV');
  if (record.raw.includes('\uFFFD')) return bad(null, 'the line is not valid UTF-8');
  if (record.fields.length !== plan.width) {
    return bad(null, `expected ${plan.width} fields (as in the header), found ${record.fields.length}`);
  }
  return plan.parse(record.fields);
}
