// 20 signed-in readers load /, /customers and /customers/acme over HTTP, in a loop, while `breakeven ingest file`
// backfills a week of 15-second GPU samples for acme in another process. Every response must be 200 and every
// figure read from a page must be the engine's figure before the backfill or after it: a page computed from a
// half-committed import, or mixing rollups read before and after the commit, would show a third value.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costSummary, recommendForScope } from '../../app/services/costing.server.js';
import { formatUsd } from '../../app/lib/format.js';
import type { Db } from '../../db/client.js';
import { seedDemo } from '../../seeds/demo.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { freshDatabase } from '../support/database.js';
import { sleep, writeSampleFile } from './helpers.js';

const END = new Date('2026-11-28T00:00:00Z');
const PERIOD = 'from=2026-10-29&to=2026-11-28';
const WINDOW = { from: new Date('2026-10-29T00:00:00Z'), to: new Date('2026-11-28T00:00:00Z') };
const READERS = 20;
/** A week of 15-second samples: 7 × 24 × 3600 / 15 = 40,320 per GPU; six GPUs make 241,920 rows. */
const SAMPLES_PER_GPU = (7 * 24 * 3600) / 15;
const GPUS = 6;
const BACKFILL_FROM = new Date('2026-11-14T00:00:00Z');

let db: Db;
let url: string;
let app: TestApp;
let folder: string;

beforeAll(async () => {
  ({ db, url } = await freshDatabase());
  await seedDemo(db, { days: 35, seed: 1, end: END });
  await createUser(db, 'viewer@example.com', 'viewer');
  app = await startApp(db);
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-readers-'));
}, 120_000);

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** The text Money renders for a non-negative amount: "$1,234.56" (an absent figure is a dash). */
function money(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return '—';
  return formatUsd(Math.abs(usd));
}

interface Figures {
  '/': { api: string; onDemand: string };
  '/customers': { totalApi: string; totalOnDemand: string; acmeOnDemand: string; acmeRecommended: string };
  '/customers/acme': { api: string; onDemand: string; recommended: string };
}
type Page = keyof Figures;
const PAGES: Page[] = ['/', '/customers', '/customers/acme'];

/** The engine's figures for each page, from the same service functions the pages are built on. */
async function engineFigures(): Promise<Figures> {
  const summary = await costSummary(db, WINDOW);
  const primary = summary.customers.filter((r) => r.primary);
  const acme = primary.find((r) => r.customer === 'acme')!;
  const { document } = await recommendForScope(db, { customer: 'acme', gpuType: acme.gpu_type, ...WINDOW, overflow: 'on_demand' });
  return {
    // Overview tiles: Σ over every customer's primary row (tests/dashboard/pages.test.ts checks the same sums).
    '/': { api: money(primary.reduce((s, r) => s + r.api_usd, 0)), onDemand: money(primary.reduce((s, r) => s + (r.on_demand_usd ?? 0), 0)) },
    // /customers: its footer totals the primary rows; acme's row is its primary row.
    '/customers': {
      totalApi: money(primary.reduce((s, r) => s + r.api_usd, 0)),
      totalOnDemand: money(primary.reduce((s, r) => s + (r.on_demand_usd ?? 0), 0)),
      acmeOnDemand: money(acme.on_demand_usd),
      acmeRecommended: money(acme.recommended_usd),
    },
    // /customers/acme: the scenario table is the document `recommend --customer acme` returns.
    '/customers/acme': { api: money(document.all_api_usd), onDemand: money(document.all_on_demand_usd), recommended: money(document.best?.cost_usd) },
  };
}

const MONEY = /<span class="num[^"]*"(?: title="[^"]*")?>([^<]*)<\/span>/g;
const moneyIn = (html: string): string[] => [...html.matchAll(MONEY)].map((m) => m[1]);

