// What the weekly digest reads besides the cost engine: ingestion runs that failed in the week.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;

export interface FailedRunGroup {
  /** The source's name, or the file kind for uploads. */
  what: string;
  failures: number;
  last_error: string | null;
  last_at: Date;
}

/** Failed ingestion runs started in [from, to), grouped by source (or file kind), most recent first. */
export async function failedRunsBetween(db: Handle, from: Date, to: Date): Promise<FailedRunGroup[]> {
  const rows = await db
    .selectFrom('ingestion_runs as r')
    .leftJoin('ingestion_sources as s', 's.id', 'r.source_id')
    .select(['r.kind', 's.name as source', 'r.error', 'r.started_at'])
    .where('r.status', '=', 'failed')
    .where('r.started_at', '>=', from)
    .where('r.started_at', '<', to)
    .orderBy('r.started_at', 'desc')
    .execute();
  const groups = new Map<string, FailedRunGroup>();
  for (const r of rows) {
    const what = r.source ?? `${r.kind} upload`;
    const g = groups.get(what);
    if (g) g.failures += 1;
    else groups.set(what, { what, failures: 1, last_error: r.error, last_at: r.started_at });
  }
  return [...groups.values()];
}
