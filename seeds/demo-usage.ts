// The demo's customers and the synthetic hourly usage they produce. Pure: no I/O and no clock; the same seed,
// window and capacity profiles give the same rows, value for value. Each customer draws from its own random
// stream (derived from the seed and its slug), so changing one customer leaves the others' data unchanged.
import { createRandom, deriveSeed, type Random } from '../app/domain/random.js';

export const HOUR_MS = 3_600_000;

export type DemoGpuType = 'H100' | 'A100-80GB' | 'L40S';

/** The vendor name each type's GPUs report (what nvidia-smi and DCGM print). */
export const VENDOR_NAMES: Record<DemoGpuType, string> = {
  H100: 'NVIDIA H100 80GB HBM3',
  'A100-80GB': 'NVIDIA A100-SXM4-80GB',
  L40S: 'NVIDIA L40S',
};

export interface ModelMix {
  model: string;
  /** Share of the customer's GPU time spent on this model. */
  share: number;
  /** Input tokens per output token (RAG and summarisation read much more than they write). */
  input_per_output: number;
  /** Share of input tokens that are cache reads (prompt caching of system prompts and shared context). */
  cached_share: number;
  /** Share of input tokens that are cache writes. */
  cache_write_share: number;
  input_per_request: number;
}

export interface HourContext {
  /** Hour index in the window, 0-based. */
  t: number;
  hours: number;
  /** Start of the hour, epoch ms. */
  ms: number;
}

interface Telemetry {
  gpu_type: DemoGpuType;
  /** GPUs held in an hour, given the busy-GPU load the customer wants. */
  fleet: (load: number, ctx: HourContext) => number;
  /** Tokens served per busy GPU-second, relative to the capacity profile (observed vs. profiled throughput). */
  efficiency: number;
}

/** A span of hours without data, as [start as a fraction of the window, length in hours]. */
type Gap = [number, number];

export interface DemoCustomer {
  slug: string;
  name: string;
  owner_email: string;
  pool: string | null;
  /** What its usage looks like, for people reading the demo. */
  shape: string;
  /** null: token-only (no GPU telemetry; demand comes from tokens through capacity profiles). */
  telemetry: Telemetry | null;
  /** The GPU type whose capacity profiles turn its load into tokens. */
  token_gpu_type: DemoGpuType;
  models: ModelMix[];
  /** Builds its load function: busy GPUs wanted in each hour. Draws its randomness from rng. */
  load: (rng: Random, hours: number) => (ctx: HourContext) => number;
  telemetry_gaps?: Gap[];
  token_gaps?: Gap[];
}

export const DEMO_POOLS = ['shared-h100', 'batch-a100'] as const;

// Shapes, in UTC unless a local offset is given (fixed offsets: daylight saving does not matter to a demo).
const hourOfDay = (ms: number, offsetHours = 0) => new Date(ms + offsetHours * HOUR_MS).getUTCHours();
const dayOfWeek = (ms: number, offsetHours = 0) => new Date(ms + offsetHours * HOUR_MS).getUTCDay();
const isWeekend = (ms: number, offsetHours = 0) => [0, 6].includes(dayOfWeek(ms, offsetHours));
/** 1 + amp·cos(2π(hour − peak)/24): a daily cycle peaking at `peak` o'clock. */
const daily = (hour: number, peak: number, amp: number) => 1 + amp * Math.cos((2 * Math.PI * (hour - peak)) / 24);

/** A multiplicative noise factor with memory (log AR(1), mean ≈ 1): load drifts instead of jumping hour to hour. */
function drift(rng: Random, phi: number, sigma: number): () => number {
  let x = 0;
  const step = Math.sqrt(1 - phi * phi) * sigma;
  return () => {
    x = phi * x + step * rng.normal();
    return Math.exp(x - (sigma * sigma) / 2);
  };
}

const fixedFleet = (gpus: number) => () => gpus;
/** An autoscaler keeping GPUs about `target` busy, between min and max GPUs. */
const autoscaled = (min: number, max: number, target = 0.7) => (load: number) =>
  Math.min(max, Math.max(min, Math.ceil(load / target)));

const chat = (model: string, share: number): ModelMix => ({
  model, share, input_per_output: 4, cached_share: 0.35, cache_write_share: 0.03, input_per_request: 1800,
});
const rag = (model: string, share: number): ModelMix => ({
  model, share, input_per_output: 9, cached_share: 0.5, cache_write_share: 0.04, input_per_request: 6000,
});
const batch = (model: string, share: number): ModelMix => ({
  model, share, input_per_output: 18, cached_share: 0.08, cache_write_share: 0.01, input_per_request: 12000,
});
const classify = (model: string, share: number): ModelMix => ({
  model, share, input_per_output: 12, cached_share: 0.2, cache_write_share: 0.02, input_per_request: 900,
});

