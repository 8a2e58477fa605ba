import type { Db } from '../client.js';
import type { Role, User } from '../schema.js';

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
}

/** Creates the user, or updates the role and password of an existing one (ending its sessions). */
export async function upsertUser(db: Db, email: string, role: Role, passwordHash: string): Promise<'created' | 'updated'> {
  const existing = await findUserByEmail(db, email);
  if (!existing) {
    await db.insertInto('users').values({ email: email.toLowerCase(), role, password_hash: passwordHash }).execute();
    return 'created';
  }
  await db.updateTable('users').set({ role, password_hash: passwordHash }).where('id', '=', existing.id).execute();
  await db.deleteFrom('sessions').where('user_id', '=', existing.id).execute();
  return 'updated';
}

export async function listUsers(db: Db): Promise<Pick<User, 'id' | 'email' | 'role' | 'created_at'>[]> {
  return db.selectFrom('users').select(['id', 'email', 'role', 'created_at']).orderBy('email').execute();
}

/** Removes a user; their sessions go with them (ON DELETE CASCADE). */
export async function removeUser(db: Db, email: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('email', '=', email.toLowerCase()).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
