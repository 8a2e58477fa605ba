// Hourly GPU rollups computed while a file's samples stream in, for the bulk path of a file import: the same
// sums the SQL rollup (recomputeGpuHours in db/queries/samples.ts) makes from stored rows, without sorting
// every sample by GPU and time afterwards. Each (customer, GPU) series keeps its latest sample; when the next
// one arrives, the interval between them is added to the latest sample's (customer, GPU type, hour), split at
// the hour boundary, exactly as the SQL does with lead(). That holds only while a series arrives in time
// order: a series that goes back in time is "disordered", and every hour its samples touch is left to the
// SQL rollup (hoursForSql). A sample equal in time to its series' latest one is a repeated key: the first row
// stays stored, so the repeat is reported and counts for nothing. Pure: no I/O.

const HOUR_MS = 3_600_000;

/** One (customer, GPU type, hour) as the SQL rollup builds it: its own samples' intervals, plus the part of the
 *  previous hour's intervals that crossed into it. */
export interface HourAccumulator {
  customerId: number;
  gpuTypeId: number;
  hour: number;
  /** Σ seconds of intervals that start in this hour, up to the hour's end. */
  allocated: number;
  busy: number;
  /** Σ seconds past the previous hour's end of intervals that started there. */
  spillAllocated: number;
  spillBusy: number;
  samples: number;
}

export interface StreamedGpuHour {
  customerId: number;
  gpuTypeId: number;
  hour: number;
  allocated: number;
  busy: number;
  samples: number;
}

interface Series {
  customerId: number;
  /** Latest sample: time (epoch ms), utilization as stored, and the accumulator of its hour and type. */
  last: number;
  util: number;
  acc: HourAccumulator;
  disordered: boolean;
  /** While ordered: the hours its samples touch, as runs [from, to] of hour starts (usually one run). */
  runs: number[];
}

export class StreamingGpuRollup {
  private readonly series = new Map<string, Series>();
  /** Series of a GPU under a second customer (a GPU reassigned within the file): keyed customer + uuid. */
  private readonly otherSeries = new Map<string, Series>();
  private readonly accs = new Map<string, HourAccumulator>();
  /** customer → hours touched by samples of ordered series (candidates for the streamed rollup). */
  readonly touched = new Map<number, Set<number>>();
  /** customer → hours touched by samples of disordered series: the SQL rollup recomputes these. */
  readonly hoursForSql = new Map<number, Set<number>>();
  /** Rows reported as repeats of the row before them in their series. */
  repeats = 0;

  constructor(private readonly maxGapMs: number) {
    if (!(maxGapMs > 0 && maxGapMs < HOUR_MS)) throw new RangeError('max_gap must be between 0 and 1 hour');
  }

  private accFor(customerId: number, gpuTypeId: number, hour: number): HourAccumulator {
    const key = `${customerId}:${gpuTypeId}:${hour}`;
    let acc = this.accs.get(key);
    if (!acc) {
      acc = { customerId, gpuTypeId, hour, allocated: 0, busy: 0, spillAllocated: 0, spillBusy: 0, samples: 0 };
      this.accs.set(key, acc);
    }
    return acc;
  }

  private static addHours(map: Map<number, Set<number>>, customerId: number, from: number, to: number): void {
    let set = map.get(customerId);
    if (!set) map.set(customerId, (set = new Set()));
    for (let h = from; h <= to; h += HOUR_MS) set.add(h);
  }

  /**
   * Takes one sample (utilization as it will be stored: a float4 value). Returns false when it repeats the
   * latest sample of its series (same customer, GPU and time): it must not be stored, and counts for nothing.
   */
  add(customerId: number, gpuUuid: string, gpuTypeId: number, ts: number, util: number): boolean {
    let s = this.series.get(gpuUuid);
    if (s !== undefined && s.customerId !== customerId) s = this.otherSeries.get(`${customerId}\u0000${gpuUuid}`);
    const from = Math.floor((ts - this.maxGapMs) / HOUR_MS) * HOUR_MS;
    const to = Math.floor((ts + this.maxGapMs) / HOUR_MS) * HOUR_MS;
    const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
    if (s === undefined) {
      const acc = this.accFor(customerId, gpuTypeId, hour);
      acc.samples++;
      s = { customerId, last: ts, util, acc, disordered: false, runs: [from, to] };
      if (this.series.has(gpuUuid)) this.otherSeries.set(`${customerId}\u0000${gpuUuid}`, s);
      else this.series.set(gpuUuid, s);
      return true;
    }
    if (ts === s.last) {
      this.repeats++;
      return false;
    }
    if (s.disordered) {
      StreamingGpuRollup.addHours(this.hoursForSql, customerId, from, to);
      s.last = ts;
      return true;
    }
    if (ts < s.last) {
      // Back in time: lead() over the stored rows would pair samples differently. Every hour this series
      // touched, and will touch, goes to the SQL rollup.
      s.disordered = true;
      for (let i = 0; i < s.runs.length; i += 2) StreamingGpuRollup.addHours(this.hoursForSql, customerId, s.runs[i], s.runs[i + 1]);
      StreamingGpuRollup.addHours(this.hoursForSql, customerId, from, to);
      s.runs = [];
      s.last = ts;
      return true;
    }
    // The latest sample stands for the time up to this one, when 0 < Δt ≤ max_gap, split at its hour's end.
    const prev = s.acc;
    const gap = ts - s.last;
    if (gap <= this.maxGapMs) {
      const end = prev.hour + HOUR_MS;
      const s0 = (Math.min(ts, end) - s.last) / 1000;
      prev.allocated += s0;
      prev.busy += (s.util / 100) * s0;
      if (ts > end) {
        const s1 = (ts - end) / 1000;
        const next = this.accFor(customerId, prev.gpuTypeId, end);
        next.spillAllocated += s1;
        next.spillBusy += (s.util / 100) * s1;
      }
    }
    const acc = prev.hour === hour && prev.gpuTypeId === gpuTypeId ? prev : this.accFor(customerId, gpuTypeId, hour);
    acc.samples++;
    s.last = ts;
    s.util = util;
    s.acc = acc;
    // Times only grow here, so the touched hours extend the last run or start a new one after a hole.
    const runs = s.runs;
    const lastTo = runs[runs.length - 1];
    if (to > lastTo) {
      if (from <= lastTo + HOUR_MS) runs[runs.length - 1] = to;
      else runs.push(from, to);
    }
    return true;
  }

  /** Moves every ordered series' touched hours into `touched` (call once, after the last sample). */
  close(): void {
    for (const list of [this.series, this.otherSeries]) {
      for (const s of list.values()) {
        for (let i = 0; i < s.runs.length; i += 2) StreamingGpuRollup.addHours(this.touched, s.customerId, s.runs[i], s.runs[i + 1]);
        s.runs = [];
      }
    }
  }

  /** The rows the SQL rollup would write, one per (customer, GPU type, hour) met; keep those of the hours wanted. */
  *rows(): IterableIterator<StreamedGpuHour> {
    for (const a of this.accs.values()) {
      yield { customerId: a.customerId, gpuTypeId: a.gpuTypeId, hour: a.hour, allocated: a.allocated + a.spillAllocated, busy: a.busy + a.spillBusy, samples: a.samples };
    }
  }
}
