// The pull sources on /ingestion: what each one is, when it last ran and how; for admins a form to add or
// change one (credentials go in, never come back out), "Run now" and "Remove". The forms post to
// /ingestion/sources, which answers with a redirect back here carrying its message.
import { Form, useSearchParams } from '@remix-run/react';
import { useCurrentUser } from '~/components/Shell';
import { formatInteger } from '~/lib/format';

export interface SourceRow {
  name: string;
  kind: string;
  url: string;
  intervalSeconds: number;
  credentials: 'set' | 'none';
  enabled: boolean;
  watermark: string | null;
  lastRun: { id: number; status: string; startedAt: string; rowsStored: number; rowsRejected: number; error: string | null } | null;
}

const KINDS = ['prometheus-dcgm', 'prometheus-vllm', 'openai-usage'] as const;
const utc = (iso: string | null) => (iso ? `${iso.replace('T', ' ').slice(0, 19)}` : '—');

export function SourcesSection({ sources }: { sources: SourceRow[] }) {
  const user = useCurrentUser();
  const [params] = useSearchParams();
  const message = params.get('sources');
  const admin = user?.role === 'admin';
  return (
    <section className="card" id="sources">
      <h2>Sources</h2>
      {message ? (
        <p className={`alert ${params.get('sources_ok') === '1' ? 'ok' : 'error'}`} role="status">
          {message}
        </p>
      ) : null}
      {sources.length === 0 ? (
        <p>No pull sources yet. A source is a Prometheus with dcgm-exporter or vLLM metrics, or an OpenAI-compatible usage API; the worker pulls each on its interval.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Source</th><th scope="col">Kind</th><th scope="col">URL</th><th scope="col">Every</th><th scope="col">Credentials</th>
              <th scope="col">Pulled up to (UTC)</th><th scope="col">Last run</th>
              {admin ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {sources.map((s) => (
              <tr key={s.name}>
                <td>{s.name}{s.enabled ? '' : ' (disabled)'}</td>
                <td>{s.kind}</td>
                <td><code>{s.url}</code></td>
                <td>{s.intervalSeconds} s</td>
                <td>{s.credentials}</td>
                <td>{utc(s.watermark)}</td>
                <td>
                  {s.lastRun
                    ? `${s.lastRun.status} ${utc(s.lastRun.startedAt)} · ${formatInteger(s.lastRun.rowsStored)} stored, ${formatInteger(s.lastRun.rowsRejected)} rejected${s.lastRun.error ? ` · ${s.lastRun.error}` : ''}`
                    : 'never'}
                </td>
                {admin ? (
                  <td>
                    <div className="inline-form">
                      <Form method="post" action="/ingestion/sources">
                        <input type="hidden" name="intent" value="source-run" />
                        <input type="hidden" name="name" value={s.name} />
                        <button type="submit" className="secondary">Run now</button>
                      </Form>
                      <Form method="post" action="/ingestion/sources">
                        <input type="hidden" name="intent" value="source-remove" />
                        <input type="hidden" name="name" value={s.name} />
                        <button type="submit" className="secondary">Remove</button>
                      </Form>
                    </div>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin ? (
        <details>
          <summary>Add a source, or change one (same name)</summary>
          <Form method="post" action="/ingestion/sources" className="stack narrow">
            <input type="hidden" name="intent" value="source-save" />
            <label>Name<input name="name" required pattern="[a-z0-9][a-z0-9\-]*" placeholder="prod-gpus" /></label>
            <label>
              Kind
              <select name="kind" defaultValue="prometheus-dcgm">
                {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
              </select>
            </label>
            <label>URL<input name="url" type="url" required placeholder="http://prometheus:9090" /></label>
            <label>Customer label (Prometheus)<input name="customer_label" placeholder="namespace" /></label>
            <label>
              Customer mapping: one VALUE=SLUG per line (label values, or OpenAI project ids); others are used as slugs
              <textarea name="customer_map" rows={3} placeholder={'Team_B=beta\nproj_abc=acme'} />
            </label>
            <label>Default customer (series without the label)<input name="default_customer" placeholder="shared" /></label>
            <label>Extra PromQL matchers<input name="selector" placeholder='cluster="prod"' /></label>
            <label>Interval<input name="interval" defaultValue="5m" /></label>
            <label>Lookback (read again for late data)<input name="lookback" defaultValue="1h" /></label>
            <label>Delay (stay behind now)<input name="delay" defaultValue="1m" /></label>
            <label>
              Credentials
              <select name="auth" defaultValue="keep">
                <option value="keep">keep what is stored</option>
                <option value="none">none</option>
                <option value="bearer">bearer token / API key</option>
                <option value="basic">user name and password</option>
              </select>
            </label>
            <label>Token or API key<input name="token" type="password" autoComplete="off" /></label>
            <label>User name<input name="username" autoComplete="off" /></label>
            <label>Password<input name="password" type="password" autoComplete="off" /></label>
            <button type="submit">Save source</button>
          </Form>
        </details>
      ) : null}
    </section>
  );
}
