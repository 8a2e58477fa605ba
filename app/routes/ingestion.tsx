import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { CsvLink } from '~/components/CsvLink';
import { Shell, useCurrentUser } from '~/components/Shell';
import { formatInteger } from '~/lib/format';
import { requireAdmin, requireUser } from '~/services/auth.server';
import { FILE_KINDS } from '~/domain/ingest/kinds';
import { importUpload, loadIngestionPage } from '~/services/ingest/ingestion-page.server';
import { SourcesSection } from '~/components/SourcesSection';
import { db } from '~/lib/db.server';
import { listSourcesForDisplay } from '~/services/sources.server';

export const meta: MetaFunction = () => [{ title: 'Ingestion · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const run = Number(new URL(request.url).searchParams.get('run'));
  const [page, sources] = await Promise.all([loadIngestionPage(Number.isSafeInteger(run) && run > 0 ? run : null), listSourcesForDisplay(db())]);
  return { ...page, sources };
}

export async function action({ request }: ActionFunctionArgs) {
  // Before reading a byte of the body: a viewer's upload is refused, not written to disk.
  await requireAdmin(request);
  const outcome = await importUpload(request);
  if (!outcome.ok) return json({ ok: false as const, problems: outcome.problems }, { status: outcome.status });
  const s = outcome.summary;
  return json({
    ok: true as const,
    runId: s.runId,
    message: `${s.file}: ${s.read} row(s) read, ${s.stored} stored, ${s.duplicates} already there, ${s.rejected} rejected (run ${s.runId}).`,
    rejected: s.rejected,
    customersCreated: s.customersCreated,
  });
}

export default function Ingestion() {
  const { runs, selectedRun, rejected, sources } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const user = useCurrentUser();
  return (
    <Shell title="Ingestion">
      {result && !result.ok ? (
        <div className="alert error" role="alert">
          {result.problems.map((p) => <p key={p}>{p}</p>)}
        </div>
      ) : null}
      {result && result.ok ? (
        <p className={`alert ${result.rejected > 0 ? 'error' : 'ok'}`} role="status">
          {result.message}
          {result.customersCreated.length ? ` Customers created: ${result.customersCreated.join(', ')}.` : ''}
          {result.rejected > 0 ? <> <Link to={`?run=${result.runId}`}>See the rejected rows</Link>.</> : null}
        </p>
      ) : null}
      {user?.role === 'admin' ? (
        <section className="card">
          <h2>Import a file</h2>
          <p>
            Token usage (<code>timestamp,customer,model,input_tokens,output_tokens</code>, optionally <code>cached_input_tokens</code>,{' '}
            <code>cache_write_input_tokens</code>, <code>requests</code>), GPU samples (<code>timestamp,gpu_uuid,gpu_type,customer,utilization_pct</code>)
            or an <code>nvidia-smi --format=csv</code> log with its header. Bad rows are quarantined; importing a file again changes nothing.
          </p>
          <Form method="post" encType="multipart/form-data" className="stack narrow">
            <input type="hidden" name="intent" value="upload" />
            <label>
              What the file holds
              <select name="kind" defaultValue="token-usage">
                {FILE_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
              </select>
            </label>
            <label>File<input name="file" type="file" accept=".csv,.log,.txt,text/csv" required /></label>
            <label>Customer (overrides the file&apos;s customer column)<input name="customer" placeholder="acme" /></label>
            <label>nvidia-smi: time zone of its timestamps<input name="tz" placeholder="UTC" /></label>
            <label>nvidia-smi: GPU UUID, when the log has none<input name="gpuUuid" /></label>
            <label>nvidia-smi: GPU type, when the log has no name<input name="gpuType" placeholder="H100" /></label>
            <button type="submit" disabled={navigation.state === 'submitting'}>Import</button>
          </Form>
        </section>
      ) : null}
      <SourcesSection sources={sources} />
      <section className="card">
        <div className="card-head">
          <h2>Recent runs</h2>
          <CsvLink href="/exports/runs.csv" label="All runs CSV" />
        </div>
        {runs.length === 0 ? (
          <p>No imports or pulls yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th><th scope="col">Started (UTC)</th><th scope="col">Kind</th><th scope="col">File or source</th><th scope="col">Status</th>
                <th scope="col">Read</th><th scope="col">Stored</th><th scope="col">Rejected</th><th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>{r.id}</td>
                  <td>{r.startedAt.replace('T', ' ').slice(0, 19)}</td>
                  <td>{r.kind}</td>
                  <td>{r.what}</td>
                  <td>{r.status}</td>
                  <td>{formatInteger(r.read)}</td>
                  <td>{formatInteger(r.stored)}</td>
                  <td>{r.rejected > 0 ? <Link to={`?run=${r.id}`}>{formatInteger(r.rejected)}</Link> : 0}</td>
                  <td>{r.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {selectedRun !== null ? (
        <section className="card">
          <h2>Quarantined rows of run {selectedRun}</h2>
          <p><a href={`/exports/quarantine.csv?run=${selectedRun}`}>Download as CSV</a>{rejected.length >= 500 ? ' (the first 500 are shown)' : ''}</p>
          {rejected.length === 0 ? (
            <p>No rows were rejected in this run.</p>
          ) : (
            <table>
              <thead>
                <tr><th scope="col">Line</th><th scope="col">Field</th><th scope="col">Reason</th><th scope="col">Raw text</th></tr>
              </thead>
              <tbody>
                {rejected.map((r) => (
                  <tr key={r.line}>
                    <td>{r.line}</td>
                    <td>{r.field ?? ''}</td>
                    <td>{r.reason}</td>
                    <td><code>{r.raw}</code></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ) : null}
    </Shell>
  );
}
