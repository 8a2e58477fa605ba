import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../db/local-postgres.js';
import { bin, root, runCli } from '../support/cli.js';
import { emptyDatabase } from '../support/database.js';
import { Client } from '../support/app.js';

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts `breakeven serve` as npm start does, and waits for its "running at" line. */
async function serve(env: Record<string, string | undefined>): Promise<Running> {
  const fullEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const child = spawn(process.execPath, [bin, 'serve'], { cwd: root, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('is running at')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    exited.then(() => {
      clearInterval(timer);
      reject(new Error(`serve exited early:\n${output}`));
    });
  });
  return { child, output: () => output, exited };
}

async function signInAndRead(url: string, email: string, password: string, page = '/'): Promise<string> {
  const client = new Client(url);
  await client.signIn(email, password);
  const response = await client.get(page);
  expect(response.status).toBe(200);
  return response.text();
}

describe('breakeven serve with DATABASE_URL', () => {
  it('migrates, seeds an empty database, serves real figures and stops on SIGTERM', async () => {
    const { url: databaseUrl } = await emptyDatabase();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'breakeven-serve-'));
    const port = await freePort();
    const running = await serve({ DATABASE_URL: databaseUrl, PORT: String(port), BREAKEVEN_DATA_DIR: dataDir, SESSION_SECRET: undefined });
    const base = `http://127.0.0.1:${port}`;
    expect(running.output()).toContain('Database: DATABASE_URL');
    expect(running.output()).not.toContain('embedded');
    const signIn = /Demo sign-in: (\S+) \/ (\S+)/.exec(running.output());
    expect(signIn).not.toBeNull();

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const html = await signInAndRead(base, signIn![1], signIn![2]);
    expect(html).toMatch(/Customers<\/div><div class="tile-value">1[0-9]</);
    // The demo's last 30 days are costed: a dollar figure with cents under each scenario.
    expect(html).toMatch(/tile-label">Current<\/div><div class="tile-value">.*?\$[1-9][0-9,]*\.\d{2}/);

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('stopping the web server, then the database');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('an occupied PORT ends with one line and exit 2', async () => {
    const blocker = createServer().listen(0, '0.0.0.0');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    const { url } = await emptyDatabase();
    const result = await runCli(['serve'], { env: { DATABASE_URL: url, PORT: String(port), BREAKEVEN_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'breakeven-port-')) } });
    blocker.close();
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`breakeven serve: PORT ${port} is already in use: stop what is using it or set PORT to another port`]);
  });

  it('a malformed PORT ends with one line naming it', async () => {
    const result = await runCli(['serve'], { env: { PORT: 'eighty' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('breakeven serve: Invalid setting PORT: must be a port number (got "eighty")');
  });
});

/** The web processes (server/web-process.js) a `breakeven serve` primary has forked. */
async function webProcesses(primary: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === primary && cmdline.includes('web-process.js')) pids.push(Number(entry));
  }
  return pids;
}

describe('breakeven serve with several web processes', () => {
  it('serves pages, replaces a web process that dies, and stops them all', async () => {
    const { url: databaseUrl } = await emptyDatabase();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'breakeven-web-'));
    const port = await freePort();
    const running = await serve({ DATABASE_URL: databaseUrl, PORT: String(port), BREAKEVEN_DATA_DIR: dataDir, BREAKEVEN_WEB_PROCESSES: '2' });
    expect(running.output()).toContain(`is running at http://localhost:${port} (2 web processes)`);
    const primary = running.child.pid!;
    const before = await webProcesses(primary);
    expect(before).toHaveLength(2);

    // Signed in through one process, read through whichever gets the connection: sessions are in the database.
    const [, email, password] = /Demo sign-in: (\S+) \/ (\S+)/.exec(running.output())!;
    for (let i = 0; i < 4; i++) expect(await signInAndRead(`http://127.0.0.1:${port}`, email, password, '/customers')).toContain('Customers');

    process.kill(before[0], 'SIGKILL');
    let after: number[] = [];
    for (let i = 0; i < 100 && !(after.length === 2 && !after.includes(before[0])); i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await webProcesses(primary);
    }
    expect(after).toHaveLength(2);
    expect(after).not.toContain(before[0]);
    expect(running.output()).toMatch(/a web process exited \(SIGKILL\); starting another/);
    for (let i = 0; i < 4; i++) expect((await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { Connection: 'close' } })).status).toBe(200);

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    for (const pid of after) expect(() => process.kill(pid, 0)).toThrow();
    await rm(dataDir, { recursive: true, force: true });
  }, 120_000);
});

describe('breakeven serve without DATABASE_URL', () => {
  it('starts an embedded PostgreSQL, reuses its data on a second start, and reports a database that went away', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'breakeven-embedded-'));
    await chmod(dataDir, 0o755);
    const env = { DATABASE_URL: undefined, BREAKEVEN_DATA_DIR: dataDir, SESSION_SECRET: undefined };
    const port = await freePort();
    const first = await serve({ ...env, PORT: String(port) });
    expect(first.output()).toContain(`Database: embedded PostgreSQL in ${dataDir}`);
    expect(first.output()).toContain('seeding the demo');
    expect(first.output()).toMatch(/SESSION_SECRET is not set: generated one/);
    const [, email, password] = /Demo sign-in: (\S+) \/ (\S+)/.exec(first.output())!;
    await signInAndRead(`http://127.0.0.1:${port}`, email, password);
    // The CLI joins the running server instead of starting a second one.
    const listed = await runCli(['customers', 'list', '--json'], { env });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).length).toBeGreaterThanOrEqual(10);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = await serve({ ...env, PORT: String(port) });
    expect(second.output()).not.toContain('seeding');
    // The same secret, so the same sign-in and sessions survive the restart.
    expect(second.output()).toMatch(/using the one generated/);
    await signInAndRead(`http://127.0.0.1:${port}`, email, password);

    // The database stops under the running server: /healthz says so.
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    process.kill(postmaster, 'SIGINT');
    let status = 0;
    for (let i = 0; i < 50 && status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
    }
    expect(status).toBe(503);
    second.child.kill('SIGTERM');
    await second.exited;
    await rm(dataDir, { recursive: true, force: true });
  }, 120_000);
});
