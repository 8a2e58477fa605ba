// What a pull source is: its kind, address, schedule and per-kind settings, checked once by one schema that
// the command line and the admin form both use. Credentials are not part of it: they are encrypted apart.
import { z } from 'zod';
import { SLUG_PATTERN } from '../customers.js';

export const SOURCE_KINDS = ['prometheus-dcgm', 'prometheus-vllm', 'openai-usage'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export const SOURCE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** Defaults per kind: step (query resolution), window (one request), and the most one run covers. */
export const KIND_DEFAULTS: Record<SourceKind, { stepSeconds: number; windowSeconds: number; maxRunSeconds: number }> = {
  // dcgm-exporter's default collection interval is 30 s; a step above max_gap (120 s) would make every
  // sample stand for nothing.
  'prometheus-dcgm': { stepSeconds: 30, windowSeconds: 3_600, maxRunSeconds: 6 * 3_600 },
  // Counters: the step must divide an hour so that every hour starts on a point.
  'prometheus-vllm': { stepSeconds: 60, windowSeconds: 6 * 3_600, maxRunSeconds: 7 * 86_400 },
  // One request asks for 24 hourly buckets per page (the API's default page for bucket_width=1h).
  'openai-usage': { stepSeconds: 3_600, windowSeconds: 86_400, maxRunSeconds: 7 * 86_400 },
};

/** Prometheus refuses a query_range answer of more than 11,000 points per series. */
export const PROMETHEUS_MAX_POINTS = 11_000;
/** The longest sample interval that still counts (DESIGN.md max_gap): a DCGM step must not exceed it. */
export const DCGM_MAX_STEP_SECONDS = 120;

const slug = z
  .string()
  .trim()
  .max(100, 'is longer than 100 characters')
  .regex(SLUG_PATTERN, 'must be a customer slug (lower-case letters, digits and dashes)');

const labelName = z.string().trim().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name');

/** Stored in ingestion_sources.config (jsonb), snake_case like every stored field. */
export const SourceConfigSchema = z
  .object({
    /** Prometheus kinds: the label naming the customer (a Kubernetes namespace, a team label…). */
    customer_label: labelName.optional(),
    /** Label value (Prometheus) or project_id (OpenAI) → customer slug; unlisted values are slugified. */
    customer_map: z.record(z.string().min(1).max(500), slug).optional(),
    /** The customer of series without the label (or usage without a project); otherwise they are rejected. */
    default_customer: slug.optional(),
    /** Extra PromQL label matchers, e.g. `cluster="prod",job="dcgm"`. */
    selector: z
      .string()
      .trim()
      .max(1_000)
      .regex(/^[^{}]*$/, 'must be label matchers without braces, e.g. cluster="prod"')
      .optional(),
    step_seconds: z.number().int().min(1).max(3_600).optional(),
    window_seconds: z.number().int().min(60).max(30 * 86_400).optional(),
    max_run_seconds: z.number().int().min(60).max(366 * 86_400).optional(),
    timeout_seconds: z.number().int().min(1).max(600).optional(),
    /** Where the first pull starts (otherwise now − lookback). */
    start: z.string().datetime({ offset: true }).optional(),
  })
  .strict();

export type SourceConfig = z.infer<typeof SourceConfigSchema>;

/** Everything about a source except its credentials. */
export const SourceInputSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'is required')
      .max(100, 'is longer than 100 characters')
      .regex(SOURCE_NAME_PATTERN, 'must be lower-case letters, digits and dashes'),
    kind: z.enum(SOURCE_KINDS, { errorMap: () => ({ message: `must be one of ${SOURCE_KINDS.join(', ')}` }) }),
    url: z
      .string()
      .trim()
      .max(2_000)
      .refine((value) => {
        try {
          return ['http:', 'https:'].includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, 'must be an http:// or https:// URL')
      .refine((value) => {
        try {
          const u = new URL(value);
          return u.username === '' && u.password === '';
        } catch {
          return true;
        }
      }, 'must not carry a user name or password: give credentials separately, they are stored encrypted'),
    interval_seconds: z.number().int().min(10, 'must be at least 10 seconds').max(86_400 * 7).default(300),
    lookback_seconds: z.number().int().min(0).max(86_400 * 31).default(3_600),
    delay_seconds: z.number().int().min(0).max(86_400).default(60),
    enabled: z.boolean().default(true),
    config: SourceConfigSchema.default({}),
  })
  .superRefine((source, ctx) => {
    const c = source.config;
    const problem = (path: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['config', path], message });
    const step = c.step_seconds ?? KIND_DEFAULTS[source.kind].stepSeconds;
    if (source.kind === 'prometheus-dcgm' && step > DCGM_MAX_STEP_SECONDS) {
      problem('step_seconds', `must be at most ${DCGM_MAX_STEP_SECONDS} s: a longer sample interval counts as no data`);
    }
    if (source.kind === 'prometheus-vllm' && 3_600 % step !== 0) problem('step_seconds', 'must divide an hour (e.g. 15, 30, 60, 300)');
    if (source.kind === 'openai-usage' && c.step_seconds !== undefined && c.step_seconds !== 3_600) {
      problem('step_seconds', 'is fixed at 3600 (hourly buckets) for openai-usage');
    }
    if (c.window_seconds !== undefined) {
      const align = source.kind === 'prometheus-dcgm' ? step : 3_600;
      if (c.window_seconds % align !== 0) problem('window_seconds', `must be a multiple of ${align} s`);
      if (source.kind !== 'openai-usage' && c.window_seconds / step + 1 > PROMETHEUS_MAX_POINTS) {
        problem('window_seconds', `asks for more than ${PROMETHEUS_MAX_POINTS} points per series at a ${step} s step`);
      }
    }
    if (source.kind === 'openai-usage' && c.customer_label !== undefined) {
      problem('customer_label', 'applies to Prometheus sources only; map projects with customer_map');
    }
  });

