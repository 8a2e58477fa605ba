// `breakeven email weekly`: sends the weekly emails now (the worker of `npm start` does it every Monday 08:00 in
// each recipient's zone), exactly once per recipient and week.
import { parseIsoWeek } from '../../app/domain/weeks.js';
import { isEmail } from '../../app/domain/customers.js';
import type { RecipientOutcome } from '../../app/services/email/send.server.js';
import { UsageError, type Command } from '../framework.js';

const WORDS: Record<RecipientOutcome['outcome'], string> = {
  'would-send': 'would send',
  sent: 'sent',
  'already-sent': 'already sent',
  failed: 'FAILED',
  uncertain: 'UNCERTAIN',
  'in-progress': 'being sent by another process',
  'retry-later': 'retry later',
  skipped: 'skipped',
};

export const emailWeekly: Command = {
  path: ['email', 'weekly'],
  summary: 'Send the weekly emails of a week now: the finance digest and the customer emails, once per recipient and week.',
  options: {
    week: { type: 'string', description: 'the ISO week (default: the last complete week in each recipient’s time zone)', placeholder: '2026-W47' },
    'dry-run': { type: 'boolean', description: 'print who would get what (recipient, kind, subject) and send nothing' },
    to: { type: 'string', description: 'only the emails of this address', placeholder: 'ADDRESS' },
    json: { type: 'boolean', description: 'print one JSON document with every recipient’s outcome and nothing else' },
  },
  details: `
Without SMTP_URL the messages are written as .eml files to the outbox folder of the data directory.
Running it again sends nothing twice ("already sent"). An email whose sending was interrupted after it may have
gone is "uncertain" and is never resent by itself: resolve it on /emails. Exit status 1 when an email failed or
is uncertain.`,
  async run({ db, config, options, out }) {
    let week;
    if (options.week !== undefined) {
      week = parseIsoWeek(String(options.week));
      if (!week) throw new UsageError(`--week must be an ISO week such as 2026-W47 (got "${String(options.week)}")`);
    }
    const to = options.to === undefined ? undefined : String(options.to).trim().toLowerCase();
    if (to !== undefined && !isEmail(to)) throw new UsageError(`--to must be an email address (got "${String(options.to)}")`);
    const dryRun = options['dry-run'] === true;
    // Loaded when the command runs (rendering and SMTP are a large part of the CLI's memory).
    const [{ runWeekly }, { describeSmtpUrl, outboxFolder }] = await Promise.all([
      import('../../app/services/email/send.server.js'),
      import('../../app/services/email/mailer.server.js'),
    ]);
    const settings = { smtpUrl: config.SMTP_URL, mailFrom: config.MAIL_FROM, dataDir: config.dataDir, appUrl: config.appUrl };
    if (!dryRun && !out.wantsJson) out.say(`Sending to ${config.SMTP_URL ? describeSmtpUrl(config.SMTP_URL) : `the outbox ${outboxFolder(config.dataDir)} (SMTP_URL is not set)`}.`);
    const results = await runWeekly({ db, settings, log: (line) => out.warn(line) }, { week, dryRun, to });
    if (out.wantsJson) {
      out.json({ dry_run: dryRun, results });
    } else {
      if (!results.length) out.say(to ? `${to} gets no weekly email.` : 'No recipients: add one with `breakeven recipients add EMAIL --kind digest`.');
      for (const r of results) {
        const who = `${r.recipient.kind.padEnd(8)} ${r.recipient.email}${r.recipient.customer ? ` (${r.recipient.customer})` : ''}`;
        const subject = r.subject ? `  "${r.subject}"` : '';
        const detail = r.outcome === 'sent' || r.outcome === 'would-send' || !r.detail ? '' : `: ${r.detail}`;
        out.say(`${who.padEnd(48)} ${r.week}  ${WORDS[r.outcome]}${detail}${subject}`);
      }
      const count = (o: RecipientOutcome['outcome']) => results.filter((r) => r.outcome === o).length;
      if (results.length) {
        out.say(
          dryRun
            ? `${count('would-send')} would be sent, ${count('already-sent')} already sent.`
            : `${count('sent')} sent, ${count('already-sent')} already sent, ${count('failed')} failed, ${count('uncertain')} uncertain.`,
        );
      }
    }
    const bad = results.filter((r) => r.outcome === 'failed' || r.outcome === 'uncertain');
    // Exit status 1: someone has to look.
    if (bad.length) throw new Error(`${bad.length} email(s) failed or are uncertain: see /emails${bad.some((b) => b.outcome === 'uncertain') ? ' to resolve the uncertain ones' : ''}`);
  },
};
