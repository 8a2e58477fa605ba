// Starts one throwaway PostgreSQL for the whole run and migrates a template database; each test file
// then clones the template (tests/support/database.ts), which takes milliseconds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../db/client.js';
import { startLocalPostgres, type LocalPostgres } from '../../db/local-postgres.js';
import { migrateToLatest } from '../../db/migrate.js';

export const TEMPLATE = 'breakeven_template';

let server: LocalPostgres | undefined;
let folder: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // The folder's parents must be traversable by the postgres user: the system temp folder is.
  folder = await mkdtemp(path.join(tmpdir(), 'breakeven-test-'));
  const { chmod } = await import('node:fs/promises');
  await chmod(folder, 0o755);
  server = await startLocalPostgres({
    dir: path.join(folder, 'pg'),
    database: TEMPLATE,
    auth: 'trust',
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '200' },
  });
  const db = createDb(server.url);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  project.provide('postgresUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
