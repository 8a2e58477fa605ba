// The CSV of every table against the page it mirrors, on the demo with a fixed end: the same rows, amounts within
// a cent of the page's unrounded figures, columns that add up to the page's totals to the cent; downloads need a
// signed-in user; the command line writes the same bytes, atomically to --out.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { loader as customersLoader } from '../../app/routes/customers._index';
import { loader as overviewLoader } from '../../app/routes/_index';
import { loader as recommendationsLoader } from '../../app/routes/recommendations';
import { loader as reservationsLoader } from '../../app/routes/reservations';
import { roundUnits } from '../../app/domain/rounding.js';
import { dailyCostByScenario } from '../../app/services/costing.server.js';
import { loadCustomersTable } from '../../app/services/dashboard/customers.server.js';
import { loadPriceRows } from '../../app/services/dashboard/prices.server.js';
import { FOCUS_COLUMNS } from '../../app/services/exports/focus.server.js';
import { CUSTOMERS_HEADER, COSTS_HEADER, PRICES_HEADER, RECOMMENDATIONS_HEADER, RESERVATIONS_HEADER, RUNS_HEADER } from '../../app/services/exports/tables.server.js';
import { insertRejectedRows, insertRun } from '../../db/queries/ingestion.js';
import { Client } from '../support/app.js';
import { runCli } from '../support/cli.js';
import { callLoader, demoApp, FROM_PARAM, PERIOD, TO_PARAM, WINDOW, type DemoApp } from '../dashboard/helpers.js';

let t: DemoApp;

beforeAll(async () => {
  t = await demoApp();
}, 180_000);

type Record_ = Record<string, string>;

async function download(path_: string, client: Client = t.viewer): Promise<{ response: Response; body: string; rows: Record_[]; header: string[] }> {
  const response = await client.get(path_);
  const body = await response.text();
  expect(response.status, `${path_}: ${body.slice(0, 200)}`).toBe(200);
  const records: string[][] = parse(body, { relax_column_count: false });
  const [header, ...data] = records;
  return { response, body, header, rows: data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))) };
}

const cents = (text: string) => {
  expect(text, 'an amount').toMatch(/^-?\d+\.\d{2}$/);
  return Math.round(Number(text) * 100);
};
const sumCents = (rows: Record_[], column: string) => rows.reduce((s, r) => s + (r[column] === '' ? 0 : cents(r[column])), 0);
/** A figure of the file against the page's unrounded one: within a cent. */
const nearUsd = (text: string, usd: number | null, what: string) => {
  if (usd === null) return expect(text, what).toBe('');
  expect(Math.abs(Number(text) - usd), `${what}: ${text} vs ${usd}`).toBeLessThanOrEqual(0.01 + 1e-9);
};

