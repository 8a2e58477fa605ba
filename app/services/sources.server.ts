// Pull sources: add, change, remove and list them, from the command line and the admin form. Credentials are
// encrypted before they reach the database and never leave the server: what is shown is "set" or "none".
// Every change is audit-logged in its transaction, without the credentials.
import { z } from 'zod';
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../db/queries/audit.js';
import { deleteSourceByName, findSourceByName, latestRunsBySource, listSources, upsertSource, type LatestRun, type SourceRow } from '../../db/queries/sources.js';
import {
  parseDurationSeconds,
  parseMapPairs,
  SOURCE_KINDS,
  SourceInputSchema,
  type SourceInput,
  type SourceKind,
} from '../domain/connectors/source-config.js';
import { encryptCredentials } from './connectors/credentials.server.js';
import type { SourceCredentials } from './connectors/http.server.js';
import { dequeueSourcePull, enqueueSourcePull } from './connectors/schedule.server.js';

export { SOURCE_KINDS, SourceInputSchema, type SourceCredentials, type SourceInput, type SourceKind };

/** Who makes a change: a signed-in user, or the command line (userId null). */
export interface Actor {
  userId: number | null;
  actor: string;
}

export interface SourceView {
  name: string;
  kind: SourceKind;
  url: string;
  intervalSeconds: number;
  lookbackSeconds: number;
  delaySeconds: number;
  enabled: boolean;
  config: Record<string, unknown>;
  /** Never the credentials themselves. */
  credentials: 'set' | 'none';
  watermark: string | null;
  lastRun: {
    id: number;
    status: 'running' | 'succeeded' | 'failed';
    startedAt: string;
    finishedAt: string | null;
    windowFrom: string | null;
    windowTo: string | null;
    rowsRead: number;
    rowsStored: number;
    rowsRejected: number;
    error: string | null;
  } | null;
}

/** What the audit log keeps of a source: everything but the credentials, of which only whether they are set. */
function auditView(row: SourceRow, credentialsChanged = false) {
  return {
    name: row.name,
    kind: row.kind,
    url: row.url,
    config: row.config,
    interval_seconds: row.interval_seconds,
    lookback_seconds: row.lookback_seconds,
    delay_seconds: row.delay_seconds,
    enabled: row.enabled,
    credentials: row.credentials_encrypted ? (credentialsChanged ? 'changed' : 'set') : 'none',
  };
}

/**
 * Adds a source, or changes the one with this name (its watermark is kept). `credentials`: new ones
 * replace the stored ones, null removes them, undefined keeps them. Queues a first pull when a worker has
 * ever run against this database.
 */
export async function createSource(
  db: Db,
  actor: Actor,
  input: SourceInput,
  credentials: SourceCredentials | null | undefined,
  secret: string,
): Promise<{ created: boolean; source: SourceView }> {
  const valid = SourceInputSchema.parse(input);
  const blob = credentials === undefined ? undefined : credentials === null ? null : encryptCredentials(credentials, secret, valid.name);
  const { row, created } = await db.transaction().execute(async (trx) => {
    const before = await findSourceByName(trx, valid.name);
    const result = await upsertSource(
      trx,
      {
        name: valid.name,
        kind: valid.kind,
        url: valid.url,
        config: valid.config,
        interval_seconds: valid.interval_seconds,
        lookback_seconds: valid.lookback_seconds,
        delay_seconds: valid.delay_seconds,
        enabled: valid.enabled,
      },
      blob,
    );
    await recordAudit(trx, {
      userId: actor.userId,
      actor: actor.actor,
      action: result.created ? 'create' : 'update',
      entity: 'ingestion_source',
      entityId: valid.name,
      before: before ? auditView(before) : null,
      after: auditView(result.row, Boolean(blob)),
    });
    return result;
  });
  if (row.enabled) await enqueueSourcePull(db, row.id);
  else await dequeueSourcePull(db, row.id);
  return { created, source: toView(row, undefined) };
}

/** Removes a source; its runs stay (without the source), its rows stay. False when there is none. */
export async function deleteSource(db: Db, actor: Actor, name: string): Promise<boolean> {
  const removed = await db.transaction().execute(async (trx) => {
    const row = await deleteSourceByName(trx, name);
    if (!row) return undefined;
    await recordAudit(trx, { userId: actor.userId, actor: actor.actor, action: 'delete', entity: 'ingestion_source', entityId: name, before: auditView(row), after: null });
    return row;
  });
  if (removed) await dequeueSourcePull(db, removed.id);
  return Boolean(removed);
}