/** Reads the figures a page shows; throws when the page's markup no longer has them where expected. */
function pageFigures(page: Page, html: string): Figures[Page] {
  if (page === '/') {
    const tile = (key: string) => {
      const m = new RegExp(`sc-${key}"><div class="tile-label">[^<]*</div><div class="tile-value"><span[^>]*>([^<]*)</span>`).exec(html);
      if (!m) throw new Error(`overview: no ${key} tile`);
      return m[1];
    };
    return { api: tile('api'), onDemand: tile('on_demand') };
  }
  if (page === '/customers') {
    const foot = /<tfoot>([\s\S]*?)<\/tfoot>/.exec(html)?.[1];
    const row = /<tr>(?:(?!<\/tr>)[\s\S])*?href="\/customers\/acme\?[\s\S]*?<\/tr>/.exec(html)?.[0];
    if (!foot || !row) throw new Error('/customers: no footer or no acme row');
    // Cells in order: API, on-demand, current, recommended, saving.
    const [totalApi, totalOnDemand] = moneyIn(foot);
    const cells = moneyIn(row);
    return { totalApi, totalOnDemand, acmeOnDemand: cells[1], acmeRecommended: cells[3] };
  }
  const scenarios = /<table class="scenario-table">([\s\S]*?)<\/table>/.exec(html)?.[1];
  if (!scenarios) throw new Error('/customers/acme: no scenario table');
  const line = (label: string) => {
    const m = new RegExp(`${label}[\\s\\S]*?<td class="num strong"><span[^>]*>([^<]*)</span>`).exec(scenarios);
    if (!m) throw new Error(`/customers/acme: no "${label}" line`);
    return m[1];
  };
  return { api: line('All on the API'), onDemand: line('All on on-demand GPUs'), recommended: line('Recommended: ') };
}

interface Observation {
  page: Page;
  status: number;
  figures?: Figures[Page];
  error?: string;
}

async function read(client: Client, page: Page): Promise<Observation> {
  try {
    const response = await client.get(`${page}?${PERIOD}`);
    const html = await response.text();
    if (response.status !== 200) return { page, status: response.status, error: html.slice(0, 300) };
    return { page, status: 200, figures: pageFigures(page, html) };
  } catch (error) {
    return { page, status: 0, error: (error as Error).message };
  }
}

describe('20 concurrent page readers while a week of samples is backfilled', () => {
  it('every response is 200 and every figure is the engine’s, before or after the backfill', async () => {
    const before = await engineFigures();
    const readers = await Promise.all(
      Array.from({ length: READERS }, async () => {
        const c = new Client(app.url);
        await c.signIn('viewer@example.com');
        return c;
      }),
    );
    // The pages as they stand: they match the engine (this also checks that the figures are read correctly).
    for (const page of PAGES) expect(await read(readers[0], page), page).toEqual({ page, status: 200, figures: before[page] });

    const file = path.join(folder, 'backfill.csv');
    const gpus = Array.from({ length: GPUS }, (_, i) => ({ uuid: `GPU-backfill-${i}`, customer: 'acme', gpuType: 'H100' }));
    const rows = await writeSampleFile(file, { from: BACKFILL_FROM, samplesPerGpu: SAMPLES_PER_GPU, gpus });
    expect(rows).toBe(SAMPLES_PER_GPU * GPUS);

    let ingesting = true;
    const observations: Observation[] = [];
    const ingestion = runCli(['ingest', 'file', '--kind', 'gpu-samples', file, '--json'], { env: { DATABASE_URL: url } }).finally(() => {
      ingesting = false;
    });
    const loops = readers.map(async (client, i) => {
      for (let n = i; ingesting; n++) observations.push(await read(client, PAGES[n % PAGES.length]));
    });
    const result = await ingestion;
    await Promise.all(loops);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: rows, stored: rows, rejected: 0 });

    const after = await engineFigures();
    // The backfill must move the figures the readers check, or "before or after" would prove nothing.
    expect(after['/customers/acme'].onDemand).not.toBe(before['/customers/acme'].onDemand);
    expect(after['/'].onDemand).not.toBe(before['/'].onDemand);

    // Enough reads overlapped the import to mean something: each reader read at least once per page while it ran.
    for (const page of PAGES) expect(observations.filter((o) => o.page === page).length, page).toBeGreaterThanOrEqual(READERS);
    const failures = observations.filter((o) => o.status !== 200);
    expect(failures.slice(0, 3), `${failures.length} failed response(s)`).toEqual([]);
    const wrong = observations.filter((o) => {
      const seen = JSON.stringify(o.figures);
      return seen !== JSON.stringify(before[o.page]) && seen !== JSON.stringify(after[o.page]);
    });
    expect(
      wrong.slice(0, 3).map((o) => ({ page: o.page, seen: o.figures, before: before[o.page], after: after[o.page] })),
      `${wrong.length} of ${observations.length} reads showed figures that are neither before nor after`,
    ).toEqual([]);

    // And the pages catch up: once the data version is re-read (at most a second) and the recompute is done,
    // every page shows the new figures.
    for (const page of PAGES) {
      let seen: Observation | undefined;
      for (let tries = 0; tries < 60; tries++) {
        seen = await read(readers[0], page);
        if (JSON.stringify(seen.figures) === JSON.stringify(after[page])) break;
        await sleep(500);
      }
      expect(seen, page).toEqual({ page, status: 200, figures: after[page] });
    }
  });
});
