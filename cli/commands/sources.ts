// `breakeven sources add|list|remove` and `breakeven ingest run`: pull sources and pulling them now.
import { findSourceByName, listSources } from '../../db/queries/sources.js';
import { parseDurationSeconds, parseMapPairs, SOURCE_KINDS, SourceInputSchema } from '../../app/domain/connectors/source-config.js';
import { pullSource, type RunResult } from '../../app/services/connectors/pull.server.js';
import { createSource, deleteSource, listSourcesForDisplay, type SourceCredentials } from '../../app/services/sources.server.js';
import { resolveSessionSecret } from '../../server/secrets.js';
import type { Config } from '../../server/config.js';
import { readStdin, UsageError, type Command, type Output } from '../framework.js';

const CLI_ACTOR = { userId: null, actor: 'cli' };

/** The secret the server uses (SESSION_SECRET, or the one generated in the data folder): credentials are encrypted under it. */
function secretFor(config: Config, out: Output): Promise<string> {
  return resolveSessionSecret(config, (line) => out.warn(line));
}

function seconds(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = parseDurationSeconds(String(value));
  if (n === undefined) throw new UsageError(`--${name} must be a duration such as 300, 90s, 5m or 1h (got "${String(value)}")`);
  return n;
}

function instant(name: string, value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) throw new UsageError(`--${name} must be an ISO date or time, e.g. 2026-11-01T00:00:00Z (got "${text}")`);
  return d;
}

