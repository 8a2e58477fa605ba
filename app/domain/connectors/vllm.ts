// vLLM's Prometheus counters → hourly token usage per customer and model.
import type { RejectedRow } from '../ingest/rows.js';
import { customerFor } from './customers.js';
import { pointValue, VLLM_COUNTERS, type PromSeries } from './prometheus.js';
import type { CustomerMapping } from './source-config.js';

const HOUR_MS = 3_600_000;

export interface PulledTokenRow {
  recordKey: string;
  /** The start of the hour (or of the API's bucket). */
  ts: Date;
  customerSlug: string;
  model: string;
  /** Includes cached and cache-write tokens (DESIGN.md). */
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  requests: number;
  raw: string;
}

export interface VllmOptions {
  /** The source's name: part of each record key, so that two sources never replace each other's rows. */
  sourceName: string;
  customerLabel: string;
  mapping: CustomerMapping;
}

type Counter = keyof typeof VLLM_COUNTERS;
const counterOf = new Map<string, Counter>(Object.entries(VLLM_COUNTERS).map(([k, v]) => [v, k as Counter]));

/**
 * Σ of the increases of one counter series, per UTC hour: between consecutive points,
 * increase = v − v_prev, or v when v < v_prev (a reset: the process restarted and counted v since).
 * The increase over (t_prev, t] belongs to the hour holding t − 1 ms, so with points on a grid that starts
 * on an hour, each hour gets exactly the increases up to its end. The first point is only the baseline.
 * Non-finite values are skipped (the next point is compared with the last finite one).
 */
export function hourlyIncreases(points: readonly [number, string][]): Map<number, number> {
  const byHour = new Map<number, number>();
  let prev: number | undefined;
  for (const [ts, text] of points) {
    const v = pointValue(text);
    if (!Number.isFinite(v) || v < 0) continue;
    if (prev !== undefined) {
      const increase = v >= prev ? v - prev : v;
      if (increase > 0) {
        const hour = Math.floor((ts - 1) / HOUR_MS) * HOUR_MS;
        byHour.set(hour, (byHour.get(hour) ?? 0) + increase);
      }
    }
    prev = v;
  }
  return byHour;
}

/**
 * Hourly token rows of one window of vLLM counters: input = Σ prompt-token increases, cached = Σ prefix-cache
 * hits (clamped to input: the counters are scraped at slightly different moments), output = Σ generation
 * tokens, requests = Σ finished requests (every finish reason), summed over the series (engines, pods) of
 * the same customer and model. Record key `vllm:<source>:<hour>:<customer>:<model>`, stored with replace: a
 * re-pulled hour (more complete) replaces the earlier one. Hours with no increase at all give no row.
 */
export function vllmTokenRows(series: readonly PromSeries[], options: VllmOptions): { rows: PulledTokenRow[]; rejected: RejectedRow[] } {
  const rejected: RejectedRow[] = [];
  const sums = new Map<string, { slug: string; model: string; hour: number; totals: Record<Counter, number>; series: number }>();
  for (const s of series) {
    const counter = counterOf.get(s.labels.__name__ ?? '');
    if (!counter) continue;
    const raw = JSON.stringify({ metric: s.labels, points: s.points.length });
    const model = s.labels.model_name;
    if (!model) {
      rejected.push({ line: 0, field: 'model', reason: `${s.labels.__name__} series without a model_name label`, raw });
      continue;
    }
    const customer = customerFor(s.labels[options.customerLabel], options.mapping, true);
    if (customer.kind !== 'slug') {
      const reason =
        customer.kind === 'invalid'
          ? `${options.customerLabel}: ${customer.reason}`
          : `series without a ${options.customerLabel} label and no default_customer configured`;
      rejected.push({ line: 0, field: 'customer', reason, raw });
      continue;
    }
    for (const [hour, increase] of hourlyIncreases(s.points)) {
      const key = `${customer.slug}\u0000${model}\u0000${hour}`;
      let sum = sums.get(key);
      if (!sum) sums.set(key, (sum = { slug: customer.slug, model, hour, totals: { prompt: 0, generation: 0, cached: 0, requests: 0 }, series: 0 }));
      sum.totals[counter] += increase;
      sum.series += 1;
    }
  }
  const rows: PulledTokenRow[] = [];
  for (const { slug, model, hour, totals } of sums.values()) {
    const inputTokens = Math.round(totals.prompt);
    const row = {
      recordKey: `vllm:${options.sourceName}:${new Date(hour).toISOString()}:${slug}:${model}`,
      ts: new Date(hour),
      customerSlug: slug,
      model,
      inputTokens,
      cachedInputTokens: Math.min(inputTokens, Math.round(totals.cached)),
      cacheWriteInputTokens: 0,
      outputTokens: Math.round(totals.generation),
      requests: Math.round(totals.requests),
    };
    rows.push({ ...row, raw: JSON.stringify({ ...row, ts: row.ts.toISOString() }) });
  }
  rows.sort((a, b) => a.ts.getTime() - b.ts.getTime() || a.recordKey.localeCompare(b.recordKey));
  return { rows, rejected };
}
