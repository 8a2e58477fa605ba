// /customers and customers.csv: one row per customer on the GPU type it runs on, sorted, searched and paged.
// Rows are plain values (unrounded USD), the same for the page and the export.
import { z } from 'zod';
import type { Db } from '../../../db/client.js';
import type { Period } from '../../domain/period.js';
import type { CostSummaryRow } from '../costing/summary.js';
import { loadFleet, type FleetCustomer, type FleetEvaluation } from './fleet.server.js';

import { CUSTOMER_SORT_KEYS, type CustomerSortKey } from '../../lib/customers-sort.js';

export { CUSTOMER_SORT_KEYS, type CustomerSortKey };

export const CUSTOMERS_PAGE_SIZE = 25;

export interface CustomersQuery {
  sort: CustomerSortKey;
  dir: 'asc' | 'desc';
  /** Case-insensitive substring of the slug, name or pool. */
  q: string;
  /** 1-based; null: every row (exports). */
  page: number | null;
  pageSize?: number;
}

const SortParam = z.string().regex(/^-?[a-z_]+$/).transform((s) => ({ key: s.replace(/^-/, ''), dir: s.startsWith('-') ? ('desc' as const) : ('asc' as const) }));

/** `?sort=-saving&q=acme&page=2` (a leading "-" sorts descending); anything malformed falls back to the default. */
export function parseCustomersQuery(params: URLSearchParams): Omit<CustomersQuery, 'page'> & { page: number } {
  const parsed = SortParam.safeParse(params.get('sort') ?? '');
  const sort = parsed.success && (CUSTOMER_SORT_KEYS as readonly string[]).includes(parsed.data.key)
    ? { sort: parsed.data.key as CustomerSortKey, dir: parsed.data.dir }
    : { sort: 'saving' as const, dir: 'desc' as const };
  const q = (params.get('q') ?? '').trim().slice(0, 100);
  const page = Number(params.get('page'));
  return { ...sort, q, page: Number.isSafeInteger(page) && page >= 1 && page <= 100_000 ? page : 1 };
}

export { sortParam } from '../../lib/customers-sort.js';

export interface CustomerTableRow {
  slug: string;
  name: string;
  pool: string | null;
  /** null: no data in the period (or it could not be priced). */
  gpu_type: string | null;
  hours: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  tokens: number;
  requests: number;
  gpu_hours: number;
  busy_gpu_hours: number;
  demand_gpu_hours: number;
  api_usd: number | null;
  on_demand_usd: number | null;
  /** What it pays today: its reservations, else the API (no telemetry) or on-demand GPUs. */
  current_basis: 'current' | 'api' | 'on_demand' | null;
  current_usd: number | null;
  current_gpus: number | null;
  recommended_provider: string | null;
  recommended_term_days: number | null;
  recommended_gpus: number | null;
  recommended_usd_per_gpu_hour: number | null;
  recommended_usd: number | null;
  saving_usd: number | null;
  fill: number | null;
  break_even_fill: number | null;
  hours_without_data: number;
  change: string | null;
  recent_flagged: boolean | null;
}

function tableRow(c: FleetCustomer, hours: number): CustomerTableRow {
  const r: CostSummaryRow | null = c.primary;
  return {
    slug: c.slug,
    name: c.name,
    pool: c.pool,
    gpu_type: r?.gpu_type ?? null,
    hours,
    input_tokens: r?.input_tokens ?? 0,
    cached_input_tokens: r?.cached_input_tokens ?? 0,
    output_tokens: r?.output_tokens ?? 0,
    tokens: r ? r.input_tokens + r.output_tokens : 0,
    requests: r?.requests ?? 0,
    gpu_hours: r?.gpu_hours ?? 0,
    busy_gpu_hours: r?.busy_gpu_hours ?? 0,
    demand_gpu_hours: r?.demand_gpu_hours ?? 0,
    api_usd: r?.api_usd ?? null,
    on_demand_usd: r?.on_demand_usd ?? null,
    current_basis: r?.baseline ?? null,
    current_usd: r?.baseline_usd ?? null,
    current_gpus: r?.current_gpus ?? null,
    recommended_provider: r?.recommended_provider ?? null,
    recommended_term_days: r?.recommended_term_days ?? null,
    recommended_gpus: r?.recommended_gpus ?? null,
    recommended_usd_per_gpu_hour: r?.recommended_usd_per_gpu_hour ?? null,
    recommended_usd: r?.recommended_usd ?? null,
    saving_usd: r?.saving_usd ?? null,
    fill: r?.fill ?? null,
    break_even_fill: r?.break_even_fill ?? null,
    hours_without_data: r?.hours_without_data ?? hours,
    change: r?.change ?? null,
    recent_flagged: r?.recent_flagged ?? null,
  };
}

