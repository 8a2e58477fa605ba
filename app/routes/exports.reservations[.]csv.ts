import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { exportRequest } from '~/services/exports/request.server';
import { reservationsExport } from '~/services/exports/tables.server';

// /exports/reservations.csv?from&to: every reservation with what it commits in the period.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const q = exportRequest(request);
  return csvResponse(await reservationsExport(db(), q.period, q.now));
}
