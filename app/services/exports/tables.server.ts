// The CSV of every table in the app, read through the very functions its page reads (no SQL of its own):
// customers, daily costs, recommendations, reservations, prices, ingestion runs and quarantined rows. Columns
// and rounding: docs/decisions/050-exports.md. Amounts are USD with 2 places, rounded so that each column adds up
// to the rounded total of its unrounded values; unit prices have 6 places, quantities 6, counts none.
import type { Db } from '../../../db/client.js';
import { listRecentRuns, streamRejectedRows } from '../../../db/queries/ingestion.js';
import type { Period } from '../../domain/period.js';
import { allocateUnits, formatDecimal, formatUnits } from '../../domain/rounding.js';
import { loadCustomersTable, type CustomersQuery } from '../dashboard/customers.server.js';
import { dailySeries, fleetOf, loadFleet, peekFleet, SCENARIOS, windowDays } from '../dashboard/fleet.server.js';
import { withEvaluationSlot } from '../dashboard/limit.server.js';
import { loadPriceRows } from '../dashboard/prices.server.js';
import { loadRecommendationsTable, type RecommendationsQuery } from '../dashboard/recommendations.server.js';
import { loadReservationRows } from '../dashboard/reservations.server.js';
import { csvLine, CsvText, text, type CsvExport, type Row } from './csv.server.js';
import { evaluateByPool } from './fleet-stream.server.js';

export type ExportPeriod = Pick<Period, 'from' | 'to' | 'fromParam' | 'toParam'>;

/** `costs-2026-10-01-to-2026-11-01.csv`: `to` is exclusive, as in the URL. */
export const periodFilename = (kind: string, period: Pick<Period, 'fromParam' | 'toParam'>): string => `${kind}-${period.fromParam}-to-${period.toParam}.csv`;

/** A column of amounts in cents (nulls stay empty), adding up to round(Σ values) exactly. */
export function moneyColumn(values: readonly (number | null)[]): (string | null)[] {
  const present = values.flatMap((v, i) => (v === null ? [] : [i]));
  const cents = allocateUnits(present.map((i) => values[i]!));
  const out: (string | null)[] = values.map(() => null);
  present.forEach((i, k) => (out[i] = formatUnits(cents[k])));
  return out;
}

const decimal = (x: number | null, places: number) => (x === null ? null : formatDecimal(x, places));
const flag = (x: boolean | null) => (x === null ? null : x ? 'true' : 'false');

export const CUSTOMERS_HEADER = [
  'customer', 'name', 'pool', 'gpu_type', 'hours', 'input_tokens', 'cached_input_tokens', 'output_tokens', 'tokens', 'requests',
  'gpu_hours', 'busy_gpu_hours', 'demand_gpu_hours', 'api_usd', 'on_demand_usd', 'current_basis', 'current_usd', 'current_gpus',
  'recommended_provider', 'recommended_term_days', 'recommended_gpus', 'recommended_usd_per_gpu_hour', 'recommended_usd', 'saving_usd',
  'fill', 'break_even_fill', 'hours_without_data', 'change', 'recent_flagged',
] as const;

/** /customers as CSV: every matching row (no paging), in the page's sort. */
export async function customersExport(db: Db, period: ExportPeriod, query: Omit<CustomersQuery, 'page' | 'pageSize'>): Promise<CsvExport> {
  const table = await loadCustomersTable(db, period, { ...query, page: null });
  const rows = table.rows;
  const money = {
    api: moneyColumn(rows.map((r) => r.api_usd)),
    onDemand: moneyColumn(rows.map((r) => r.on_demand_usd)),
    current: moneyColumn(rows.map((r) => r.current_usd)),
    recommended: moneyColumn(rows.map((r) => r.recommended_usd)),
    saving: moneyColumn(rows.map((r) => r.saving_usd)),
  };
  function* lines(): Generator<Row> {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      yield [
        r.slug, text(r.name), text(r.pool), text(r.gpu_type), r.hours, r.input_tokens, r.cached_input_tokens, r.output_tokens, r.tokens, r.requests,
        decimal(r.gpu_hours, 6), decimal(r.busy_gpu_hours, 6), decimal(r.demand_gpu_hours, 6), money.api[i], money.onDemand[i], r.current_basis,
        money.current[i], r.current_gpus, text(r.recommended_provider), r.recommended_term_days, r.recommended_gpus,
        decimal(r.recommended_usd_per_gpu_hour, 6), money.recommended[i], money.saving[i], decimal(r.fill, 6), decimal(r.break_even_fill, 6),
        r.hours_without_data, text(r.change), flag(r.recent_flagged),
      ];
    }
  }
  return { filename: periodFilename('customers', period), header: CUSTOMERS_HEADER, rows: lines() };
}

export const COSTS_HEADER = ['day', 'customer', 'gpu_type', 'scenario', 'cost_usd'] as const;

type CustomerDaily = ReturnType<typeof dailySeries>[number];

/**
 * Each priced customer's daily arrays, by slug: from the dashboard's evaluation when it holds this period (the
 * overview was just viewed), else evaluated pool by pool from one streamed read, keeping only these arrays
 * (4 × days numbers a customer) — never the fleet's hourly series.
 */