export const DEMO_CUSTOMERS: readonly DemoCustomer[] = [
  {
    slug: 'acme', name: 'Acme Corporation', owner_email: 'ml-platform@acme.example', pool: 'shared-h100',
    shape: 'steady enterprise: a daily cycle peaking mid-afternoon UTC, a little lower at weekends',
    telemetry: { gpu_type: 'H100', fleet: autoscaled(8, 24), efficiency: 0.92 },
    token_gpu_type: 'H100',
    models: [chat('llama-3.1-70b', 0.75), classify('llama-3.1-8b', 0.25)],
    load: (rng) => {
      const noise = drift(rng, 0.9, 0.06);
      return ({ ms }) => 9 * daily(hourOfDay(ms), 15, 0.35) * (isWeekend(ms) ? 0.8 : 1) * noise();
    },
  },
  {
    slug: 'globex', name: 'Globex Corporation', owner_email: 'infra@globex.example', pool: 'shared-h100',
    shape: 'weekday business hours in New York on 8 GPUs it always holds; its GPU collector was down for 30 hours',
    telemetry: { gpu_type: 'H100', fleet: fixedFleet(8), efficiency: 1.0 },
    token_gpu_type: 'H100',
    models: [rag('llama-3.3-70b', 1)],
    load: (rng) => {
      const noise = drift(rng, 0.8, 0.1);
      return ({ ms }) => {
        const hour = hourOfDay(ms, -5);
        const open = !isWeekend(ms, -5) && hour >= 8 && hour < 19;
        // A ramp in the morning, a lunch dip, a fade towards the evening.
        const level = open ? 5.5 * Math.sin((Math.PI * (hour - 7.5)) / 12) * (hour === 12 ? 0.8 : 1) : isWeekend(ms, -5) ? 0.04 : 0.15;
        return level * noise();
      };
    },
    telemetry_gaps: [[0.42, 30]],
  },
  {
    slug: 'initech', name: 'Initech', owner_email: 'data-eng@initech.example', pool: 'batch-a100',
    shape: 'nightly batch from 01:00 to 05:00 UTC on 16 GPUs, one small GPU kept warm the rest of the day',
    telemetry: {
      gpu_type: 'A100-80GB',
      fleet: (load) => (load > 2 ? 16 : 1),
      efficiency: 1.05,
    },
    token_gpu_type: 'A100-80GB',
    models: [batch('llama-3.1-8b', 0.6), batch('llama-3.1-70b', 0.4)],
    load: (rng, hours) => {
      // About one night in twenty the job does not run (nothing to process, or it failed).
      const skipped = Array.from({ length: Math.ceil(hours / 24) + 1 }, () => rng.chance(0.05));
      return ({ t, ms }) => {
        const hour = hourOfDay(ms);
        if (hour >= 1 && hour < 5 && !skipped[Math.floor(t / 24)]) return 16 * rng.uniform(0.84, 0.95);
        return rng.uniform(0.02, 0.12);
      };
    },
  },
  {
    slug: 'umbrella', name: 'Umbrella Health', owner_email: 'platform@umbrella.example', pool: 'shared-h100',
    shape: 'fast-growing: ten times more usage at the end of the window than at its start',
    telemetry: { gpu_type: 'H100', fleet: autoscaled(2, 32), efficiency: 0.88 },
    token_gpu_type: 'H100',
    models: [chat('gpt-oss-120b', 0.6), rag('llama-3.1-70b', 0.4)],
    load: (rng) => {
      const noise = drift(rng, 0.85, 0.08);
      return ({ t, hours, ms }) => 1.1 * Math.exp((Math.log(10) * t) / hours) * daily(hourOfDay(ms), 17, 0.3) * noise();
    },
  },
  {
    slug: 'hooli', name: 'Hooli', owner_email: 'gavin@hooli.example', pool: null,
    shape: 'bursty startup on the API: a small base load and sudden spikes (launches, demos, a viral post) that fade over hours',
    telemetry: null,
    token_gpu_type: 'H100',
    models: [chat('llama-3.3-70b', 0.7), classify('llama-3.1-8b', 0.3)],
    load: (rng) => {
      const noise = drift(rng, 0.6, 0.2);
      let burst = 0;
      let halfLife = 4;
      return ({ ms }) => {
        if (rng.chance(1 / 60)) {
          burst += rng.uniform(2.5, 8);
          halfLife = rng.uniform(2, 9);
        }
        burst *= Math.pow(0.5, 1 / halfLife);
        return (0.35 * daily(hourOfDay(ms), 18, 0.5) + burst) * noise();
      };
    },
  },
  {
    slug: 'pied-piper', name: 'Pied Piper', owner_email: 'richard@piedpiper.example', pool: null,
    shape: 'tiny: a few requests an hour, none at all in many night hours',
    telemetry: null,
    token_gpu_type: 'H100',
    models: [chat('llama-3.1-8b', 1)],
    load: (rng) => ({ ms }) => {
      const hour = hourOfDay(ms, -8);
      const quiet = hour < 7 || hour >= 22;
      if (quiet && rng.chance(0.6)) return 0;
      return 0.0005 * daily(hour, 14, 0.6) * (isWeekend(ms, -8) ? 0.5 : 1) * rng.lognormal(0.5);
    },
  },
  {
    slug: 'oceanic', name: 'Oceanic Airlines', owner_email: 'data@oceanic.example', pool: 'batch-a100',
    shape: 'a weekly batch every Sunday morning on 14 GPUs over a small daytime service',
    telemetry: { gpu_type: 'A100-80GB', fleet: (load) => (load > 4 ? 14 : 3), efficiency: 0.95 },
    token_gpu_type: 'A100-80GB',
    models: [batch('llama-3.1-70b', 0.7), rag('llama-3.1-8b', 0.3)],
    load: (rng) => {
      const noise = drift(rng, 0.8, 0.1);
      return ({ ms }) => {
        const hour = hourOfDay(ms);
        if (dayOfWeek(ms) === 0 && hour < 12) return 12.5 * rng.uniform(0.9, 1.0);
        return 1.4 * daily(hour, 13, 0.6) * noise();
      };
    },
  },
  {
    slug: 'wonka', name: 'Wonka Industries', owner_email: 'compute@wonka.example', pool: null,
    shape: 'steady high volume around the clock on 24 GPUs it holds',
    telemetry: { gpu_type: 'H100', fleet: fixedFleet(24), efficiency: 1.02 },
    token_gpu_type: 'H100',
    models: [rag('llama-3.3-70b', 0.6), chat('gpt-oss-120b', 0.4)],
    load: (rng) => {
      const noise = drift(rng, 0.95, 0.05);
      return ({ ms }) => 16.5 * daily(hourOfDay(ms), 14, 0.12) * noise();
    },
  },
  {
    slug: 'wayne', name: 'Wayne Enterprises', owner_email: 'ai@wayne.example', pool: null,
    shape: 'an Asia-Pacific daily cycle on L40S GPUs; its exporter misses the odd hour',
    telemetry: { gpu_type: 'L40S', fleet: autoscaled(2, 12, 0.75), efficiency: 0.97 },
    token_gpu_type: 'L40S',
    models: [chat('llama-3.1-8b', 0.7), rag('llama-3.3-70b', 0.3)],
    load: (rng) => {
      const noise = drift(rng, 0.85, 0.08);
      return ({ ms }) => 2.6 * daily(hourOfDay(ms, 9), 14, 0.55) * (isWeekend(ms, 9) ? 0.7 : 1) * noise();
    },
    telemetry_gaps: [[0.13, 1], [0.37, 2], [0.61, 1], [0.88, 1]],
  },
  {
    slug: 'vandelay', name: 'Vandelay Industries', owner_email: 'it@vandelay.example', pool: 'shared-h100',
    shape: 'token-only, European office hours on weekdays',
    telemetry: null,
    token_gpu_type: 'H100',
    models: [rag('llama-3.1-70b', 0.8), classify('llama-3.1-8b', 0.2)],
    load: (rng) => {
      const noise = drift(rng, 0.7, 0.12);
      return ({ ms }) => {
        const hour = hourOfDay(ms, 1);
        const open = !isWeekend(ms, 1) && hour >= 9 && hour < 18;
        return (open ? 2.6 : isWeekend(ms, 1) ? 0.15 : 0.3) * noise();
      };
    },
  },
  {
    slug: 'cyberdyne', name: 'Cyberdyne Systems', owner_email: 'ml@cyberdyne.example', pool: null,
    shape: 'token-only product launch: a trickle of beta traffic, then a ramp to steady use a third into the window',
    telemetry: null,
    token_gpu_type: 'H100',
    models: [chat('gpt-oss-120b', 1)],
    load: (rng) => {
      const noise = drift(rng, 0.8, 0.1);
      return ({ t, hours, ms }) => {
        const launch = Math.floor(hours / 3);
        const ramp = Math.min(1, Math.max(0, (t - launch) / (7 * 24)));
        return (0.06 + 4 * ramp) * daily(hourOfDay(ms), 16, 0.3) * noise();
      };
    },
  },
  {
    slug: 'tyrell', name: 'Tyrell Corporation', owner_email: 'finance@tyrell.example', pool: null,
    shape: 'token-only, moderate and steady; its usage export failed for two days',
    telemetry: null,
    token_gpu_type: 'H100',
    models: [chat('gpt-oss-120b', 0.5), classify('llama-3.1-8b', 0.5)],
    load: (rng) => {
      const noise = drift(rng, 0.85, 0.08);
      return ({ ms }) => 1.5 * daily(hourOfDay(ms), 14, 0.25) * noise();
    },
    token_gaps: [[0.7, 48]],
  },
];

