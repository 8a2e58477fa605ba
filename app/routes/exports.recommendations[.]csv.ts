import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { exportRequest } from '~/services/exports/request.server';
import { recommendationsExport } from '~/services/exports/tables.server';

// /exports/recommendations.csv?from&to[&gpuType][&pool][&customer]: the recommendations table with its filters.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const q = exportRequest(request);
  return csvResponse(await recommendationsExport(db(), q.period, { gpuType: q.gpuType, pool: q.pool, customer: q.customer }));
}
