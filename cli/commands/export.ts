// `breakeven export costs|recommendations|focus|customers|reservations|prices|runs|quarantine`: the same CSV
// files as the /exports/*.csv downloads, to a file (written whole or not at all) or to stdout.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MAX_PERIOD_DAYS } from '../../app/domain/period.js';
import { sortParam } from '../../app/lib/customers-sort.js';
import { parseCustomersQuery } from '../../app/services/dashboard/customers.server.js';
import { csvReadable, CsvText, type CsvExport, type Row } from '../../app/services/exports/csv.server.js';
import { focusExport } from '../../app/services/exports/focus.server.js';
import {
  costsExport,
  customersExport,
  pricesExport,
  quarantineExport,
  recommendationsExport,
  reservationsExport,
  runsExport,
  type ExportPeriod,
} from '../../app/services/exports/tables.server.js';
import { findRun } from '../../db/queries/ingestion.js';
import { positiveInteger, UsageError, type Command, type Context, type OptionSpec } from '../framework.js';

const DAY_MS = 86_400_000;

/** A day boundary: `2026-10-01` or an ISO instant at 00:00 UTC (`2026-10-01T00:00:00Z`). */
function parseDay(name: string, value: unknown): Date {
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required: a UTC day such as 2026-10-01`);
  const isDate = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const isInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const ms = isDate ? Date.parse(`${value}T00:00:00Z`) : isInstant ? Date.parse(value) : NaN;
  if (Number.isNaN(ms) || (isDate && new Date(ms).toISOString().slice(0, 10) !== value)) {
    throw new UsageError(`--${name} "${value}" is not an ISO 8601 date or time (e.g. 2026-10-01 or 2026-10-01T00:00:00Z)`);
  }
  if (ms % DAY_MS !== 0) throw new UsageError(`--${name} ${value} is not at the start of a UTC day: exports cover whole UTC days`);
  return new Date(ms);
}

/** The period of --from and --to ([from, to), whole UTC days, at most MAX_PERIOD_DAYS). */
export function exportPeriod(options: Context['options']): ExportPeriod {
  const from = parseDay('from', options.from);
  const to = parseDay('to', options.to);
  if (to <= from) throw new UsageError(`--to must be after --from (got ${options.from} to ${options.to})`);
  if (to.getTime() - from.getTime() > MAX_PERIOD_DAYS * DAY_MS) throw new UsageError(`the period is longer than ${MAX_PERIOD_DAYS} days`);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return { from, to, fromParam: day(from), toParam: day(to) };
}

/**
 * How far the export may run ahead of the disk: with the stream's default (16 kB, less than one chunk of rows) it
 * waited for each write to finish before handing over the next.
 */
const WRITE_AHEAD_BYTES = 1024 * 1024;

/** Counts rows as they pass. */
function counted(file: CsvExport): { file: CsvExport; rows: () => number } {
  let n = 0;
  async function* rows(): AsyncGenerator<Row | CsvText> {
    for await (const row of file.rows as AsyncIterable<Row | CsvText>) {
      n += row instanceof CsvText ? row.rows : 1;
      yield row;
    }
  }
  return { file: { ...file, rows: rows() }, rows: () => n };
}

/**
 * Writes the CSV to --out through a temporary file in the same folder, renamed into place when complete: a
 * reader never sees half a file, and a failed export leaves any earlier file as it was. Without --out, to stdout;
 * a reader that stops early (`| head`) ends the export quietly.
 */
export async function writeExport(file: CsvExport, out: string | undefined, say: (line: string) => void): Promise<void> {
  const { file: source, rows } = counted(file);
  if (!out) {
    // A closed pipe may also be reported after the pipeline has given up: nothing more is written then anyway.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
    try {
      await pipeline(csvReadable(source), process.stdout, { end: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    }
    return;
  }
  const target = path.resolve(out);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await pipeline(csvReadable(source), createWriteStream(temp, { flags: 'wx', highWaterMark: WRITE_AHEAD_BYTES }));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new UsageError(`cannot write ${out}: ${(error as Error).message}`);
    throw error;
  }
  say(`Wrote ${rows().toLocaleString('en-US')} rows to ${out}.`);
}

const PERIOD_OPTIONS: Record<string, OptionSpec> = {
  from: { type: 'string', description: 'first UTC day of the period (ISO 8601: 2026-10-01)', placeholder: 'ISO' },
  to: { type: 'string', description: 'the UTC day after the last one (exclusive, as in the URLs)', placeholder: 'ISO' },
};
const OUT_OPTION: Record<string, OptionSpec> = {
  out: { type: 'string', description: 'write to this file (atomically) instead of stdout', placeholder: 'FILE' },
};

const DETAILS = `
The same file as the download on the pages (/exports/*.csv): RFC 4180, UTF-8, a fixed header, ISO 8601 UTC
timestamps, USD amounts with 2 places that add up to the totals the pages show. Columns and rounding:
docs/decisions/050-exports.md.`;

function exportCommand(
  kind: string,
  summary: string,
  options: Record<string, OptionSpec>,
  build: (context: Context) => Promise<CsvExport>,
): Command {
  return {
    path: ['export', kind],
    summary,
    options: { ...options, ...OUT_OPTION },
    details: DETAILS,
    async run(context) {
      const file = await build(context);
      await writeExport(file, context.options.out as string | undefined, (line) => process.stderr.write(`${line}\n`));
    },
  };
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

export const exportCosts = exportCommand(
  'costs',
  'Export the cost per customer, UTC day and scenario (api, on_demand, reserved, current) as CSV.',
  { ...PERIOD_OPTIONS, customer: { type: 'string', description: 'only this customer (slug)', placeholder: 'SLUG' } },
  async ({ db, options }) => costsExport(db, exportPeriod(options), { customer: str(options.customer) }),
);

export const exportRecommendations = exportCommand(
  'recommendations',
  'Export every customer\'s and pool\'s recommendation for the period as CSV.',
  {
    ...PERIOD_OPTIONS,
    'gpu-type': { type: 'string', description: 'only this GPU type', placeholder: 'T' },
    pool: { type: 'string', description: 'only this pool and its members', placeholder: 'NAME' },
    customer: { type: 'string', description: 'only this customer (slug)', placeholder: 'SLUG' },
  },
  async ({ db, options }) =>
    recommendationsExport(db, exportPeriod(options), { gpuType: str(options['gpu-type']), pool: str(options.pool), customer: str(options.customer) }),
);

export const exportFocus = exportCommand(
  'focus',
  'Export today\'s costs as FOCUS 1.2 cost-and-usage rows (one per customer, UTC day and charge).',
  PERIOD_OPTIONS,
  async ({ db, options }) => focusExport(db, exportPeriod(options)),
);

export const exportCustomers = exportCommand(
  'customers',
  'Export the customers table for the period as CSV.',
  {
    ...PERIOD_OPTIONS,
    sort: { type: 'string', description: 'sort key as in the URL, "-" first for descending (e.g. -saving)', placeholder: 'KEY', default: '-saving' },
    q: { type: 'string', description: 'only customers whose slug, name or pool contains this', placeholder: 'TEXT' },
  },
  async ({ db, options }) => {
    const sort = String(options.sort);
    const parsed = parseCustomersQuery(new URLSearchParams({ sort, q: str(options.q) ?? '' }));
    if (sortParam(parsed.sort, parsed.dir) !== sort) throw new UsageError(`--sort "${sort}" is not a column of the customers table`);
    return customersExport(db, exportPeriod(options), parsed);
  },
);

export const exportReservations = exportCommand(
  'reservations',
  'Export every reservation with what it commits in the period as CSV.',
  PERIOD_OPTIONS,
  async ({ db, options }) => reservationsExport(db, exportPeriod(options), new Date()),
);

export const exportPrices = exportCommand(
  'prices',
  'Export every offer of every price book as CSV.',
  { book: { type: 'string', description: 'only this price book', placeholder: 'NAME' } },
  async ({ db, options }) => pricesExport(db, { book: str(options.book) }),
);

export const exportRuns = exportCommand('runs', 'Export the ingestion runs as CSV, newest first.', {}, async ({ db }) => runsExport(db));

export const exportQuarantine = exportCommand(
  'quarantine',
  'Export the rows an ingestion run rejected as CSV.',
  { run: { type: 'string', description: 'the run\'s id (see /ingestion or `export runs`)', placeholder: 'ID' } },
  async ({ db, options }) => {
    const run = positiveInteger('run', options.run);
    if (!(await findRun(db, run))) throw new UsageError(`no ingestion run ${run}`);
    return quarantineExport(db, run);
  },
);

export const exportCommands = [exportCosts, exportRecommendations, exportFocus, exportCustomers, exportReservations, exportPrices, exportRuns, exportQuarantine];
