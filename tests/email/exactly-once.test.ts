// Exactly once per recipient and ISO week, whatever fails: an SMTP server that refuses and then accepts, one
// that never accepts, a connection that breaks after the message was handed over, a process that stopped
// between sending and recording, and two workers running the same jobs at once.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { SENDING_LOCK } from '../../db/queries/email-log.js';
import { addRecipient } from '../../app/services/email/recipients.server.js';
import { runWeekly } from '../../app/services/email/send.server.js';
import { EMAIL_SCHEDULE_TASK, EMAIL_SEND_TASK, emailTasks } from '../../app/services/email/tasks.server.js';
import { parseIsoWeek } from '../../app/domain/weeks.js';
import { combineTaskSets, startWorker, type Worker } from '../../server/worker.js';
import { freshDatabase } from '../support/database.js';
import { Client, createUser, startApp } from '../support/app.js';
import { startScriptedSmtp, type ScriptedSmtp } from '../support/smtp.js';
import { FAST_RETRY, MONDAY_AFTER_W48, seedEmailDemo, settings, tempDataDir } from './helpers.js';

const W48 = parseIsoWeek('2026-W48')!;
const ACTOR = { userId: null, actor: 'test' };

let db: Db;
let url: string;
let dataDir: string;
const servers: ScriptedSmtp[] = [];
const workers: Worker[] = [];

async function smtp(options: Parameters<typeof startScriptedSmtp>[0] = {}) {
  const s = await startScriptedSmtp(options);
  servers.push(s);
  return s;
}

async function recipientId(email: string): Promise<number> {
  return (await db.selectFrom('email_recipients').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
}

const logOf = (email: string, week = '2026-W48') =>
  db
    .selectFrom('email_log as l')
    .innerJoin('email_recipients as r', 'r.id', 'l.recipient_id')
    .selectAll('l')
    .where('r.email', '=', email)
    .where('l.iso_week', '=', week)
    .executeTakeFirst();

beforeAll(async () => {
  ({ db, url } = await freshDatabase());
  await seedEmailDemo(db);
  // Only the addresses these tests add get email.
  await sql`UPDATE customers SET owner_email = NULL`.execute(db);
  dataDir = await tempDataDir();
  for (const email of ['refused-twice@example.com', 'never@example.com', 'dropped@example.com', 'crashed@example.com', 'resend@example.com', 'busy@example.com']) {
    await addRecipient(db, ACTOR, { email, kind: 'digest', timeZone: 'UTC' });
  }
}, 120_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const s of servers) await s.close();
});

describe('SMTP failures', () => {
  it('a server that refuses twice and then accepts delivers exactly one message, after three recorded attempts', async () => {
    const server = await smtp({ refuse: 2 });
    const lines: string[] = [];
    const [r] = await runWeekly({ db, settings: settings(dataDir, server.url), retry: FAST_RETRY, log: (l) => lines.push(l) }, { week: W48, to: 'refused-twice@example.com', now: MONDAY_AFTER_W48 });
    expect(r.outcome).toBe('sent');
    expect(r.attempts).toBe(3);
    expect(server.refused).toBe(2);
    expect(server.accepted).toHaveLength(1);
    expect(server.accepted[0]).toContain('Subject: Breakeven week 2026-W48');
    const row = (await logOf('refused-twice@example.com'))!;
    expect(row).toMatchObject({ status: 'sent', attempts: 3, last_error: null });
    expect(lines.filter((l) => /attempt \d failed: .*451/.test(l))).toHaveLength(2);
    // Again: nothing more.
    const [again] = await runWeekly({ db, settings: settings(dataDir, server.url), retry: FAST_RETRY }, { week: W48, to: 'refused-twice@example.com', now: MONDAY_AFTER_W48 });
    expect(again.outcome).toBe('already-sent');
    expect(server.accepted).toHaveLength(1);
  });

  it('a server that never accepts: failed after the last attempt, then left alone until an admin allows a resend', async () => {
    const down = await smtp({ refuse: 1_000 });
    const retry = { maxAttempts: 3, backoffMs: () => 10 };
    const [r] = await runWeekly({ db, settings: settings(dataDir, down.url), retry }, { week: W48, to: 'never@example.com', now: MONDAY_AFTER_W48 });
    expect(r.outcome).toBe('failed');
    expect(down.refused).toBe(3);
    const row = (await logOf('never@example.com'))!;
    expect(row.status).toBe('failed');
    expect(row.attempts).toBe(3);
    expect(row.last_error).toMatch(/451 4\.3\.0 Try again later/);
    expect(row.next_attempt_at).toBeNull();
    const connections = down.connections;
    const [later] = await runWeekly({ db, settings: settings(dataDir, down.url), retry }, { week: W48, to: 'never@example.com', now: MONDAY_AFTER_W48 });
    expect(later.outcome).toBe('failed');
    expect(down.connections).toBe(connections);
  });

  it('connection refused is a failure for sure: retried, and recorded per attempt', async () => {
    const gone = await smtp();
    const deadUrl = gone.url;
    await gone.close();
    await addRecipient(db, ACTOR, { email: 'refused-connection@example.com', kind: 'digest' });
    const [r] = await runWeekly({ db, settings: settings(dataDir, deadUrl), retry: { maxAttempts: 2, backoffMs: () => 10 } }, { week: W48, to: 'refused-connection@example.com', now: MONDAY_AFTER_W48 });
    expect(r.outcome).toBe('failed');
    expect((await logOf('refused-connection@example.com'))!).toMatchObject({ status: 'failed', attempts: 2 });
    expect((await logOf('refused-connection@example.com'))!.last_error).toMatch(/ECONNREFUSED/);
  });

  it('a connection that breaks after DATA is uncertain: never resent by itself', async () => {
    const flaky = await smtp({ dropAfterData: 1 });
    const [r] = await runWeekly({ db, settings: settings(dataDir, flaky.url), retry: FAST_RETRY }, { week: W48, to: 'dropped@example.com', now: MONDAY_AFTER_W48 });
    expect(r.outcome).toBe('uncertain');
    expect(flaky.dropped).toBe(1);
    expect((await logOf('dropped@example.com'))!).toMatchObject({ status: 'uncertain', attempts: 1 });
    const connections = flaky.connections;
    const [again] = await runWeekly({ db, settings: settings(dataDir, flaky.url), retry: FAST_RETRY }, { week: W48, to: 'dropped@example.com', now: MONDAY_AFTER_W48 });
    expect(again.outcome).toBe('uncertain');
    expect(flaky.connections).toBe(connections);
    expect(flaky.accepted).toHaveLength(0);
  });
});