export const sourcesAdd: Command = {
  path: ['sources', 'add'],
  summary: 'Add a pull source (Prometheus with dcgm-exporter or vLLM, or an OpenAI-compatible usage API), or change the one with this name.',
  args: [{ name: 'NAME', description: 'lower-case letters, digits and dashes, e.g. prod-dcgm' }],
  options: {
    kind: { type: 'string', description: SOURCE_KINDS.join(' | '), placeholder: 'K' },
    url: { type: 'string', description: 'Prometheus base URL (http://prometheus:9090) or the usage API base (https://api.openai.com)', placeholder: 'U' },
    'customer-label': { type: 'string', description: 'Prometheus label naming the customer', placeholder: 'L' },
    map: { type: 'string', description: 'label value (or OpenAI project id) → customer: VALUE=SLUG, comma-separated', placeholder: 'V=SLUG,…' },
    'default-customer': { type: 'string', description: 'customer of series without the label (or usage without a project)', placeholder: 'SLUG' },
    selector: { type: 'string', description: 'extra PromQL label matchers, e.g. cluster="prod"', placeholder: 'MATCHERS' },
    step: { type: 'string', description: 'query step (default: 30s for DCGM, 60s for vLLM)', placeholder: 'S' },
    window: { type: 'string', description: 'span of one request (default: 1h for DCGM, 6h for vLLM, 24h for the usage API)', placeholder: 'S' },
    start: { type: 'string', description: 'where the first pull starts (default: now − lookback)', placeholder: 'ISO' },
    interval: { type: 'string', description: 'how often to pull', placeholder: 'S', default: '300' },
    lookback: { type: 'string', description: 'how far before the last pull each pull reads again (late data)', placeholder: 'S', default: '3600' },
    delay: { type: 'string', description: 'how far behind now a pull stops (data still arriving)', placeholder: 'S', default: '60' },
    'token-stdin': { type: 'boolean', description: 'read the bearer token or API key (with --username: the password) from standard input' },
    username: { type: 'string', description: 'basic-auth user name (the password comes from --token-stdin)', placeholder: 'USER' },
    'clear-credentials': { type: 'boolean', description: 'remove stored credentials' },
    disabled: { type: 'boolean', description: 'keep the source but do not pull it on a schedule' },
    json: { type: 'boolean', description: 'print the source (never its credentials) as JSON and nothing else' },
  },
  details: `
Durations are seconds or take a unit: 90s, 5m, 1h, 2d. Credentials never go on the command line: pipe them in.
Adding a source with an existing name replaces its settings and keeps its watermark (and its credentials unless
new ones are given). Examples:
  breakeven sources add prod-gpus --kind prometheus-dcgm --url http://prometheus:9090 --customer-label namespace
  printf %s "$OPENAI_ADMIN_KEY" | breakeven sources add openai --kind openai-usage --url https://api.openai.com \\
      --map proj_abc=acme,proj_def=globex --token-stdin`,
  async run({ db, config, args, options, out }) {
    const map = parseMapPairs(typeof options.map === 'string' ? [options.map] : []);
    if (map.problems.length) throw new UsageError(`--map: ${map.problems.join('; ')}`);
    const sourceConfig: Record<string, unknown> = {};
    if (options['customer-label'] !== undefined) sourceConfig.customer_label = options['customer-label'];
    if (Object.keys(map.map).length) sourceConfig.customer_map = map.map;
    if (options['default-customer'] !== undefined) sourceConfig.default_customer = options['default-customer'];
    if (options.selector !== undefined) sourceConfig.selector = options.selector;
    if (options.step !== undefined) sourceConfig.step_seconds = seconds('step', options.step);
    if (options.window !== undefined) sourceConfig.window_seconds = seconds('window', options.window);
    if (options.start !== undefined) sourceConfig.start = instant('start', options.start)!.toISOString();
    if (options.kind === undefined) throw new UsageError(`--kind is required: one of ${SOURCE_KINDS.join(', ')}`);
    if (options.url === undefined) throw new UsageError('--url is required');
    const parsed = SourceInputSchema.safeParse({
      name: args[0],
      kind: options.kind,
      url: options.url,
      interval_seconds: seconds('interval', options.interval),
      lookback_seconds: seconds('lookback', options.lookback),
      delay_seconds: seconds('delay', options.delay),
      enabled: !options.disabled,
      config: sourceConfig,
    });
    if (!parsed.success) {
      const flag: Record<string, string> = { customer_label: 'customer-label', customer_map: 'map', default_customer: 'default-customer', step_seconds: 'step', window_seconds: 'window', interval_seconds: 'interval', lookback_seconds: 'lookback', delay_seconds: 'delay' };
      throw new UsageError(
        parsed.error.issues
          .map((i) => {
            const key = String(i.path[i.path.length - 1] ?? '');
            return `${i.path[0] === 'name' ? 'NAME' : `--${flag[key] ?? key}`}: ${i.message}`;
          })
          .join('; '),
      );
    }
    let credentials: SourceCredentials | null | undefined;
    if (options['clear-credentials']) credentials = null;
    if (options['token-stdin']) {
      if (options['clear-credentials']) throw new UsageError('--token-stdin and --clear-credentials contradict each other');
      const secretText = (await readStdin()).replace(/\r?\n$/, '');
      if (secretText === '') throw new UsageError('--token-stdin: standard input was empty');
      credentials = typeof options.username === 'string' ? { type: 'basic', username: options.username, password: secretText } : { type: 'bearer', token: secretText };
    } else if (options.username !== undefined) {
      throw new UsageError('--username needs --token-stdin (the password is read from standard input, never from the command line)');
    }
    const secret = credentials ? await secretFor(config, out) : '';
    const { created, source } = await createSource(db, CLI_ACTOR, parsed.data, credentials, secret);
    if (out.wantsJson) return out.json(source);
    out.say(`Source ${source.name} ${created ? 'added' : 'updated'} (${source.kind}, every ${source.intervalSeconds} s, credentials: ${source.credentials}).`);
  },
};

function ago(iso: string | null): string {
  return iso ? iso.replace('.000Z', 'Z') : '-';
}

export const sourcesList: Command = {
  path: ['sources', 'list'],
  summary: 'List pull sources with their watermark and latest run (credentials show as "set" or "none", never their value).',
  options: { json: { type: 'boolean', description: 'print the list as JSON and nothing else' } },
  async run({ db, out }) {
    const sources = await listSourcesForDisplay(db);
    if (out.wantsJson) return out.json(sources);
    if (!sources.length) return out.say('No sources yet: add one with `breakeven sources add NAME --kind K --url U`.');
    out.say(['NAME'.padEnd(20), 'KIND'.padEnd(16), 'EVERY'.padEnd(7), 'CREDENTIALS'.padEnd(12), 'WATERMARK'.padEnd(21), 'LAST RUN'].join(' '));
    for (const s of sources) {
      const last = s.lastRun
        ? `${s.lastRun.status} ${ago(s.lastRun.finishedAt ?? s.lastRun.startedAt)} (${s.lastRun.rowsStored} stored, ${s.lastRun.rowsRejected} rejected)${s.lastRun.error ? `: ${s.lastRun.error}` : ''}`
        : 'never';
      out.say(
        [s.name.padEnd(20), s.kind.padEnd(16), `${s.intervalSeconds}s`.padEnd(7), s.credentials.padEnd(12), ago(s.watermark).padEnd(21), `${s.enabled ? '' : '(disabled) '}${last}`].join(' '),
      );
      out.say(`  ${s.url}`);
    }
  },
};

