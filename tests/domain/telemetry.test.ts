import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hoursAffectedBySamples,
  hoursToRecompute,
  rollupSamples,
  sampleWindowForHours,
  sumHourlyTelemetry,
  type GpuSample,
} from '../../app/domain/telemetry.js';
import { at, close, FC, H } from './engine-helpers.js';

const h10 = at('2026-10-01T10:00:00Z');
const h11 = at('2026-10-01T11:00:00Z');

describe('rollupSamples', () => {
  it('splits intervals at the hour, caps by max_gap and gives the newest sample nothing', () => {
    const rows = rollupSamples([
      { ts: at('2026-10-01T10:59:00Z'), utilization_pct: 50 }, // 90 s to the next: 60 s in 10h, 30 s in 11h
      { ts: at('2026-10-01T11:00:30Z'), utilization_pct: 100 }, // 30 s
      { ts: at('2026-10-01T11:01:00Z'), utilization_pct: 0 }, // 240 s > 120 s: stands for nothing
      { ts: new Date('2026-10-01T11:05:00Z'), utilization_pct: 80 }, // 60 s (a Date works too)
      { ts: at('2026-10-01T11:06:00Z'), utilization_pct: 100 }, // newest: nothing
    ]);
    expect(rows).toEqual([
      // 10h: 60 s allocated, busy 0.5 × 60 = 30 s
      { hour: h10, allocated_gpu_seconds: 60, busy_gpu_seconds: 30, samples: 1 },
      // 11h: 30 + 30 + 60 = 120 s allocated; busy 0.5 × 30 + 1.0 × 30 + 0.8 × 60 = 15 + 30 + 48 = 93 s
      { hour: h11, allocated_gpu_seconds: 120, busy_gpu_seconds: 93, samples: 4 },
    ]);
  });

  it('counts a gap of exactly max_gap and drops one a millisecond longer', () => {
    const t = h10;
    expect(rollupSamples([{ ts: t, utilization_pct: 100 }, { ts: t + 120_000, utilization_pct: 0 }])[0]).toMatchObject({
      allocated_gpu_seconds: 120, // 2 min ≤ max_gap: counted in full
      busy_gpu_seconds: 120,
    });
    expect(rollupSamples([{ ts: t, utilization_pct: 100 }, { ts: t + 120_001, utilization_pct: 0 }])[0]).toMatchObject({
      allocated_gpu_seconds: 0, // longer: no data at all, not 120 s
      samples: 2,
    });
    // A custom max_gap of 10 min counts a 5-min interval: 300 s × 40 % = 120 s busy.
    expect(
      rollupSamples([{ ts: t, utilization_pct: 40 }, { ts: t + 300_000, utilization_pct: 0 }], { max_gap_ms: 600_000 })[0],
    ).toMatchObject({ allocated_gpu_seconds: 300, busy_gpu_seconds: 120 });
  });

  it('gives nothing for no samples or one sample, and refuses unsorted or impossible readings', () => {
    expect(rollupSamples([])).toEqual([]);
    expect(rollupSamples([{ ts: h10, utilization_pct: 50 }])).toEqual([
      { hour: h10, allocated_gpu_seconds: 0, busy_gpu_seconds: 0, samples: 1 },
    ]);
    expect(() => rollupSamples([{ ts: h11, utilization_pct: 1 }, { ts: h10, utilization_pct: 1 }])).toThrow(/sorted/);
    expect(() => rollupSamples([{ ts: h10, utilization_pct: 101 }])).toThrow(/outside/);
  });

  it('adds GPUs hour by hour', () => {
    const a = [{ hour: h10, allocated_gpu_seconds: 3600, busy_gpu_seconds: 1800, samples: 60 }];
    const b = [
      { hour: h11, allocated_gpu_seconds: 60, busy_gpu_seconds: 6, samples: 1 },
      { hour: h10, allocated_gpu_seconds: 3600, busy_gpu_seconds: 3600, samples: 60 },
    ];
    // 10h: 3600 + 3600 = 7200 s allocated, 1800 + 3600 = 5400 s busy
    expect(sumHourlyTelemetry([a, b])).toEqual([
      { hour: h10, allocated_gpu_seconds: 7200, busy_gpu_seconds: 5400, samples: 120 },
      { hour: h11, allocated_gpu_seconds: 60, busy_gpu_seconds: 6, samples: 1 },
    ]);
    expect(a[0].allocated_gpu_seconds).toBe(3600); // inputs untouched
  });
});