const SORT_VALUE: Record<CustomerSortKey, (r: CustomerTableRow) => number | string | null> = {
  customer: (r) => r.slug,
  pool: (r) => r.pool,
  gpu_type: (r) => r.gpu_type,
  tokens: (r) => r.tokens,
  gpu_hours: (r) => r.gpu_hours,
  api: (r) => r.api_usd,
  on_demand: (r) => r.on_demand_usd,
  current: (r) => r.current_usd,
  recommended_gpus: (r) => r.recommended_gpus,
  recommended: (r) => r.recommended_usd,
  saving: (r) => r.saving_usd,
  fill: (r) => r.fill,
  break_even_fill: (r) => r.break_even_fill,
  hours_without_data: (r) => r.hours_without_data,
};

/** Sorts in place: nulls last whatever the direction, then by slug. */
export function sortCustomerRows(rows: CustomerTableRow[], sort: CustomerSortKey, dir: 'asc' | 'desc'): CustomerTableRow[] {
  const value = SORT_VALUE[sort];
  const sign = dir === 'asc' ? 1 : -1;
  return rows.sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    }
    return a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0;
  });
}

export interface CustomersTotals {
  customers: number;
  tokens: number;
  gpu_hours: number;
  api_usd: number;
  on_demand_usd: number;
  current_usd: number;
  recommended_usd: number;
  saving_usd: number;
  hours_without_data: number;
}

function totalsOf(rows: readonly CustomerTableRow[]): CustomersTotals {
  const t: CustomersTotals = { customers: rows.length, tokens: 0, gpu_hours: 0, api_usd: 0, on_demand_usd: 0, current_usd: 0, recommended_usd: 0, saving_usd: 0, hours_without_data: 0 };
  for (const r of rows) {
    t.tokens += r.tokens;
    t.gpu_hours += r.gpu_hours;
    t.api_usd += r.api_usd ?? 0;
    t.on_demand_usd += r.on_demand_usd ?? 0;
    t.current_usd += r.current_usd ?? 0;
    t.recommended_usd += r.recommended_usd ?? 0;
    t.saving_usd += r.saving_usd ?? 0;
    t.hours_without_data += r.gpu_type ? r.hours_without_data : 0;
  }
  return t;
}

export interface CustomersTable {
  rows: CustomerTableRow[];
  /** Rows matching the search, over every page. */
  matching: number;
  page: number;
  pages: number;
  pageSize: number;
  totals: CustomersTotals;
  computedAt: Date;
  fresh: boolean;
}

/**
 * The customers table of a period: every customer (with or without data), searched by `q`, sorted, and the
 * requested page (every row when page is null). Totals cover every matching row, not only the page.
 */
export async function loadCustomersTable(db: Db, period: Pick<Period, 'from' | 'to'>, query: CustomersQuery): Promise<CustomersTable> {
  const fleet = await loadFleet(db, { from: period.from, to: period.to });
  const { rows: matching, totals } = sortedRows(fleet.value, query);
  const pageSize = query.pageSize ?? CUSTOMERS_PAGE_SIZE;
  const pages = Math.max(1, Math.ceil(matching.length / pageSize));
  const page = query.page === null ? 1 : Math.min(query.page, pages);
  const rows = query.page === null ? matching : matching.slice((page - 1) * pageSize, page * pageSize);
  return {
    rows,
    matching: matching.length,
    page,
    pages: query.page === null ? 1 : pages,
    pageSize,
    totals,
    computedAt: fleet.computedAt,
    fresh: fleet.fresh,
  };
}

// Sorted, searched rows per evaluation: paging through a table re-uses them. Dropped with the evaluation.
const sortedCache = new WeakMap<FleetEvaluation, Map<string, { rows: CustomerTableRow[]; totals: CustomersTotals }>>();

function sortedRows(fleet: FleetEvaluation, query: CustomersQuery): { rows: CustomerTableRow[]; totals: CustomersTotals } {
  let byQuery = sortedCache.get(fleet);
  if (!byQuery) sortedCache.set(fleet, (byQuery = new Map()));
  const key = `${query.sort}|${query.dir}|${query.q}`;
  let hit = byQuery.get(key);
  if (!hit) {
    const needle = query.q.toLowerCase();
    const rows = fleet.customers
      .filter((c) => !needle || c.slug.includes(needle) || c.name.toLowerCase().includes(needle) || (c.pool ?? '').toLowerCase().includes(needle))
      .map((c) => tableRow(c, fleet.hours));
    sortCustomerRows(rows, query.sort, query.dir);
    hit = { rows, totals: totalsOf(rows) };
    // Searches are free text: keep a bounded number of them.
    if (byQuery.size >= 64) byQuery.delete(byQuery.keys().next().value!);
    byQuery.set(key, hit);
  }
  return hit;
}
