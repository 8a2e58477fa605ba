// Debian's Chromium driven by playwright-core (never a downloaded browser), for end-to-end tests and
// screenshots. Screenshots go to test-output/screenshots (not committed).
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { root } from './cli.js';

export const screenshotsFolder = path.join(root, 'test-output', 'screenshots');

export interface TestBrowser {
  context: BrowserContext;
  /** A page in a fresh context: no cookies shared with other pages. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'breakeven-chromium-'));
  await mkdir(screenshotsFolder, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async newPage(viewport = { width: 1280, height: 800 }) {
      await context.clearCookies();
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and failed requests of a page, to assert there are none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && !response.url().includes('/favicon')) errors.push(`${response.status()} ${response.url()}`);
  });
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(screenshotsFolder, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
