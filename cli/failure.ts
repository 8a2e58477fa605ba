// The one line `breakeven` prints when a command fails with an unexpected error. Two database failures get a cause
// instead of PostgreSQL's raw words: a full disk (SQLSTATE 53100, or — for the embedded database — a lost
// connection while its folder has almost no space left, which is how PostgreSQL stops when it cannot write its
// WAL) and a lost connection (the server restarted or stopped mid-command).
import path from 'node:path';
import { diskFullMessage, freeBytes, MIN_FREE_BYTES } from '../server/disk-space.js';

/** SQLSTATE and Node codes of a connection that went away under a command. */
const LOST_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']);
const LOST_MESSAGES = /Connection terminated|connection error and is not queryable|terminating connection|server closed the connection|the database system is (shutting down|starting up|in recovery mode)/i;

function isLostConnection(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  return LOST_CODES.has(code) || code.startsWith('08') || LOST_MESSAGES.test(String(e?.message ?? ''));
}

/**
 * What went wrong, in one line. `dataDir` is the embedded database's data folder (null with DATABASE_URL, whose
 * disk this process cannot see).
 */
export async function describeFailure(error: unknown, dataDir: string | null): Promise<string> {
  const message = String((error as Error)?.message ?? error).split('\n')[0];
  const folder = dataDir === null ? null : path.join(dataDir, 'postgres');
  if ((error as { code?: unknown })?.code === '53100') {
    if (folder) return diskFullMessage(folder, await freeBytes(folder), 'write');
    return `the database server's disk is full (${message}); free some space on it, then run the command again`;
  }
  if (isLostConnection(error)) {
    if (folder) {
      const free = await freeBytes(folder);
      if (free !== null && free < MIN_FREE_BYTES) return diskFullMessage(folder, free, 'write');
    }
    return `lost the connection to the database (${message}): run the command again once the database is back`;
  }
  return message;
}