export type SourceInput = z.infer<typeof SourceInputSchema>;

/** The settings a pull uses, with the kind's defaults filled in. */
export interface PullSettings {
  kind: SourceKind;
  stepSeconds: number;
  windowSeconds: number;
  maxRunSeconds: number;
  timeoutMs: number;
  customerLabel: string;
  selector: string;
  start: Date | null;
  mapping: CustomerMapping;
}

export interface CustomerMapping {
  map: Readonly<Record<string, string>>;
  defaultCustomer: string | null;
}

/** Defaults filled in; the window is cut so that one request stays under Prometheus's point limit. */
export function pullSettings(kind: SourceKind, config: SourceConfig): PullSettings {
  const d = KIND_DEFAULTS[kind];
  const stepSeconds = kind === 'openai-usage' ? 3_600 : (config.step_seconds ?? d.stepSeconds);
  const align = kind === 'prometheus-dcgm' ? stepSeconds : 3_600;
  let windowSeconds = config.window_seconds ?? d.windowSeconds;
  if (kind !== 'openai-usage') {
    // points = window / step + 1 (both ends) ≤ 11,000, with a margin for the extra point of a counter baseline.
    const maxWindow = Math.floor((PROMETHEUS_MAX_POINTS - 10) * stepSeconds / align) * align;
    windowSeconds = Math.min(windowSeconds, maxWindow);
  }
  windowSeconds = Math.max(align, Math.floor(windowSeconds / align) * align);
  return {
    kind,
    stepSeconds,
    windowSeconds,
    maxRunSeconds: Math.max(windowSeconds, config.max_run_seconds ?? d.maxRunSeconds),
    timeoutMs: (config.timeout_seconds ?? 30) * 1_000,
    customerLabel: config.customer_label ?? 'namespace',
    selector: config.selector ?? '',
    start: config.start ? new Date(config.start) : null,
    mapping: { map: config.customer_map ?? {}, defaultCustomer: config.default_customer ?? null },
  };
}

/** "300", "300s", "5m", "1h", "2d" → seconds; undefined when unreadable. */
export function parseDurationSeconds(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3_600, d: 86_400 } as const)[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number.isSafeInteger(n) ? n : undefined;
}

/** "a=acme,b=beta" (or several such strings) → {a: 'acme', b: 'beta'}; a pair without '=' is a problem. */
export function parseMapPairs(items: readonly string[]): { map: Record<string, string>; problems: string[] } {
  const map: Record<string, string> = {};
  const problems: string[] = [];
  for (const item of items) {
    for (const pair of item.split(',')) {
      if (pair.trim() === '') continue;
      const at = pair.lastIndexOf('=');
      if (at <= 0 || at === pair.length - 1) {
        problems.push(`"${pair}" is not VALUE=SLUG`);
        continue;
      }
      map[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return { map, problems };
}
