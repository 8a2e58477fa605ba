// The Prometheus HTTP API's query_range answer (a matrix), and the PromQL this product sends.
// https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries
import { z } from 'zod';

/** One series of a matrix: its labels and its points (epoch ms, the value as Prometheus wrote it). */
export interface PromSeries {
  labels: Record<string, string>;
  points: [number, string][];
}

const MatrixSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(
      z.object({
        metric: z.record(z.string()),
        values: z.array(z.tuple([z.number(), z.string()])),
      }),
    ),
  }),
});

const ErrorSchema = z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string().optional() });

export type MatrixParse = { ok: true; series: PromSeries[] } | { ok: false; error: string };

/** A query_range answer → its series, or why it is not a matrix (Prometheus's own error text when it gave one). */
export function parseMatrix(body: unknown): MatrixParse {
  const parsed = MatrixSchema.safeParse(body);
  if (parsed.success) {
    return {
      ok: true,
      // Prometheus gives seconds with millisecond decimals; rounding keeps them exact as ms.
      series: parsed.data.data.result.map((r) => ({ labels: r.metric, points: r.values.map(([t, v]) => [Math.round(t * 1_000), v]) })),
    };
  }
  const error = ErrorSchema.safeParse(body);
  if (error.success) return { ok: false, error: `${error.data.errorType ?? 'error'}: ${error.data.error ?? 'no message'}` };
  const issue = parsed.error.issues[0];
  return { ok: false, error: `not a query_range matrix (${issue.path.join('.') || 'body'}: ${issue.message})` };
}

/** A point's value as a number; Prometheus writes NaN and ±Inf as text, which come out non-finite. */
export function pointValue(text: string): number {
  return text === '' ? Number.NaN : Number(text);
}

/** `{a="b"}` or `{a="b",<extra>}`: the metric's selector with the source's extra matchers. */
export function selector(extra: string, ...matchers: string[]): string {
  const all = [...matchers, extra.trim()].filter((m) => m !== '');
  return `{${all.join(',')}}`;
}

export const DCGM_ENGINE_ACTIVE = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE';
export const DCGM_GPU_UTIL = 'DCGM_FI_DEV_GPU_UTIL';

/**
 * A gauge sampled on the step grid without inventing readings: `last_over_time(m[step − 1 ms])` is the newest
 * raw reading in (t − step, t], or nothing. A plain selector would repeat the last reading for 5 minutes
 * (Prometheus's lookback) after a GPU fell silent, and a range of exactly `step` includes both ends in
 * Prometheus 2.x, repeating it once.
 */
export function gaugeOnGrid(metric: string, extraSelector: string, stepSeconds: number): string {
  return `last_over_time(${metric}${selector(extraSelector)}[${stepSeconds * 1_000 - 1}ms])`;
}

/** The vLLM counters read: tokens in, tokens out, prefix-cache hits (cached prompt tokens) and finished requests. */
export const VLLM_COUNTERS = {
  prompt: 'vllm:prompt_tokens_total',
  generation: 'vllm:generation_tokens_total',
  cached: 'vllm:prefix_cache_hits_total',
  requests: 'vllm:request_success_total',
} as const;

/** One query for every counter a vLLM pull needs: the raw counters, per series (resets are handled per series). */
export function vllmQuery(extraSelector: string): string {
  const names = Object.values(VLLM_COUNTERS)
    .map((n) => n.replace(/^vllm:/, ''))
    .join('|');
  return selector(extraSelector, `__name__=~"vllm:(${names})"`);
}
