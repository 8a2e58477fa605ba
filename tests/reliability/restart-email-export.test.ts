// PostgreSQL restarted in the middle of a weekly email run and of an export, both done by the real `breakeven`
// command. Each must fail cleanly (exit status ≠ 0, one line, no stack trace), and a re-run must leave nothing
// lost and nothing doubled: one message per recipient, the one cut between SMTP and recording shown as uncertain
// rather than resent; a whole export file, never a partial one. The server is this file's own
// (tests/reliability/helpers.ts): restarting the shared test server would break the files running beside it.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedMail } from 'mailparser';
import { seedDemo } from '../../seeds/demo.js';
import { runCli } from '../support/cli.js';
import { aiosmtpdMissing, startSmtpCatcher, type SmtpCatcher } from '../support/smtp.js';
import { cleanUp, expectCleanFailure, lockWaiter, privatePostgres, tempFolder, waitUntil, type PrivatePostgres } from './helpers.js';

afterAll(cleanUp, 120_000);

let pgServer: PrivatePostgres;
let folder: string;

beforeAll(async () => {
  folder = await tempFolder('breakeven-restart-email-');
  pgServer = await privatePostgres(path.join(folder, 'pg'));
  // The demo: price books, twelve customers (their owners get customer emails), 42 days ending Monday 30 November.
  await seedDemo(pgServer.db, { days: 42, seed: 1, end: new Date('2026-11-30T00:00:00Z') });
}, 120_000);

describe('PostgreSQL restarted during a weekly email run', () => {
  let smtp: SmtpCatcher;
  const RECIPIENTS = 40;

  beforeAll(async () => {
    const missing = aiosmtpdMissing();
    if (missing) throw new Error(missing);
    smtp = await startSmtpCatcher();
    // Many digest recipients (one engine evaluation serves them all, so the run is as fast as SMTP) besides the
    // twelve customer owners the run subscribes by default.
    await pgServer.db
      .insertInto('email_recipients')
      .values(Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `finance-${String(i).padStart(2, '0')}@example.com`, kind: 'digest' as const, customer_id: null })))
      .execute();
  }, 120_000);

  afterAll(async () => {
    await smtp?.stop();
  });

  it('every recipient gets exactly one message; the one cut between sending and recording is uncertain, not resent', async () => {
    const env = { DATABASE_URL: pgServer.url, SMTP_URL: smtp.url, APP_URL: 'https://breakeven.example.com', BREAKEVEN_DATA_DIR: folder };
    const args = ['email', 'weekly', '--week', '2026-W47'];
    const first = runCli(args, { env });
    // Once 15 messages have arrived the run is visibly in the middle. To cut exactly between an SMTP acceptance and
    // its recording, the test locks email_log (reads still pass, writes wait) and restarts the server only when the
    // sender's "sent" UPDATE is the statement waiting; otherwise it lets go and tries again at the next message.
    let cut: { messages: number } | undefined;
    for (let n = 15; !cut; n++) {
      await waitUntil(`${n} messages to arrive`, async () => ((await smtp.messages()).length >= n ? true : undefined), 60_000, 5);
      const locker = new pg.Client({ connectionString: pgServer.url });
      locker.on('error', () => {});
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE email_log IN EXCLUSIVE MODE');
      const waiting = await waitUntil('a write to email_log to wait for the lock', () => lockWaiter(pgServer.db, 'email_log'), 30_000, 10);
      if (/^update "email_log" set "status" = \$1, "sent_at"/i.test(waiting)) {
        cut = { messages: (await smtp.messages()).length };
        // Immediate: in a fast shutdown the test's own session may end first, release the table, and let the
        // waiting "sent" commit before its session is ended too. Stopped at once, nothing finishes.
        await pgServer.restart('immediate');
      } else {
        await locker.query('COMMIT');
      }
      await locker.end().catch(() => {});
    }
    const interrupted = await first;
    expectCleanFailure(interrupted, 'email weekly');
    expect(interrupted.stderr).toMatch(/lost the connection to the database/);

    const again = await runCli(args, { env });
    const log = await pgServer.db
      .selectFrom('email_log as l')
      .innerJoin('email_recipients as r', 'r.id', 'l.recipient_id')
      .select(['r.email', 'r.kind', 'l.status', 'l.attempts', 'l.message_id', 'l.last_error'])
      .where('l.iso_week', '=', '2026-W47')
      .execute();
    const recipients = await pgServer.db.selectFrom('email_recipients').select(['email', 'kind']).where('unsubscribed', '=', false).execute();
    // 40 digest recipients + 12 customer owners = 52, each with one log row.
    expect(recipients).toHaveLength(RECIPIENTS + 12);
    expect(log).toHaveLength(RECIPIENTS + 12);

    const messages = await smtp.messages();
    const received = new Map<string, ParsedMail[]>();
    for (const m of messages) {
      const key = `${m.headers.get('x-breakeven-kind')}:${(m.to as { text: string }).text.toLowerCase()}`;
      received.set(key, [...(received.get(key) ?? []), m]);
    }
    // Every recipient has exactly one message: 52 in all, none resent.
    expect(messages).toHaveLength(RECIPIENTS + 12);
    for (const l of log) {
      const got = received.get(`${l.kind}:${l.email}`) ?? [];
      expect(got.length, `${l.kind} ${l.email}`).toBe(1);
      // The message that arrived is the attempt the log recorded (its Message-ID was chosen before sending).
      expect(got[0].messageId, `${l.kind} ${l.email}`).toBe(l.message_id);
    }
    // The one whose "sent" was cut off is uncertain (it did go, but nothing recorded it); everyone else is sent.
    const uncertain = log.filter((l) => l.status === 'uncertain');
    expect(uncertain, JSON.stringify(uncertain)).toHaveLength(1);
    expect(uncertain[0].attempts).toBe(1);
    expect(uncertain[0].last_error).toMatch(/lost its database session before recording the outcome/);
    expect(log.filter((l) => l.status !== 'sent' && l.status !== 'uncertain')).toEqual([]);
    expect(cut!.messages).toBeGreaterThanOrEqual(15);
    // The re-run sent the rest and reports the uncertain one with exit status 1 (someone has to look at /emails).
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(new RegExp(`${uncertain[0].email.replace(/[.]/g, '\\.')}\\s+2026-W47\\s+UNCERTAIN`));
    expectCleanFailure(again, 'email weekly');
    // A third run sends nothing more.
    const third = await runCli(args, { env });
    expect(third.code).toBe(1);
    expect(await smtp.messages()).toHaveLength(RECIPIENTS + 12);
  });
});

