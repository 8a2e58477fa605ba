import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import { Shell } from '~/components/Shell';
import { requireAdmin } from '~/services/auth.server';
import { loadAuditLog } from '~/services/audit.server';

export const meta: MetaFunction = () => [{ title: 'Audit log · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context);
  return { entries: await loadAuditLog() };
}

export default function AuditLog() {
  const { entries } = useLoaderData<typeof loader>();
  return (
    <Shell title="Audit log">
      {entries.length === 0 ? (
        <section className="empty"><p>No changes recorded yet. Changes to prices, reservations, sources, recipients and users appear here.</p></section>
      ) : (
        <section className="card">
          <table>
            <thead>
              <tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">What</th><th scope="col">Before</th><th scope="col">After</th></tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{e.at.replace('T', ' ').slice(0, 19)}</td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>{e.entity} {e.entityId}</td>
                  <td><code>{e.before}</code></td>
                  <td><code>{e.after}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </Shell>
  );
}
