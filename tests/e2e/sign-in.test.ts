import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../seeds/demo.js';
import { freshDatabase } from '../support/database.js';
import { createUser, startApp, type TestApp } from '../support/app.js';
import { launchBrowser, screenshot, watchErrors, type TestBrowser } from '../support/browser.js';

let app: TestApp;
let browser: TestBrowser;

beforeAll(async () => {
  const { db } = await freshDatabase();
  await seedDemo(db, { days: 14, seed: 1, end: new Date('2026-11-28T00:00:00Z') });
  await createUser(db, 'viewer@example.com', 'viewer');
  app = await startApp(db);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('signing in, in a real browser', () => {
  it('goes from a protected page to sign-in and back, with no console errors', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${app.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await screenshot(page, 'login');

    await page.fill('input[name=email]', 'viewer@example.com');
    await page.fill('input[name=password]', 'wrong password!');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toBe('Wrong email or password.');

    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/`);
    // The URL changes as the navigation commits; the new page renders a moment later.
    await expect.poll(() => page.textContent('h1')).toBe('Overview');
    expect(await page.textContent('.topbar')).toContain('viewer@example.com');
    await screenshot(page, 'overview');

    await page.click('text=Sign out');
    await page.waitForURL(/\/login$/);
    expect(errors.filter((e) => !e.includes('401 ') )).toEqual([]);
  });
});