describe('a process that stopped between sending and recording', () => {
  it('its row, still sending after the timeout, becomes uncertain, is not resent, and shows on /emails for an admin', async () => {
    const server = await smtp();
    for (const email of ['crashed@example.com', 'resend@example.com']) {
      await db
        .insertInto('email_log')
        .values({ recipient_id: await recipientId(email), iso_week: '2026-W48', status: 'sending', attempts: 1, subject: 'Breakeven week 2026-W48: …', message_id: `<crash.${email}>`, claimed_at: sql<Date>`now() - interval '1 hour'` })
        .execute();
    }
    // A sending row claimed a minute ago by a live process (its session holds the row's sending lock): left alone.
    const busy = await db
      .insertInto('email_log')
      .values({ recipient_id: await recipientId('busy@example.com'), iso_week: '2026-W48', status: 'sending', attempts: 1, claimed_at: sql<Date>`now() - interval '1 minute'` })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sender = new pg.Client({ connectionString: url });
    await sender.connect();
    await sender.query('SELECT pg_advisory_lock($1, $2)', [SENDING_LOCK, busy.id]);

    const results = await runWeekly({ db, settings: settings(dataDir, server.url), retry: FAST_RETRY }, { week: W48, now: MONDAY_AFTER_W48 }).finally(() => sender.end());
    const of = (email: string) => results.find((r) => r.recipient.email === email)!;
    expect(of('crashed@example.com').outcome).toBe('uncertain');
    expect(of('resend@example.com').outcome).toBe('uncertain');
    expect(of('busy@example.com').outcome).toBe('in-progress');
    expect(server.accepted.join('\n')).not.toMatch(/To: (crashed|resend|busy)@example\.com/);
    const crashed = (await logOf('crashed@example.com'))!;
    expect(crashed.status).toBe('uncertain');
    expect(crashed.last_error).toMatch(/stopped before recording the outcome/);
    expect((await logOf('busy@example.com'))!.status).toBe('sending');

    const app = await startApp(db);
    await createUser(db, 'admin@example.com', 'admin');
    await createUser(db, 'viewer@example.com', 'viewer');
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const seen = await (await viewer.get('/emails')).text();
    expect(seen).toContain('crashed@example.com');
    expect(seen).toMatch(/uncertain/);
    expect(seen).toContain('stopped before recording the outcome');
    expect(seen).not.toContain('Mark sent');
    // A viewer cannot resolve it.
    expect((await viewer.post('/emails', { intent: 'resolve', id: String(crashed.id), resolution: 'mark-sent' })).status).toBe(403);

    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const page = await (await admin.get('/emails')).text();
    expect(page).toContain('Mark sent');
    expect(page).toContain('Allow a resend');
    const marked = await admin.post('/emails', { intent: 'resolve', id: String(crashed.id), resolution: 'mark-sent' });
    expect(marked.status).toBe(200);
    expect((await logOf('crashed@example.com'))!).toMatchObject({ status: 'sent', resolved_by: 'admin@example.com' });
    const resend = (await logOf('resend@example.com'))!;
    expect((await admin.post('/emails', { intent: 'resolve', id: String(resend.id), resolution: 'allow-resend' })).status).toBe(200);
    // Resolving twice is refused, not repeated.
    expect((await admin.post('/emails', { intent: 'resolve', id: String(crashed.id), resolution: 'allow-resend' })).status).toBe(409);
    const audit = await db.selectFrom('audit_log').selectAll().where('entity', '=', 'email_log').execute();
    expect(audit.map((a) => (a.after as { resolution: string }).resolution).sort()).toEqual(['allow-resend', 'mark-sent']);

    // The next run sends the one allowed, once, and still not the one marked sent.
    const next = await runWeekly({ db, settings: settings(dataDir, server.url), retry: FAST_RETRY }, { week: W48, now: MONDAY_AFTER_W48 });
    expect(next.find((r) => r.recipient.email === 'resend@example.com')!.outcome).toBe('sent');
    expect(next.find((r) => r.recipient.email === 'crashed@example.com')!.outcome).toBe('already-sent');
    expect(server.accepted.filter((m) => /^To: resend@example\.com/m.test(m))).toHaveLength(1);
    expect(server.accepted.filter((m) => /^To: crashed@example\.com/m.test(m))).toHaveLength(0);
  }, 60_000);
});