async function customerDailies(db: Db, window: { from: Date; to: Date }, filter: { customer?: string | null }): Promise<CustomerDaily[]> {
  if (peekFleet(db, window)) return dailySeries((await loadFleet(db, window)).value, filter);
  return withEvaluationSlot(async () => {
    const out: CustomerDaily[] = [];
    for await (const e of evaluateByPool(db, window, { pools: false })) out.push(...dailySeries(fleetOf(e, window, 'on_demand'), filter));
    return out.sort((a, b) => (a.customer.slug < b.customer.slug ? -1 : a.customer.slug > b.customer.slug ? 1 : 0));
  });
}

/**
 * Daily costs (the charts of the overview and the customer page): one row per customer, UTC day and scenario
 * on the customer's primary GPU type, by customer then day. Rounding is hierarchical, per scenario: the
 * export's total → each customer's total → its days, so a customer's days add up to its row of the total.
 * The period is evaluated when the first row is asked for.
 */
export async function costsExport(db: Db, period: ExportPeriod, filter: { customer?: string | null } = {}): Promise<CsvExport> {
  const window = { from: period.from, to: period.to };
  const days = windowDays(period.from, period.to);
  async function* lines(): AsyncGenerator<CsvText> {
    const series = await customerDailies(db, window, filter);
    // Per scenario, the export's total shared out to the customers that have the scenario: cents[scenario][k].
    const customerCents = SCENARIOS.map((scenario) => {
      const totals = series.map((s) => (s.daily[scenario] ? s.daily[scenario]!.reduce((a, b) => a + b, 0) : null));
      const present = totals.flatMap((t, k) => (t === null ? [] : [k]));
      const cents = allocateUnits(present.map((k) => totals[k]!));
      const out: (number | null)[] = totals.map(() => null);
      present.forEach((k, j) => (out[k] = cents[j]));
      return out;
    });
    // A million rows of five cells: written by csvLine a batch at a time, each row's customer, type and scenario
    // cells written once per customer (csv-stringify's per-record work was most of the writing time).
    let batch = '';
    let rows = 0;
    for (let k = 0; k < series.length; k++) {
      const s = series[k];
      const byDay = SCENARIOS.map((scenario, j) => (s.daily[scenario] ? allocateUnits(s.daily[scenario]!, 100, customerCents[j][k]!) : null));
      const middles = SCENARIOS.map((scenario) => csvLine([s.customer.slug, text(s.customer.primary!.gpu_type), scenario]).slice(0, -2));
      for (let i = 0; i < days.length; i++) {
        for (let j = 0; j < SCENARIOS.length; j++) {
          const cents = byDay[j];
          if (!cents) continue;
          batch += `${days[i]},${middles[j]},${formatUnits(cents[i])}\r\n`;
          if (++rows === 2_000) {
            yield new CsvText(batch, rows);
            batch = '';
            rows = 0;
          }
        }
      }
    }
    if (rows) yield new CsvText(batch, rows);
  }
  return { filename: periodFilename(filter.customer ? `costs-${filter.customer}` : 'costs', period), header: COSTS_HEADER, rows: lines() };
}

export const RECOMMENDATIONS_HEADER = [
  'scope', 'name', 'pool', 'gpu_type', 'hours', 'current_gpus', 'current_usd', 'baseline', 'baseline_usd', 'provider', 'term_days', 'block_size',
  'usd_per_gpu_hour', 'recommended_gpus', 'recommended_usd', 'saving_usd', 'fill', 'change', 'delta_gpus', 'stability_min_gpus', 'stability_max_gpus',
  'floor_gpus', 'floor_usd', 'balanced_gpus', 'balanced_usd', 'optimal_gpus', 'optimal_usd', 'recent_hours', 'recent_gpus', 'recent_flagged',
  'aggregation_saving_usd',
] as const;

/** /recommendations as CSV (pools first, then customers), with the page's GPU type, pool and customer filters. */
export async function recommendationsExport(db: Db, period: ExportPeriod, query: RecommendationsQuery = {}): Promise<CsvExport> {
  const { rows } = await loadRecommendationsTable(db, period, query);
  const col = (f: (r: (typeof rows)[number]) => number | null) => moneyColumn(rows.map(f));
  const m = {
    current: col((r) => r.current_usd),
    baseline: col((r) => r.baseline_usd),
    recommended: col((r) => r.recommended_usd),
    saving: col((r) => r.saving_usd),
    floor: col((r) => r.floor_usd),
    balanced: col((r) => r.balanced_usd),
    optimal: col((r) => r.optimal_usd),
    aggregation: col((r) => r.aggregation_saving_usd),
  };
  function* lines(): Generator<Row> {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      yield [
        r.scope, text(r.name), text(r.pool), text(r.gpu_type), r.hours, r.current_gpus, m.current[i], r.baseline, m.baseline[i], text(r.provider),
        r.term_days, r.block_size, decimal(r.usd_per_gpu_hour, 6), r.recommended_gpus, m.recommended[i], m.saving[i], decimal(r.fill, 6),
        text(r.change), r.delta_gpus, r.stability_min_gpus, r.stability_max_gpus, r.floor_gpus, m.floor[i], r.balanced_gpus, m.balanced[i],
        r.optimal_gpus, m.optimal[i], r.recent_hours, decimal(r.recent_gpus, 6), flag(r.recent_flagged), m.aggregation[i],
      ];
    }
  }
  return { filename: periodFilename('recommendations', period), header: RECOMMENDATIONS_HEADER, rows: lines() };
}