describe('downloads', () => {
  it('stream with a dated filename, no caching, RFC 4180 line ends', async () => {
    const { response, body } = await download(`/exports/customers.csv?${PERIOD}`);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="customers-${FROM_PARAM}-to-${TO_PARAM}.csv"`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(body.startsWith(`${CUSTOMERS_HEADER.join(',')}\r\n`)).toBe(true);
    expect(body.replace(/\r\n/g, '')).not.toMatch(/\n/);
    expect(body.charCodeAt(0)).not.toBe(0xfeff);
  });

  it('are refused to anonymous users (401), every one of them', async () => {
    const anonymous = new Client(t.app.url);
    const exports = t.app.routes.filter((r) => r.path.startsWith('/exports/')).map((r) => r.path);
    expect(exports.sort()).toEqual(
      ['costs', 'customers', 'focus', 'prices', 'quarantine', 'recommendations', 'reservations', 'runs'].map((n) => `/exports/${n}.csv`),
    );
    for (const p of exports) {
      const response = await anonymous.get(`${p}?${PERIOD}&run=1`);
      expect(response.status, p).toBe(401);
      expect(await response.text(), p).not.toMatch(/,/);
    }
  });
});

describe('customers.csv', () => {
  it('has the page’s rows in the page’s order, amounts within a cent, columns adding up to the page’s totals', async () => {
    const page = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}&sort=-saving`);
    const { header, rows } = await download(`/exports/customers.csv?${PERIOD}&sort=-saving`);
    expect(header).toEqual([...CUSTOMERS_HEADER]);
    expect(rows).toHaveLength(page.matching);
    expect(rows.slice(0, page.rows.length).map((r) => r.customer)).toEqual(page.rows.map((r: { slug: string }) => r.slug));
    const all = await loadCustomersTable(t.db, WINDOW, { sort: 'saving', dir: 'desc', q: '', page: null });
    all.rows.forEach((r, i) => {
      const csv = rows[i];
      expect(csv.customer).toBe(r.slug);
      expect(Number(csv.tokens)).toBe(r.tokens);
      nearUsd(csv.api_usd, r.api_usd, `${r.slug} api`);
      nearUsd(csv.on_demand_usd, r.on_demand_usd, `${r.slug} on-demand`);
      nearUsd(csv.current_usd, r.current_usd, `${r.slug} current`);
      nearUsd(csv.recommended_usd, r.recommended_usd, `${r.slug} recommended`);
      nearUsd(csv.saving_usd, r.saving_usd, `${r.slug} saving`);
    });
    // The page's total row, to the cent: Σ of the file's column = round(the page's unrounded total).
    expect(sumCents(rows, 'api_usd')).toBe(roundUnits(page.totals.api_usd));
    expect(sumCents(rows, 'on_demand_usd')).toBe(roundUnits(page.totals.on_demand_usd));
    expect(sumCents(rows, 'current_usd')).toBe(roundUnits(page.totals.current_usd));
    expect(sumCents(rows, 'recommended_usd')).toBe(roundUnits(page.totals.recommended_usd));
    expect(sumCents(rows, 'saving_usd')).toBe(roundUnits(page.totals.saving_usd));
  });

  it('keeps the page’s search', async () => {
    const page = await callLoader(customersLoader, t.viewer, `/customers?${PERIOD}&q=shared&sort=customer`);
    const { rows } = await download(`/exports/customers.csv?${PERIOD}&q=shared&sort=customer`);
    expect(page.matching).toBeGreaterThan(0);
    expect(rows.map((r) => r.customer)).toEqual(page.rows.map((r: { slug: string }) => r.slug));
    expect(sumCents(rows, 'api_usd')).toBe(roundUnits(page.totals.api_usd));
  });
});

describe('costs.csv', () => {
  it('is the engine’s daily cost per customer × day × scenario, adding up to the overview’s totals and each customer’s', async () => {
    const { header, rows } = await download(`/exports/costs.csv?${PERIOD}`);
    expect(header).toEqual([...COSTS_HEADER]);
    const engine = await dailyCostByScenario(t.db, WINDOW);
    expect(rows).toHaveLength(engine.length);
    const key = (r: { customer: string; day: string; scenario: string }) => `${r.customer}|${r.day}|${r.scenario}`;
    const byKey = new Map(engine.map((r) => [key(r), r.cost_usd]));
    for (const r of rows) nearUsd(r.cost_usd, byKey.get(key(r as { customer: string; day: string; scenario: string }))!, key(r as { customer: string; day: string; scenario: string }));
    // 30 days × the 12 customers × their scenarios: every day of the period appears.
    expect(new Set(rows.map((r) => r.day)).size).toBe(30);
    const overview = await callLoader(overviewLoader, t.viewer, `/?${PERIOD}`);
    const of = (scenario: string) => rows.filter((r) => r.scenario === scenario);
    expect(sumCents(of('api'), 'cost_usd')).toBe(roundUnits(overview.totals.apiUsd));
    expect(sumCents(of('on_demand'), 'cost_usd')).toBe(roundUnits(overview.totals.onDemandUsd));
    // A customer's days add up to its row of customers.csv (both shares of the same total; a cent apart at most).
    const customers = (await download(`/exports/customers.csv?${PERIOD}`)).rows;
    for (const c of customers.filter((r) => r.api_usd !== '')) {
      const own = of('api').filter((r) => r.customer === c.customer);
      expect(Math.abs(sumCents(own, 'cost_usd') - cents(c.api_usd)), c.customer).toBeLessThanOrEqual(1);
    }
  });

  it('narrows to one customer, named in the file name', async () => {
    const { response, rows } = await download(`/exports/costs.csv?${PERIOD}&customer=wonka`);
    expect(response.headers.get('content-disposition')).toContain(`costs-wonka-${FROM_PARAM}-to-${TO_PARAM}.csv`);
    expect(new Set(rows.map((r) => r.customer))).toEqual(new Set(['wonka']));
    // wonka holds a reservation: its "current" scenario is there, for each of the 30 days.
    expect(rows.filter((r) => r.scenario === 'current')).toHaveLength(30);
  });
});

