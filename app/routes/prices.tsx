import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { EmptyState } from '~/components/EmptyState';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell, useCurrentUser } from '~/components/Shell';
import { formatInteger, formatPercent, formatPeriod, formatRate } from '~/lib/format';
import { db } from '~/lib/db.server';
import { requireAdmin, requireUser } from '~/services/auth.server';
import { importPriceBookText, loadPricesPage } from '~/services/dashboard/prices.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction = () => [{ title: 'Prices · Breakeven' }];

/** A price book is a few kilobytes; anything far larger is refused before it is read. */
const MAX_BYTES = 5 * 1024 * 1024;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  const now = new Date();
  const ctx = viewerContext(request, now);
  const page = await loadPricesPage(db(), { period: ctx.period, now, timeZone: ctx.timeZone });
  return { ...page, period: periodView(ctx.period), periodQuery: ctx.periodQuery };
}

type Problem = { path: string; message: string };

export async function action({ request }: ActionFunctionArgs) {
  const admin = await requireAdmin(request);
  if (Number(request.headers.get('Content-Length') ?? 0) > MAX_BYTES) {
    return json({ ok: false as const, message: 'The file is too large for a price book (over 5 MB).', problems: [] as Problem[] }, { status: 413 });
  }
  const form = await request.formData();
  if (form.get('intent') !== 'import') return json({ ok: false as const, message: 'Unknown action.', problems: [] as Problem[] }, { status: 400 });
  const file = form.get('file');
  const pasted = form.get('json');
  let text = '';
  if (file && typeof file === 'object' && 'text' in file && file.size > 0) {
    if (file.size > MAX_BYTES) return json({ ok: false as const, message: 'The file is too large for a price book (over 5 MB).', problems: [] as Problem[] }, { status: 413 });
    text = await file.text();
  } else if (typeof pasted === 'string') {
    text = pasted;
  }
  if (!text.trim()) return json({ ok: false as const, message: 'Choose a price-book JSON file or paste one.', problems: [] as Problem[] }, { status: 400 });
  const outcome = await importPriceBookText(db(), admin, text);
  if (!outcome.ok) {
    return json(
      { ok: false as const, message: `Nothing was imported: ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'}.`, problems: outcome.problems },
      { status: 400 },
    );
  }
  return json({ ok: true as const, message: outcome.message, problems: [] as Problem[] });
}

const EXAMPLE = `{
  "name": "contract-2027-01",
  "effective_from": "2027-01-01T00:00:00Z",
  "offers": [
    {"kind": "reserved", "provider": "example-cloud", "gpu_type": "H100", "term_days": 365, "block_size": 8, "usd_per_gpu_hour": 2.10},
    {"kind": "on_demand", "provider": "example-cloud", "gpu_type": "H100", "usd_per_gpu_hour": 3.50}
  ],
  "capacity_profiles": []
}`;