export const RESERVATIONS_HEADER = [
  'id', 'customer', 'pool', 'gpu_type', 'provider', 'gpus', 'usd_per_gpu_hour', 'starts_at', 'ends_at', 'status', 'hours_in_period',
  'committed_usd_in_period', 'term_usd', 'note',
] as const;

/** /reservations as CSV: every reservation, ending latest first, with what it commits in the period. */
export async function reservationsExport(db: Db, period: ExportPeriod, now: Date): Promise<CsvExport> {
  const rows = await loadReservationRows(db, { now, period });
  const committed = moneyColumn(rows.map((r) => r.committed_usd_in_period));
  const term = moneyColumn(rows.map((r) => r.term_usd));
  function* lines(): Generator<Row> {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      yield [
        r.id, r.customer, text(r.pool), text(r.gpu_type), text(r.provider), r.gpus, formatDecimal(r.usd_per_gpu_hour, 6), isoSeconds(r.starts_at),
        isoSeconds(r.ends_at), r.status, r.hours_in_period, committed[i], term[i], text(r.note),
      ];
    }
  }
  return { filename: periodFilename('reservations', period), header: RESERVATIONS_HEADER, rows: lines() };
}

export const PRICES_HEADER = [
  'price_book', 'effective_from', 'effective_to', 'kind', 'provider', 'gpu_type', 'model', 'term_days', 'block_size', 'usd_per_gpu_hour',
  'usd_per_mtok_input', 'usd_per_mtok_cached_input', 'usd_per_mtok_cache_write', 'usd_per_mtok_output', 'source', 'source_date',
] as const;

/** /prices as CSV: every offer of every book (or of one book), oldest book first. Prices are not periodised. */
export async function pricesExport(db: Db, filter: { book?: string | null } = {}): Promise<CsvExport> {
  const rows = (await loadPriceRows(db)).filter((r) => !filter.book || r.price_book === filter.book);
  function* lines(): Generator<Row> {
    for (const r of rows) {
      yield [
        text(r.price_book), isoSeconds(r.effective_from), r.effective_to === null ? null : isoSeconds(r.effective_to), r.kind, text(r.provider),
        text(r.gpu_type), text(r.model), r.term_days, r.block_size, decimal(r.usd_per_gpu_hour, 6), decimal(r.usd_per_mtok_input, 6),
        decimal(r.usd_per_mtok_cached_input, 6), decimal(r.usd_per_mtok_cache_write, 6), decimal(r.usd_per_mtok_output, 6), text(r.source),
        text(r.source_date),
      ];
    }
  }
  const name = filter.book ? `prices-${filter.book.replace(/[^A-Za-z0-9._-]/g, '_')}.csv` : 'prices.csv';
  return { filename: name, header: PRICES_HEADER, rows: lines() };
}

export const RUNS_HEADER = [
  'id', 'kind', 'file_or_source', 'status', 'rows_read', 'rows_stored', 'rows_rejected', 'customers_created', 'error', 'started_at', 'finished_at',
] as const;

/** The most runs an export lists: /ingestion shows the latest 50. */
export const RUNS_LIMIT = 100_000;

/** /ingestion's runs as CSV, newest first. */
export async function runsExport(db: Db): Promise<CsvExport> {
  const runs = await listRecentRuns(db, RUNS_LIMIT);
  function* lines(): Generator<Row> {
    for (const r of runs) {
      yield [
        r.id, r.kind, text(r.fileName ?? r.sourceName), r.status, r.rowsRead, r.rowsStored, r.rowsRejected, text(r.customersCreated.join(' ')),
        text(r.error), isoSeconds(r.startedAt), r.finishedAt ? isoSeconds(r.finishedAt) : null,
      ];
    }
  }
  return { filename: 'ingestion-runs.csv', header: RUNS_HEADER, rows: lines() };
}

export const QUARANTINE_HEADER = ['run', 'line', 'field', 'reason', 'raw'] as const;

/** The rows an ingestion run rejected, in line order, read page by page from the database as the file is written. */
export function quarantineExport(db: Db, runId: number): CsvExport {
  async function* lines(): AsyncGenerator<Row> {
    for await (const page of streamRejectedRows(db, runId)) {
      for (const r of page) yield [r.runId, r.line, text(r.field), text(r.reason), text(r.raw)];
    }
  }
  return { filename: `quarantine-run-${runId}.csv`, header: QUARANTINE_HEADER, rows: lines() };
}

/** ISO 8601 in UTC to the second: 2026-10-01T00:00:00Z. */
export function isoSeconds(t: Date | string | number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
