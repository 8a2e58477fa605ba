import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { createDb, type Db } from '../../db/client.js';

const TEMPLATE = 'breakeven_template';

/** The URL of another database on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(inject('postgresUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database (no migrations) and drops it after the file's tests. */
export async function emptyDatabase(): Promise<{ url: string; name: string }> {
  return cloneDatabase('template0');
}

async function cloneDatabase(template: string): Promise<{ url: string; name: string }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  afterAll(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return { url: databaseUrl(name), name };
}

/** A fresh, migrated database for one test file: a clone of the migrated template. */
export async function freshDatabase(): Promise<{ db: Db; url: string; name: string }> {
  const created = await cloneDatabase(TEMPLATE);
  const db = createDb(created.url, 5);
  afterAll(async () => {
    await db.destroy();
  });
  return { db, ...created };
}
