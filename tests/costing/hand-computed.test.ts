// A small window costed end to end through the CLI, every figure recomputed here by hand from DESIGN.md's
// formulas. The window straddles a price change, so each hour must be priced by the book in force then.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../db/client.js';
import { listRecommendations, markRecommendationsStale } from '../../db/queries/recommendations.js';
import { costSummary, costSummaryForAllCustomers, dailyCostByScenario } from '../../app/services/costing.server.js';
import { recomputeRecommendations, recomputeStaleRecommendations } from '../../app/services/recommendations.server.js';
import { freshDatabase } from '../support/database.js';
import {
  addCustomer, addPool, addTelemetry, addTokens, cli, cliJson, expectClose, expectDesignShape, gpuTypeId, tempFolder, writeJson,
} from './helpers.js';

// Every test runs the real CLI in a child process, which is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

// Window: 6 hours, 2026-03-01 22:00 → 2026-03-02 04:00 UTC. Book A is in force for h0–h1 (22:00, 23:00), book B
// (effective 2026-03-02 00:00) for h2–h5.
const FROM = '2026-03-01T22:00:00Z';
const TO = '2026-03-02T04:00:00Z';
const hour = (h: number) => new Date(Date.parse(FROM) + h * 3_600_000).toISOString();

const bookA = {
  name: 'book-a',
  effective_from: '2026-01-01T00:00:00Z',
  gpu_types: [{ name: 'H100', target_utilization: 0.5 }],
  offers: [
    { kind: 'on_demand', provider: 'od-one', gpu_type: 'H100', usd_per_gpu_hour: 4.0 },
    { kind: 'on_demand', provider: 'od-two', gpu_type: 'H100', usd_per_gpu_hour: 3.5 },
    { kind: 'reserved', provider: 'r-cloud', gpu_type: 'H100', term_days: 30, block_size: 1, usd_per_gpu_hour: 2.0 },
    { kind: 'reserved', provider: 'big-cloud', gpu_type: 'H100', term_days: 365, block_size: 2, usd_per_gpu_hour: 1.9 },
    {
      kind: 'api', provider: 'api-a', model: 'm1', usd_per_mtok_input: 1.0, usd_per_mtok_cached_input: 0.5, usd_per_mtok_cache_write: 1.25,
      usd_per_mtok_output: 2.0,
    },
    { kind: 'api', provider: 'api-b', model: 'm1', usd_per_mtok_input: 2.0, usd_per_mtok_output: 1.0 },
  ],
  capacity_profiles: [{ model: 'm1', gpu_type: 'H100', input_tokens_per_gpu_second: 1000, output_tokens_per_gpu_second: 100, target_utilization: 0.5 }],
};

const bookB = {
  name: 'book-b',
  effective_from: '2026-03-02T00:00:00Z',
  gpu_types: [{ name: 'H100', target_utilization: 0.5 }],
  offers: [
    { kind: 'on_demand', provider: 'od-two', gpu_type: 'H100', usd_per_gpu_hour: 3.0 },
    { kind: 'reserved', provider: 'r-cloud', gpu_type: 'H100', term_days: 30, block_size: 1, usd_per_gpu_hour: 1.25 },
    { kind: 'reserved', provider: 'big-cloud', gpu_type: 'H100', term_days: 365, block_size: 2, usd_per_gpu_hour: 1.9 },
    // On sale only from book B on: not in force for the whole window, so never recommended for it.
    { kind: 'reserved', provider: 'late-cloud', gpu_type: 'H100', term_days: 30, block_size: 1, usd_per_gpu_hour: 0.1 },
    {
      kind: 'api', provider: 'api-a', model: 'm1', usd_per_mtok_input: 0.5, usd_per_mtok_cached_input: 0.25, usd_per_mtok_cache_write: 0.75,
      usd_per_mtok_output: 1.0,
    },
  ],
  capacity_profiles: [{ model: 'm1', gpu_type: 'H100', input_tokens_per_gpu_second: 1000, output_tokens_per_gpu_second: 200, target_utilization: 0.5 }],
};

let db: Db;
let env: Record<string, string>;
let folder: string;
let bookBId: number;

