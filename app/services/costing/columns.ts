// Hourly rollups as columns of typed arrays (what db/queries/demand-inputs.ts loads): a customer's rows are a
// few flat buffers, not thousands of objects. The engine's hourlySeries takes row objects; they are made here,
// for one customer at a time, and dropped as soon as its series is built.
import type { TelemetryHourRow, TokenHourRow } from '../../domain/demand.js';

const HOUR_MS = 3_600_000;

/** Token counts: 32-bit while every count fits, 64-bit floats (exact to 2^53) once one does not. */
export type CountArray = Uint32Array | Float64Array;

/**
 * Hourly GPU telemetry of one customer and GPU type: its rows are rows[0 … length−1], indexes into the columns
 * (which hold every customer's rows, shared).
 */
export interface TelemetryColumns {
  length: number;
  rows: Int32Array;
  /** Hours since the Unix epoch (epoch ms / 3 600 000). */
  epoch_hour: Uint32Array;
  allocated_gpu_seconds: Float64Array;
  busy_gpu_seconds: Float64Array;
}

/** Hourly token usage of one customer: rows[0 … length−1] index the shared columns; `model[i]` indexes `models`. */
export interface TokenColumns {
  length: number;
  rows: Int32Array;
  models: readonly string[];
  /** Hours since the Unix epoch (epoch ms / 3 600 000). */
  epoch_hour: Uint32Array;
  model: Uint16Array;
  input_tokens: CountArray;
  cached_input_tokens: CountArray;
  cache_write_input_tokens: CountArray;
  output_tokens: CountArray;
  /** Σ requests over the rows (only totals are ever shown). */
  requests: number;
}

export type TelemetryRowMs = TelemetryHourRow & { hour: number };
export type TokenRowMs = TokenHourRow & { hour: number };

export function emptyTelemetry(): TelemetryColumns {
  return { length: 0, rows: new Int32Array(0), epoch_hour: new Uint32Array(0), allocated_gpu_seconds: new Float64Array(0), busy_gpu_seconds: new Float64Array(0) };
}

export function emptyTokens(): TokenColumns {
  const none = new Uint32Array(0);
  return {
    length: 0, rows: new Int32Array(0), models: [], epoch_hour: none, model: new Uint16Array(0), input_tokens: none, cached_input_tokens: none,
    cache_write_input_tokens: none, output_tokens: none, requests: 0,
  };
}

/** The rows with lo ≤ hour < hi, as objects. */
export function telemetryRows(c: TelemetryColumns, lo = -Infinity, hi = Infinity): TelemetryRowMs[] {
  const rows: TelemetryRowMs[] = [];
  for (let k = 0; k < c.length; k++) {
    const i = c.rows[k];
    const hour = c.epoch_hour[i] * HOUR_MS;
    if (hour >= lo && hour < hi) rows.push({ hour, allocated_gpu_seconds: c.allocated_gpu_seconds[i], busy_gpu_seconds: c.busy_gpu_seconds[i] });
  }
  return rows;
}

/** The rows with lo ≤ hour < hi, as objects. */
export function tokenRows(c: TokenColumns, lo = -Infinity, hi = Infinity): TokenRowMs[] {
  const rows: TokenRowMs[] = [];
  for (let k = 0; k < c.length; k++) {
    const i = c.rows[k];
    const hour = c.epoch_hour[i] * HOUR_MS;
    if (hour >= lo && hour < hi) {
      rows.push({
        hour,
        model: c.models[c.model[i]],
        input_tokens: c.input_tokens[i],
        cached_input_tokens: c.cached_input_tokens[i],
        cache_write_input_tokens: c.cache_write_input_tokens[i],
        output_tokens: c.output_tokens[i],
      });
    }
  }
  return rows;
}

/** The distinct models of a customer's token rows. */
export function modelsOf(c: TokenColumns): string[] {
  const seen = new Uint8Array(c.models.length);
  for (let k = 0; k < c.length; k++) seen[c.model[c.rows[k]]] = 1;
  return c.models.filter((_, k) => seen[k] === 1);
}