function toView(row: SourceRow, last: LatestRun | undefined): SourceView {
  return {
    name: row.name,
    kind: row.kind,
    url: row.url,
    intervalSeconds: row.interval_seconds,
    lookbackSeconds: row.lookback_seconds,
    delaySeconds: row.delay_seconds,
    enabled: row.enabled,
    config: row.config,
    credentials: row.credentials_encrypted ? 'set' : 'none',
    watermark: row.watermark ? row.watermark.toISOString() : null,
    lastRun: last
      ? {
          id: last.id,
          status: last.status,
          startedAt: new Date(last.started_at).toISOString(),
          finishedAt: last.finished_at ? new Date(last.finished_at).toISOString() : null,
          windowFrom: last.window_from ? new Date(last.window_from).toISOString() : null,
          windowTo: last.window_to ? new Date(last.window_to).toISOString() : null,
          rowsRead: last.rows_read,
          rowsStored: last.rows_stored,
          rowsRejected: last.rows_rejected,
          error: last.error,
        }
      : null,
  };
}

/** Every source with its watermark and latest run; safe to send to a browser (no credentials). */
export async function listSourcesForDisplay(db: Db): Promise<SourceView[]> {
  const [rows, runs] = await Promise.all([listSources(db), latestRunsBySource(db)]);
  return rows.map((row) => toView(row, runs.get(row.id)));
}

/** Queues a pull of the source now (the worker runs it). False: no such source, or no worker has run yet. */
export async function requestSourcePull(db: Db, name: string): Promise<{ found: boolean; queued: boolean }> {
  const row = await findSourceByName(db, name);
  if (!row) return { found: false, queued: false };
  return { found: true, queued: await enqueueSourcePull(db, row.id) };
}

const duration = (label: string, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((text, ctx) => {
      if (!text) return fallback;
      const seconds = parseDurationSeconds(text);
      if (seconds === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${label} must be a duration such as 300, 90s, 5m or 1h` });
        return z.NEVER;
      }
      return seconds;
    });

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

/** The admin form's fields (all text, as a form posts them). */
export const SourceFormSchema = z.object({
  name: z.string().trim(),
  kind: z.string().trim(),
  url: z.string().trim(),
  customer_label: optionalText,
  /** One VALUE=SLUG per line or comma. */
  customer_map: optionalText,
  default_customer: optionalText,
  selector: optionalText,
  interval: duration('Interval', 300),
  lookback: duration('Lookback', 3_600),
  delay: duration('Delay', 60),
  auth: z.enum(['none', 'bearer', 'basic', 'keep']).default('keep'),
  token: optionalText,
  username: optionalText,
  password: z.string().optional(),
});

export type SourceFormResult =
  | { ok: true; input: SourceInput; credentials: SourceCredentials | null | undefined }
  | { ok: false; message: string };

/** The admin form → a source and its credentials, or the first problem in words a person can act on. */
export function parseSourceForm(fields: Record<string, unknown>): SourceFormResult {
  const form = SourceFormSchema.safeParse(fields);
  if (!form.success) return { ok: false, message: form.error.issues[0].message };
  const f = form.data;
  const map = parseMapPairs(f.customer_map ? f.customer_map.split(/\r?\n/) : []);
  if (map.problems.length) return { ok: false, message: `Customer mapping: ${map.problems[0]}` };
  const config: Record<string, unknown> = {};
  if (f.customer_label) config.customer_label = f.customer_label;
  if (Object.keys(map.map).length) config.customer_map = map.map;
  if (f.default_customer) config.default_customer = f.default_customer;
  if (f.selector) config.selector = f.selector;
  const input = SourceInputSchema.safeParse({
    name: f.name,
    kind: f.kind,
    url: f.url,
    interval_seconds: f.interval,
    lookback_seconds: f.lookback,
    delay_seconds: f.delay,
    config,
  });
  if (!input.success) {
    const issue = input.error.issues[0];
    return { ok: false, message: `${issue.path.join('.') || 'source'}: ${issue.message}` };
  }
  let credentials: SourceCredentials | null | undefined;
  if (f.auth === 'none') credentials = null;
  else if (f.auth === 'bearer') {
    if (!f.token) return { ok: false, message: 'Enter the token (or API key).' };
    credentials = { type: 'bearer', token: f.token };
  } else if (f.auth === 'basic') {
    if (!f.username || !f.password) return { ok: false, message: 'Enter the user name and the password.' };
    credentials = { type: 'basic', username: f.username, password: f.password };
  }
  return { ok: true, input: input.data, credentials };
}