beforeAll(async () => {
  const fresh = await freshDatabase();
  db = fresh.db;
  env = { DATABASE_URL: fresh.url };
  folder = await tempFolder();

  const a = await cliJson(env, ['prices', 'import', await writeJson(folder, 'a.json', bookA), '--json']);
  const b = await cliJson(env, ['prices', 'import', await writeJson(folder, 'b.json', bookB), '--json']);
  bookBId = b.id;
  expect(a).toMatchObject({ name: 'book-a', created: true, effective_from: '2026-01-01T00:00:00Z', effective_to: null });
  expect(b).toMatchObject({ name: 'book-b', created: true, effective_from: '2026-03-02T00:00:00Z', effective_to: null });

  const h100 = await gpuTypeId(db, 'H100');
  const p1 = await addPool(db, 'p1');
  const acme = await addCustomer(db, 'acme', p1);
  const globex = await addCustomer(db, 'globex', p1);

  // acme's telemetry, u = 0.5, so d = busy / 3600 / 0.5 = busy / 1800:
  //   h0 busy 3600 → d 2;  h1 busy 5400 → d 3;  h2 busy 900 → d 0.5;  h3 busy 0 (measured idle) → d 0
  await addTelemetry(db, acme, h100, [
    { hour: hour(0), allocated: 7200, busy: 3600 },
    { hour: hour(1), allocated: 7200, busy: 5400 },
    { hour: hour(2), allocated: 3600, busy: 900 },
    { hour: hour(3), allocated: 3600, busy: 0 },
  ]);
  // acme's tokens. h0, h1 have telemetry too (tokens then only price the API). h4 has no telemetry, so its
  // demand comes from tokens through book B's profile: uncached = 2 400 000 − 500 000 − 100 000 = 1 800 000
  // → 1800 s at 1000 tok/s; output 360 000 at 200 tok/s → 1800 s; 3600 GPU-s / 3600 / 0.5 → d 2. h5: no data.
  await addTokens(db, acme, [
    { hour: hour(0), model: 'm1', input: 1_000_000, output: 100_000 },
    { hour: hour(1), model: 'm1', input: 1_000_000, output: 2_000_000 },
    { hour: hour(4), model: 'm1', input: 2_400_000, cached: 500_000, cacheWrite: 100_000, output: 360_000 },
  ]);
  // globex is token-only: 3 600 000 uncached input tokens in h2–h5 → 3600 s → d 2 in each.
  await addTokens(db, globex, [2, 3, 4, 5].map((h) => ({ hour: hour(h), model: 'm1', input: 3_600_000, output: 0 })));

  // acme holds 1 GPU at $2.50 until 2026-03-02 01:00: active in h0, h1, h2.
  await db.insertInto('reservations').values({
    customer_id: acme, gpu_type_id: h100, provider: 'old-cloud', gpus: 1, usd_per_gpu_hour: 2.5,
    starts_at: '2026-02-01T00:00:00Z', ends_at: '2026-03-02T01:00:00Z',
  }).execute();
  // The pool holds 3 GPUs at $1.10 over the whole window and beyond.
  await db.insertInto('reservations').values({
    pool_id: p1, gpu_type_id: h100, provider: 'pool-cloud', gpus: 3, usd_per_gpu_hour: 1.1,
    starts_at: '2026-02-01T00:00:00Z', ends_at: '2026-04-01T00:00:00Z',
  }).execute();
});

