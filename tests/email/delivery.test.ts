// The weekly emails through a real SMTP server (Debian's aiosmtpd): what arrives — both parts, the subject, the
// figures the cost engine gives for the same window, links to the pages at APP_URL — and that a second run,
// or two runs at once from two processes, sends nothing twice.
import { sql } from 'kysely';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { costSummary } from '../../app/services/costing.server.js';
import { runWeekly } from '../../app/services/email/send.server.js';
import { addRecipient } from '../../app/services/email/recipients.server.js';
import { formatInteger, formatUsd } from '../../app/lib/format.js';
import { costWindow, parseIsoWeek, weekWindow } from '../../app/domain/weeks.js';
import { freshDatabase } from '../support/database.js';
import { runCli } from '../support/cli.js';
import { Client, createUser, startApp } from '../support/app.js';
import { aiosmtpdMissing, startSmtpCatcher, type SmtpCatcher } from '../support/smtp.js';
import { APP_URL, FAST_RETRY, hrefsOf, MONDAY_AFTER_W48, seedEmailDemo, settings, tempDataDir } from './helpers.js';

const missing = aiosmtpdMissing();
const W48 = parseIsoWeek('2026-W48')!;
const ADMIN = { userId: null, actor: 'test' };

let db: Db;
let url: string;
let smtp: SmtpCatcher;
let dataDir: string;
let first: Awaited<ReturnType<typeof runWeekly>>;
let mail: ParsedMail[];

const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to[0] : m.to)!.value[0].address;
const byRecipient = (address: string) => mail.find((m) => to(m) === address)!;

