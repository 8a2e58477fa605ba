// Ingestion at a glance for the overview: each pull source's latest run, and the latest file import.
import { sql } from 'kysely';
import type { Db } from '../client.js';

export interface SourceHealth {
  name: string;
  kind: string;
  enabled: boolean;
  watermark: Date | null;
  run_id: number | null;
  status: 'running' | 'succeeded' | 'failed' | null;
  started_at: Date | null;
  finished_at: Date | null;
  rows_stored: number | null;
  rows_rejected: number | null;
  error: string | null;
}

/** Every source by name with its latest run (by start), and one row "file import" for the latest upload. */
export async function ingestionHealth(db: Db): Promise<SourceHealth[]> {
  const { rows } = await sql<SourceHealth>`
    SELECT s.name, s.kind, s.enabled, s.watermark, r.id AS run_id, r.status, r.started_at, r.finished_at,
           r.rows_stored, r.rows_rejected, r.error
    FROM ingestion_sources s
    LEFT JOIN LATERAL (
      SELECT id, status, started_at, finished_at, rows_stored, rows_rejected, error FROM ingestion_runs
      WHERE source_id = s.id ORDER BY started_at DESC, id DESC LIMIT 1) r ON true
    UNION ALL
    SELECT coalesce(r.file_name, 'file import'), r.kind, true, NULL, r.id, r.status, r.started_at, r.finished_at,
           r.rows_stored, r.rows_rejected, r.error
    FROM (SELECT * FROM ingestion_runs WHERE source_id IS NULL ORDER BY id DESC LIMIT 1) r
    ORDER BY 1`.execute(db);
  return rows;
}
