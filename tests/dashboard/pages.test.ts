// Every dashboard page's figures against the engine (costSummary, recommendForScope, dailyCostByScenario) and the
// command line (`recommend --json`) for the same period, on the demo with a fixed end. Loaders are called as the
// server calls them: a Request with a signed-in session.
import { beforeAll, describe, expect, it } from 'vitest';
import { costSummary, dailyCostByScenario, recommendForScope, type CostSummary } from '../../app/services/costing.server.js';
import { loader as overviewLoader } from '../../app/routes/_index';
import { loader as customersLoader } from '../../app/routes/customers._index';
import { loader as customerLoader } from '../../app/routes/customers.$slug';
import { loader as poolsLoader } from '../../app/routes/pools._index';
import { loader as poolLoader } from '../../app/routes/pools.$name';
import { loader as recommendationsLoader } from '../../app/routes/recommendations';
import { loader as reservationsLoader } from '../../app/routes/reservations';
import { loader as pricesLoader } from '../../app/routes/prices';
import { dailyRows, loadFleet } from '../../app/services/dashboard/fleet.server.js';
import { loadCustomersTable } from '../../app/services/dashboard/customers.server.js';
import { runCli } from '../support/cli.js';
import { callLoader, demoApp, expectUsd, loaderThrows, PERIOD, WINDOW, type DemoApp } from './helpers.js';

let t: DemoApp;
let summary: CostSummary;

beforeAll(async () => {
  t = await demoApp();
  summary = await costSummary(t.db, WINDOW);
}, 120_000);

const primaryOf = (slug: string) => summary.customers.find((r) => r.customer === slug && r.primary)!;

