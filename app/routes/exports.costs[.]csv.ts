import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { exportRequest } from '~/services/exports/request.server';
import { costsExport } from '~/services/exports/tables.server';

// /exports/costs.csv?from&to[&customer=SLUG]: cost per customer × UTC day × scenario.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const q = exportRequest(request);
  return csvResponse(await costsExport(db(), q.period, { customer: q.customer }));
}
