import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Decided once, here: int8 and numeric become JS numbers (docs/decisions/001-money.md). A count or id
// beyond 2^53 would lose precision, so it fails loudly instead.
function toSafeNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
    throw new RangeError(`database value ${text} does not fit a JS number`);
  }
  return value;
}
pg.types.setTypeParser(pg.types.builtins.INT8, toSafeNumber);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, toSafeNumber);
// A calendar date stays the string it is: turning it into a Date would shift it by the process's zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (text: string) => text);

export type Db = Kysely<Database>;

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 10_000 });
  // Without a listener, an idle client's error (the server restarting) would crash the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    void client.query("SET TIME ZONE 'UTC'").catch(() => {});
  });
  return pool;
}

export function createDb(connectionString: string, max?: number): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(connectionString, max) }) });
}

// One handle per process, shared by the server entry and the compiled Remix build (each holds its own
// copy of this module, so the handle lives on globalThis).
const slot = globalThis as typeof globalThis & { __breakevenDb?: Db };

export function setDb(db: Db | undefined): void {
  slot.__breakevenDb = db;
}

export function getDb(): Db {
  if (!slot.__breakevenDb) throw new Error('the database is not connected yet');
  return slot.__breakevenDb;
}

/** A one-line description of a connection failure that names the setting, never the password. */
export function describeConnectionError(error: unknown, what = 'DATABASE_URL'): string {
  const e = error as NodeJS.ErrnoException & { code?: string };
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    ETIMEDOUT: 'timed out',
    '28P01': 'password authentication failed',
    '28000': 'authentication rejected',
    '3D000': 'database does not exist',
  };
  const reason = (e.code && reasons[e.code]) || e.message.split('\n')[0];
  return `${what}: cannot connect to the database (${reason})`;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
