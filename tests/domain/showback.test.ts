import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantSchedule, reservationSchedule } from '../../app/domain/scenarios.js';
import { largestRemainder, showback } from '../../app/domain/showback.js';
import { close, FC, H } from './engine-helpers.js';

describe('largest remainder', () => {
  it('splits whole units in proportion, the largest remainders taking what is left', () => {
    // quotas 3.5, 2.1, 1.4 → 3, 2, 1 = 6; one unit left → to the .5
    expect(largestRemainder([0.5, 0.3, 0.2], 7)).toEqual([4, 2, 1]);
    // 33.33 each; the tie goes to the first
    expect(largestRemainder([1, 1, 1], 100)).toEqual([34, 33, 33]);
    expect(largestRemainder([0, 0], 3)).toEqual([2, 1]); // no weights: equal shares
    expect(largestRemainder([5, 0], 0)).toEqual([0, 0]);
    expect(largestRemainder([], 5)).toEqual([]);
    expect(() => largestRemainder([1], 1.5)).toThrow();
    expect(() => largestRemainder([-1, 2], 1)).toThrow();
  });
});

describe('showback', () => {
  it('splits used capacity by hourly demand and idle capacity by window demand', () => {
    // 4 GPUs × $2.50 × 4 h = $40. A [3,1,0,2], B [1,1,0,0] → D [4,2,0,2]
    // h0: used 4 → $10: A 3/4 = $7.50, B $2.50      h1: used 2 → $5: A $2.50, B $2.50; idle $5
    // h2: idle $10                                   h3: used 2 → $5: A $5; idle $5
    // used: A $15, B $5; idle $20 split by window demand A 6 : B 2 → A $15, B $5
    const result = showback(
      [
        { customer: 'a', demand: [3, 1, 0, 2] },
        { customer: 'b', demand: [1, 1, 0, 0] },
      ],
      constantSchedule(4, 2.5, 4),
    );
    expect(result).toEqual({
      total_usd: 40,
      used_usd: 20,
      idle_usd: 20,
      total_cents: 4000,
      used_cents: 2000,
      idle_cents: 2000,
      customers: [
        { customer: 'a', used_usd: 15, idle_usd: 15, total_usd: 30, used_cents: 1500, idle_cents: 1500, total_cents: 3000 },
        { customer: 'b', used_usd: 5, idle_usd: 5, total_usd: 10, used_cents: 500, idle_cents: 500, total_cents: 1000 },
      ],
    });
  });

  it('rounds to cents that add up to the whole', () => {
    // 1 GPU × $1.00 × 1 h fully used by three equal customers: $0.3333… each → 34 + 33 + 33 cents
    const third = 1 / 3;
    const r = showback(
      ['x', 'y', 'z'].map((customer) => ({ customer, demand: [third] })),
      constantSchedule(1, 1, 1),
    );
    expect(r.customers.map((c) => c.total_cents)).toEqual([34, 33, 33]);
    expect(r.total_cents).toBe(100);
  });

  it('charges demand beyond the reservation nothing extra and splits an idle pool equally', () => {
    // D = 8 > N = 2: used is capped at 2 GPUs ($2 × 2 = $4), split 6 : 2
    const over = showback(
      [
        { customer: 'a', demand: [6] },
        { customer: 'b', demand: [2] },
      ],
      constantSchedule(2, 2, 1),
    );
    expect(over.customers.map((c) => c.used_usd)).toEqual([3, 1]);
    expect(over.idle_usd).toBe(0);
    const idle = showback(
      [
        { customer: 'a', demand: [0, 0] },
        { customer: 'b', demand: [0, 0] },
      ],
      constantSchedule(1, 1.01, 2),
    );
    expect(idle.customers.map((c) => c.total_cents)).toEqual([101, 101]); // $2.02 halved
  });

  it('adds up to the whole to the cent for any pool and reservations (property)', () => {
    const hours = 24;
    const member = fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 30, noNaN: true })), { minLength: hours, maxLength: hours });
    const reservation = fc.record({
      gpus: fc.integer({ min: 1, max: 16 }),
      usd_per_gpu_hour: fc.double({ min: 0.01, max: 9.99, noNaN: true }),
      starts_at: fc.integer({ min: -3, max: 23 }).map((h) => h * H),
      ends_at: fc.integer({ min: 1, max: 30 }).map((h) => h * H),
    });
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 6 }), fc.array(reservation, { minLength: 1, maxLength: 3 }), (members, reservations) => {
        const schedule = reservationSchedule(reservations, 0, hours);
        const r = showback(
          members.map((demand, i) => ({ customer: `c${i}`, demand })),
          schedule,
        );
        const whole = schedule.usd.reduce((a, b) => a + b, 0);
        expect(r.total_cents).toBe(Math.round(whole * 100));
        expect(r.customers.reduce((a, c) => a + c.total_cents, 0)).toBe(r.total_cents);
        expect(r.customers.reduce((a, c) => a + c.used_cents, 0)).toBe(r.used_cents);
        expect(r.customers.reduce((a, c) => a + c.idle_cents, 0)).toBe(r.idle_cents);
        expect(close(r.customers.reduce((a, c) => a + c.total_usd, 0), whole)).toBe(true);
        for (const c of r.customers) {
          expect(c.used_cents + c.idle_cents).toBe(c.total_cents);
          expect(c.used_cents).toBeGreaterThanOrEqual(0);
          expect(c.idle_cents).toBeGreaterThanOrEqual(0);
          // Within 2 cents of the exact share per part: 1 for the split, up to 1 for rounding the pool's parts
          expect(Math.abs(c.used_cents - c.used_usd * 100)).toBeLessThan(2);
          expect(Math.abs(c.idle_cents - c.idle_usd * 100)).toBeLessThan(2);
        }
      }),
      FC,
    );
  });
});