describe('recommendations.csv', () => {
  it('has the page’s rows with its filters', async () => {
    const page = await callLoader(recommendationsLoader, t.viewer, `/recommendations?${PERIOD}&pool=shared-h100`);
    const { header, rows } = await download(`/exports/recommendations.csv?${PERIOD}&pool=shared-h100`);
    expect(header).toEqual([...RECOMMENDATIONS_HEADER]);
    expect(rows.map((r) => `${r.scope}:${r.name}`)).toEqual(page.rows.map((r: { scope: string; name: string }) => `${r.scope}:${r.name}`));
    expect(rows.length).toBeGreaterThan(1);
    page.rows.forEach((r: { recommended_usd: number | null; baseline_usd: number; recommended_gpus: number | null }, i: number) => {
      nearUsd(rows[i].recommended_usd, r.recommended_usd, `row ${i} recommended`);
      nearUsd(rows[i].baseline_usd, r.baseline_usd, `row ${i} baseline`);
      expect(rows[i].recommended_gpus).toBe(r.recommended_gpus === null ? '' : String(r.recommended_gpus));
    });
    const sum = page.rows.reduce((s: number, r: { baseline_usd: number }) => s + r.baseline_usd, 0);
    expect(sumCents(rows, 'baseline_usd')).toBe(roundUnits(sum));
  });
});

