import type { LoaderFunctionArgs } from '@remix-run/node';
import { db } from '~/lib/db.server';
import { requireUser } from '~/services/auth.server';
import { csvResponse } from '~/services/exports/csv.server';
import { exportRequest } from '~/services/exports/request.server';
import { customersExport } from '~/services/exports/tables.server';

// /exports/customers.csv?from&to&sort&q: the customers table, every matching row in the page's order.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  const q = exportRequest(request);
  return csvResponse(await customersExport(db(), q.period, q.customers));
}
