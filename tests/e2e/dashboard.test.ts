// The dashboard in Debian's Chromium: sign in, walk every page, change the period and the sort, open a customer,
// check that the charts drew SVG with data after hydration, that the viewer's time zone reaches the server, that
// nothing logs an error — and save a screenshot of each page at 1280 px and the main ones at 375 px
// (test-output/screenshots).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../seeds/demo.js';
import { createUser, startApp, type TestApp } from '../support/app.js';
import { launchBrowser, screenshot, watchErrors, type TestBrowser } from '../support/browser.js';
import { freshDatabase } from '../support/database.js';

const PERIOD = 'from=2026-10-29&to=2026-11-28';

let app: TestApp;
let browser: TestBrowser;

beforeAll(async () => {
  const { db } = await freshDatabase();
  await seedDemo(db, { days: 35, seed: 1, end: new Date('2026-11-28T00:00:00Z') });
  await createUser(db, 'admin@example.com', 'admin');
  app = await startApp(db);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

async function signIn(page: Page): Promise<void> {
  await page.goto(`${app.url}/login`);
  await page.fill('input[name=email]', 'admin@example.com');
  await page.fill('input[name=password]', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForURL(`${app.url}/`);
  await expect.poll(() => page.textContent('h1')).toBe('Overview');
}

/** Waits until Recharts has drawn marks (paths or bars) inside its SVG, after hydration. */
async function chartsDrawn(page: Page): Promise<number> {
  await expect.poll(() => page.locator('.recharts-surface path, .recharts-surface rect').count(), { timeout: 15_000 }).toBeGreaterThan(0);
  return page.locator('.recharts-wrapper').count();
}

async function visit(page: Page, path: string): Promise<void> {
  await page.goto(`${app.url}${path}`);
  await page.waitForLoadState('networkidle');
}

describe('the dashboard in a browser', () => {
  it('walks every page at 1280 px: period, sort, a customer, a pool, charts, no errors', async () => {
    const page = await browser.newPage({ width: 1280, height: 900 });
    const errors = watchErrors(page);
    // The browser says it is in Paris; the page learns it through the tz cookie.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Europe/Paris' });
    await signIn(page);

    await visit(page, `/?${PERIOD}`);
    expect(await page.textContent('h1')).toBe('Overview');
    await expect.poll(() => page.textContent('.freshness')).toContain('Europe/Paris');
    expect(await page.textContent('.tiles.fleet')).toContain('Customers');
    expect(await chartsDrawn(page)).toBe(1);
    await screenshot(page, 'dashboard-overview');

    // A custom period from the picker.
    await page.fill('input[aria-label="From (UTC)"]', '2026-11-14');
    await page.fill('input[aria-label="To, exclusive (UTC)"]', '2026-11-28');
    await page.click('.period-picker button:has-text("Apply")');
    await page.waitForURL(/from=2026-11-14&to=2026-11-28/);
    await page.waitForLoadState('networkidle');
    await expect.poll(() => page.textContent('.page-sub')).toContain('Nov 14 – Nov 27, 2026');
    await chartsDrawn(page);

    // Customers: sort by a column with the mouse, then with the keyboard; search.
    await visit(page, `/customers?${PERIOD}`);
    expect(await page.locator('table.data-table tbody tr').count()).toBe(12);
    await page.click('th:has-text("Tokens") a');
    await page.waitForURL(/sort=-tokens/);
    await expect.poll(() => page.getAttribute('th:has-text("Tokens")', 'aria-sort')).toBe('descending');
    await page.focus('th:has-text("API") a');
    await page.keyboard.press('Enter');
    await page.waitForURL(/sort=-api/);
    await expect.poll(() => page.getAttribute('th:has-text("API")', 'aria-sort')).toBe('descending');
    await expect.poll(() => page.getAttribute('a.csv-link', 'href')).toContain('/exports/customers.csv?from=2026-10-29&to=2026-11-28&sort=-api');
    await screenshot(page, 'dashboard-customers');
    await page.fill('input[name=q]', 'shared');
    await page.press('input[name=q]', 'Enter');
    await page.waitForURL(/q=shared/);
    await expect.poll(() => page.locator('table.data-table tbody tr').count()).toBe(4);

    // Open a customer from the table.
    await page.click('a:has-text("Acme Corporation")');
    await page.waitForURL(/\/customers\/acme\?/);
    await expect.poll(() => page.textContent('h1')).toBe('Acme Corporation');
    expect(await chartsDrawn(page)).toBe(3);
    expect(await page.locator('.heatmap td.heat').count()).toBe(168);
    expect(await page.textContent('.scenario-table')).toContain('ON_DEMAND = Σ_h d(h)·o');
    await screenshot(page, 'dashboard-customer');

    await visit(page, `/customers/nobody?${PERIOD}`);
    expect(await page.textContent('.error-state')).toContain('No customer');
    errors.splice(0, errors.length, ...errors.filter((e) => !e.includes('404') && !e.includes('/customers/nobody')));

    await visit(page, `/pools/shared-h100?${PERIOD}`);
    expect(await chartsDrawn(page)).toBe(1);
    expect(await page.textContent('table:has-text("Pool total")')).toContain('Pool total');
    await screenshot(page, 'dashboard-pool');

    await visit(page, `/pools?${PERIOD}`);
    await screenshot(page, 'dashboard-pools');

    await visit(page, `/recommendations?${PERIOD}`);
    await page.selectOption('select[name=gpuType]', 'A100-80GB');
    await page.click('button:has-text("Filter")');
    await page.waitForURL(/gpuType=A100-80GB/);
    await page.waitForLoadState('networkidle');
    const types = await page.locator('table.data-table tbody tr .name-cell .sub').allTextContents();
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => t.startsWith('A100-80GB'))).toBe(true);
    await visit(page, `/recommendations?${PERIOD}`);
    await screenshot(page, 'dashboard-recommendations');

    // An admin records a reservation through the form.
    await visit(page, `/reservations?${PERIOD}`);
    await page.selectOption('#new-reservation select[name=scope]', 'customer:tyrell');
    await page.selectOption('#new-reservation select[name=gpuType]', 'L40S');
    await page.fill('#new-reservation input[name=gpus]', '4');
    await page.fill('#new-reservation input[name=usdPerGpuHour]', '0.75');
    await page.fill('#new-reservation input[name=provider]', 'northwind-gpu');
    await page.fill('#new-reservation input[name=startsAt]', '2026-11-01');
    await page.fill('#new-reservation input[name=endsAt]', '2027-11-01');
    await page.click('#new-reservation button[type=submit]');
    await expect.poll(() => page.textContent('.alert.ok')).toMatch(/Reservation \d+ created/);
    expect(await page.textContent('table')).toContain('tyrell');
    await screenshot(page, 'dashboard-reservations');

    await visit(page, `/prices?${PERIOD}`);
    expect(await page.textContent('h1')).toBe('Prices');
    await screenshot(page, 'dashboard-prices');

    await visit(page, '/ingestion');
    expect(await page.textContent('h1')).toBe('Ingestion');
    await screenshot(page, 'dashboard-ingestion');

    expect(errors).toEqual([]);
  }, 180_000);

  it('works at 375 px: tables scroll inside their cards, charts fit', async () => {
    const page = await browser.newPage({ width: 375, height: 812 });
    const errors = watchErrors(page);
    await signIn(page);
    for (const [path, name, charts] of [
      [`/?${PERIOD}`, 'dashboard-overview-375', 1],
      [`/customers?${PERIOD}`, 'dashboard-customers-375', 0],
      [`/customers/acme?${PERIOD}`, 'dashboard-customer-375', 3],
    ] as const) {
      await visit(page, path);
      if (charts) expect(await chartsDrawn(page)).toBe(charts);
      // Nothing wider than the screen: wide tables scroll inside their card.
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(375);
      for (const width of await page.locator('.recharts-surface').evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().width))) {
        expect(width, path).toBeLessThanOrEqual(375);
      }
      await screenshot(page, name);
    }
    expect(errors).toEqual([]);
  }, 120_000);
});
