import type { Db } from '../client.js';
import type { Role } from '../schema.js';

export interface SessionUser {
  id: number;
  email: string;
  role: Role;
}

export async function insertSession(db: Db, idSha256: string, userId: number, expiresAt: Date): Promise<void> {
  await db.insertInto('sessions').values({ id_sha256: idSha256, user_id: userId, expires_at: expiresAt }).execute();
}

/** The user of a live session; an expired or revoked session finds nobody. */
export async function findSessionUser(db: Db, idSha256: string, now: Date): Promise<SessionUser | undefined> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id', 'users.email', 'users.role'])
    .where('sessions.id_sha256', '=', idSha256)
    .where('sessions.expires_at', '>', now)
    .executeTakeFirst();
}

export async function deleteSession(db: Db, idSha256: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_sha256', '=', idSha256).execute();
}

export async function deleteExpiredSessions(db: Db, now: Date): Promise<void> {
  await db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
}
