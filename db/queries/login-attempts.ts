import type { Db } from '../client.js';

export async function recordLoginAttempt(db: Db, email: string, address: string, succeeded: boolean): Promise<void> {
  await db.insertInto('login_attempts').values({ email, address, succeeded }).execute();
}

export interface FailureHistory {
  failures: number;
  lastFailureAt: Date | null;
}

/** Failed attempts since `since` for an email or for an address, and when the latest was. */
export async function recentFailures(db: Db, by: 'email' | 'address', value: string, since: Date): Promise<FailureHistory> {
  const row = await db
    .selectFrom('login_attempts')
    .select((eb) => [eb.fn.countAll<number>().as('failures'), eb.fn.max('at').as('last')])
    .where(by, '=', value)
    .where('succeeded', '=', false)
    .where('at', '>', since)
    .executeTakeFirstOrThrow();
  return { failures: Number(row.failures), lastFailureAt: row.last ? new Date(row.last) : null };
}
