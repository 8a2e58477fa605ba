// What the dashboard's figures depend on, as one fingerprint: when it changes, cached figures are recomputed.
// Cheap on purpose (indexes and small tables only), so it can be read every second.
//
// - Rollups change only through ingestion runs (file imports and pulls), which commit their rows together
//   with the run's outcome: a new run moves max(id), and a run leaving `running` (its data committed, or it
//   failed) changes the set of running ids. The demo seed only fills an empty database (customers change).
// - Prices, reservations, customers' pools and GPU types' settings are small tables, hashed whole.
import { sql } from 'kysely';
import type { Db } from '../client.js';

export async function dataFingerprint(db: Db): Promise<string> {
  const { rows } = await sql<{ fingerprint: string }>`
    SELECT concat_ws('|',
      (SELECT coalesce(max(id), 0)::text FROM ingestion_runs),
      (SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM ingestion_runs WHERE status = 'running'),
      (SELECT md5(coalesce(string_agg(concat_ws(':', id, effective_from, effective_to), ',' ORDER BY id), '')) FROM price_books),
      (SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY r.id), '')) FROM reservations r),
      (SELECT md5(coalesce(string_agg(concat_ws(':', id, slug, pool_id), ',' ORDER BY id), '')) FROM customers),
      (SELECT md5(coalesce(string_agg(concat_ws(':', id, name), ',' ORDER BY id), '')) FROM pools),
      (SELECT md5(coalesce(string_agg(g::text, ',' ORDER BY g.id), '')) FROM gpu_types g)
    ) AS fingerprint`.execute(db);
  return rows[0].fingerprint;
}
