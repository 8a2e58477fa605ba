import { migrateToLatest } from '../../db/migrate.js';
import type { Command } from '../framework.js';

export const dbMigrate: Command = {
  path: ['db', 'migrate'],
  summary: 'Apply every pending database migration (safe to run again: applied ones are skipped).',
  options: { json: { type: 'boolean', description: 'print {"applied": [...]} and nothing else' } },
  async run({ db, out }) {
    const applied = await migrateToLatest(db);
    if (out.wantsJson) return out.json({ applied });
    out.say(applied.length ? `Applied ${applied.length} migration(s):\n${applied.map((m) => `  ${m}`).join('\n')}` : 'The database is up to date.');
  },
};
