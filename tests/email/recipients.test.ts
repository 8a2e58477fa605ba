// Who gets the weekly emails: `breakeven recipients add|list|remove`, customer owners subscribed by default,
// unsubscriptions that stick, the audit log, the /emails page and its preview, and when the worker sends.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { materialiseOwnerRecipients } from '../../db/queries/email-recipients.js';
import { dueDeliveries, runWeekly } from '../../app/services/email/send.server.js';
import { addRecipient, listRecipients, removeRecipient } from '../../app/services/email/recipients.server.js';
import { parseIsoWeek } from '../../app/domain/weeks.js';
import { freshDatabase } from '../support/database.js';
import { runCli } from '../support/cli.js';
import { Client, createUser, startApp } from '../support/app.js';
import { MONDAY_AFTER_W48, seedEmailDemo, settings } from './helpers.js';

let db: Db;
let url: string;
const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: url } });

beforeAll(async () => {
  ({ db, url } = await freshDatabase());
  await seedEmailDemo(db);
}, 120_000);

describe('breakeven recipients', () => {
  it('adds a digest recipient in a time zone, and refuses a zone that is not IANA', async () => {
    const added = await cli('recipients', 'add', 'CFO@Example.com', '--kind', 'digest', '--tz', 'europe/berlin');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe('cfo@example.com subscribed: the weekly digest, Monday 08:00 Europe/Berlin.\n');
    const cet = await cli('recipients', 'add', 'x@example.com', '--kind', 'digest', '--tz', 'CET');
    expect(cet.code).toBe(2);
    expect(cet.stderr).toContain('breakeven recipients add: "CET" is not an IANA time zone such as Europe/Berlin, America/New_York or UTC');
    for (const [input, message] of [
      [{ kind: 'digest', timeZone: '+02:00' }, /not an IANA time zone/],
      [{ kind: 'weekly' }, /the kind must be digest or customer/],
      [{ kind: 'customer' }, /needs the customer: --customer SLUG/],
      [{ kind: 'customer', customer: 'nobody' }, /unknown customer "nobody"/],
      [{ kind: 'digest', customer: 'acme' }, /name no customer/],
      [{ kind: 'digest', email: 'not-an-email' }, /is not an email address/],
    ] as const) {
      await expect(addRecipient(db, { userId: null, actor: 'test' }, { email: 'x@example.com', ...input })).rejects.toThrow(message);
    }
    expect(await db.selectFrom('email_recipients').select('email').execute()).toEqual([{ email: 'cfo@example.com' }]);
  }, 180_000);

  it('lists customer owners as subscribed by default, and unsubscribing one sticks', async () => {
    const list = await cli('recipients', 'list', '--json');
    const all = JSON.parse(list.stdout) as { email: string; kind: string; customer: string | null; active: boolean; origin: string }[];
    expect(all.find((r) => r.email === 'cfo@example.com')).toMatchObject({ kind: 'digest', active: true, origin: 'manual' });
    expect(all.find((r) => r.customer === 'acme')).toMatchObject({ email: 'ml-platform@acme.example', kind: 'customer', active: true, origin: 'owner' });
    expect(all.filter((r) => r.origin === 'owner')).toHaveLength(12);

    const removed = await cli('recipients', 'remove', 'ml-platform@acme.example');
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('ml-platform@acme.example unsubscribed from the weekly email of acme.\n');
    // Making owner rows (as every send does) does not bring it back, and a run skips it.
    await materialiseOwnerRecipients(db);
    expect((await listRecipients(db)).find((r) => r.customer === 'acme')).toMatchObject({ unsubscribed: true, origin: 'owner' });
    const run = await runWeekly({ db, settings: settings('/nonexistent') }, { week: parseIsoWeek('2026-W48')!, dryRun: true, to: 'ml-platform@acme.example', now: MONDAY_AFTER_W48 });
    expect(run).toEqual([]);
    await expect(removeRecipient(db, { userId: null, actor: 'test' }, { email: 'ml-platform@acme.example' })).resolves.toEqual([]);

    // Adding it again subscribes it again, with a zone.
    const back = await cli('recipients', 'add', 'ml-platform@acme.example', '--kind', 'customer', '--customer', 'acme', '--tz', 'America/New_York');
    expect(back.stdout).toBe('ml-platform@acme.example updated: the weekly email of acme, Monday 08:00 America/New_York.\n');
    const text = (await cli('recipients', 'list')).stdout;
    expect(text).toMatch(/customer\s+ml-platform@acme\.example\s+acme\s+America\/New_York\s+subscribed\n/);
  }, 180_000);

  it('an owner subscription follows the customer’s owner', async () => {
    await materialiseOwnerRecipients(db);
    await sql`UPDATE customers SET owner_email = 'new-owner@globex.example' WHERE slug = 'globex'`.execute(db);
    const list = await listRecipients(db);
    expect(list.find((r) => r.email === 'infra@globex.example')).toMatchObject({ former_owner: true, origin: 'owner' });
    expect(list.find((r) => r.email === 'new-owner@globex.example')).toMatchObject({ customer: 'globex', former_owner: false, id: null });
  }, 30_000);

  it('every change is in the audit log', async () => {
    const audit = await db.selectFrom('audit_log').selectAll().where('entity', '=', 'email_recipient').orderBy('id').execute();
    expect(audit.map((a) => [a.actor, a.action, a.entity_id])).toEqual([
      ['cli', 'create', 'digest:cfo@example.com'],
      ['cli', 'update', 'customer:ml-platform@acme.example:acme'],
      ['cli', 'update', 'customer:ml-platform@acme.example:acme'],
    ]);
    expect(audit[1].after).toMatchObject({ unsubscribed: true });
    expect(audit[2].after).toMatchObject({ unsubscribed: false, time_zone: 'America/New_York', origin: 'manual' });
  });
});