describe('two workers', () => {
  it('scheduling and sending the same week at once deliver one email per recipient', async () => {
    const server = await smtp();
    // A fresh set of recipients, subscribed before the Monday they are due on.
    await sql`DELETE FROM email_log`.execute(db);
    await sql`DELETE FROM email_recipients`.execute(db);
    const emails = ['w1@example.com', 'w2@example.com', 'w3@example.com', 'w4@example.com'];
    for (const email of emails) await addRecipient(db, ACTOR, { email, kind: 'digest', timeZone: email === 'w4@example.com' ? 'Europe/Berlin' : 'UTC' });
    await addRecipient(db, ACTOR, { email: 'owner@acme.example', kind: 'customer', customer: 'acme', timeZone: 'Pacific/Auckland' });
    await sql`UPDATE email_recipients SET created_at = '2026-11-01T00:00:00Z'`.execute(db);
    const ids = (await db.selectFrom('email_recipients').select('id').execute()).map((r) => r.id);

    const lines: string[] = [];
    for (let i = 0; i < 2; i++) {
      const tasks = emailTasks({ db, settings: settings(dataDir, server.url), log: (l) => lines.push(`w${i}: ${l}`), retry: FAST_RETRY, now: () => MONDAY_AFTER_W48 });
      workers.push(await startWorker({ connectionString: url, ...combineTaskSets({ tasks: tasks.tasks }), pollIntervalMs: 200, log: (l) => lines.push(`w${i}: ${l}`) }));
    }
    // Both schedulers at once, and on top of that the same send jobs queued twice without a job key.
    await Promise.all([workers[0].addJob(EMAIL_SCHEDULE_TASK, {}), workers[1].addJob(EMAIL_SCHEDULE_TASK, {})]);
    for (const id of ids) {
      // (W48 is due in UTC, Berlin and Auckland by Monday 09:00 UTC.)
      await Promise.all([workers[0].addJob(EMAIL_SEND_TASK, { recipientId: id, week: '2026-W48' }), workers[1].addJob(EMAIL_SEND_TASK, { recipientId: id, week: '2026-W48' })]);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await sql<{ sent: number; jobs: number }>`
        SELECT (SELECT count(*)::int FROM email_log WHERE status = 'sent') AS sent,
               (SELECT count(*)::int FROM graphile_worker.jobs) AS jobs`.execute(db);
      if (rows[0].sent === ids.length && rows[0].jobs === 0) break;
      if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(rows[0])}\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(server.accepted).toHaveLength(ids.length);
    const recipients = server.accepted.map((m) => /^To: (.+)$/m.exec(m)![1].trim()).sort();
    expect(recipients).toEqual([...emails, 'owner@acme.example'].sort());
    const log = await db.selectFrom('email_log').selectAll().execute();
    expect(log.every((l) => l.attempts === 1 && l.iso_week === '2026-W48')).toBe(true);
    expect(lines.filter((l) => / sent /.test(l) || /: sent/.test(l)).length).toBe(ids.length);
  }, 90_000);
});