async function cliRecommend(args: string[]): Promise<any> {
  const result = await runCli(['recommend', ...args, '--from', WINDOW.from.toISOString(), '--to', WINDOW.to.toISOString(), '--json', '--no-save'], {
    env: { DATABASE_URL: t.url },
  });
  if (result.code !== 0) throw new Error(`recommend ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe('overview', () => {
  it('totals each scenario from the engine’s rows, and keeps the fleet figures', async () => {
    const o = await callLoader(overviewLoader, t.viewer, `/?${PERIOD}`);
    expect(o.counts).toEqual({ customers: 12, pools: 2 });
    const primary = summary.customers.filter((r) => r.primary);
    expect(primary).toHaveLength(12);
    expectUsd(o.totals.apiUsd, primary.reduce((s, r) => s + r.api_usd, 0), 'API');
    expectUsd(o.totals.onDemandUsd, primary.reduce((s, r) => s + (r.on_demand_usd ?? 0), 0), 'on-demand');
    expect(o.totals.inputTokens + o.totals.outputTokens).toBe(primary.reduce((s, r) => s + r.input_tokens + r.output_tokens, 0));
    expectUsd(o.totals.gpuHours, summary.customers.reduce((s, r) => s + r.gpu_hours, 0), 'GPU-hours');

    // Units: a pool on a type its members run on covers them; everyone else stands alone.
    // A customer row names its pool (its scope is the customer alone).
    const poolRow = (pool: string, type: string) => summary.pools.find((p) => p.primary && p.pool === pool && p.gpu_type === type);
    let current = 0;
    let recommended = 0;
    let saving = 0;
    const pools = new Map<string, { row: (typeof summary.pools)[number]; members: typeof primary }>();
    for (const r of primary) {
      const p = r.pool === null ? undefined : poolRow(r.pool, r.gpu_type);
      if (p) {
        const entry = pools.get(p.pool!) ?? { row: p, members: [] };
        entry.members.push(r);
        pools.set(p.pool!, entry);
      } else {
        current += r.baseline_usd;
        recommended += r.recommended_usd ?? r.baseline_usd;
        saving += Math.max(0, r.baseline_usd - (r.recommended_usd ?? r.baseline_usd));
      }
    }
    expect([...pools.keys()].sort()).toEqual(['batch-a100', 'shared-h100']);
    for (const { row, members } of pools.values()) {
      const today = row.current_usd ?? members.reduce((s, m) => s + m.baseline_usd, 0);
      current += today;
      recommended += row.recommended_usd ?? today;
      saving += Math.max(0, today - (row.recommended_usd ?? today));
    }
    expectUsd(o.totals.currentUsd, current, 'current');
    expectUsd(o.totals.recommendedUsd, recommended, 'recommended');
    expectUsd(o.totals.savingAvailableUsd, saving, 'saving available');
    expect(o.totals.savingAvailableUsd).toBeGreaterThan(0);
  });

  it('draws the daily chart from the engine’s daily costs, which add up to the totals', async () => {
    const o = await callLoader(overviewLoader, t.viewer, `/?${PERIOD}`);
    expect(o.chart).toHaveLength(30);
    const daily = await dailyCostByScenario(t.db, WINDOW);
    const api = daily.filter((d) => d.scenario === 'api').reduce((s, d) => s + d.cost_usd, 0);
    expectUsd(o.chart.reduce((s: number, p: any) => s + p.api, 0), api, 'daily API');
    expectUsd(o.chart.reduce((s: number, p: any) => s + p.current, 0), o.totals.currentUsd, 'daily current');
    expectUsd(o.chart.reduce((s: number, p: any) => s + p.recommended, 0), o.totals.recommendedUsd, 'daily recommended');
    // The stack's parts are today's spend.
    const stacked = o.chart.reduce((s: number, p: any) => s + o.series.reduce((x: number, k: any) => x + p[k.key], 0), 0);
    expectUsd(stacked, o.totals.currentUsd, 'stacked parts');
  });

  it('lists the reservation that ends within 30 days and the customers with gaps', async () => {
    const o = await callLoader(overviewLoader, t.viewer, `/?${PERIOD}`);
    // The demo's one-year wonka reservation "renews in 15 days" after the seed's end; today may be later.
    const wonka = await t.db.selectFrom('reservations').select('ends_at').where('note', '=', 'renews in 15 days').executeTakeFirstOrThrow();
    const within = wonka.ends_at.getTime() - Date.now();
    if (within > 0 && within <= 30 * 86_400_000) expect(o.expiring.map((r: any) => r.customer)).toContain('wonka');
    expect(o.gaps.map((g: any) => g.slug)).toEqual(expect.arrayContaining(['tyrell']));
    for (const g of o.gaps) expect(g.hours).toBe(primaryOf(g.slug).hours_without_data);
  });
});

describe('customers', () => {
  it('shows every customer’s primary row as the engine computes it', async () => {
    const page = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}`);
    expect(page.matching).toBe(12);
    for (const row of page.rows) {
      const e = primaryOf(row.slug);
      expect(row.gpu_type).toBe(e.gpu_type);
      expect(row.tokens).toBe(e.input_tokens + e.output_tokens);
      expectUsd(row.gpu_hours, e.gpu_hours, `${row.slug} GPU-hours`);
      expectUsd(row.api_usd, e.api_usd, `${row.slug} API`);
      expectUsd(row.on_demand_usd, e.on_demand_usd, `${row.slug} on-demand`);
      expectUsd(row.current_usd, e.baseline_usd, `${row.slug} current`);
      expect(row.recommended_gpus).toBe(e.recommended_gpus);
      expectUsd(row.recommended_usd, e.recommended_usd, `${row.slug} recommended`);
      expectUsd(row.saving_usd, e.saving_usd, `${row.slug} saving`);
      expect(row.fill).toBe(e.fill);
      expect(row.break_even_fill).toBe(e.break_even_fill);
      expect(row.hours_without_data).toBe(e.hours_without_data);
    }
  });

  it('sorts, searches and pages from the URL', async () => {
    const bySaving = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}&sort=-saving`);
    const savings = bySaving.rows.map((r: any) => r.saving_usd);
    expect(savings).toEqual([...savings].sort((a, b) => b - a));
    expect(bySaving.sort).toBe('saving');
    expect(bySaving.dir).toBe('desc');

    const byName = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}&sort=customer`);
    expect(byName.rows.map((r: any) => r.slug)).toEqual([...byName.rows.map((r: any) => r.slug)].sort());

    const search = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}&q=SHARED-h100`);
    expect(search.rows.map((r: any) => r.slug).sort()).toEqual(['acme', 'globex', 'umbrella', 'vandelay']);
    expectUsd(search.totals.api_usd, search.rows.reduce((s: number, r: any) => s + r.api_usd, 0), 'totals of the matches');

    const paged = await loadCustomersTable(t.db, WINDOW, { sort: 'customer', dir: 'asc', q: '', page: 2, pageSize: 5 });
    expect(paged.pages).toBe(3);
    expect(paged.rows.map((r) => r.slug)).toEqual(byName.rows.slice(5, 10).map((r: any) => r.slug));
    const bogus = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}&sort=;drop&page=-4`);
    expect([bogus.sort, bogus.dir, bogus.page]).toEqual(['saving', 'desc', 1]);
  });
});