describe('reservations.csv', () => {
  it('lists every reservation; committed in the period adds up to the page’s figure', async () => {
    const page = await callLoader(reservationsLoader, t.viewer, `/reservations?${PERIOD}`);
    const { header, rows } = await download(`/exports/reservations.csv?${PERIOD}`);
    expect(header).toEqual([...RESERVATIONS_HEADER]);
    expect(rows.map((r) => Number(r.id))).toEqual(page.rows.map((r: { id: number }) => r.id));
    expect(sumCents(rows, 'committed_usd_in_period')).toBe(roundUnits(page.committedInPeriodUsd));
    for (const r of rows) {
      expect(r.starts_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
      // committed = gpus × rate × hours in the period, within a cent.
      expect(Math.abs(Number(r.committed_usd_in_period) - Number(r.gpus) * Number(r.usd_per_gpu_hour) * Number(r.hours_in_period))).toBeLessThanOrEqual(0.01 + 1e-9);
    }
    // wonka's block covers the whole period: 30 days × 24 h = 720 hours.
    expect(rows.find((r) => r.customer === 'wonka')!.hours_in_period).toBe('720');
  });
});

describe('prices.csv', () => {
  it('lists every offer with 6-place prices', async () => {
    const { header, rows } = await download('/exports/prices.csv');
    expect(header).toEqual([...PRICES_HEADER]);
    const offers = await loadPriceRows(t.db);
    expect(rows).toHaveLength(offers.length);
    offers.forEach((o, i) => {
      expect(rows[i].provider).toBe(o.provider);
      expect(rows[i].usd_per_gpu_hour).toBe(o.usd_per_gpu_hour === null ? '' : o.usd_per_gpu_hour.toFixed(6));
    });
  });
});

describe('text that a spreadsheet would run', () => {
  it('is written as text: a customer named =HYPERLINK("http://x"), a run’s file name and its quarantined rows', async () => {
    await t.db.insertInto('customers').values({ slug: 'formula', name: '=HYPERLINK("http://x")' }).execute();
    const run = await insertRun(t.db, { kind: 'token-usage', fileName: '+cmd|calc.csv', sourceId: null });
    await insertRejectedRows(t.db, run, [{ line: 2, field: 'customer', reason: '-bad row', raw: '@SUM(1,2)\tx' }]);

    // The dashboard re-reads its data version at most once a second (docs/decisions/030-dashboard.md).
    let customers = await download(`/exports/customers.csv?${PERIOD}&q=formula`);
    for (let tries = 0; customers.rows.length === 0 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      customers = await download(`/exports/customers.csv?${PERIOD}&q=formula`);
    }
    expect(customers.rows.map((r) => r.name)).toEqual([`'=HYPERLINK("http://x")`]);
    // RFC 4180: the quotes inside are doubled, the field quoted.
    expect(customers.body).toContain(`"'=HYPERLINK(""http://x"")"`);

    const runs = await download('/exports/runs.csv');
    expect(runs.header).toEqual([...RUNS_HEADER]);
    expect(runs.rows.find((r) => r.id === String(run))!.file_or_source).toBe(`'+cmd|calc.csv`);

    const quarantine = await download(`/exports/quarantine.csv?run=${run}`);
    expect(quarantine.rows).toEqual([{ run: String(run), line: '2', field: 'customer', reason: `'-bad row`, raw: `'@SUM(1,2)\tx` }]);
  });
});

describe('breakeven export', () => {
  const env = () => ({ DATABASE_URL: t.url });

  it('writes the same bytes as the download, to --out (atomically) and to stdout', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-export-'));
    const out = path.join(folder, 'costs.csv');
    const written = await runCli(['export', 'costs', '--from', FROM_PARAM, '--to', `${TO_PARAM}T00:00:00Z`, '--out', out], { env: env() });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toMatch(/^Wrote [\d,]+ rows to /);
    const http = await download(`/exports/costs.csv?${PERIOD}`);
    expect(await readFile(out, 'utf8')).toBe(http.body);
    // Nothing but the file: the temporary file was renamed into place.
    expect(await readdir(folder)).toEqual(['costs.csv']);

    const stdout = await runCli(['export', 'recommendations', '--from', FROM_PARAM, '--to', TO_PARAM, '--pool', 'shared-h100'], { env: env() });
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(stdout.stdout).toBe((await download(`/exports/recommendations.csv?${PERIOD}&pool=shared-h100`)).body);
  }, 120_000);

  it('refuses a bad period with exit status 2 and says why, writing nothing', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-export-'));
    const out = path.join(folder, 'x.csv');
    const cases: [string[], RegExp][] = [
      [['--from', '2026-13-01', '--to', TO_PARAM], /--from "2026-13-01" is not an ISO 8601 date/],
      [['--from', 'yesterday', '--to', TO_PARAM], /--from "yesterday" is not an ISO 8601 date/],
      [['--to', TO_PARAM], /--from is required/],
      [['--from', TO_PARAM, '--to', FROM_PARAM], /--to must be after --from/],
      [['--from', '2026-10-29T12:00:00Z', '--to', TO_PARAM], /not at the start of a UTC day/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['export', 'costs', ...args, '--out', out], { env: env() });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    expect(await readdir(folder)).toEqual([]);
  }, 120_000);

  it('ends quietly when the reader stops early (| head)', async () => {
    // The shell closes the pipe after one line; the export must neither fail nor print an error.
    const { spawn } = await import('node:child_process');
    const { bin } = await import('../support/cli.js');
    const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve, reject) => {
      // FOCUS rows of the demo run to megabytes: far more than a pipe holds, so the writer does meet the closed pipe.
      const child = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" export focus --from ${FROM_PARAM} --to ${TO_PARAM} | head -n 1`], {
        env: { ...process.env, ...env() },
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.on('data', (d) => (stdout += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr, stdout }));
    });
    expect(result.stdout).toBe(`${FOCUS_COLUMNS.join(',')}\r\n`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
