import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { runsExport } from '~/services/exports/tables.server';

// /exports/runs.csv: the ingestion runs, newest first.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  return csvResponse(await runsExport(db()));
}
