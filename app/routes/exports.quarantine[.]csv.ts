import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { quarantineExport } from '~/services/exports/tables.server';
import { runExists } from '~/services/ingest/ingestion-page.server';

// /exports/quarantine.csv?run=ID: the rows an ingestion run rejected, with line, field, reason and raw text.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const text = new URL(request.url).searchParams.get('run') ?? '';
  const run = Number(text);
  if (!/^\d{1,15}$/.test(text) || run < 1) {
    return new Response('Give the run: /exports/quarantine.csv?run=ID\n', { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  }
  if (!(await runExists(run))) return new Response(`No run ${run}.\n`, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  return csvResponse(quarantineExport(db(), run));
}
