import type { Db } from '../client.js';

export interface AuditEntry {
  userId: number | null;
  actor: string;
  action: 'create' | 'update' | 'delete';
  entity: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
}

/** Records who changed what, with the record before and after; call it in the change's transaction. */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      user_id: entry.userId,
      actor: entry.actor,
      action: entry.action,
      entity: entry.entity,
      entity_id: entry.entityId,
      before: entry.before === undefined || entry.before === null ? null : JSON.stringify(entry.before),
      after: entry.after === undefined || entry.after === null ? null : JSON.stringify(entry.after),
    })
    .execute();
}

export async function listAudit(db: Db, limit = 200) {
  return db
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor', 'action', 'entity', 'entity_id', 'before', 'after'])
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
