// The rows ingestion stores, and the checks every row passes before it is written, whatever brought it
// (a file, a Prometheus pull, a usage API). A row failing a check is quarantined with the reason, never stored.

/** One GPU-utilization reading, resolved to ids. */
export interface SampleRow {
  customerId: number;
  gpuUuid: string;
  gpuTypeId: number;
  ts: Date;
  /** 0–100 %. */
  utilizationPct: number;
  memoryUsedMib: number | null;
  powerW: number | null;
  hostname: string | null;
  /** Where the row came from, for the quarantine: the file's line (1-based) and its raw text. Optional. */
  line?: number;
  raw?: string;
}

/** Token counts of one request or bucket. `inputTokens` includes cached-read and cache-write tokens. */
export interface TokenRow {
  customerId: number;
  /** Identifies the row at its origin, so storing it again changes nothing (`file:…`, `openai:…`). */
  recordKey: string;
  ts: Date;
  model: string;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  requests: number;
  line?: number;
  raw?: string;
}

/** A row that could not be stored. `line` 0 = no line (a pulled row): the quarantine numbers it after the run's last. */
export interface RejectedRow {
  line: number;
  field: string | null;
  reason: string;
  raw: string;
}

export interface RowProblem {
  field: string;
  reason: string;
}

/** Largest count one row may carry: far above any real bucket, and hourly sums stay exact in a double (< 2^53). */
export const MAX_TOKENS_PER_ROW = 1e12;
export const MAX_MEMORY_MIB = 1e9;
export const MAX_POWER_W = 1e6;
export const MAX_TEXT_LENGTH = 200;

// eslint-disable-next-line no-control-regex
const UNSTORABLE = /[\u0000-\u001f\u007f\uFFFD]/;

/** Why a text value cannot be stored (PostgreSQL text cannot hold NUL; invalid UTF-8 was decoded to U+FFFD), or null. */
export function textProblem(value: string, max = MAX_TEXT_LENGTH): string | null {
  if (value.length === 0) return 'is empty';
  if (value.length > max) return `is longer than ${max} characters`;
  // One scan for the common case (nothing wrong); the reason is worked out only when something is.
  if (!UNSTORABLE.test(value)) return null;
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (value.includes('\uFFFD')) return 'is not valid UTF-8';
  return 'contains a control character';
}

const validDate = (d: Date) => d instanceof Date && Number.isFinite(d.getTime());

/** The first reason a sample cannot be stored, or null. */
export function sampleRowProblem(row: SampleRow): RowProblem | null {
  if (!validDate(row.ts)) return { field: 'timestamp', reason: 'is not a valid time' };
  return sampleFieldsProblem(row);
}

/** sampleRowProblem without the time (checked by whoever holds it as a number). */
export function sampleFieldsProblem(row: Omit<SampleRow, 'ts'>): RowProblem | null {
  const uuid = textProblem(row.gpuUuid);
  if (uuid) return { field: 'gpu_uuid', reason: uuid };
  if (!(Number.isSafeInteger(row.customerId) && row.customerId > 0)) return { field: 'customer', reason: 'is not resolved' };
  if (!(Number.isSafeInteger(row.gpuTypeId) && row.gpuTypeId > 0)) return { field: 'gpu_type', reason: 'is not resolved' };
  if (!(typeof row.utilizationPct === 'number' && row.utilizationPct >= 0 && row.utilizationPct <= 100)) {
    return { field: 'utilization_pct', reason: `${row.utilizationPct} is outside 0–100` };
  }
  if (row.memoryUsedMib !== null && !(row.memoryUsedMib >= 0 && row.memoryUsedMib <= MAX_MEMORY_MIB)) {
    return { field: 'memory_used_mib', reason: `${row.memoryUsedMib} is outside 0–${MAX_MEMORY_MIB}` };
  }
  if (row.powerW !== null && !(row.powerW >= 0 && row.powerW <= MAX_POWER_W)) {
    return { field: 'power_w', reason: `${row.powerW} is outside 0–${MAX_POWER_W}` };
  }
  if (row.hostname !== null) {
    const host = textProblem(row.hostname, 255);
    if (host) return { field: 'hostname', reason: host };
  }
  return null;
}

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_TOKENS_PER_ROW;

/** The first reason a usage row cannot be stored, or null. */
export function tokenRowProblem(row: TokenRow): RowProblem | null {
  if (!validDate(row.ts)) return { field: 'timestamp', reason: 'is not a valid time' };
  if (!(Number.isSafeInteger(row.customerId) && row.customerId > 0)) return { field: 'customer', reason: 'is not resolved' };
  const key = textProblem(row.recordKey, 500);
  if (key) return { field: 'record_key', reason: key };
  const model = textProblem(row.model);
  if (model) return { field: 'model', reason: model };
  const counts: [string, number][] = [
    ['input_tokens', row.inputTokens],
    ['cached_input_tokens', row.cachedInputTokens],
    ['cache_write_input_tokens', row.cacheWriteInputTokens],
    ['output_tokens', row.outputTokens],
    ['requests', row.requests],
  ];
  for (const [field, n] of counts) {
    if (!isCount(n)) return { field, reason: `${n} is not a whole number between 0 and ${MAX_TOKENS_PER_ROW}` };
  }
  if (row.cachedInputTokens + row.cacheWriteInputTokens > row.inputTokens) {
    return { field: 'cached_input_tokens', reason: 'cached_input_tokens + cache_write_input_tokens exceeds input_tokens' };
  }
  return null;
}

/** Raw text as kept in the quarantine: NUL made visible, at most 4,000 characters. */
export function quarantineText(raw: string, max = 4_000): string {
  // eslint-disable-next-line no-control-regex
  const clean = raw.replace(/\u0000/g, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}… (${clean.length - max} more characters)` : clean;
}
