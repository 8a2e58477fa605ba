// SMTP servers for the email tests.
// - startSmtpCatcher: a real one, Debian's python3-aiosmtpd with its Mailbox handler, each message a file in a
//   maildir that the test reads back and parses (mailparser).
// - startScriptedSmtp: a small SMTP server in Node (net) that answers 451 to the end of DATA a given number of
//   times before accepting, or drops the connection after DATA without answering — the two cases a sender must
//   tell apart (refused for sure vs maybe delivered).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from '../../db/local-postgres.js';

export const PYTHON = '/usr/bin/python3';

/** Why the aiosmtpd tests cannot run here, or null. */
export function aiosmtpdMissing(): string | null {
  if (!existsSync(PYTHON) || !existsSync('/usr/lib/python3/dist-packages/aiosmtpd')) {
    return 'python3-aiosmtpd is not installed: apt-get install -y --no-install-recommends python3-aiosmtpd (npm test installs it)';
  }
  return null;
}

export interface SmtpCatcher {
  url: string;
  port: number;
  /** Every message received so far, parsed, in arrival order. */
  messages(): Promise<ParsedMail[]>;
  /** Waits until at least n messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<ParsedMail[]>;
  stop(): Promise<void>;
}

async function parseMaildir(dir: string): Promise<ParsedMail[]> {
  const files: { file: string; at: string }[] = [];
  for (const sub of ['new', 'cur']) {
    const names = await readdir(path.join(dir, sub)).catch(() => [] as string[]);
    for (const n of names) files.push({ file: path.join(dir, sub, n), at: n });
  }
  files.sort((a, b) => (a.at < b.at ? -1 : 1));
  return Promise.all(files.map(async (f) => simpleParser(await readFile(f.file))));
}

/** Starts aiosmtpd on a free loopback port; stop() ends it and removes the maildir. */
export async function startSmtpCatcher(): Promise<SmtpCatcher> {
  const folder = await mkdtemp(path.join(tmpdir(), 'breakeven-smtp-'));
  const maildir = path.join(folder, 'mail');
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready when it answers with its greeting.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`aiosmtpd exited: ${output}`);
    const greeting = await new Promise<string>((resolve) => {
      const socket = new Socket();
      socket.once('data', (d) => {
        socket.end('QUIT\r\n');
        resolve(String(d));
      });
      socket.once('error', () => resolve(''));
      socket.connect(port, '127.0.0.1');
    });
    if (greeting.startsWith('220')) break;
    if (Date.now() > deadline) throw new Error(`aiosmtpd did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const messages = () => parseMaildir(maildir);
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const list = await messages();
        if (list.length >= n) return list;
        if (Date.now() > until) throw new Error(`expected ${n} message(s), got ${list.length}; aiosmtpd: ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export interface ScriptedSmtp {
  url: string;
  /** Raw messages accepted (250 to the end of DATA). */
  accepted: string[];
  /** How many times the end of DATA was answered with a refusal, or left unanswered. */
  refused: number;
  dropped: number;
  /** Conversations opened. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A minimal SMTP server: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. The first `refuse` messages get
 * `451 4.3.0 Try again later` after DATA; with `dropAfterData`, the first ones instead see the connection
 * closed before any answer (the message may or may not have been taken).
 */
export async function startScriptedSmtp(options: { refuse?: number; dropAfterData?: number } = {}): Promise<ScriptedSmtp> {
  let refuseLeft = options.refuse ?? 0;
  let dropLeft = options.dropAfterData ?? 0;
  const sockets = new Set<Socket>();
  const state: ScriptedSmtp = { url: '', accepted: [], refused: 0, dropped: 0, connections: 0, close: async () => {} };
  const server = createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    let inData = false;
    let data = '';
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 scripted.test ESMTP ready');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) {
            data += buffer;
            buffer = '';
            return;
          }
          data += buffer.slice(0, end + 2);
          buffer = buffer.slice(end + 5);
          inData = false;
          if (dropLeft > 0) {
            dropLeft -= 1;
            state.dropped += 1;
            socket.destroy();
            return;
          }
          if (refuseLeft > 0) {
            refuseLeft -= 1;
            state.refused += 1;
            reply('451 4.3.0 Try again later');
          } else {
            state.accepted.push(data);
            reply(`250 2.0.0 Ok: queued as ${state.accepted.length}`);
          }
          data = '';
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') {
          socket.write('250-scripted.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        } else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') {
          reply('250 2.0.0 Ok');
        } else if (verb === 'DATA') {
          inData = true;
          data = '';
          reply('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 Bye');
          socket.end();
          return;
        } else {
          reply('502 5.5.2 Command not recognized');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  state.url = `smtp://127.0.0.1:${address.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}
