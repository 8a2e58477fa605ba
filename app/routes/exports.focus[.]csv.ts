import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { focusExport } from '~/services/exports/focus.server';
import { exportRequest } from '~/services/exports/request.server';

// /exports/focus.csv?from&to: today's costs as FOCUS 1.2 rows, one per customer × UTC day × charge.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const q = exportRequest(request);
  return csvResponse(await focusExport(db(), q.period));
}