describe('when the worker sends', () => {
  it('Monday 08:00 in each recipient’s zone, making up a missed Monday for three days', async () => {
    await sql`UPDATE email_recipients SET created_at = '2026-11-01T00:00:00Z'`.execute(db);
    const due = async (iso: string) => (await dueDeliveries(db, new Date(iso))).map((d) => d.recipientId);
    const cfo = (await db.selectFrom('email_recipients').select('id').where('email', '=', 'cfo@example.com').executeTakeFirstOrThrow()).id;
    const acme = (await db.selectFrom('email_recipients').select('id').where('email', '=', 'ml-platform@acme.example').executeTakeFirstOrThrow()).id;
    // Berlin's Monday 08:00 is 07:00 UTC; New York's is 13:00 UTC.
    expect(await due('2026-11-30T06:59:00Z')).not.toContain(cfo);
    expect(await due('2026-11-30T07:00:00Z')).toContain(cfo);
    expect(await due('2026-11-30T07:00:00Z')).not.toContain(acme);
    expect(await due('2026-11-30T13:00:00Z')).toContain(acme);
    expect(await due('2026-12-03T07:00:00Z')).toContain(cfo);
    expect(await due('2026-12-03T07:01:00Z')).not.toContain(cfo);
    // A recipient added after its Monday 08:00 waits for the next week.
    await sql`UPDATE email_recipients SET created_at = '2026-11-30T10:00:00Z' WHERE id = ${cfo}`.execute(db);
    expect(await due('2026-11-30T11:00:00Z')).not.toContain(cfo);
  });
});

describe('the /emails page', () => {
  it('lists recipients and previews any recipient’s email for any week; only an admin changes anything', async () => {
    const app = await startApp(db);
    await createUser(db, 'admin@example.com', 'admin');
    await createUser(db, 'viewer@example.com', 'viewer');
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const page = await (await viewer.get('/emails')).text();
    expect(page).toContain('cfo@example.com');
    expect(page).toContain('ml@cyberdyne.example');
    expect(page).not.toContain('>Subscribe</button>');
    const key = /preview=(r\d+)&amp;week=/.exec(page.slice(page.indexOf('<td>cfo@example.com</td>')))?.[1];
    expect(key, page.slice(page.indexOf('<td>cfo@example.com</td>'), page.indexOf('<td>cfo@example.com</td>') + 600)).toBeDefined();

    const preview = await (await viewer.get(`/emails?preview=${key}&week=2026-W47`)).text();
    expect(preview).toContain('Breakeven week 2026-W47: $');
    expect(preview).toMatch(/<iframe[^>]*sandbox="allow-popups allow-popups-to-escape-sandbox"[^>]*srcDoc="&lt;!DOCTYPE html&gt;/i);
    const alone = await viewer.get(`/emails/preview?recipient=${key}&week=2026-W47`);
    expect(alone.status).toBe(200);
    expect(alone.headers.get('content-security-policy')).toContain('sandbox');
    expect(await alone.text()).toContain('Week 2026-W47');
    expect((await viewer.get('/emails/preview?recipient=r999999&week=2026-W47')).status).toBe(404);
    expect((await viewer.get(`/emails/preview?recipient=${key}&week=2026-W60`)).status).toBe(400);
    expect(await (await viewer.get(`/emails?preview=${key}&week=nonsense`)).text()).toContain('is not an ISO week');
    // A nothing-to-preview owner subscription (no row yet) previews too.
    const owner = /preview=(o\d+)&amp;week=/.exec(page)![1];
    expect((await viewer.get(`/emails/preview?recipient=${owner}&week=2026-W48`)).status).toBe(200);
    // The page and the preview need a session.
    expect((await new Client(app.url).get('/emails/preview?recipient=r1')).status).toBe(302);

    expect((await viewer.post('/emails', { intent: 'subscribe', email: 'x@example.com', kind: 'digest', tz: 'UTC' })).status).toBe(403);
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const bad = await admin.post('/emails', { intent: 'subscribe', email: 'ops@example.com', kind: 'digest', tz: 'Mars/Base' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('is not an IANA time zone');
    const ok = await admin.post('/emails', { intent: 'subscribe', email: 'ops@example.com', kind: 'digest', tz: 'Asia/Kolkata' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('ops@example.com subscribed to the weekly digest, Monday 08:00 Asia/Kolkata.');
    const off = await admin.post('/emails', { intent: 'unsubscribe', email: 'ops@example.com', kind: 'digest', customer: '' });
    expect(off.status).toBe(200);
    const audit = await db.selectFrom('audit_log').select(['actor', 'entity_id']).where('actor', '=', 'admin@example.com').execute();
    expect(audit).toEqual([
      { actor: 'admin@example.com', entity_id: 'digest:ops@example.com' },
      { actor: 'admin@example.com', entity_id: 'digest:ops@example.com' },
    ]);
  }, 90_000);
});
