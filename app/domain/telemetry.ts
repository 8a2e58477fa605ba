// GPU-utilization samples → hourly allocated and busy GPU-seconds.
import { HOUR_MS, hourStart, toMs, type Instant } from './types.js';

/** Default longest gap between two samples of a GPU that still counts as measured time. */
export const DEFAULT_MAX_GAP_MS = 120_000;

export interface GpuSample {
  ts: Instant;
  /** 0–100 %. */
  utilization_pct: number;
}

/** One GPU's (or, summed, one customer's) telemetry in one UTC hour. */
export interface HourlyTelemetry {
  /** Start of the UTC hour, epoch ms. */
  hour: number;
  allocated_gpu_seconds: number;
  busy_gpu_seconds: number;
  /** Readings taken in this hour (including ones that stand for nothing). */
  samples: number;
}

export interface RollupOptions {
  max_gap_ms?: number;
}

/**
 * allocated(h) = Σ Δt, busy(h) = Σ util/100 · Δt over one GPU's samples, Δt = next.ts − ts split at UTC hours.
 *
 * Decision: a sample whose successor comes more than max_gap later stands for *nothing* (not for max_gap):
 * DESIGN.md says a longer gap is "no data, neither busy nor idle", and a GPU that fell silent (node drained,
 * exporter down) gives no evidence for the two minutes after its last reading either. A gap of exactly
 * max_gap still counts. The newest sample stands for nothing until its successor arrives. Equal timestamps
 * (a duplicate reading) stand for nothing. Samples must be sorted by time; unsorted input throws rather
 * than silently mis-attributing time. Rows come out sorted by hour; an hour can have `samples > 0` and no
 * seconds (an isolated reading) — it has no telemetry (see `hasTelemetry`).
 */
export function rollupSamples(samples: readonly GpuSample[], options: RollupOptions = {}): HourlyTelemetry[] {
  const maxGap = options.max_gap_ms ?? DEFAULT_MAX_GAP_MS;
  const rows: HourlyTelemetry[] = [];
  // Hours come out non-decreasing (samples and their intervals are in time order), so the open row is
  // always the last one: no map needed.
  const rowFor = (hour: number): HourlyTelemetry => {
    const last = rows[rows.length - 1];
    if (last && last.hour === hour) return last;
    const row = { hour, allocated_gpu_seconds: 0, busy_gpu_seconds: 0, samples: 0 };
    rows.push(row);
    return row;
  };
  const n = samples.length;
  let t = n > 0 ? toMs(samples[0].ts) : 0;
  for (let i = 0; i < n; i++) {
    const util = samples[i].utilization_pct;
    if (!(util >= 0 && util <= 100)) throw new RangeError(`utilization ${util} % is outside 0–100`);
    rowFor(hourStart(t)).samples += 1;
    if (i === n - 1) break;
    const next = toMs(samples[i + 1].ts);
    if (next < t) throw new RangeError('samples must be sorted by time');
    const gap = next - t;
    if (gap > 0 && gap <= maxGap) {
      let s = t;
      while (s < next) {
        const h = hourStart(s);
        const e = Math.min(next, h + HOUR_MS);
        const seconds = (e - s) / 1000;
        const row = rowFor(h);
        row.allocated_gpu_seconds += seconds;
        row.busy_gpu_seconds += (util / 100) * seconds;
        s = e;
      }
    }
    t = next;
  }
  return rows;
}

/** Per hour: allocated = Σ_GPUs allocated, busy = Σ_GPUs busy, samples = Σ_GPUs samples; sorted by hour. */
export function sumHourlyTelemetry(lists: readonly (readonly HourlyTelemetry[])[]): HourlyTelemetry[] {
  const byHour = new Map<number, HourlyTelemetry>();
  for (const list of lists) {
    for (const r of list) {
      const row = byHour.get(r.hour);
      if (row) {
        row.allocated_gpu_seconds += r.allocated_gpu_seconds;
        row.busy_gpu_seconds += r.busy_gpu_seconds;
        row.samples += r.samples;
      } else {
        byHour.set(r.hour, { ...r });
      }
    }
  }
  return [...byHour.values()].sort((a, b) => a.hour - b.hour);
}

/** Telemetry exists for an hour iff allocated_gpu_seconds > 0: some measured time, busy or idle. */
export function hasTelemetry(row: { allocated_gpu_seconds: number }): boolean {
  return row.allocated_gpu_seconds > 0;
}

/**
 * Hours whose rollup a new sample at t can change: every hour meeting [t − max_gap, t + max_gap].
 * Its predecessor (at most max_gap earlier, else it stands for nothing either way) now stands for the time
 * up to t, and the sample itself stands for up to max_gap after t. Sorted, distinct hour starts.
 */
export function hoursAffectedBySamples(times: Iterable<Instant>, maxGapMs: number = DEFAULT_MAX_GAP_MS): number[] {
  const hours = new Set<number>();
  for (const ti of times) {
    const t = toMs(ti);
    for (let h = hourStart(t - maxGapMs); h <= t + maxGapMs; h += HOUR_MS) hours.add(h);
  }
  return [...hours].sort((a, b) => a - b);
}

/**
 * Hours to recompute when new samples landed in the given hours (times unknown): every hour meeting
 * [h − max_gap, h + 1 h + max_gap], i.e. with max_gap < 1 h the hour itself, the one before (its
 * predecessor's interval) and the one after (the new sample's own interval may cross into it).
 */
export function hoursToRecompute(touchedHours: Iterable<Instant>, maxGapMs: number = DEFAULT_MAX_GAP_MS): number[] {
  const hours = new Set<number>();
  for (const t of touchedHours) {
    const h = hourStart(toMs(t));
    // The end h + 1 h + max_gap is exclusive here: a sample at that instant lies in a later touched hour.
    for (let x = hourStart(h - maxGapMs); x < h + HOUR_MS + maxGapMs; x += HOUR_MS) hours.add(x);
  }
  return [...hours].sort((a, b) => a - b);
}

/**
 * [min hour − max_gap, max hour + 1 h + max_gap], both ends inclusive: the samples to read (per GPU) so that
 * rolling them up gives those hours exactly. Rows for hours outside the requested set come out partial:
 * keep only the requested hours.
 */
export function sampleWindowForHours(
  hours: Iterable<Instant>,
  maxGapMs: number = DEFAULT_MAX_GAP_MS,
): { from_ms: number; to_ms: number } | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of hours) {
    const h = hourStart(toMs(t));
    if (h < lo) lo = h;
    if (h > hi) hi = h;
  }
  if (lo === Infinity) return null;
  return { from_ms: lo - maxGapMs, to_ms: hi + HOUR_MS + maxGapMs };
}
