import type { LoaderFunctionArgs } from '@remix-run/node';
import { requireUser } from '~/services/auth.server';
import { quarantineCsv, runExists } from '~/services/ingest/ingestion-page.server';

// /exports/quarantine.csv?run=ID: the rows an ingestion run rejected, with line, field, reason and raw text.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const text = new URL(request.url).searchParams.get('run') ?? '';
  const run = Number(text);
  if (!/^\d{1,15}$/.test(text) || run < 1) {
    return new Response('Give the run: /exports/quarantine.csv?run=ID\n', { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  }
  if (!(await runExists(run))) return new Response(`No run ${run}.\n`, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  return new Response(quarantineCsv(run), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="quarantine-run-${run}.csv"`,
      'Cache-Control': 'no-store',
    },
  });
}
