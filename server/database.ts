// Which database this process uses: DATABASE_URL when set, otherwise the embedded PostgreSQL in the data
// folder (started here, or joined when another Breakeven process already runs it).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb, describeConnectionError, type Db } from '../db/client.js';
import { isLocalPostgresRunning, startLocalPostgres } from '../db/local-postgres.js';
import type { Config } from './config.js';
import { diskFullMessage, freeBytes, MIN_FREE_BYTES } from './disk-space.js';

export class StartupError extends Error {}

export interface Database {
  db: Db;
  url: string;
  embedded: boolean;
  /** Closes the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

export async function connectDatabase(config: Config, poolSize = 10): Promise<Database> {
  if (config.DATABASE_URL) {
    const db = createDb(config.DATABASE_URL, poolSize);
    try {
      await sql`SELECT 1`.execute(db);
    } catch (error) {
      await db.destroy();
      throw new StartupError(describeConnectionError(error));
    }
    return { db, url: config.DATABASE_URL, embedded: false, close: () => db.destroy() };
  }

  await mkdir(config.dataDir, { recursive: true });
  const folder = path.join(config.dataDir, 'postgres');
  // A server started on a (nearly) full disk fails later, in the middle of a write, with PostgreSQL's own words:
  // refuse now, saying why. A server already running is joined whatever the space: reading still works.
  if (!(await isLocalPostgresRunning(folder))) {
    const free = await freeBytes(config.dataDir);
    if (free !== null && free < MIN_FREE_BYTES) throw new StartupError(`the embedded database was not started: ${diskFullMessage(folder, free, 'start')}`);
  }
  let server;
  try {
    server = await startLocalPostgres({ dir: folder, database: 'breakeven', auth: 'password' });
  } catch (error) {
    throw new StartupError(`embedded database in ${folder} did not start: ${(error as Error).message}`);
  }
  const db = createDb(server.url, poolSize);
  return {
    db,
    url: server.url,
    embedded: true,
    async close() {
      await db.destroy();
      await server.stop();
    },
  };
}
