import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { exportRequest } from '~/services/exports/request.server';
import { pricesExport } from '~/services/exports/tables.server';

// /exports/prices.csv[?book=NAME]: every offer of every price book, or of one.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const q = exportRequest(request);
  return csvResponse(await pricesExport(db(), { book: q.book }));
}