export default function Prices() {
  const v = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const user = useCurrentUser();
  return (
    <Shell title="Prices" subtitle={`Price books by effective date · highlighted: in force during ${formatPeriod(v.period.fromParam, v.period.toParam)}`} toolbar={<PeriodPicker period={v.period} />} actions={<CsvLink href="/exports/prices.csv" label="All offers CSV" />}>
      {result ? (
        result.ok ? (
          <p className="alert ok" role="status">{result.message}</p>
        ) : (
          <div className="alert error" role="alert">
            <p><strong>{result.message}</strong></p>
            {result.problems.length ? (
              <ul className="problems">
                {result.problems.map((p, i) => <li key={i}><code>{p.path}</code> {p.message}</li>)}
              </ul>
            ) : null}
          </div>
        )
      ) : null}
      {v.books.length === 0 ? (
        <EmptyState title="No price book yet">
          <p>Costs need prices. {user?.role === 'admin' ? 'Import a price book below' : 'An admin imports one here'}, or run <code>breakeven prices import FILE.json</code>.</p>
        </EmptyState>
      ) : (
        v.books.map((b, i) => (
          <Card
            key={b.id}
            className={b.inPeriod ? 'in-period' : undefined}
            title={
              <>
                {b.name} {b.inForceNow ? <span className="badge badge-good">in force now</span> : null} {b.inPeriod ? <span className="badge">in the period</span> : null}
              </>
            }
            actions={<CsvLink href={`/exports/prices.csv?book=${encodeURIComponent(b.name)}`} />}
            subtitle={`From ${b.effectiveFromLabel}${b.effectiveToLabel ? ` to ${b.effectiveToLabel}` : ', until a newer book'} · imported ${b.importedLabel} · ${b.gpuOffers.length + b.apiOffers.length} offers, ${b.profiles.length} capacity profiles`}
          >
            <details open={i === 0 || b.inPeriod}>
              <summary>Offers and capacity profiles</summary>
              <div className="grid-2">
                <div>
                  <h3 className="subhead">GPU offers</h3>
                  <TableScroll label={`GPU offers of ${b.name}`}>
                    <table>
                      <thead>
                        <tr><th scope="col">GPU</th><th scope="col">Kind</th><th scope="col">Provider</th><th scope="col">Term</th><th scope="col" className="num">Block</th><th scope="col" className="num">$/GPU-h</th></tr>
                      </thead>
                      <tbody>
                        {b.gpuOffers.map((o, k) => (
                          <tr key={k}>
                            <th scope="row">{o.gpu_type}</th>
                            <td><span className={`badge ${o.kind === 'reserved' ? 'badge-rec' : 'badge-od'}`}>{o.kind === 'reserved' ? 'reserved' : 'on-demand'}</span></td>
                            <td title={o.source ?? undefined}>{o.provider}</td>
                            <td>{o.term_days ? `${o.term_days} d` : '—'}</td>
                            <td className="num">{o.block_size ?? '—'}</td>
                            <td className="num">{o.usd_per_gpu_hour === null ? '—' : formatRate(o.usd_per_gpu_hour)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </TableScroll>
                </div>
                <div>
                  <h3 className="subhead">API offers ($ per million tokens)</h3>
                  <TableScroll label={`API offers of ${b.name}`}>
                    <table>
                      <thead>
                        <tr><th scope="col">Model</th><th scope="col">Provider</th><th scope="col" className="num">Input</th><th scope="col" className="num">Cached</th><th scope="col" className="num">Output</th></tr>
                      </thead>
                      <tbody>
                        {b.apiOffers.map((o, k) => (
                          <tr key={k}>
                            <th scope="row">{o.model}</th>
                            <td title={o.source ?? undefined}>{o.provider}</td>
                            <td className="num">{o.usd_per_mtok_input === null ? '—' : formatRate(o.usd_per_mtok_input)}</td>
                            <td className="num">{o.usd_per_mtok_cached_input === null ? <span className="muted">= input</span> : formatRate(o.usd_per_mtok_cached_input)}</td>
                            <td className="num">{o.usd_per_mtok_output === null ? '—' : formatRate(o.usd_per_mtok_output)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </TableScroll>
                </div>
              </div>
              <h3 className="subhead">Capacity profiles (tokens per GPU-second)</h3>
              {b.profiles.length === 0 ? (
                <p className="muted">None: token-only customers get no demand from this book.</p>
              ) : (
                <TableScroll label={`Capacity profiles of ${b.name}`}>
                  <table>
                    <thead>
                      <tr><th scope="col">Model</th><th scope="col">GPU</th><th scope="col" className="num">Input (prefill)</th><th scope="col" className="num">Output (decode)</th><th scope="col" className="num">Target utilization</th></tr>
                    </thead>
                    <tbody>
                      {b.profiles.map((p, k) => (
                        <tr key={k}>
                          <th scope="row">{p.model}</th>
                          <td>{p.gpu_type}</td>
                          <td className="num">{formatInteger(p.input_tokens_per_gpu_second)}</td>
                          <td className="num">{formatInteger(p.output_tokens_per_gpu_second)}</td>
                          <td className="num">{formatPercent(p.target_utilization)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableScroll>
              )}
            </details>
          </Card>
        ))
      )}
      {user?.role === 'admin' ? (
        <Card title="Import a price book" subtitle="The JSON of `breakeven prices import`: refused whole if anything is wrong, with every problem listed by its JSON path. A new book takes effect at its effective_from and ends the previous one.">
          <Form method="post" encType="multipart/form-data" className="stack">
            <input type="hidden" name="intent" value="import" />
            <label>
              Upload a file
              <input type="file" name="file" accept=".json,application/json" />
            </label>
            <label>
              …or paste the JSON
              <textarea name="json" rows={10} spellCheck={false} placeholder={EXAMPLE} className="code" />
            </label>
            <div className="form-actions">
              <button type="submit" disabled={navigation.state === 'submitting'}>Import price book</button>
            </div>
          </Form>
        </Card>
      ) : null}
    </Shell>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Prices" back={{ to: '/prices', label: 'Back to prices' }} />;
}
