import { readdirSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/client.js';
import { migrateToLatest, migrateToNothing } from '../../db/migrate.js';
import { migrations } from '../../db/migrations.js';
import { emptyDatabase } from '../support/database.js';

const migrationsFolder = path.resolve(import.meta.dirname, '../../migrations');

async function tables(db: ReturnType<typeof createDb>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'kysely_%'
    ORDER BY 1`.execute(db);
  return rows.map((r) => r.name);
}

describe('migrations', () => {
  it('share one naming scheme: YYYYMMDD_NN_snake_case.ts', () => {
    const files = readdirSync(migrationsFolder);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file).toMatch(/^\d{8}_\d{2}_[a-z0-9_]+\.ts$/);
  });

  it('are all listed in db/migrations.ts, in the order of their names', () => {
    expect(Object.keys(migrations)).toEqual(readdirSync(migrationsFolder).map((f) => f.replace(/\.ts$/, '')).sort());
  });

  it('go up to the whole schema, down to nothing, and up again', async () => {
    const { url } = await emptyDatabase();
    const db = createDb(url, 2);
    try {
      const applied = await migrateToLatest(db);
      expect(applied).toEqual(readdirSync(migrationsFolder).map((f) => f.replace(/\.ts$/, '')).sort());
      expect(await tables(db)).toEqual(expect.arrayContaining([
        'customers', 'pools', 'gpu_types', 'gpu_type_aliases', 'gpu_assignments', 'gpu_samples', 'token_usage',
        'hourly_gpu_usage', 'hourly_token_usage', 'price_books', 'offers', 'capacity_profiles', 'reservations',
        'ingestion_sources', 'ingestion_runs', 'rejected_rows', 'recommendations', 'users', 'sessions',
        'audit_log', 'email_recipients', 'email_log',
      ]));
      expect(await migrateToLatest(db)).toEqual([]);

      await migrateToNothing(db);
      expect(await tables(db)).toEqual([]);

      await migrateToLatest(db);
      expect((await tables(db)).length).toBeGreaterThanOrEqual(22);
    } finally {
      await db.destroy();
    }
  });
});
