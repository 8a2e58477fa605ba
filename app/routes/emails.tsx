import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { Shell, useCurrentUser } from '~/components/Shell';
import { formatInteger } from '~/lib/format';
import { db } from '~/lib/db.server';
import { requireAdmin, requireUser } from '~/services/auth.server';
import { handleEmailsAction, loadEmailsPage } from '~/services/email/emails-page.server';

export const meta: MetaFunction = () => [{ title: 'Emails · Breakeven' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  return loadEmailsPage(db(), new URL(request.url).searchParams);
}

export async function action({ request }: ActionFunctionArgs) {
  const admin = await requireAdmin(request);
  const result = await handleEmailsAction(db(), { userId: admin.id, actor: admin.email }, Object.fromEntries(await request.formData()));
  return json({ ok: result.ok, message: result.message }, { status: result.status });
}

const STATUS_BADGE: Record<string, string> = {
  sent: 'badge badge-good',
  pending: 'badge',
  sending: 'badge badge-up',
  failed: 'badge badge-bad',
  uncertain: 'badge badge-warn',
};

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') + ' UTC' : '—');

export default function Emails() {
  const { recipients, log, customers, outbox, preview } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const open = log.filter((l) => l.status === 'uncertain' || l.status === 'failed');
  const previewKey = preview?.key ?? recipients.find((r) => r.active)?.key ?? '';
  return (
    <Shell title="Emails">
      {result ? <p className={`alert ${result.ok ? 'ok' : 'error'}`} role="status">{result.message}</p> : null}

      {open.length ? (
        <p className="alert error" role="alert">
          {formatInteger(open.length)} email(s) need a decision: an <strong>uncertain</strong> one may or may not have been delivered (the sending
          process stopped or the connection broke after the message was handed over), so it is never resent by itself; a <strong>failed</strong> one
          was refused every time. {admin ? 'Mark it sent, or allow a resend, below.' : 'An admin can resolve them.'}
        </p>
      ) : null}

      <section className="card">
        <div className="card-head">
          <div>
            <h2>Email log</h2>
            <p className="card-sub">
              One row per recipient and ISO week, written before sending: a week is sent at most once. The worker sends each recipient&apos;s last week
              on Monday at 08:00 in their time zone; <code>breakeven email weekly</code> sends now.
            </p>
          </div>
        </div>
        {log.length ? (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Week</th>
                  <th scope="col">Recipient</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">Attempts</th>
                  <th scope="col">Sent / last error</th>
                  <th scope="col">Subject</th>
                  {admin ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
                </tr>
              </thead>
              <tbody>
                {log.map((l) => (
                  <tr key={l.id} id={`log-${l.id}`}>
                    <td>{l.week}</td>
                    <td>
                      {l.email}
                      <div className="muted">{l.kind === 'digest' ? 'digest' : `customer ${l.customer ?? ''}`}</div>
                    </td>
                    <td><span className={STATUS_BADGE[l.status] ?? 'badge'}>{l.status}</span>{l.resolvedBy ? <div className="muted">resolved by {l.resolvedBy}</div> : null}</td>
                    <td className="num">{formatInteger(l.attempts)}</td>
                    <td style={{ whiteSpace: 'normal', maxWidth: '28rem' }}>
                      {l.status === 'sent' ? (
                        <>
                          {when(l.sentAt)}
                          {l.delivery ? (
                            <div className="muted">
                              {l.delivery.startsWith('outbox/') ? <a href={`/emails/outbox/${encodeURIComponent(l.delivery.slice('outbox/'.length))}`}>{l.delivery}</a> : l.delivery}
                            </div>
                          ) : null}
                        </>
                      ) : (
                        <>
                          {l.lastError ? <span className={l.status === 'uncertain' ? 'warn' : 'bad'}>{l.lastError}</span> : <span className="muted">—</span>}
                          {l.status === 'failed' && l.nextAttemptAt ? <div className="muted">next attempt after {when(l.nextAttemptAt)}</div> : null}
                          {l.claimedAt ? <div className="muted">last attempt started {when(l.claimedAt)}</div> : null}
                        </>
                      )}
                      {l.messageId ? <div className="muted"><code>{l.messageId}</code></div> : null}
                    </td>
                    <td style={{ whiteSpace: 'normal', maxWidth: '24rem' }}>{l.subject ?? '—'}</td>
                    {admin ? (
                      <td>
                        {l.status === 'uncertain' || l.status === 'failed' ? (
                          <div className="card-actions">
                            <Form method="post">
                              <input type="hidden" name="intent" value="resolve" />
                              <input type="hidden" name="id" value={l.id} />
                              <input type="hidden" name="resolution" value="mark-sent" />
                              <button type="submit" className="secondary">Mark sent</button>
                            </Form>
                            <Form method="post">
                              <input type="hidden" name="intent" value="resolve" />
                              <input type="hidden" name="id" value={l.id} />
                              <input type="hidden" name="resolution" value="allow-resend" />
                              <button type="submit" className="secondary">Allow a resend</button>
                            </Form>
                          </div>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <div className="empty">No email has been sent yet.</div>
        )}
        {outbox.length ? (
          <>
            <h3 className="subhead">Outbox</h3>
            <p className="card-sub">SMTP_URL is not set, so messages are written here as .eml files (open them with any mail program).</p>
            <ul>
              {outbox.slice(0, 20).map((f) => (
                <li key={f.file}>
                  <a href={`/emails/outbox/${encodeURIComponent(f.file)}`}>{f.file}</a> <span className="muted">{formatInteger(Math.ceil(f.bytes / 1024))} kB · {when(f.at)}</span>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </section>

      <section className="card">
        <div className="card-head">
          <div>
            <h2>Recipients</h2>
            <p className="card-sub">
              The finance digest covers the whole fleet; a customer email covers one customer. A customer&apos;s owner gets its email by default.
              Weeks run Monday to Sunday in the recipient&apos;s time zone.
            </p>
          </div>
        </div>
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Kind</th>
                <th scope="col">Customer</th>
                <th scope="col">Time zone</th>
                <th scope="col">State</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {recipients.map((r) => (
                <tr key={r.key}>
                  <td>{r.email}</td>
                  <td>{r.kind}</td>
                  <td>{r.customer ?? '—'}</td>
                  <td>{r.timeZone}</td>
                  <td>
                    <span className={r.active ? 'badge badge-good' : 'badge'}>{r.state === 'owner' ? 'subscribed (owner)' : r.state}</span>
                  </td>
                  <td>
                    <div className="card-actions">
                      <a href={`/emails?preview=${r.key}&week=${r.lastWeek}#preview`}>Preview {r.lastWeek}</a>
                      {admin ? (
                        <Form method="post">
                          <input type="hidden" name="email" value={r.email} />
                          <input type="hidden" name="kind" value={r.kind} />
                          <input type="hidden" name="customer" value={r.customer ?? ''} />
                          <input type="hidden" name="tz" value={r.timeZone} />
                          <input type="hidden" name="intent" value={r.active ? 'unsubscribe' : 'subscribe'} />
                          <button type="submit" className="secondary">{r.active ? 'Unsubscribe' : 'Subscribe again'}</button>
                        </Form>
                      ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {admin ? (
          <Form method="post" className="form-grid" style={{ marginTop: '1rem' }}>
            <input type="hidden" name="intent" value="subscribe" />
            <label>Email<input name="email" type="email" required /></label>
            <label>
              Kind
              <select name="kind" defaultValue="digest">
                <option value="digest">digest (whole fleet)</option>
                <option value="customer">customer</option>
              </select>
            </label>
            <label>
              Customer (for a customer email)
              <select name="customer" defaultValue="">
                <option value="">—</option>
                {customers.map((c) => <option key={c} value={c}>{c}</option>)}
              </select>
            </label>
            <label>Time zone (IANA)<input name="tz" defaultValue="UTC" placeholder="Europe/Berlin" /></label>
            <div className="form-actions"><button type="submit">Subscribe</button></div>
          </Form>
        ) : null}
      </section>

      <section className="card" id="preview">
        <div className="card-head">
          <div>
            <h2>Preview</h2>
            <p className="card-sub">Any recipient&apos;s email for any week, rendered by the code that sends it. Nothing is sent.</p>
          </div>
          <Form method="get" className="inline-form" action="/emails#preview">
            <select name="preview" defaultValue={previewKey} aria-label="Recipient">
              {recipients.map((r) => <option key={r.key} value={r.key}>{r.email} · {r.kind}{r.customer ? ` ${r.customer}` : ''}</option>)}
            </select>
            <input name="week" defaultValue={preview?.week ?? recipients.find((r) => r.key === previewKey)?.lastWeek ?? ''} placeholder="2026-W47" aria-label="ISO week" size={9} />
            <button type="submit" className="secondary">Preview</button>
          </Form>
        </div>
        {preview && 'error' in preview ? <p className="alert error">{preview.error}</p> : null}
        {preview && 'html' in preview ? (
          <>
            <p><strong>Subject:</strong> {preview.subject} · <a href={`/emails/preview?recipient=${preview.key}&week=${preview.week}`} target="_blank" rel="noreferrer">open alone</a></p>
            {/* sandbox without allow-scripts: the email runs nothing; links open in a new tab. */}
            <iframe title="Email preview" sandbox="allow-popups allow-popups-to-escape-sandbox" srcDoc={preview.html} style={{ width: '100%', height: '1400px', border: '1px solid #d8dee4', borderRadius: '8px', background: '#f3f4f6' }} />
            <details>
              <summary>Plain-text part</summary>
              <pre style={{ whiteSpace: 'pre-wrap' }}>{preview.text}</pre>
            </details>
          </>
        ) : null}
        {!preview ? <p className="muted">Choose a recipient and a week.</p> : null}
      </section>
    </Shell>
  );
}
