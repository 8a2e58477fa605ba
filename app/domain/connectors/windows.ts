// What a pull covers: [watermark − lookback, now − delay), cut into runs of bounded length and requests of
// bounded size. Times are epoch milliseconds; nothing here reads the clock.

export interface TimeRange {
  /** Inclusive, epoch ms. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
}

export interface PlanInput {
  now: number;
  /** End of the last committed pull, or null before the first. */
  watermark: number | null;
  lookbackSeconds: number;
  delaySeconds: number;
  /** Where the first pull starts; null: now − lookback. */
  start: number | null;
  /** Runs start on a multiple of this (the query step, or an hour for hourly data). */
  alignSeconds: number;
  maxRunSeconds: number;
}

export interface PlannedRun extends TimeRange {
  /** The run was cut at maxRunSeconds: more is due at once (the source is catching up). */
  behind: boolean;
}

export const floorTo = (ms: number, stepMs: number) => Math.floor(ms / stepMs) * stepMs;

/**
 * The next scheduled run: from = align↓(watermark − lookback) (first pull: align↓(start ?? now − lookback)),
 * to = min(now − delay, align↓(from + max_run)). Null when that is empty. Re-reading the lookback is what
 * picks up late data; the rows it reads again are stored idempotently.
 */
export function planScheduledRun(p: PlanInput): PlannedRun | null {
  const align = p.alignSeconds * 1_000;
  const origin = p.watermark !== null ? p.watermark - p.lookbackSeconds * 1_000 : (p.start ?? p.now - p.lookbackSeconds * 1_000);
  const from = floorTo(origin, align);
  const end = p.now - p.delaySeconds * 1_000;
  const cap = floorTo(from + p.maxRunSeconds * 1_000, align);
  const behind = cap > from && cap < end;
  const to = behind ? cap : end;
  return to > from ? { from, to, behind } : null;
}

/** A backfill of [from, to): runs of at most maxRunSeconds, the first starting at align↓(from). */
export function planBackfillRuns(range: TimeRange, alignSeconds: number, maxRunSeconds: number): TimeRange[] {
  const align = alignSeconds * 1_000;
  const step = Math.max(align, floorTo(maxRunSeconds * 1_000, align));
  const runs: TimeRange[] = [];
  for (let from = floorTo(range.from, align); from < range.to; from += step) runs.push({ from, to: Math.min(range.to, from + step) });
  return runs;
}

/** [from, to) cut into requests of windowSeconds, on boundaries from + k·window (from is aligned by the caller). */
export function splitWindows(range: TimeRange, windowSeconds: number): TimeRange[] {
  const w = windowSeconds * 1_000;
  const out: TimeRange[] = [];
  for (let from = range.from; from < range.to; from += w) out.push({ from, to: Math.min(range.to, from + w) });
  return out;
}

/**
 * The watermark after a committed run of [from, to): `to` when the run starts at or before the current
 * watermark (or there is none) and ends after it; otherwise unchanged, so that a backfill of an old range
 * never moves it back and a backfill beyond a gap never skips the gap.
 */
export function nextWatermark(current: number | null, run: TimeRange): number | null {
  if (current === null) return run.to;
  return run.from <= current && run.to > current ? run.to : current;
}
