import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, NO_MIGRATIONS, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import { tsImport } from 'tsx/esm/api';

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

// Loads the TypeScript migrations through tsx, so they run the same from the CLI, the server and tests.
const provider: MigrationProvider = {
  async getMigrations() {
    const migrations: Record<string, Migration> = {};
    for (const file of (await readdir(migrationsFolder)).filter((f) => f.endsWith('.ts')).sort()) {
      migrations[file.replace(/\.ts$/, '')] = await tsImport(pathToFileURL(path.join(migrationsFolder, file)).href, import.meta.url);
    }
    return migrations;
  },
};

export function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider });
}

function check({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '(setup)'} failed: ${(error as Error).message}`);
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** Applies every pending migration; returns the names applied. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return check(await migrator(db).migrateToLatest());
}

/** Reverts every migration, newest first; returns the names reverted. */
export async function migrateToNothing(db: Kysely<any>): Promise<string[]> {
  return check(await migrator(db).migrateTo(NO_MIGRATIONS));
}
