import { listAudit } from '../../db/queries/audit.js';
import { db } from '../lib/db.server';

export async function loadAuditLog() {
  const rows = await listAudit(db());
  return rows.map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    entity: r.entity,
    entityId: r.entity_id,
    before: r.before === null ? '' : JSON.stringify(r.before),
    after: r.after === null ? '' : JSON.stringify(r.after),
  }));
}
