// Where messages go: SMTP through nodemailer to SMTP_URL, or — without SMTP_URL — an .eml file per message in
// <data dir>/outbox, written whole (a temporary file renamed into place) so a reader never sees half of one.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export const DEFAULT_MAIL_FROM = 'Breakeven <breakeven@localhost>';

export interface MailSettings {
  /** smtp:// or smtps:// URL; unset: the outbox folder. */
  smtpUrl?: string;
  mailFrom?: string;
  dataDir: string;
}

export interface OutgoingMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** `<…@…>`, chosen before sending so that the log knows it even when the outcome is unknown. */
  messageId: string;
  /** A file name hint for the outbox. */
  name: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /** Where messages go, without credentials ("smtp://127.0.0.1:2525", "outbox /data/outbox"). */
  readonly target: string;
  /** Resolves when the server accepted the message (or the file is in place); returns where it went. */
  send(message: OutgoingMessage): Promise<{ delivery: string }>;
  close(): void;
}

/** The outbox folder of a data directory. */
export const outboxFolder = (dataDir: string) => path.join(dataDir, 'outbox');

/** An SMTP URL without user info, for logs and the email log. */
export function describeSmtpUrl(smtpUrl: string): string {
  const u = new URL(smtpUrl);
  return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
}

/** The domain of a From address, for Message-IDs. */
export function fromDomain(mailFrom: string): string {
  const m = /@([^@\s<>]+)>?\s*$/.exec(mailFrom);
  return m ? m[1] : 'localhost';
}

export function createMailer(settings: MailSettings): Mailer {
  const from = settings.mailFrom ?? DEFAULT_MAIL_FROM;
  if (settings.smtpUrl) {
    const u = new URL(settings.smtpUrl);
    const secure = u.protocol === 'smtps:';
    const transport = nodemailer.createTransport({
      host: u.hostname,
      port: u.port ? Number(u.port) : secure ? 465 : 587,
      secure,
      auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
      // Bounded, so that a hung server fails an attempt long before the log's stale-sending timeout.
      connectionTimeout: 20_000,
      greetingTimeout: 20_000,
      socketTimeout: 60_000,
    });
    const target = describeSmtpUrl(settings.smtpUrl);
    return {
      target,
      async send(m) {
        const info = await transport.sendMail({ from, to: m.to, subject: m.subject, html: m.html, text: m.text, messageId: m.messageId, headers: m.headers });
        return { delivery: `${target}: ${String(info.response ?? 'accepted').slice(0, 200)}` };
      },
      close: () => transport.close(),
    };
  }
  const folder = outboxFolder(settings.dataDir);
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    target: `outbox ${folder}`,
    async send(m) {
      const info = await transport.sendMail({ from, to: m.to, subject: m.subject, html: m.html, text: m.text, messageId: m.messageId, headers: m.headers });
      await mkdir(folder, { recursive: true });
      const file = `${m.name.replace(/[^A-Za-z0-9@._-]+/g, '_').slice(0, 150)}.eml`;
      const partial = path.join(folder, `.${file}.${randomBytes(6).toString('hex')}.part`);
      await writeFile(partial, info.message as Buffer, { mode: 0o640 });
      await rename(partial, path.join(folder, file));
      return { delivery: `outbox/${file}` };
    },
    close: () => transport.close(),
  };
}

const DEFINITE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const DEFINITE_MAILER_CODES = new Set(['EDNS', 'EAUTH', 'EENVELOPE', 'ENOENT', 'EACCES', 'ENOSPC', 'EROFS']);

/**
 * True when the message certainly was not accepted: the server answered with a 4xx/5xx code (to any command,
 * including the end of DATA), or the connection could not be made at all, or the outbox file could not be
 * written. Anything else — a connection reset or timeout in mid-conversation — may have happened after the
 * server took the message, so it is not retried but left for an admin to resolve.
 */
export function certainlyNotDelivered(error: unknown): boolean {
  const e = error as { responseCode?: unknown; code?: unknown; originalCode?: unknown };
  if (typeof e?.responseCode === 'number' && e.responseCode >= 400) return true;
  const original = typeof e?.originalCode === 'string' ? e.originalCode : typeof e?.code === 'string' ? e.code : '';
  if (DEFINITE_NETWORK_CODES.has(original)) return true;
  return typeof e?.code === 'string' && DEFINITE_MAILER_CODES.has(e.code);
}

/** One line about a send failure, without secrets. */
export function describeSendError(error: unknown): string {
  const e = error as { message?: string; code?: string; originalCode?: string; responseCode?: number };
  const message = String(e?.message ?? error).replace(/\s+/g, ' ').replace(/\/\/[^@/\s]+@/g, '//').slice(0, 500);
  const code = e?.originalCode ?? e?.code;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