describe('a customer', () => {
  it('is the document of `recommend` for the same customer, type and period — engine and CLI', async () => {
    const page = await callLoader(customerLoader, t.viewer, `/customers/acme?${PERIOD}`, { slug: 'acme' });
    const s = page.selected;
    expect(s.gpuType).toBe('H100');
    const { document: engine } = await recommendForScope(t.db, { customer: 'acme', gpuType: 'H100', ...WINDOW, overflow: 'on_demand' });
    const cli = await cliRecommend(['--customer', 'acme', '--gpu-type', 'H100']);
    for (const doc of [engine, cli]) {
      expectUsd(s.document.allApiUsd, doc.all_api_usd, 'API');
      expectUsd(s.document.allOnDemandUsd, doc.all_on_demand_usd, 'on-demand');
      expect(s.document.best.gpus).toBe(doc.best.gpus);
      expect(s.document.best.provider).toBe(doc.best.provider);
      expectUsd(s.document.best.cost_usd, doc.best.cost_usd, 'best');
      expect(s.document.stability.min_gpus).toBe(doc.stability.min_gpus);
      expect(s.document.stability.max_gpus).toBe(doc.stability.max_gpus);
      expect(s.document.riskLevels).toEqual(doc.risk_levels);
      expect(s.document.recent).toEqual(doc.recent);
      expect(s.curve.points.map((p: any) => p.gpus)).toEqual(doc.curve.map((p: any) => p.gpus));
      s.curve.points.forEach((p: any, i: number) => expectUsd(p.cost, doc.curve[i].cost_usd, `curve ${i}`));
    }
    // The scenario table carries the same amounts, each with its formula.
    const line = (key: string) => s.scenarios.find((l: any) => l.key === key);
    expectUsd(line('api').usd, engine.all_api_usd, 'API line');
    expectUsd(line('recommended').usd, engine.best!.cost_usd, 'recommended line');
    expect(line('on_demand').formula).toMatch(/^ON_DEMAND = Σ_h d\(h\)·o = [\d,.]+ GPU-h × \$3\.19 = \$[\d,.]+$/);
    expect(line('recommended').formula).toContain(`RESERVED(${engine.best!.gpus}) = N·r·H`);
    // The chart's points are the hourly demand.
    expect(s.demandChart.bucketHours).toBe(1);
    expect(s.demandChart.demand).toHaveLength(720);
    const mean = s.demandChart.demand.reduce((a: number, d: number) => a + d, 0) / 720;
    expect(Math.abs(mean - engine.demand.mean_gpus)).toBeLessThan(1e-3);
    expect(s.heatmap.metric).toBe('utilization');
    expect(s.heatmap.cells.filter((c: number | null) => c !== null)).toHaveLength(168);
    expect(page.tokens.models.map((m: any) => m.model).sort()).toEqual(['llama-3.1-70b', 'llama-3.1-8b']);
    expect(s.throughput.observed.profileOverObserved).toBeGreaterThan(0);
  });

  it('shows a customer with a reservation its current cost, and a token-only one with demand from tokens', async () => {
    const wonka = (await callLoader(customerLoader, t.viewer, `/customers/wonka?${PERIOD}`, { slug: 'wonka' })).selected;
    const cli = await cliRecommend(['--customer', 'wonka', '--gpu-type', 'H100']);
    expectUsd(wonka.document.current.cost_usd, cli.current.cost_usd, 'current');
    expect(wonka.baseline.key).toBe('current');
    expect(wonka.demandChart.current.every((n: number) => n === 16)).toBe(true);

    const hooli = (await callLoader(customerLoader, t.viewer, `/customers/hooli?${PERIOD}`, { slug: 'hooli' })).selected;
    expect(hooli.heatmap.metric).toBe('demand');
    expect(hooli.baseline.key).toBe('api');
    expectUsd(hooli.baseline.usd, primaryOf('hooli').api_usd, 'hooli pays the API');
  });

  it('answers 404 for an unknown customer', async () => {
    const response = await loaderThrows(customerLoader, t.viewer, `/customers/nobody?${PERIOD}`, { slug: 'nobody' });
    expect(response.status).toBe(404);
    expect((await t.viewer.get(`/customers/nobody?${PERIOD}`)).status).toBe(404);
  });
});

