import { sql } from 'kysely';
import { db } from '../lib/db.server';

/** True when the database answers a trivial query within two seconds. */
export async function databaseAnswers(): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 2_000).unref());
  const query = sql`SELECT 1`.execute(db()).then(() => true, () => false);
  return Promise.race([query, timeout]);
}