describe('PostgreSQL restarted during an export', () => {
  it('the export fails cleanly and leaves no partial file; a re-run writes the whole file', async () => {
    const env = { DATABASE_URL: pgServer.url };
    const args = (out: string) => ['export', 'costs', '--from', '2026-11-16', '--to', '2026-11-30', '--out', out];
    // The file an undisturbed export writes, to compare the re-run with.
    const reference = path.join(folder, 'reference.csv');
    const undisturbed = await runCli(args(reference), { env });
    expect(undisturbed.code, undisturbed.stderr).toBe(0);
    const expected = await readFile(reference, 'utf8');
    // 14 days × 12 customers × up to 4 scenarios, plus the header: a real file, not an empty one.
    expect(expected.split('\n').length).toBeGreaterThan(14 * 12);

    const exportDir = path.join(folder, 'exports');
    await mkdir(exportDir);
    const out = path.join(exportDir, 'costs.csv');
    // The rollups the engine reads (their packed days) are locked so the export's read of them waits: the restart
    // then lands while it is under way.
    const locker = new pg.Client({ connectionString: pgServer.url });
    locker.on('error', () => {});
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE daily_gpu_usage, daily_token_usage IN ACCESS EXCLUSIVE MODE');
    const running = runCli(args(out), { env });
    await waitUntil('the export to wait for the rollups', () => lockWaiter(pgServer.db, 'daily_'), 60_000, 20);
    // Immediate, for the reason given in the email test: a fast shutdown could free the rollups first.
    await pgServer.restart('immediate');
    await locker.end().catch(() => {});
    const interrupted = await running;
    expectCleanFailure(interrupted, 'export costs');
    expect(interrupted.stderr).toMatch(/lost the connection to the database/);
    // Nothing at --out, and no temporary file left beside it.
    expect(await readdir(exportDir)).toEqual([]);

    const again = await runCli(args(out), { env });
    expect(again.code, again.stderr).toBe(0);
    expect(await readdir(exportDir)).toEqual(['costs.csv']);
    expect(await readFile(out, 'utf8')).toBe(expected);
  });
});