describe.skipIf(missing)('the weekly emails over SMTP', () => {
  beforeAll(async () => {
    ({ db, url } = await freshDatabase());
    await seedEmailDemo(db);
    smtp = await startSmtpCatcher();
    dataDir = await tempDataDir();
    await addRecipient(db, ADMIN, { email: 'cfo@example.com', kind: 'digest', timeZone: 'Europe/Berlin' });
    // Owners of the demo's twelve customers are subscribed by default (UTC); one owner asks for New York time.
    await addRecipient(db, ADMIN, { email: 'ml@cyberdyne.example', kind: 'customer', customer: 'cyberdyne', timeZone: 'America/New_York' });
    first = await runWeekly({ db, settings: settings(dataDir, smtp.url), retry: FAST_RETRY }, { week: W48, now: MONDAY_AFTER_W48 });
    mail = await smtp.waitFor(first.length);
  }, 120_000);
  afterAll(async () => {
    await smtp?.stop();
  });

  it('sends the digest and every owner its customer email, once each', async () => {
    expect(first.map((r) => r.outcome)).toEqual(first.map(() => 'sent'));
    expect(first).toHaveLength(13);
    expect(mail).toHaveLength(13);
    const addresses = mail.map(to).sort();
    expect(new Set(addresses).size).toBe(13);
    expect(addresses).toContain('cfo@example.com');
    expect(addresses).toContain('ml-platform@acme.example');
    const rows = await db.selectFrom('email_log').selectAll().execute();
    expect(rows).toHaveLength(13);
    for (const r of rows) {
      expect(r.status).toBe('sent');
      expect(r.attempts).toBe(1);
      expect(r.iso_week).toBe('2026-W48');
      expect(r.delivery).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+: 250/);
    }
    // The Message-ID recorded is the one that arrived.
    const digestRow = rows.find((r) => r.subject === byRecipient('cfo@example.com').subject)!;
    expect(byRecipient('cfo@example.com').messageId).toBe(digestRow.message_id);
  });

  it('each message has a text part, an HTML part and a subject with its headline', () => {
    for (const m of mail) {
      expect(m.text?.length, m.subject).toBeGreaterThan(200);
      expect(typeof m.html === 'string' && m.html.includes('<table'), m.subject).toBe(true);
      expect(m.from?.value[0]).toEqual({ name: 'Breakeven', address: 'reports@breakeven.example.com' });
      expect(m.headers.get('x-breakeven-week')).toBe('2026-W48');
      expect(m.headers.get('auto-submitted')).toBe('auto-generated');
      expect(m.subject).toMatch(/^Breakeven week 2026-W48/);
      expect(m.attachments).toHaveLength(0);
    }
    expect(byRecipient('cfo@example.com').subject).toMatch(/^Breakeven week 2026-W48: \$[\d,]+ on inference, (save \$[\d,]+\/week by .+|reservations on target)$/);
  });

  it('the digest shows the engine’s figures for the week in the recipient’s zone', async () => {
    const digest = byRecipient('cfo@example.com');
    const priced = costWindow(weekWindow(W48, 'Europe/Berlin'));
    expect(priced.from.toISOString()).toBe('2026-11-22T23:00:00.000Z');
    const week = await costSummary(db, priced);
    const scopes = [...week.pools.filter((p) => p.primary), ...week.customers.filter((c) => c.primary && c.pool === null)];
    const asRun = scopes.reduce((a, s) => a + s.baseline_usd, 0);
    const onDemand = scopes.reduce((a, s) => a + s.on_demand_usd!, 0);
    const api = week.customers.filter((c) => c.primary).reduce((a, c) => a + c.api_usd, 0);
    for (const figure of [asRun, onDemand, api].map(formatUsd)) {
      expect(digest.text).toContain(figure);
      expect(digest.html).toContain(figure);
    }
    expect(digest.subject).toContain(`$${formatInteger(Math.round(asRun))} on inference`);
    // The week before, in the same zone.
    const previous = await costSummary(db, costWindow(weekWindow(parseIsoWeek('2026-W47')!, 'Europe/Berlin')));
    const previousAsRun = [...previous.pools.filter((p) => p.primary), ...previous.customers.filter((c) => c.primary && c.pool === null)].reduce((a, s) => a + s.baseline_usd, 0);
    expect(digest.text).toContain(formatUsd(previousAsRun));
    // Recommendations come from the four weeks W45–W48; savings are per 168 hours.
    const four = await costSummary(db, { from: costWindow(weekWindow(parseIsoWeek('2026-W45')!, 'Europe/Berlin')).from, to: priced.to });
    const changes = [...four.pools.filter((p) => p.primary), ...four.customers.filter((c) => c.primary && c.pool === null)].filter(
      (r) => r.recommended_gpus !== null && r.recommended_gpus !== (r.current_gpus ?? 0),
    );
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) {
      expect(digest.text).toContain(formatUsd(((c.saving_usd ?? 0) / c.hours) * 168));
      expect(digest.text).toContain(`${c.recommended_gpus! - (c.current_gpus ?? 0) > 0 && c.current_gpus ? 'Add' : c.current_gpus ? 'Drop' : 'Reserve'} `);
    }
    // The demo's reservation of wonka ends within 30 days of the week.
    expect(digest.text).toMatch(/RESERVATIONS EXPIRING WITHIN 30 DAYS\n\(.*\)\n(- .*\n)*- wonka: 16 H100 \(northwind-gpu\) ends 2026-12-15/);
    expect(digest.text).toContain('IDLE RESERVED CAPACITY');
  });

  it('a customer email shows that customer’s week as the engine costs it', async () => {
    const email = byRecipient('ml@cyberdyne.example');
    const priced = costWindow(weekWindow(W48, 'America/New_York'));
    expect(priced.from.toISOString()).toBe('2026-11-23T05:00:00.000Z');
    const row = (await costSummary(db, priced)).customers.find((c) => c.customer === 'cyberdyne' && c.primary)!;
    for (const figure of [row.api_usd, row.on_demand_usd!, row.baseline_usd, row.recommended_usd!].map(formatUsd)) {
      expect(email.text).toContain(figure);
      expect(email.html).toContain(figure);
    }
    expect(email.text).toContain(formatInteger(row.requests));
    expect(email.subject).toContain('for Cyberdyne Systems');
    expect(email.text).toContain('America/New_York');
  });

  it('every link is absolute at APP_URL and opens its page', async () => {
    const app = await startApp(db);
    await createUser(db, 'viewer@example.com', 'viewer');
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const paths = new Set<string>();
    for (const m of mail) {
      const html = m.html as string;
      expect(html).not.toMatch(/<img|<script|<link|@import|url\(/i);
      for (const href of hrefsOf(html)) {
        expect(href.startsWith(`${APP_URL}/`), href).toBe(true);
        paths.add(href.slice(APP_URL.length));
      }
      // The text part carries the links too.
      expect(m.text).toContain(`${APP_URL}/emails`);
    }
    expect([...paths].some((p) => p.startsWith('/customers/cyberdyne?from=2026-11-23&to=2026-11-30'))).toBe(true);
    expect([...paths].some((p) => p.startsWith('/recommendations?from='))).toBe(true);
    expect(paths.has('/reservations')).toBe(true);
    for (const p of paths) {
      const response = await viewer.get(p);
      expect(response.status, p).toBe(200);
    }
  }, 120_000);

  it('a second run sends nothing: every recipient is already sent', async () => {
    const again = await runWeekly({ db, settings: settings(dataDir, smtp.url), retry: FAST_RETRY }, { week: W48, now: MONDAY_AFTER_W48 });
    expect(again.map((r) => r.outcome)).toEqual(again.map(() => 'already-sent'));
    await new Promise((r) => setTimeout(r, 300));
    expect(await smtp.messages()).toHaveLength(13);
  });

  it('the command line: --dry-run sends nothing, --to picks one address, twice at once sends once', { timeout: 300_000 }, async () => {
    const env = { DATABASE_URL: url, SMTP_URL: smtp.url, APP_URL, BREAKEVEN_DATA_DIR: dataDir };
    const logBefore = await db.selectFrom('email_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const dry = await runCli(['email', 'weekly', '--week', '2026-W47', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/digest\s+cfo@example\.com\s+2026-W47\s+would send\s+"Breakeven week 2026-W47: \$[\d,]+ on inference/);
    expect(dry.stdout).toContain('13 would be sent, 0 already sent.');
    const logAfter = await db.selectFrom('email_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(logAfter.n).toBe(logBefore.n);

    const one = await runCli(['email', 'weekly', '--week', '2026-W47', '--to', 'CFO@example.com'], { env });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/cfo@example\.com\s+2026-W47\s+sent/);
    expect(one.stdout).toContain('1 sent, 0 already sent, 0 failed, 0 uncertain.');
    await smtp.waitFor(14);

    // Two processes at once: each recipient's W47 email goes out once.
    const [a, b] = await Promise.all([runCli(['email', 'weekly', '--week', '2026-W47', '--json'], { env }), runCli(['email', 'weekly', '--week', '2026-W47', '--json'], { env })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const outcomes = [...JSON.parse(a.stdout).results, ...JSON.parse(b.stdout).results] as { recipient: { email: string }; outcome: string }[];
    const sent = outcomes.filter((o) => o.outcome === 'sent').map((o) => o.recipient.email);
    expect(sent.sort()).toEqual([...new Set(sent)].sort());
    expect(sent).toHaveLength(12);
    const w47 = (await smtp.waitFor(26)).filter((m) => m.headers.get('x-breakeven-week') === '2026-W47');
    await new Promise((r) => setTimeout(r, 500));
    expect(w47).toHaveLength(13);
    expect(new Set(w47.map(to)).size).toBe(13);

    const third = await runCli(['email', 'weekly', '--week', '2026-W47'], { env });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain('0 sent, 13 already sent, 0 failed, 0 uncertain.');
    expect(third.stdout).toMatch(/cfo@example\.com\s+2026-W47\s+already sent/);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM email_log WHERE iso_week = '2026-W47' AND status = 'sent'`.execute(db);
    expect(rows[0].n).toBe(13);
  });
});
