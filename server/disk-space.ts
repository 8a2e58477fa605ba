// Free space where the embedded database keeps its data. PostgreSQL with a full disk either refuses a write
// (SQLSTATE 53100, "could not extend file") or, when it cannot write its WAL, stops every connection and shuts
// down; both reach the user as a raw PostgreSQL message or "connection terminated". This names the cause instead.
import { statfs } from 'node:fs/promises';

/**
 * Below this, the embedded database is not started: PostgreSQL writes its WAL in 16 MiB segments and needs room
 * for a few of them and a checkpoint before any data. Also the level under which a lost connection to the
 * embedded database is put down to a full disk.
 */
export const MIN_FREE_BYTES = 64_000_000;

/** Bytes free for an unprivileged writer on the filesystem holding `folder`, or null when it cannot be read. */
export async function freeBytes(folder: string): Promise<number | null> {
  try {
    const s = await statfs(folder);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** "0.4 MB", "52.0 MB", "3.1 GB". */
export function formatBytes(bytes: number): string {
  const mb = bytes / 1e6;
  return mb >= 1000 ? `${(mb / 1000).toFixed(1)} GB` : `${mb.toFixed(1)} MB`;
}

/**
 * One line for a full disk under the database's folder: `when` is 'start' (too little room to start the database)
 * or 'write' (a write failed for want of space; what is free now is after PostgreSQL gave back the failed one's).
 */
export function diskFullMessage(folder: string, free: number | null, when: 'start' | 'write'): string {
  const space = free === null ? 'an unknown amount of space' : formatBytes(free);
  const state =
    when === 'start'
      ? `${folder} has ${space} free, less than the ${formatBytes(MIN_FREE_BYTES)} the database needs to run`
      : `a write failed for want of space; ${folder} has ${space} free now`;
  return `the database's disk is full: ${state}. Free some space there or set BREAKEVEN_DATA_DIR to a larger disk, then run the command again`;
}
