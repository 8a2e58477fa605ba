import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { z } from 'zod';
import { Card, TableScroll } from '~/components/Card';
import { CsvLink } from '~/components/CsvLink';
import { EmptyState } from '~/components/EmptyState';
import { Money } from '~/components/Money';
import { PeriodPicker } from '~/components/PeriodPicker';
import { RouteError } from '~/components/RouteError';
import { Shell, useCurrentUser } from '~/components/Shell';
import { formatInteger, formatPeriod, formatRate } from '~/lib/format';
import { db } from '~/lib/db.server';
import { requireAdmin, requireUser } from '~/services/auth.server';
import { createReservation, editReservation, endReservation, loadReservationsPage, ReservationFields } from '~/services/dashboard/reservations.server';
import { periodView, viewerContext } from '~/services/dashboard/viewer.server';

export const meta: MetaFunction = () => [{ title: 'Reservations · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const now = new Date();
  const ctx = viewerContext(request, now);
  const page = await loadReservationsPage(db(), { now, period: ctx.period, timeZone: ctx.timeZone, admin: user.role === 'admin' });
  const edit = Number(ctx.url.searchParams.get('edit'));
  return {
    ...page,
    editing: user.role === 'admin' && Number.isSafeInteger(edit) ? (page.rows.find((r) => r.id === edit) ?? null) : null,
    period: periodView(ctx.period),
    periodQuery: ctx.periodQuery,
    timeZone: ctx.timeZone,
  };
}

const Id = z.coerce.number().int().positive();
const Intent = z.enum(['create', 'update', 'end']);

export async function action({ request }: ActionFunctionArgs) {
  // Before reading the form: a viewer is refused and nothing changes.
  const admin = await requireAdmin(request);
  const form = Object.fromEntries(await request.formData());
  const intent = Intent.safeParse(form.intent);
  if (!intent.success) return json({ ok: false as const, message: 'Unknown action.', fieldErrors: {} as Record<string, string> }, { status: 400 });
  const back = new URL(request.url);
  back.searchParams.delete('edit');
  if (intent.data === 'end') {
    const id = Id.safeParse(form.id);
    if (!id.success) return json({ ok: false as const, message: 'Which reservation?', fieldErrors: {} }, { status: 400 });
    const outcome = await endReservation(db(), admin, id.data, new Date());
    if (!outcome.ok) return json({ ok: false as const, message: outcome.message, fieldErrors: {} }, { status: outcome.status });
    back.searchParams.set('done', `ended-${outcome.id}`);
    return redirect(`${back.pathname}${back.search}`);
  }
  const parsed = ReservationFields.safeParse(form);
  if (!parsed.success) {
    const fieldErrors: Record<string, string> = {};
    for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0] ?? 'form')] ??= issue.message;
    return json({ ok: false as const, message: 'Check the highlighted fields.', fieldErrors }, { status: 400 });
  }
  let outcome;
  if (intent.data === 'create') {
    outcome = await createReservation(db(), admin, parsed.data);
  } else {
    const id = Id.safeParse(form.id);
    if (!id.success) return json({ ok: false as const, message: 'Which reservation?', fieldErrors: {} }, { status: 400 });
    outcome = await editReservation(db(), admin, id.data, parsed.data);
  }
  if (!outcome.ok) return json({ ok: false as const, message: outcome.message, fieldErrors: {} }, { status: outcome.status });
  back.searchParams.set('done', `${intent.data === 'create' ? 'created' : 'saved'}-${outcome.id}`);
  return redirect(`${back.pathname}${back.search}`);
}

const DONE: Record<string, string> = { created: 'created', saved: 'saved', ended: 'ended as of this hour' };