describe('prices import', () => {
  it('importing the same file again changes nothing', async () => {
    const again = await cliJson(env, ['prices', 'import', `${folder}/a.json`, '--json']);
    expect(again).toMatchObject({ name: 'book-a', created: false, offers: { reserved: 2, on_demand: 2, api: 2 }, capacity_profiles: 1 });
    const books = await cliJson<any[]>(env, ['prices', 'list', '--json']);
    expect(books.map((b) => [b.name, b.effective_from, b.effective_to])).toEqual([
      ['book-a', '2026-01-01T00:00:00Z', '2026-03-02T00:00:00Z'],
      ['book-b', '2026-03-02T00:00:00Z', null],
    ]);
  });

  it('prints the name, effective date and counts', async () => {
    const result = await cli(env, ['prices', 'import', `${folder}/b.json`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('book-b');
    expect(result.stdout).toContain('2026-03-02T00:00:00Z');
    expect(result.stdout).toContain('3 reserved and 1 on-demand GPU offers, 1 API offers, 1 capacity profiles');
  });

  it('refuses a bad file whole, every problem by JSON path, exit 2', async () => {
    const bad = {
      name: 'bad', effective_from: '2026-05-01',
      offers: [
        { kind: 'reserved', provider: 'x', gpu_type: 'H100', term_days: 30, block_size: 0, usd_per_gpu_hour: 2 },
        { kind: 'api', provider: 'x', model: 'm1', usd_per_mtok_input: -1, usd_per_mtok_output: 1, usd_per_mtok_cachd_input: 1 },
      ],
    };
    const result = await cli(env, ['prices', 'import', await writeJson(folder, 'bad.json', bad)]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^\$\.effective_from: must be an ISO 8601 timestamp/),
      '$.offers[0].block_size: must be a positive whole number',
      '$.offers[1].usd_per_mtok_input: must be a positive number',
      '$.offers[1].usd_per_mtok_cachd_input: is not a field of an api offer',
      'bad.json: nothing imported (4 problems)',
    ]);
    const count = await db.selectFrom('price_books').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(count.n).toBe(2);
  });

  it('refuses a file that is not JSON', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${folder}/broken.json`, '{"name": ');
    const result = await cli(env, ['prices', 'import', `${folder}/broken.json`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('broken.json: not valid JSON');
  });
});

// acme, hour by hour:
//   d      = [2,   3,   0.5, 0,   2,   0  ]     Σd = 7.5, one gap (h5)
//   o(h)   = [3.5, 3.5, 3,   3,   3,   3  ]     lowest on-demand in force: min(4, 3.5) in book A, 3 in book B
//   r(h)   = [2,   2,   1.25,1.25,1.25,1.25]    r-cloud, Σr = 4 + 5 = 9
//   api(h) = [1.2, 4,   0,   0,   1.46, 0  ]
//     h0: api-a 1·1.0 + 0.1·2.0 = 1.2  vs api-b 1·2.0 + 0.1·1.0 = 2.1  → 1.2
//     h1: api-a 1·1.0 + 2·2.0   = 5    vs api-b 1·2.0 + 2·1.0   = 4    → 4   (cheapest offer for that hour's tokens)
//     h4: book B api-a: 1.8·0.5 + 0.5·0.25 + 0.1·0.75 + 0.36·1.0 = 0.9 + 0.125 + 0.075 + 0.36 = 1.46
describe('recommend --customer acme (on-demand overflow)', () => {
  let doc: any;
  beforeAll(async () => {
    doc = await cliJson(env, ['recommend', '--customer', 'acme', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json']);
  });

  it('is DESIGN.md’s document', () => {
    expectDesignShape(doc);
    expect(doc.scope).toEqual({ customer: 'acme', pool: null });
    expect(doc).toMatchObject({ gpu_type: 'H100', from: FROM, to: TO, hours: 6, overflow: 'on_demand' });
  });

  it('demand: telemetry where it exists, tokens through the profile in force otherwise, the gap counted', () => {
    // sorted [0, 0, 0.5, 2, 2, 3]: mean 7.5/6, p50 = x[⌈3⌉] = 0.5, p95 = x[⌈5.7⌉] = 3, peak 3
    expectClose(doc.demand.mean_gpus, 1.25, 'mean');
    expectClose(doc.demand.p50_gpus, 0.5, 'p50');
    expectClose(doc.demand.p95_gpus, 3, 'p95');
    expectClose(doc.demand.peak_gpus, 3, 'peak');
    expect(doc.demand.hours_without_data).toBe(1);
    expect(doc.inputs.hours).toEqual({ telemetry: 4, tokens: 1, without_data: 1 });
  });

  it('all-API and all-on-demand, each hour at its own prices', () => {
    expectClose(doc.all_api_usd, 6.66, 'API'); // 1.2 + 4 + 1.46
    // Σ d·o = 2·3.5 + 3·3.5 + 0.5·3 + 0 + 2·3 + 0 = 7 + 10.5 + 1.5 + 6 = 25
    expectClose(doc.all_on_demand_usd, 25, 'on-demand');
  });

  it('current: the reservation costed with its own N, rate and dates', () => {
    // N(h) = [1,1,1,0,0,0] at $2.50: reserved 7.5; overflow (2−1)·3.5 + (3−1)·3.5 + 0 + 0 + 2·3 + 0 = 16.5
    expect(doc.current.gpus).toBe(0); // N in the window's last hour
    expectClose(doc.current.cost_usd, 24, 'current');
    expectClose(doc.current.reserved_usd, 7.5, 'current reserved');
    expectClose(doc.current.overflow_usd, 16.5, 'current overflow');
    expectClose(doc.current.fill, 2.5 / 3, 'current fill'); // (1 + 1 + 0.5) / 3 GPU-h
    expectClose(doc.current.idle_cost_usd, 1.25, 'current idle'); // h2: $2.50 · (1 − 0.5)
  });

  it('the curve, the optimum and the best offer', () => {
    // RESERVED(N) = N·Σr + Σ max(0, d−N)·o:
    //   N=0: 25;  N=1: 9 + (3.5 + 7 + 0 + 0 + 3) = 22.5;  N=2: 18 + 3.5 = 21.5;  N=3: 27
    expect(doc.curve.map((p: any) => p.gpus)).toEqual([0, 1, 2, 3]);
    [25, 22.5, 21.5, 27].forEach((c, i) => expectClose(doc.curve[i].cost_usd, c, `curve[${i}]`));
    // big-cloud (blocks of 2, $1.90 all window, Σr = 11.4): N=0 25, N=2 22.8 + 3.5 = 26.3, N=4 45.6 → 25 at N=0
    // late-cloud ($0.10) is on sale only from h2: left out.
    expect(doc.offers.map((o: any) => [o.provider, o.gpus])).toEqual([['big-cloud', 0], ['r-cloud', 2]]);
    expectClose(doc.offers[0].cost_usd, 25, 'big-cloud');
    expect(doc.best).toMatchObject({ provider: 'r-cloud', term_days: 30, block_size: 1, gpus: 2 });
    expectClose(doc.best.usd_per_gpu_hour, 1.5, 'mean rate'); // 9 / 6
    expectClose(doc.best.cost_usd, 21.5, 'best');
    expectClose(doc.best.fill, 6.5 / 12, 'fill'); // (2 + 2 + 0.5 + 0 + 2 + 0) / (2 · 6)
    expectClose(doc.best.idle_cost_usd, 6.875, 'idle'); // 1.25·1.5 + 1.25·2 + 1.25·2
    expectClose(doc.best.break_even_fill, 9 / 19, 'break-even'); // mean r / mean o = 1.5 / (19/6)
    expectClose(doc.best.break_even_fill_vs_api, 1.5 / (6.66 / 7.5), 'break-even vs API');
    expectClose(doc.savings_vs_api_usd, 6.66 - 21.5, 'vs API');
    expectClose(doc.savings_vs_on_demand_usd, 3.5, 'vs on-demand');
  });

  it('stability, risk levels, the recent guard and the change', () => {
    // Under a week: the whole window is the one sub-window; the last 72 h are the whole window too.
    expect(doc.stability).toEqual({ min_gpus: 2, max_gpus: 2, weeks: [{ from: FROM, gpus: 2 }] });
    expect(doc.recent).toEqual({ hours: 6, gpus: 2, flagged: false });
    expect(doc.risk_levels.floor.gpus).toBe(0); // min d = 0
    expect(doc.risk_levels.optimal.gpus).toBe(2);
    // balanced: the first block saves s1 = 25 − 22.5 = 2.5; the knee is the smallest N whose next block saves < 40 % of it
    const c = doc.curve.map((p: any) => p.cost_usd);
    const knee = [1, 2, 3].find((k) => (k + 1 < c.length ? c[k] - c[k + 1] : 0) < 0.4 * (c[0] - c[1]))!;
    expect(doc.risk_levels.balanced.gpus).toBe(Math.min(knee, 2));
    expect(doc.change).toEqual({ delta_gpus: 2, label: '+2 H100' }); // nothing reserved in the last hour
  });

  it('names the price books it used, hour by hour', () => {
    expect(doc.inputs.price_books.map((b: any) => [b.name, b.hours])).toEqual([['book-a', 2], ['book-b', 4]]);
    expect(doc.inputs.on_demand).toMatchObject({ providers: ['od-two'], min_usd_per_gpu_hour: 3, max_usd_per_gpu_hour: 3.5 });
    expect(doc.inputs.tokens).toEqual({ input_tokens: 4_400_000, cached_input_tokens: 500_000, cache_write_input_tokens: 100_000, output_tokens: 2_460_000, requests: 3 });
    expect(doc.inputs.telemetry).toEqual({ gpu_hours: 6, busy_gpu_hours: 2.75 });
    // observed where telemetry and tokens meet (h0, h1): busy 9000 s for 2 000 000 uncached and 2 100 000 output
    // tokens; book A's profile predicts 2 000 000/1000 + 2 100 000/100 = 23 000 GPU-s.
    expect(doc.inputs.observed_throughput).toMatchObject({ hours: 2, busy_gpu_seconds: 9000, profile_gpu_seconds: 23000 });
  });

  it('is stored with its window and the book in force at its end', async () => {
    const [row] = await listRecommendations(db, { customerId: (await db.selectFrom('customers').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id });
    expect(row).toMatchObject({ customer: 'acme', gpu_type: 'H100', overflow: 'on_demand', gpus: 2, price_book_id: bookBId, stale: false });
    expect(row.window_from.toISOString()).toBe('2026-03-01T22:00:00.000Z');
    expectClose(row.cost_usd, 21.5, 'stored cost');
    expect(row.result).toEqual(doc);
  });

  it('prints a readable summary with cents', async () => {
    const result = await cli(env, ['recommend', '--customer', 'acme', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--no-save']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('All on the API:        $6.66');
    expect(result.stdout).toContain('All on-demand GPUs:    $25.00');
    expect(result.stdout).toContain('$21.50 with 2 × H100 from r-cloud');
  });
});

describe('recommend --customer acme --overflow api', () => {
  it('prices the overflow as the share of each hour’s tokens that did not fit', async () => {
    const doc = await cliJson(env, ['recommend', '--customer', 'acme', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--overflow', 'api', '--json', '--no-save']);
    expect(doc.overflow).toBe('api');
    // RESERVED(N) = N·Σr + Σ max(0, d−N)/d · api(h), api = [1.2, 4, 0, 0, 1.46, 0]:
    //   N=0: 1.2 + 4 + 0 + 1.46 = 6.66;  N=1: 9 + 1.2/2 + 4·2/3 + 1.46/2;  N=2: 18 + 4/3;  N=3: 27
    const expected = [6.66, 9 + 0.6 + 8 / 3 + 0.73, 18 + 4 / 3, 27];
    expected.forEach((c, i) => expectClose(doc.curve[i].cost_usd, c, `curve[${i}]`));
    // Both offers cost 6.66 at N = 0: the tie goes to the shorter term.
    expect(doc.best).toMatchObject({ provider: 'r-cloud', gpus: 0 });
    expectClose(doc.best.cost_usd, 6.66, 'best');
    expect(doc.best.fill).toBeNull();
    expectClose(doc.best.break_even_fill, 1.5 / (6.66 / 7.5), 'break-even vs API'); // r / (API / Σd)
    // current: N(h) = [1,1,1,0,0,0]: 7.5 + (1/2)·1.2 + (2/3)·4 + 0 + 1.46 + 0
    expectClose(doc.current.cost_usd, 7.5 + 0.6 + 8 / 3 + 1.46, 'current');
    expectClose(doc.savings_vs_on_demand_usd, 25 - 6.66, 'vs on-demand');
    expectClose(doc.savings_vs_api_usd, 0, 'vs API');
  });
});

// The pool p1 = acme + globex:  D = [2,3,0.5,0,2,0] + [0,0,2,2,2,2] = [2,3,2.5,2,4,2],  ΣD = 15.5
describe('recommend --pool p1', () => {
  let doc: any;
  beforeAll(async () => {
    doc = await cliJson(env, ['recommend', '--pool', 'p1', '--gpu-type', 'H100', '--from', FROM, '--to', TO, '--json']);
  });

  it('costs the summed demand', () => {
    expectDesignShape(doc);
    expect(doc.scope).toEqual({ customer: null, pool: 'p1' });
    expectClose(doc.demand.mean_gpus, 15.5 / 6, 'mean');
    expectClose(doc.demand.p50_gpus, 2, 'p50'); // sorted [2,2,2,2.5,3,4]
    expectClose(doc.demand.peak_gpus, 4, 'peak');
    expect(doc.demand.hours_without_data).toBe(0); // globex has data in h5
    expectClose(doc.all_api_usd, 6.66 + 4 * 1.8, 'API'); // globex: 3.6 Mtok · $0.50 per hour
    // Σ D·o = 2·3.5 + 3·3.5 + 2.5·3 + 2·3 + 4·3 + 2·3 = 7 + 10.5 + 7.5 + 6 + 12 + 6 = 49
    expectClose(doc.all_on_demand_usd, 49, 'on-demand');
    // N=0 49; N=1 9 + 30 = 39; N=2 18 + (3.5 + 1.5 + 6) = 29; N=3 27 + 3 = 30; N=4 36
    [49, 39, 29, 30, 36].forEach((c, i) => expectClose(doc.curve[i].cost_usd, c, `curve[${i}]`));
    expect(doc.best).toMatchObject({ provider: 'r-cloud', gpus: 2 });
    // current: the pool's 3 GPUs at $1.10 = 19.8, overflow (4 − 3)·3 in h4 = 3
    expect(doc.current.gpus).toBe(3);
    expectClose(doc.current.cost_usd, 22.8, 'current');
    expect(doc.change.label).toBe('\u22121 H100');
  });

  it('sets the pool beside its members’ separate optima', () => {
    // acme alone 21.5 (above); globex alone, d = [0,0,2,2,2,2] in book-B hours (o = 3):
    //   N=0 8·3 = 24;  N=1 9 + 4·3 = 21;  N=2 18;  N=3 27  → 18
    expect(doc.aggregation.members.map((m: any) => [m.customer, m.gpus])).toEqual([['acme', 2], ['globex', 2]]);
    expectClose(doc.aggregation.members_optimum_usd, 21.5 + 18, 'members');
    expectClose(doc.aggregation.pooled_optimum_usd, 29, 'pooled');
    expectClose(doc.aggregation.saving_usd, 10.5, 'aggregation saving');
  });

  it('splits the reserved cost to the members, adding up to the cent', () => {
    const s = doc.showback;
    expect(s.basis).toBe('current');
    // usd(h) = 3 · $1.10 = 3.3; used(h) = 3.3 · min(D, 3)/3 = [2.2, 3.3, 2.75, 2.2, 3.3, 2.2] → 15.95; idle 3.85
    expectClose(s.total_usd, 19.8, 'total');
    expectClose(s.used_usd, 15.95, 'used');
    // acme used: 2.2·2/2 + 3.3·3/3 + 2.75·0.5/2.5 + 0 + 3.3·2/4 + 0 = 2.2 + 3.3 + 0.55 + 1.65 = 7.7; globex 8.25
    // idle by Σd: acme 3.85 · 7.5/15.5, globex 3.85 · 8/15.5
    const [acme, globex] = s.customers;
    expectClose(acme.used_usd, 7.7, 'acme used');
    expectClose(globex.used_usd, 8.25, 'globex used');
    expectClose(acme.idle_usd, (3.85 * 7.5) / 15.5, 'acme idle');
    expectClose(globex.idle_usd, (3.85 * 8) / 15.5, 'globex idle');
    // In cents: 1980 = 1595 used + 385 idle; used 770 / 825; idle 385·7.5/15.5 = 186.29 → 186, 198.71 → 199
    expect(s.total_cents).toBe(1980);
    expect([acme.total_cents, globex.total_cents]).toEqual([956, 1024]);
    expect(acme.total_cents + globex.total_cents).toBe(s.total_cents);
    for (const c of s.customers) expect(c.used_cents + c.idle_cents).toBe(c.total_cents);
  });
});

describe('stored recommendations', () => {
  it('go stale when ingestion changes hours they cover, and are recomputed', async () => {
    const acme = (await db.selectFrom('customers').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
    // An hour outside every window changes nothing.
    expect(await markRecommendationsStale(db, [acme], [new Date('2026-05-01T00:00:00Z')])).toBe(0);
    // An hour inside: acme's own recommendation and its pool's.
    expect(await markRecommendationsStale(db, [acme], [new Date(hour(3))])).toBe(2);
    const stale = await listRecommendations(db, { stale: true });
    expect(stale.map((r) => r.customer ?? r.pool).sort()).toEqual(['acme', 'p1']);
    const before = stale.find((r) => r.customer === 'acme')!.result;

    const result = await recomputeStaleRecommendations(db);
    expect(result.deleted).toBe(0);
    expect(await listRecommendations(db, { stale: true })).toEqual([]);
    const after = (await listRecommendations(db, { customerId: acme }))[0];
    expect(after.result).toEqual(before); // same data, same document
  });

  it('recomputeRecommendations stores every customer and pool of a window', async () => {
    const result = await recomputeRecommendations(db, { from: new Date(FROM), to: new Date(TO) });
    // acme on H100 (telemetry); globex token-only on every type with a profile for m1 (H100 only here); p1 on H100
    expect(result).toMatchObject({ written: 3, customers: 2, pools: 1, skipped: [] });
    const rows = await listRecommendations(db, { windowFrom: new Date(FROM), windowTo: new Date(TO), overflow: 'on_demand' });
    expect(rows.map((r) => [r.customer ?? r.pool, r.gpus]).sort()).toEqual([['acme', 2], ['globex', 2], ['p1', 2]]);
  });
});

describe('the batch path gives the CLI’s numbers', () => {
  it('costSummaryForAllCustomers', async () => {
    const rows = await costSummaryForAllCustomers(db, { from: new Date(FROM), to: new Date(TO) });
    const acme = rows.find((r) => r.customer === 'acme')!;
    expect(acme).toMatchObject({ gpu_type: 'H100', primary: true, pool: 'p1', recommended_gpus: 2, recommended_provider: 'r-cloud', hours_without_data: 1 });
    expectClose(acme.api_usd, 6.66, 'api');
    expectClose(acme.on_demand_usd, 25, 'on-demand');
    expectClose(acme.current_usd, 24, 'current');
    expectClose(acme.recommended_usd, 21.5, 'recommended');
    expectClose(acme.demand_gpu_hours, 7.5, 'demand');
    expectClose(acme.gpu_hours, 6, 'gpu-hours');
    expect(acme.baseline).toBe('current');
    expectClose(acme.saving_usd, 2.5, 'saving'); // 24 − 21.5
    const globex = rows.find((r) => r.customer === 'globex')!;
    expect(globex).toMatchObject({ primary: true, baseline: 'api', telemetry_hours: 0, token_hours: 4 });
    expectClose(globex.recommended_usd, 18, 'globex');

    const summary = await costSummary(db, { from: new Date(FROM), to: new Date(TO) });
    expect(summary.pools).toHaveLength(1);
    expectClose(summary.pools[0].recommended_usd, 29, 'pool');
  });

  it('dailyCostByScenario adds up to the window’s totals', async () => {
    const rows = await dailyCostByScenario(db, { from: new Date(FROM), to: new Date(TO) });
    const acme = rows.filter((r) => r.customer === 'acme');
    expect([...new Set(acme.map((r) => r.day))]).toEqual(['2026-03-01', '2026-03-02']);
    const total = (scenario: string) => acme.filter((r) => r.scenario === scenario).reduce((s, r) => s + r.cost_usd, 0);
    expectClose(total('api'), 6.66, 'api');
    expectClose(total('on_demand'), 25, 'on-demand');
    expectClose(total('reserved'), 21.5, 'reserved');
    expectClose(total('current'), 24, 'current');
    // 2026-03-01 holds h0 and h1: on-demand 2·3.5 + 3·3.5 = 17.5; reserved 2·2 + 2·2 + (3 − 2)·3.5 = 11.5
    const day1 = (s: string) => acme.find((r) => r.day === '2026-03-01' && r.scenario === s)!.cost_usd;
    expectClose(day1('on_demand'), 17.5, 'day 1 on-demand');
    expectClose(day1('reserved'), 11.5, 'day 1 reserved');
  });
});

describe('bad questions exit 2 with one line', () => {
  const ask = (...extra: string[]) => cli(env, ['recommend', '--gpu-type', 'H100', '--from', FROM, '--to', TO, ...extra]);
  it.each([
    [['--customer', 'nobody'], 'unknown customer "nobody"'],
    [['--pool', 'nowhere'], 'unknown pool "nowhere"'],
    [['--customer', 'acme', '--pool', 'p1'], 'name either --customer SLUG or --pool NAME'],
  ])('%j', async (extra, message) => {
    const result = await ask(...extra);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it.each([
    [['--gpu-type', 'B300'], 'unknown GPU type "B300"'],
    [['--from', '2026-03-01T22:30:00Z'], '--from must be on a whole UTC hour'],
    [['--from', '03/01/2026'], '--from must be an ISO 8601 date or time'],
    [['--from', '2026-03-01T22:00:00'], '--from must be an ISO 8601 date or time'],
    [['--from', TO, '--to', FROM], '--from must be before --to'],
    [['--from', '2025-12-31', '--to', '2026-01-02'], 'no price book is in force at 2025-12-31T00:00:00Z'],
    [['--overflow', 'spot'], '--overflow must be one of on-demand, api'],
  ])('%j', async (extra, message) => {
    const result = await cli(env, ['recommend', '--customer', 'acme', '--gpu-type', 'H100', '--from', FROM, '--to', TO, ...extra]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });
});