describe('recomputing hours', () => {
  it('marks the hours a new sample can change, including its predecessor’s', () => {
    // 11:01 ± 2 min = [10:59, 11:03]: 10h (the predecessor's interval) and 11h
    expect(hoursAffectedBySamples([at('2026-10-01T11:01:00Z')])).toEqual([h10, h11]);
    expect(hoursAffectedBySamples([at('2026-10-01T11:30:00Z')])).toEqual([h11]);
    // 11:59 + 2 min reaches 12h
    expect(hoursAffectedBySamples([at('2026-10-01T11:59:00Z'), at('2026-10-01T11:30:00Z')])).toEqual([h11, h11 + H]);
  });

  it('widens touched hours by one either side when only the hours are known', () => {
    // samples somewhere in 11h: a predecessor in 10h and an interval running into 12h are possible
    expect(hoursToRecompute([h11, new Date(h11 + 30 * 60_000)])).toEqual([h10, h11, h11 + H]);
    expect(hoursToRecompute([h11, h11 + 2 * H])).toEqual([h10, h11, h11 + H, h11 + 2 * H, h11 + 3 * H]);
    expect(hoursToRecompute([])).toEqual([]);
  });

  it('covers every hour a sample in a touched hour can change (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_600_000 - 1 }), (offset) => {
        const affected = hoursAffectedBySamples([h11 + offset]);
        const recompute = new Set(hoursToRecompute([h11]));
        for (const h of affected) expect(recompute.has(h)).toBe(true);
      }),
      FC,
    );
  });

  it('reads max_gap either side of the hours to recompute', () => {
    expect(sampleWindowForHours([h11 + 2 * H, h11])).toEqual({
      from_ms: at('2026-10-01T10:58:00Z'), // 11:00 − 2 min
      to_ms: at('2026-10-01T14:02:00Z'), // 13:00 + 1 h + 2 min
    });
    expect(sampleWindowForHours([])).toBeNull();
  });

  // Samples within a few hours, with gaps around max_gap so every branch is taken.
  const samples = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 100 })), { minLength: 0, maxLength: 120 })
    .map((steps) => {
      let t = h10 - 30 * 60_000;
      return steps.map(([dt, u]): GpuSample => ({ ts: (t += dt), utilization_pct: u }));
    });

  it('conserves time: Σ allocated = Σ intervals ≤ max_gap, and busy ≤ allocated (property)', () => {
    fc.assert(
      fc.property(samples, (s) => {
        const rows = rollupSamples(s);
        let expected = 0;
        let busy = 0;
        for (let i = 0; i + 1 < s.length; i++) {
          const dt = (s[i + 1].ts as number) - (s[i].ts as number);
          if (dt <= 120_000) {
            expected += dt / 1000;
            busy += (s[i].utilization_pct / 100) * (dt / 1000);
          }
        }
        const allocated = rows.reduce((a, r) => a + r.allocated_gpu_seconds, 0);
        expect(close(allocated, expected)).toBe(true);
        expect(close(rows.reduce((a, r) => a + r.busy_gpu_seconds, 0), busy)).toBe(true);
        for (const r of rows) {
          expect(r.allocated_gpu_seconds).toBeLessThanOrEqual(3600 + 1e-9);
          expect(r.busy_gpu_seconds).toBeLessThanOrEqual(r.allocated_gpu_seconds + 1e-9);
        }
        expect(rows.reduce((a, r) => a + r.samples, 0)).toBe(s.length);
      }),
      FC,
    );
  });

  it('gives the same hour from the sample window as from all samples (property)', () => {
    fc.assert(
      fc.property(samples, fc.integer({ min: -1, max: 3 }), (s, k) => {
        const hour = h10 + k * H;
        const window = sampleWindowForHours([hour])!;
        const part = s.filter((x) => (x.ts as number) >= window.from_ms && (x.ts as number) <= window.to_ms);
        const full = rollupSamples(s).find((r) => r.hour === hour);
        const fromWindow = rollupSamples(part).find((r) => r.hour === hour);
        expect(fromWindow?.allocated_gpu_seconds ?? 0).toBe(full?.allocated_gpu_seconds ?? 0);
        expect(fromWindow?.busy_gpu_seconds ?? 0).toBe(full?.busy_gpu_seconds ?? 0);
      }),
      FC,
    );
  });

  it('changes no hour outside hoursAffectedBySamples when a sample is added (property)', () => {
    fc.assert(
      fc.property(samples, fc.integer({ min: 0, max: 5 * 3_600_000 }), fc.integer({ min: 0, max: 100 }), (s, offset, u) => {
        const t = h10 - 30 * 60_000 + offset;
        const added = [...s, { ts: t, utilization_pct: u }].sort((a, b) => (a.ts as number) - (b.ts as number));
        const before = new Map(rollupSamples(s).map((r) => [r.hour, r]));
        const after = new Map(rollupSamples(added).map((r) => [r.hour, r]));
        const affected = new Set(hoursAffectedBySamples([t]));
        for (const hour of new Set([...before.keys(), ...after.keys()])) {
          if (affected.has(hour)) continue;
          expect(after.get(hour)?.allocated_gpu_seconds ?? 0).toBe(before.get(hour)?.allocated_gpu_seconds ?? 0);
          expect(after.get(hour)?.busy_gpu_seconds ?? 0).toBe(before.get(hour)?.busy_gpu_seconds ?? 0);
        }
      }),
      FC,
    );
  });
});