export default function Reservations() {
  const v = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const q = v.periodQuery;
  const done = /^(created|saved|ended)-(\d+)$/.exec(params.get('done') ?? '');
  const current = v.rows.filter((r) => r.status !== 'ended');
  const ended = v.rows.filter((r) => r.status === 'ended' && r.hours_in_period > 0);
  return (
    <Shell
      title="Reservations"
      subtitle={`GPUs committed today, and what they cost in ${formatPeriod(v.period.fromParam, v.period.toParam)}`}
      toolbar={<PeriodPicker period={v.period} />}
      actions={admin ? <a className="button" href="#new-reservation">New reservation</a> : null}
    >
      {done ? <p className="alert ok" role="status">Reservation {done[2]} {DONE[done[1]]}.</p> : null}
      {result && !result.ok ? <p className="alert error" role="alert">{result.message}</p> : null}
      <section className="tiles" aria-label="Reservations">
        <div className="tile"><div className="tile-label">Active now</div><div className="tile-value">{formatInteger(v.active)}</div></div>
        <div className="tile scenario sc-current">
          <div className="tile-label">Committed in the period</div>
          <div className="tile-value"><Money usd={v.committedInPeriodUsd} formula="Σ reservations N × r × hours active in the period" /></div>
        </div>
      </section>

      {v.editing ? (
        <Card title={`Edit reservation ${v.editing.id}`} actions={<Link to={`?${q}`}>Cancel</Link>}>
          <ReservationForm key={v.editing.id} intent="update" row={v.editing} choices={v.choices} errors={result && !result.ok ? result.fieldErrors : {}} />
        </Card>
      ) : null}

      <Card title="Current and upcoming" actions={<CsvLink href={`/exports/reservations.csv?${q}`} />}>
        {current.length === 0 ? (
          <EmptyState title="No reservation in force">
            <p>{admin ? 'Record one with the form below' : 'An admin records reservations here'} so that current costs include them.</p>
          </EmptyState>
        ) : (
          <ReservationTable rows={current} admin={admin} periodQuery={q} />
        )}
      </Card>

      {ended.length > 0 ? (
        <Card title="Ended during the period" actions={<CsvLink href={`/exports/reservations.csv?${q}`} />}>
          <ReservationTable rows={ended} admin={false} periodQuery={q} />
        </Card>
      ) : null}

      {admin && v.choices ? (
        <Card title="New reservation" id="new-reservation" subtitle="A commitment that exists: GPUs of a type at a rate, for a customer or a pool. Dates are UTC days; the end is exclusive.">
          {/* A new key after each success: the form comes back empty. */}
          <ReservationForm key={params.get('done') ?? 'new'} intent="create" row={null} choices={v.choices} errors={result && !result.ok ? result.fieldErrors : {}} />
        </Card>
      ) : null}
    </Shell>
  );
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];
type Choices = NonNullable<ReturnType<typeof useLoaderData<typeof loader>>['choices']>;

