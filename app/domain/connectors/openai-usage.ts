// OpenAI's Usage API (`GET /v1/organization/usage/completions`, and servers that speak it) → token rows.
// https://platform.openai.com/docs/api-reference/usage/completions
import { z } from 'zod';
import type { RejectedRow } from '../ingest/rows.js';
import { customerFor } from './customers.js';
import type { CustomerMapping } from './source-config.js';
import type { PulledTokenRow } from './vllm.js';

const count = z.number().nullable().optional();

const ResultSchema = z
  .object({
    input_tokens: count,
    input_cached_tokens: count,
    input_cache_write_tokens: count,
    input_uncached_tokens: count,
    output_tokens: count,
    num_model_requests: count,
    project_id: z.string().nullable().optional(),
    model: z.string().nullable().optional(),
  })
  .passthrough();

const BucketSchema = z.object({
  start_time: z.number().int(),
  end_time: z.number().int(),
  results: z.array(z.unknown()),
});

export const UsagePageSchema = z.object({
  object: z.literal('page').optional(),
  data: z.array(BucketSchema),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});

export type UsagePage = z.infer<typeof UsagePageSchema>;

/** A page of the usage API, or why it is not one. */
export function parseUsagePage(body: unknown): { ok: true; page: UsagePage } | { ok: false; error: string } {
  const parsed = UsagePageSchema.safeParse(body);
  if (parsed.success) return { ok: true, page: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, error: `not a usage page (${issue.path.join('.') || 'body'}: ${issue.message})` };
}

export interface UsageOptions {
  sourceName: string;
  mapping: CustomerMapping;
}

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * One row per bucket × project × model. `input_tokens` is taken as the API gives it: it already includes
 * `input_cached_tokens` and `input_cache_write_tokens` (the OpenAI convention DESIGN.md adopts; the spec's
 * example has 1000 = 400 cached + 100 cache-write + 500 uncached). A result whose cached + cache-write exceed
 * its input is rejected rather than guessed at. Record key `openai:<source>:<bucket start>:<project>:<model>`,
 * stored with replace, so a bucket pulled again (the current hour grows) replaces the old one.
 */
export function usageTokenRows(page: UsagePage, options: UsageOptions): { rows: PulledTokenRow[]; rejected: RejectedRow[]; read: number } {
  const rows: PulledTokenRow[] = [];
  const rejected: RejectedRow[] = [];
  let read = 0;
  for (const bucket of page.data) {
    const start = new Date(bucket.start_time * 1_000);
    for (const item of bucket.results) {
      read += 1;
      const raw = JSON.stringify({ start_time: bucket.start_time, result: item });
      const reject = (field: string, reason: string) => rejected.push({ line: 0, field, reason, raw });
      const parsed = ResultSchema.safeParse(item);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        reject(String(issue.path[0] ?? 'result'), issue.message);
        continue;
      }
      const r = parsed.data;
      if (!r.model) {
        reject('model', 'no model: the result is not grouped by model');
        continue;
      }
      const customer = customerFor(r.project_id, options.mapping, true);
      if (customer.kind !== 'slug') {
        reject('project_id', customer.kind === 'invalid' ? customer.reason : 'no project_id and no default_customer configured');
        continue;
      }
      const n = {
        input_tokens: r.input_tokens ?? 0,
        input_cached_tokens: r.input_cached_tokens ?? 0,
        input_cache_write_tokens: r.input_cache_write_tokens ?? 0,
        output_tokens: r.output_tokens ?? 0,
        num_model_requests: r.num_model_requests ?? 0,
      };
      const bad = Object.entries(n).find(([, v]) => !isCount(v));
      if (bad) {
        reject(bad[0], `${bad[1]} is not a whole number ≥ 0`);
        continue;
      }
      if (n.input_cached_tokens + n.input_cache_write_tokens > n.input_tokens) {
        reject('input_cached_tokens', 'input_cached_tokens + input_cache_write_tokens exceeds input_tokens, which must include them');
        continue;
      }
      rows.push({
        recordKey: `openai:${options.sourceName}:${start.toISOString()}:${r.project_id ?? '-'}:${r.model}`,
        ts: start,
        customerSlug: customer.slug,
        model: r.model,
        inputTokens: n.input_tokens,
        cachedInputTokens: n.input_cached_tokens,
        cacheWriteInputTokens: n.input_cache_write_tokens,
        outputTokens: n.output_tokens,
        requests: n.num_model_requests,
        raw,
      });
    }
  }
  return { rows, rejected, read };
}