export interface CapacityLookup {
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
}

export interface GeneratedGpuHour {
  slug: string;
  gpu_type: DemoGpuType;
  hour: number;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
  samples: number;
}

export interface GeneratedTokenHour {
  slug: string;
  model: string;
  hour: number;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

export interface GeneratedUsage {
  gpu: GeneratedGpuHour[];
  tokens: GeneratedTokenHour[];
}

/** One DCGM sample a minute per GPU. */
const SAMPLES_PER_GPU_HOUR = 60;
/** An idle GPU still reports a little utilization; a saturated one tops out just under 100 %. */
const IDLE_UTILIZATION = 0.01;
const MAX_UTILIZATION = 0.97;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function inGap(gaps: Gap[] | undefined, t: number, hours: number): boolean {
  return (gaps ?? []).some(([start, length]) => {
    const from = Math.floor(start * hours);
    return t >= from && t < from + length;
  });
}

/**
 * Hourly usage of every demo customer over [from, from + hours h). A telemetry customer holds `fleet(load)`
 * GPUs busy `load` of them; the tokens it served are its busy GPU-seconds × its efficiency turned into tokens
 * through the capacity profile: output = g / ((1 − cached − cache_write)·k / input_tps + 1 / output_tps),
 * input = k·output. A token-only customer's load becomes tokens the same way on its token_gpu_type.
 */
export function generateDemoUsage(options: {
  seed: number;
  from: number;
  hours: number;
  profile: (model: string, gpuType: DemoGpuType) => CapacityLookup;
  customers?: readonly DemoCustomer[];
}): GeneratedUsage {
  const { seed, from, hours, profile } = options;
  const gpu: GeneratedGpuHour[] = [];
  const tokens: GeneratedTokenHour[] = [];
  for (const customer of options.customers ?? DEMO_CUSTOMERS) {
    const rng = createRandom(deriveSeed(seed, customer.slug));
    const load = customer.load(createRandom(deriveSeed(seed, `${customer.slug}:load`)), hours);
    for (let t = 0; t < hours; t++) {
      const ctx = { t, hours, ms: from + t * HOUR_MS };
      const wanted = Math.max(0, load(ctx));
      let gpuSeconds = wanted * 3600;

      const telemetry = customer.telemetry;
      if (telemetry) {
        const held = telemetry.fleet(wanted, ctx);
        const busy = Math.min(Math.max(wanted, held * IDLE_UTILIZATION), held * MAX_UTILIZATION);
        gpuSeconds = busy * 3600 * telemetry.efficiency * rng.lognormal(0.04);
        if (!inGap(customer.telemetry_gaps, t, hours)) {
          gpu.push({
            slug: customer.slug,
            gpu_type: telemetry.gpu_type,
            hour: ctx.ms,
            allocated_gpu_seconds: held * 3600,
            busy_gpu_seconds: round3(busy * 3600),
            samples: held * SAMPLES_PER_GPU_HOUR,
          });
        }
      }

      const gpuType = telemetry?.gpu_type ?? customer.token_gpu_type;
      const skipTokens = inGap(customer.token_gaps, t, hours);
      for (const mix of customer.models) {
        const p = profile(mix.model, gpuType);
        const k = mix.input_per_output * rng.lognormal(0.1);
        const cached = Math.min(0.9, mix.cached_share * rng.uniform(0.8, 1.2));
        const cacheWrite = Math.min(0.99 - cached, mix.cache_write_share * rng.uniform(0.5, 1.5));
        const share = gpuSeconds * mix.share;
        const output = Math.round(share / (((1 - cached - cacheWrite) * k) / p.input_tokens_per_gpu_second + 1 / p.output_tokens_per_gpu_second));
        const input = Math.round(k * output);
        const requests = Math.max(1, Math.round((input / mix.input_per_request) * rng.lognormal(0.15)));
        if (skipTokens || output === 0) continue;
        tokens.push({
          slug: customer.slug,
          model: mix.model,
          hour: ctx.ms,
          input_tokens: input,
          cached_input_tokens: Math.floor(input * cached),
          cache_write_input_tokens: Math.floor(input * cacheWrite),
          output_tokens: output,
          requests,
        });
      }
    }
  }
  return { gpu, tokens };
}