function ReservationTable({ rows, admin, periodQuery }: { rows: Row[]; admin: boolean; periodQuery: string }) {
  return (
    <TableScroll label="Reservations">
      <table>
        <thead>
          <tr>
            <th scope="col">For</th>
            <th scope="col" className="num">GPUs</th>
            <th scope="col">Provider</th>
            <th scope="col" className="num">Rate</th>
            <th scope="col">Term</th>
            <th scope="col" className="num">In the period</th>
            <th scope="col">Note</th>
            {admin ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                {r.customer ? <Link to={`/customers/${r.customer}?${periodQuery}`}>{r.customer}</Link> : <Link to={`/pools/${r.pool}?${periodQuery}`}>pool {r.pool}</Link>}
                <div className="sub">#{r.id}</div>
              </th>
              <td className="num">{r.gpus} × {r.gpu_type}</td>
              <td>{r.provider}</td>
              <td className="num">{formatRate(r.usd_per_gpu_hour)}</td>
              <td>
                {r.startsLabel} → {r.endsLabel}
                <div className="sub">
                  {r.status === 'upcoming' ? <span className="badge">upcoming</span> : r.status === 'active' ? <span className={`badge ${r.daysLeft <= 30 ? 'badge-warn' : 'badge-good'}`}>{r.daysLeft} d left</span> : <span className="badge">ended</span>}
                </div>
              </td>
              <td className="num">
                <Money usd={r.committed_usd_in_period} formula={`${r.gpus} × ${formatRate(r.usd_per_gpu_hour)} × ${r.hours_in_period} h`} />
                <div className="sub">{formatInteger(r.hours_in_period)} h</div>
              </td>
              <td className="wrap sub">{r.note ?? ''}</td>
              {admin ? (
                <td>
                  <div className="row-actions">
                    <Link to={`?${periodQuery}&edit=${r.id}`} className="button secondary small" aria-label={`Edit reservation ${r.id}`}>Edit</Link>
                    {r.status === 'active' ? (
                      <Form method="post" className="inline-form">
                        <input type="hidden" name="intent" value="end" />
                        <input type="hidden" name="id" value={r.id} />
                        <button type="submit" className="danger small" title="End it at the start of the current hour" aria-label={`End reservation ${r.id} now`}>End now</button>
                      </Form>
                    ) : null}
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

function ReservationForm({ intent, row, choices, errors }: { intent: 'create' | 'update'; row: Row | null; choices: Choices | null; errors: Record<string, string> }) {
  const navigation = useNavigation();
  if (!choices) return null;
  const scope = row ? (row.customer ? `customer:${row.customer}` : `pool:${row.pool}`) : '';
  const err = (name: string) => (errors[name] ? <span className="field-error" id={`${intent}-${name}-error`}>{errors[name]}</span> : null);
  const described = (name: string) => (errors[name] ? { 'aria-invalid': true, 'aria-describedby': `${intent}-${name}-error` } : {});
  return (
    <Form method="post" className="form-grid">
      <input type="hidden" name="intent" value={intent} />
      {row ? <input type="hidden" name="id" value={row.id} /> : null}
      <label>
        For
        <select name="scope" defaultValue={scope} required {...described('scope')}>
          <option value="" disabled>Choose a customer or pool</option>
          <optgroup label="Pools">{choices.pools.map((p) => <option key={p.id} value={`pool:${p.name}`}>{p.name}</option>)}</optgroup>
          <optgroup label="Customers">{choices.customers.map((c) => <option key={c.id} value={`customer:${c.slug}`}>{c.slug}</option>)}</optgroup>
        </select>
        {err('scope')}
      </label>
      <label>
        GPU type
        <select name="gpuType" defaultValue={row?.gpu_type ?? ''} required {...described('gpuType')}>
          <option value="" disabled>Choose</option>
          {choices.gpuTypes.map((g) => <option key={g.id} value={g.name}>{g.name}</option>)}
        </select>
        {err('gpuType')}
      </label>
      <label>GPUs<input name="gpus" type="number" min={1} step={1} defaultValue={row?.gpus ?? ''} required {...described('gpus')} />{err('gpus')}</label>
      <label>USD per GPU-hour<input name="usdPerGpuHour" type="number" min={0} step="0.0001" defaultValue={row?.usd_per_gpu_hour ?? ''} required {...described('usdPerGpuHour')} />{err('usdPerGpuHour')}</label>
      <label>Provider<input name="provider" defaultValue={row?.provider ?? ''} required maxLength={200} {...described('provider')} />{err('provider')}</label>
      <label>Starts (UTC)<input name="startsAt" type="date" defaultValue={row?.startsDate ?? ''} required {...described('startsAt')} />{err('startsAt')}</label>
      <label>Ends (UTC, exclusive)<input name="endsAt" type="date" defaultValue={row?.endsDate ?? ''} required {...described('endsAt')} />{err('endsAt')}</label>
      <label className="span-2">Note<input name="note" defaultValue={row?.note ?? ''} maxLength={500} {...described('note')} />{err('note')}</label>
      <div className="form-actions">
        <button type="submit" disabled={navigation.state === 'submitting'}>{intent === 'create' ? 'Create reservation' : 'Save changes'}</button>
      </div>
    </Form>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Reservations" back={{ to: '/reservations', label: 'Back to reservations' }} />;
}