describe('pools', () => {
  it('sets the pooled optimum beside the separate optima, and splits the reservation to the cent', async () => {
    const page = await callLoader(poolLoader, t.viewer, `/pools/shared-h100?${PERIOD}`, { name: 'shared-h100' });
    const s = page.selected;
    const { document } = await recommendForScope(t.db, { pool: 'shared-h100', gpuType: 'H100', ...WINDOW, overflow: 'on_demand' });
    const cli = await cliRecommend(['--pool', 'shared-h100', '--gpu-type', 'H100']);
    for (const doc of [document, cli]) {
      expectUsd(s.aggregation.saving_usd, doc.aggregation.saving_usd, 'aggregation saving');
      expectUsd(s.aggregation.members_optimum_usd, doc.aggregation.members_optimum_usd, 'separately');
      expect(s.best.gpus).toBe(doc.best.gpus);
    }
    expect(s.showback.basis).toBe('current');
    expect(s.showback.customers.reduce((a: number, c: any) => a + c.total_cents, 0)).toBe(s.showback.total_cents);
    expect(s.showback.customers.reduce((a: number, c: any) => a + c.used_cents + c.idle_cents, 0)).toBe(s.showback.total_cents);
    expect(s.showback.total_cents).toBe(Math.round(s.showback.total_usd * 100));
    expect(page.members.map((m: any) => m.slug)).toEqual(['acme', 'globex', 'umbrella', 'vandelay']);

    const list = await callLoader(poolsLoader, t.viewer, `/pools?${PERIOD}`);
    expect(list.pools.map((p: any) => p.name)).toEqual(['batch-a100', 'shared-h100']);
    expect((await loaderThrows(poolLoader, t.viewer, `/pools/none?${PERIOD}`, { name: 'none' })).status).toBe(404);
  });
});

describe('recommendations', () => {
  it('lists every pool and customer with the engine’s recommendation, filtered by GPU type and pool', async () => {
    const all = await callLoader(recommendationsLoader, t.viewer, `/recommendations?${PERIOD}`);
    expect(all.rows).toHaveLength(14);
    for (const r of all.rows.filter((x: any) => x.scope === 'customer')) {
      const e = primaryOf(r.name);
      expect(r.recommended_gpus).toBe(e.recommended_gpus);
      expectUsd(r.recommended_usd, e.recommended_usd, r.name);
      expect(r.change).toBe(e.change);
      expect(r.recent_flagged).toBe(e.recent_flagged);
      expect(r.stability_min_gpus).not.toBeNull();
    }
    const h100 = await callLoader(recommendationsLoader, t.viewer, `/recommendations?${PERIOD}&gpuType=H100`);
    expect(h100.rows.length).toBeGreaterThan(0);
    expect(h100.rows.every((r: any) => r.gpu_type === 'H100')).toBe(true);
    const pool = await callLoader(recommendationsLoader, t.viewer, `/recommendations?${PERIOD}&pool=batch-a100`);
    expect(pool.rows.map((r: any) => r.name).sort()).toEqual(['batch-a100', 'initech', 'oceanic']);
  });
});

describe('lists and exports', () => {
  it('gives the exports the same rows as the pages: daily costs equal the engine’s', async () => {
    const fleet = (await loadFleet(t.db, WINDOW)).value;
    const mine = dailyRows(fleet);
    const engine = await dailyCostByScenario(t.db, WINDOW);
    expect(mine.length).toBe(engine.length);
    mine.forEach((r, i) => {
      expect([r.day, r.customer, r.scenario, r.gpu_type]).toEqual([engine[i].day, engine[i].customer, engine[i].scenario, engine[i].gpu_type]);
      expectUsd(r.cost_usd, engine[i].cost_usd, `${r.day} ${r.customer} ${r.scenario}`);
    });
  });

  it('lists reservations and price books for a viewer, without the admin forms', async () => {
    const reservations = await callLoader(reservationsLoader, t.viewer, `/reservations?${PERIOD}`);
    expect(reservations.rows.length).toBe(4);
    expect(reservations.choices).toBeNull();
    const pool = reservations.rows.find((r: any) => r.pool === 'shared-h100');
    expectUsd(pool.committed_usd_in_period, 16 * 2.29 * 720, 'committed in the period');
    const prices = await callLoader(pricesLoader, t.viewer, `/prices?${PERIOD}`);
    expect(prices.books.map((b: any) => b.name)).toEqual(['default-2026']);
    expect(prices.books[0].gpuOffers.length + prices.books[0].apiOffers.length).toBe(26);
    expect(prices.books[0].inPeriod).toBe(true);
  });

  it('renders every page over HTTP for a viewer', async () => {
    for (const path of ['/', '/customers', '/customers/acme', '/pools', '/pools/shared-h100', '/recommendations', '/reservations', '/prices']) {
      const response = await t.viewer.get(`${path}?${PERIOD}`);
      expect(response.status, path).toBe(200);
      const html = await response.text();
      expect(html, path).toContain('/exports/');
    }
  });
});
