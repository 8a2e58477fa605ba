// Managing who can sign in, from the admin page; every change is audit-logged in its transaction.
import type { Role } from '../../db/schema.js';
import { recordAudit } from '../../db/queries/audit.js';
import { findUserByEmail, listUsers, removeUser, upsertUser } from '../../db/queries/users.js';
import { db } from '../lib/db.server';
import type { SessionUser } from './auth.server';
import { hashPassword } from './passwords.server.js';

export async function loadUsers() {
  return (await listUsers(db())).map((u) => ({ email: u.email, role: u.role, createdAt: u.created_at.toISOString() }));
}

export async function saveUser(actor: SessionUser, email: string, role: Role, password: string): Promise<'created' | 'updated'> {
  const hash = await hashPassword(password);
  return db().transaction().execute(async (trx) => {
    const before = await findUserByEmail(trx, email);
    const outcome = await upsertUser(trx, email, role, hash);
    await recordAudit(trx, {
      userId: actor.id,
      actor: actor.email,
      action: outcome === 'created' ? 'create' : 'update',
      entity: 'user',
      entityId: email.toLowerCase(),
      // The password hash is a secret: the log records that it changed, never its value.
      before: before ? { email: before.email, role: before.role } : null,
      after: { email: email.toLowerCase(), role, password: 'changed' },
    });
    return outcome;
  });
}

export async function deleteUser(actor: SessionUser, email: string): Promise<boolean> {
  return db().transaction().execute(async (trx) => {
    const before = await findUserByEmail(trx, email);
    if (!before) return false;
    await removeUser(trx, email);
    await recordAudit(trx, { userId: actor.id, actor: actor.email, action: 'delete', entity: 'user', entityId: before.email, before: { email: before.email, role: before.role }, after: null });
    return true;
  });
}
