// The emails as people see them: HTML that mail clients render (tables, inline styles, nothing loaded from
// anywhere), shown in Debian's Chromium and saved as screenshots in test-output/screenshots (not committed);
// and the /emails page with its preview.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { renderEmail, ReportCache } from '../../app/services/email/report.server.js';
import { addRecipient } from '../../app/services/email/recipients.server.js';
import { escapeHtml } from '../../app/services/email/render.js';
import { parseIsoWeek } from '../../app/domain/weeks.js';
import { freshDatabase } from '../support/database.js';
import { createUser, startApp } from '../support/app.js';
import { launchBrowser, screenshot, screenshotsFolder, watchErrors, type TestBrowser } from '../support/browser.js';
import { APP_URL, hrefsOf, seedEmailDemo } from './helpers.js';

const W48 = parseIsoWeek('2026-W48')!;
let db: Db;
let browser: TestBrowser | undefined;
const cache = new ReportCache();
const ctx = (recipient: string) => ({ appUrl: APP_URL, recipient });

beforeAll(async () => {
  ({ db } = await freshDatabase());
  await seedEmailDemo(db);
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe('the HTML of the emails', () => {
  it('is table layout with inline styles, no images, scripts, stylesheets or tracking, and a plain-text twin', async () => {
    const digest = await renderEmail(db, { kind: 'digest' }, W48, 'Europe/Berlin', ctx('cfo@example.com'), cache);
    const customer = await renderEmail(db, { kind: 'customer', customer: { slug: 'acme', name: 'Acme Corporation', pool: 'shared-h100' } }, W48, 'UTC', ctx('ml@acme.example'), cache);
    for (const e of [digest, customer]) {
      expect(e.html).toMatch(/^<!DOCTYPE html>/);
      expect(e.html).toContain('role="presentation"');
      expect(e.html).not.toMatch(/<img|<script|<link|<iframe|url\(|@import|javascript:/i);
      // One style block, in the head, only for narrow screens: the layout itself is inline.
      const styles = [...e.html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
      expect(styles).toHaveLength(1);
      expect(styles[0].replace(/\/\*.*?\*\//g, '').trim()).toMatch(/^@media only screen and \(max-width: 520px\) \{[^@]*\}$/);
      expect(e.html.indexOf('<style>')).toBeLessThan(e.html.indexOf('</head>'));
      for (const href of hrefsOf(e.html)) expect(href.startsWith(`${APP_URL}/`), href).toBe(true);
      expect(e.text).not.toMatch(/<[a-z]/i);
      expect(e.text.split('\n')[0]).toBe(e.subject);
    }
    expect(digest.text).toContain('LAST WEEK UNDER EACH SCENARIO');
    expect(customer.text).toContain("Share of the shared-h100 pool's reservation last week");
  });

  it('names with markup are shown as text', async () => {
    await sql`INSERT INTO customers (slug, name, owner_email) VALUES ('markup', '<b>Evil</b> & Co <script>alert(1)</script>', 'x@example.com')`.execute(db);
    const e = await renderEmail(db, { kind: 'customer', customer: { slug: 'markup', name: '<b>Evil</b> & Co <script>alert(1)</script>', pool: null } }, W48, 'UTC', ctx('x@example.com'));
    expect(e.html).not.toContain('<script>alert(1)</script>');
    expect(e.html).toContain(escapeHtml('<b>Evil</b> & Co'));
    expect(e.subject).toBe('Breakeven week 2026-W48 for <b>Evil</b> & Co <script>alert(1)</script>: no usage');
  });
});

describe('in the browser', () => {
  it('renders the digest and the customer emails, saved as screenshots', async () => {
    browser = await launchBrowser();
    const shots: [string, Awaited<ReturnType<typeof renderEmail>>][] = [
      ['email-digest', await renderEmail(db, { kind: 'digest' }, W48, 'Europe/Berlin', ctx('cfo@example.com'), cache)],
      ['email-customer', await renderEmail(db, { kind: 'customer', customer: { slug: 'cyberdyne', name: 'Cyberdyne Systems', pool: null } }, W48, 'UTC', ctx('ml@cyberdyne.example'), cache)],
      ['email-customer-pool', await renderEmail(db, { kind: 'customer', customer: { slug: 'acme', name: 'Acme Corporation', pool: 'shared-h100' } }, W48, 'UTC', ctx('ml-platform@acme.example'), cache)],
    ];
    for (const [name, email] of shots) {
      const page = await browser.newPage({ width: 760, height: 900 });
      const errors = watchErrors(page);
      await page.setContent(email.html);
      // Nothing overflows the 640-pixel column, and every figure is text.
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, name).toBeLessThanOrEqual(760);
      const visible = await page.evaluate(() => document.body.innerText);
      expect(visible).toMatch(/[Ww]eek 2026-W48/);
      const file = await screenshot(page, name);
      expect(file).toMatch(new RegExp(`${name}\\.png$`));
      expect(errors).toEqual([]);
      await page.close();
    }
    // A phone: the column shrinks, tables still fit.
    const phone = await browser.newPage({ width: 390, height: 800 });
    await phone.setContent(shots[0][1].html);
    await screenshot(phone, 'email-digest-phone');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(430);
    await phone.close();
  }, 90_000);

  it('shows the /emails page with a preview in a sandboxed frame', async () => {
    browser ??= await launchBrowser();
    const app = await startApp(db);
    await createUser(db, 'admin@example.com', 'admin');
    await addRecipient(db, { userId: null, actor: 'test' }, { email: 'cfo@example.com', kind: 'digest', timeZone: 'Europe/Berlin' });
    const id = (await db.selectFrom('email_recipients').select('id').where('email', '=', 'cfo@example.com').executeTakeFirstOrThrow()).id;
    const page = await browser.newPage({ width: 1280, height: 900 });
    const errors = watchErrors(page);
    await page.goto(`${app.url}/login`);
    await page.fill('input[name=email]', 'admin@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/`);
    await page.goto(`${app.url}/emails?preview=r${id}&week=2026-W48`);
    const frame = page.frameLocator('iframe[title="Email preview"]');
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Week 2026-W48');
    await page.locator('iframe[title="Email preview"]').scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await screenshot(page, 'emails-page');
    await page.locator('#preview').screenshot({ path: `${screenshotsFolder}/emails-preview.png` });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