export const sourcesRemove: Command = {
  path: ['sources', 'remove'],
  summary: 'Remove a pull source; what it brought and the record of its runs stay.',
  args: [{ name: 'NAME', description: 'the source' }],
  async run({ db, args, out }) {
    if (!(await deleteSource(db, CLI_ACTOR, args[0]))) throw new UsageError(`no source ${args[0]}`);
    out.say(`Source ${args[0]} removed.`);
  },
};

function runJson(r: RunResult) {
  return {
    source: r.source,
    run_id: r.runId,
    status: r.status,
    window_from: r.windowFrom?.toISOString() ?? null,
    window_to: r.windowTo?.toISOString() ?? null,
    rows_read: r.rowsRead,
    rows_stored: r.rowsStored,
    rows_rejected: r.rowsRejected,
    customers_created: r.customersCreated,
    duration_ms: r.durationMs,
    error: r.error,
  };
}

export const ingestRun: Command = {
  path: ['ingest', 'run'],
  summary: 'Pull sources now (every enabled one, or --source NAME): the scheduled window, or a backfill of --from … --to.',
  options: {
    source: { type: 'string', description: 'only this source (a disabled one too)', placeholder: 'NAME' },
    from: { type: 'string', description: 'backfill from this time (with --to)', placeholder: 'ISO' },
    to: { type: 'string', description: 'backfill up to this time, exclusive (with --from)', placeholder: 'ISO' },
    json: { type: 'boolean', description: 'print {"runs": [...]} and nothing else' },
  },
  details: `
Without --from/--to each source is pulled from its watermark minus its lookback up to now minus its delay, until
it is caught up. A backfill is cut into runs of the source's max_run_seconds; a backfill never moves the
watermark back. When the worker is pulling the same source, this waits for it. Every run is recorded (see
/ingestion). Exit status 1 when a run failed.`,
  async run({ db, config, options, out }) {
    const from = instant('from', options.from);
    const to = instant('to', options.to);
    if ((from === undefined) !== (to === undefined)) throw new UsageError('--from and --to go together');
    if (from && to && !(to > from)) throw new UsageError('--to must be after --from');
    let sources;
    if (typeof options.source === 'string') {
      const one = await findSourceByName(db, options.source);
      if (!one) throw new UsageError(`no source ${options.source}; see breakeven sources list`);
      sources = [one];
    } else {
      sources = await listSources(db, { enabledOnly: true });
    }
    if (!sources.length) {
      if (out.wantsJson) return out.json({ runs: [] });
      return out.say('No enabled sources: add one with `breakeven sources add NAME --kind K --url U`.');
    }
    const secret = await secretFor(config, out);
    const results: RunResult[] = [];
    for (const source of sources) {
      const bar = out.progress(`${source.name}`.padEnd(20), 1);
      const runs = await pullSource(db, source.id, {
        secret,
        whenBusy: 'wait',
        catchUp: true,
        range: from && to ? { from, to } : undefined,
        onProgress: (done, total) => bar.tick(total > 0 ? done / total : 0),
        log: (line) => out.warn(line),
      });
      bar.done();
      results.push(...runs);
      for (const r of runs) {
        if (r.status === 'idle') out.say(`${r.source}: nothing due yet.`);
        else if (r.status === 'skipped') out.say(`${r.source}: skipped, another pull of it is running.`);
        else {
          const window = `${ago(r.windowFrom?.toISOString() ?? null)} – ${ago(r.windowTo?.toISOString() ?? null)}`;
          const created = r.customersCreated.length ? `; customers created: ${r.customersCreated.join(', ')}` : '';
          out.say(
            r.status === 'succeeded'
              ? `${r.source}: ${window}: ${r.rowsRead} read, ${r.rowsStored} stored, ${r.rowsRejected} rejected in ${(r.durationMs / 1000).toFixed(1)} s (run ${r.runId})${created}.`
              : `${r.source}: ${window}: FAILED (run ${r.runId}): ${r.error}`,
          );
        }
      }
    }
    if (out.wantsJson) out.json({ runs: results.map(runJson) });
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length) throw new Error(`${failed.length} run(s) failed: ${failed.map((r) => r.source).join(', ')}`);
  },
};
