// From loaded rollups, prices and reservations to recommend documents: one customer or pool on one GPU type
// (the CLI), or every customer and pool on every GPU type they use (views, emails, exports, the benchmark).
// Pure and in memory: the same functions give the CLI's and the dashboard's numbers.
import { buildRecommendDocument, formatInstant, type Recommendation, type RecommendDocument } from '../../domain/document.js';
import type { ObservedThroughput } from '../../domain/demand.js';
import { aggregationSaving, poolSeries, type Aggregation, type MemberOptimum as MemberOptimumRow } from '../../domain/pooling.js';
import { noReservationCost } from '../../domain/recommend.js';
import { constantSchedule, reservationSchedule } from '../../domain/scenarios.js';
import { showback, type Showback } from '../../domain/showback.js';
import { HOUR_MS, type Overflow, type Rate, type Reservation } from '../../domain/types.js';
import { hourIso, onDemandRate, type GpuTypePrices, type PriceContext } from './prices.js';
import { emptyTelemetry, modelsOf, type TelemetryColumns, type TokenColumns } from './columns.js';
import { customerSeries, type ScopeSeries, type SeriesArrays } from './series.js';

/** A window cannot be priced: no book, or no rate the scenario needs, is in force at some hour. */
export class PricingError extends Error {
  override name = 'PricingError';
}

export interface CustomerInput {
  id: number;
  slug: string;
  pool_id: number | null;
  pool: string | null;
  /** GPU type id → hourly telemetry of that type. */
  telemetry: ReadonlyMap<number, TelemetryColumns>;
  tokens: TokenColumns;
}

export interface PoolInput {
  id: number;
  name: string;
}

export interface ReservationInput extends Reservation {
  customer_id: number | null;
  pool_id: number | null;
  gpu_type_id: number;
}

export interface TokenTotals {
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

/** What a document was computed from; stored with it so a view can say why a figure is what it is. */
export interface InputsSummary {
  price_books: { id: number; name: string; effective_from: string; hours: number }[];
  /** null when the GPU type has no on-demand rate in some hour. */
  on_demand: { rule: string; providers: string[]; min_usd_per_gpu_hour: number; max_usd_per_gpu_hour: number } | null;
  api_rule: string;
  gpu_target_utilization: number;
  hours: { telemetry: number; tokens: number; without_data: number };
  tokens: TokenTotals;
  telemetry: { gpu_hours: number; busy_gpu_hours: number };
  observed_throughput: ObservedThroughput | null;
  unprofiled_models: string[];
  unpriced_models: string[];
  /** A pool's members. */
  members?: string[];
}

export interface PoolShowback extends Showback {
  /** The reservation split: the pool's current one, or the recommended one when it has none. */
  basis: 'current' | 'recommended';
  gpus: number;
}

export interface CostingDocument extends RecommendDocument {
  inputs: InputsSummary;
  /** Pools only: the reserved cost split to the members, to the cent. */
  showback?: PoolShowback | null;
}

export const ON_DEMAND_RULE = 'the lowest on-demand rate in force at each hour';
export const API_RULE = 'for each model and hour, the API offer in force that prices that hour’s tokens lowest';

/** Throws PricingError unless the window can be costed on this GPU type with this overflow. */
export function checkPrices(ctx: PriceContext, type: GpuTypePrices, overflow: Overflow): void {
  if (ctx.first_uncovered >= 0) {
    throw new PricingError(`no price book is in force at ${hourIso(ctx, ctx.first_uncovered)}; import one that takes effect earlier`);
  }
  if (overflow === 'on_demand' && type.first_on_demand_missing >= 0) {
    throw new PricingError(
      `no on-demand ${type.name} offer is in force at ${hourIso(ctx, type.first_on_demand_missing)}; use --overflow api or import prices for it`,
    );
  }
}

const tokenTotalsCache = new WeakMap<TokenColumns, TokenTotals>();

/** Σ of a customer's token counts (kept per columns object: a customer is summed once however often it is costed). */
export function tokenTotals(c: TokenColumns | null): TokenTotals {
  const t: TokenTotals = { input_tokens: 0, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 0, requests: 0 };
  if (!c) return t;
  const known = tokenTotalsCache.get(c);
  if (known) return { ...known };
  tokenTotalsCache.set(c, t);
  for (let k = 0; k < c.length; k++) {
    const i = c.rows[k];
    t.input_tokens += c.input_tokens[i];
    t.cached_input_tokens += c.cached_input_tokens[i];
    t.cache_write_input_tokens += c.cache_write_input_tokens[i];
    t.output_tokens += c.output_tokens[i];
  }
  t.requests = c.requests;
  return { ...t };
}

function addTotals(a: TokenTotals, b: TokenTotals): TokenTotals {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
    cache_write_input_tokens: a.cache_write_input_tokens + b.cache_write_input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    requests: a.requests + b.requests,
  };
}

const telemetryTotalsCache = new WeakMap<TelemetryColumns, { gpu_hours: number; busy_gpu_hours: number }>();

/** Σ held and busy GPU-hours of a customer's telemetry of one type (kept per columns object). */
function telemetryTotals(c: TelemetryColumns | undefined): { gpu_hours: number; busy_gpu_hours: number } {
  if (!c) return { gpu_hours: 0, busy_gpu_hours: 0 };
  const known = telemetryTotalsCache.get(c);
  if (known) return { ...known };
  let allocated = 0;
  let busy = 0;
  for (let k = 0; k < c.length; k++) {
    const i = c.rows[k];
    allocated += c.allocated_gpu_seconds[i];
    busy += c.busy_gpu_seconds[i];
  }
  const totals = { gpu_hours: allocated / 3600, busy_gpu_hours: busy / 3600 };
  telemetryTotalsCache.set(c, totals);
  return { ...totals };
}

const onDemandRanges = new WeakMap<GpuTypePrices, { min: number; max: number }>();

function onDemandRange(type: GpuTypePrices): { min: number; max: number } {
  let range = onDemandRanges.get(type);
  if (!range) {
    range = { min: Infinity, max: -Infinity };
    for (const o of type.on_demand) {
      if (o < range.min) range.min = o;
      if (o > range.max) range.max = o;
    }
    onDemandRanges.set(type, range);
  }
  return range;
}

function inputsSummary(
  ctx: PriceContext,
  type: GpuTypePrices,
  series: ScopeSeries,
  tokens: TokenTotals,
  telemetry: { gpu_hours: number; busy_gpu_hours: number },
): InputsSummary {
  const { min, max } = onDemandRange(type);
  const books = new Map<number, { id: number; name: string; effective_from: string; hours: number }>();
  for (const s of ctx.segments) {
    const entry = books.get(s.book.id) ?? { id: s.book.id, name: s.book.name, effective_from: formatInstant(s.book.effective_from.getTime()), hours: 0 };
    entry.hours += s.end - s.start;
    books.set(s.book.id, entry);
  }
  return {
    price_books: [...books.values()],
    on_demand:
      type.on_demand_missing > 0
        ? null
        : { rule: ON_DEMAND_RULE, providers: type.on_demand_providers, min_usd_per_gpu_hour: min, max_usd_per_gpu_hour: max },
    api_rule: API_RULE,
    gpu_target_utilization: type.target_utilization,
    hours: { telemetry: series.telemetry_hours, tokens: series.token_hours, without_data: series.hours_without_data },
    tokens,
    telemetry,
    observed_throughput: series.observed,
    unprofiled_models: series.unprofiled_models,
    unpriced_models: series.unpriced_models,
  };
}

/** Rows as the domain's Reservation (the table's rows carry more). */
function asReservations(rows: readonly ReservationInput[]): Reservation[] {
  return rows.map((r) => ({ gpus: r.gpus, usd_per_gpu_hour: r.usd_per_gpu_hour, starts_at: r.starts_at, ends_at: r.ends_at }));
}

function window(ctx: PriceContext): { from: string; to: string } {
  return { from: formatInstant(ctx.from_ms), to: formatInstant(ctx.from_ms + ctx.hours * HOUR_MS) };
}

/**
 * One customer's series on a type, computed at most once per evaluation; its API costs once per customer.
 * `arrays`: where series' arrays come from (default new ones; see SeriesArrays).
 */
export class SeriesCache {
  private readonly cache = new Map<string, ScopeSeries>();
  /** Customer id → its first series: api(h) is the same on every type. */
  private readonly first = new Map<number, ScopeSeries>();
  constructor(
    private readonly ctx: PriceContext,
    private readonly arrays?: SeriesArrays,
  ) {}

  get(customer: CustomerInput, type: GpuTypePrices): ScopeSeries {
    const key = `${customer.id}|${type.id}`;
    let s = this.cache.get(key);
    if (!s) {
      const known = this.first.get(customer.id);
      s = customerSeries(this.ctx, type, customer.telemetry.get(type.id) ?? emptyTelemetry(), customer.tokens, { api: known, arrays: this.arrays });
      this.cache.set(key, s);
      if (!known) this.first.set(customer.id, s);
    }
    return s;
  }
}

/** The recommend document of one customer on one GPU type. Throws PricingError when the window cannot be priced. */
export function customerDocument(
  ctx: PriceContext,
  overflow: Overflow,
  type: GpuTypePrices,
  customer: CustomerInput,
  reservations: readonly ReservationInput[],
  cache = new SeriesCache(ctx),
  recommendation: Recommendation = 'full',
): { document: CostingDocument; series: ScopeSeries } {
  checkPrices(ctx, type, overflow);
  const series = cache.get(customer, type);
  const document = buildRecommendDocument({
    scope: { customer: customer.slug, pool: null },
    gpu_type: type.name,
    ...window(ctx),
    overflow,
    series,
    on_demand_usd_per_gpu_hour: onDemandRate(type),
    offers: type.reserved,
    reservations: asReservations(reservations),
    recommendation,
  });
  const inputs = inputsSummary(ctx, type, series, tokenTotals(customer.tokens), telemetryTotals(customer.telemetry.get(type.id)));
  return { document: { ...document, inputs }, series };
}

/**
 * The recommend document of a pool on one GPU type: D(h) = Σ members' d(h) (each member's demand on that
 * type, by the same rule as a customer's), its current cost from the pool's own reservations, the aggregation
 * saving against the members' separate optima, and the showback split of the pool's reserved cost — the
 * current reservation's, or the recommended one's when the pool holds none. Below a `full` recommendation there is
 * neither aggregation nor showback: both are about the recommendation.
 */
export function poolDocument(
  ctx: PriceContext,
  overflow: Overflow,
  type: GpuTypePrices,
  pool: PoolInput,
  members: readonly CustomerInput[],
  reservations: readonly ReservationInput[],
  cache = new SeriesCache(ctx),
  memberOptima?: ReadonlyMap<number, MemberOptimum>,
  recommendation: Recommendation = 'full',
): { document: CostingDocument; series: ScopeSeries } {
  checkPrices(ctx, type, overflow);
  const memberSeries = members.map((m) => ({ customer: m, series: cache.get(m, type) }));
  const pooled = poolSeries(ctx, memberSeries.map((m) => m.series));
  let telemetryHours = 0;
  let tokenHours = 0;
  for (let h = 0; h < ctx.hours; h++) {
    if (pooled.source[h] & 1) telemetryHours++;
    if (pooled.source[h] & 2) tokenHours++;
  }
  const series: ScopeSeries = {
    ...pooled,
    observed: null,
    unprofiled_models: [...new Set(memberSeries.flatMap((m) => m.series.unprofiled_models))].sort(),
    unpriced_models: [...new Set(memberSeries.flatMap((m) => m.series.unpriced_models))].sort(),
    telemetry_hours: telemetryHours,
    token_hours: tokenHours,
  };
  const own = asReservations(reservations);
  const o = onDemandRate(type);
  // The members' separate optima are what their own documents recommend: reused when the caller has them.
  const full = recommendation === 'full';
  const known = full && memberOptima && members.every((m) => memberOptima.has(m.id)) ? memberOptima : undefined;
  const built = buildRecommendDocument({
    scope: { customer: null, pool: pool.name },
    gpu_type: type.name,
    ...window(ctx),
    overflow,
    series,
    on_demand_usd_per_gpu_hour: o,
    offers: type.reserved,
    reservations: own,
    members: known || !full ? undefined : memberSeries.map((m) => ({ customer: m.customer.slug, demand: m.series.demand, api_usd: m.series.api_usd })),
    recommendation,
  });
  const document = known ? { ...built, aggregation: aggregationFrom(members, known, built, series, o) } : built;

  let split: PoolShowback | null = null;
  const showbackMembers = memberSeries.map((m) => ({ customer: m.customer.slug, demand: m.series.demand }));
  if (!full) {
    // No showback without a recommendation.
  } else if (document.current) {
    split = { basis: 'current', gpus: document.current.gpus, ...showback(showbackMembers, reservationSchedule(own, ctx.from_ms, ctx.hours)) };
  } else if (document.best && document.best.gpus > 0) {
    const offer = type.reserved.find(
      (r) => r.provider === document.best!.provider && r.term_days === document.best!.term_days && r.block_size === document.best!.block_size,
    )!;
    split = { basis: 'recommended', gpus: document.best.gpus, ...showback(showbackMembers, constantSchedule(document.best.gpus, offer.usd_per_gpu_hour, ctx.hours)) };
  }

  let tokens = tokenTotals(null);
  let gpuHours = 0;
  let busyHours = 0;
  for (const m of members) {
    tokens = addTotals(tokens, tokenTotals(m.tokens));
    const t = telemetryTotals(m.telemetry.get(type.id));
    gpuHours += t.gpu_hours;
    busyHours += t.busy_gpu_hours;
  }
  const inputs = inputsSummary(ctx, type, series, tokens, { gpu_hours: gpuHours, busy_gpu_hours: busyHours });
  inputs.members = members.map((m) => m.slug);
  return { document: { ...document, inputs, showback: split }, series };
}

/** A member's own optimum on a type: its document's best (or, without reserved offers, reserving nothing). */
export type MemberOptimum = Omit<MemberOptimumRow, 'customer'>;

/** An optimum as pooling.ts's aggregation() reports it: its best offer, or RESERVED(0) without offers. */
export function optimumOf(document: CostingDocument, series: ScopeSeries, o: Rate | null): MemberOptimum {
  return document.best
    ? { provider: document.best.provider, gpus: document.best.gpus, cost_usd: document.best.cost_usd }
    : {
        provider: null,
        gpus: 0,
        cost_usd: noReservationCost({ demand: series.demand, overflow: document.overflow, on_demand_usd_per_gpu_hour: o, api_usd: series.api_usd }),
      };
}

/** pooling.ts's aggregation(), from optima already computed (identical numbers: the same recommend on the same inputs). */
function aggregationFrom(
  members: readonly CustomerInput[],
  optima: ReadonlyMap<number, MemberOptimum>,
  pool: RecommendDocument,
  series: ScopeSeries,
  o: Rate | null,
): Aggregation {
  const rows = members.map((m) => ({ customer: m.slug, ...optima.get(m.id)! }));
  const costs = rows.map((r) => r.cost_usd);
  const pooled = optimumOf(pool as CostingDocument, series, o);
  return {
    members: rows,
    members_optimum_usd: aggregationSaving(costs, 0),
    pooled_gpus: pooled.gpus,
    pooled_optimum_usd: pooled.cost_usd,
    saving_usd: aggregationSaving(costs, pooled.cost_usd),
  };
}

export interface ScopeResult {
  scope: { customer_id: number | null; pool_id: number | null };
  gpu_type: GpuTypePrices;
  /** The GPU type the scope runs on (see primaryTypes); each customer has exactly one. */
  primary: boolean;
  document: CostingDocument;
  series: ScopeSeries;
  /** The scope's own reservations of this type that meet the window (the `current` scenario). */
  reservations: Reservation[];
}

export interface Skipped {
  scope: { customer: string | null; pool: string | null };
  gpu_type: string;
  reason: string;
}

export interface Evaluation {
  customers: ScopeResult[];
  pools: ScopeResult[];
  skipped: Skipped[];
  /** Every customer series computed, by type: a reader that needs another (a member on its pool's type) gets it here. */
  series: SeriesCache;
}

/** What the primary choice compares for a scope with no telemetry: the cheapest way to serve it on that type. */
function servingCost(d: CostingDocument): number {
  return d.best?.cost_usd ?? d.all_on_demand_usd ?? Infinity;
}

function byName(a: GpuTypePrices, b: GpuTypePrices): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The GPU types a customer is evaluated on in the batch views. Decision: the types it has telemetry for in
 * the window (what it runs on); a customer without telemetry (token-only) on every type that has a capacity
 * profile for one of its models and a GPU offer — each a "what if it ran on this type". The primary type, the
 * one views total over, is the telemetry type with the most busy GPU-seconds; for a token-only customer the
 * type whose recommendation costs least.
 */
function candidateTypes(ctx: PriceContext, customer: CustomerInput): { types: GpuTypePrices[]; measured: boolean } {
  const measured: { type: GpuTypePrices; busy: number }[] = [];
  for (const type of ctx.gpu_types.values()) {
    const rows = customer.telemetry.get(type.id);
    if (!rows || rows.length === 0) continue;
    const totals = telemetryTotals(rows);
    if (totals.gpu_hours > 0) measured.push({ type, busy: totals.busy_gpu_hours });
  }
  if (measured.length > 0) {
    measured.sort((a, b) => b.busy - a.busy || byName(a.type, b.type));
    return { types: measured.map((m) => m.type), measured: true };
  }
  if (customer.tokens.length === 0) return { types: [], measured: false };
  const models = modelsOf(customer.tokens);
  const types = [...ctx.gpu_types.values()]
    .filter((t) => (t.reserved.length > 0 || t.on_demand_missing < ctx.hours) && models.some((m) => t.profiled_models.has(m)))
    .sort(byName);
  return { types, measured: false };
}

export interface EvaluateOptions {
  overflow: Overflow;
  /** Only these customers (ids); default every customer given. */
  customerIds?: ReadonlySet<number>;
  /** Only these pools (ids); default every pool given. */
  poolIds?: ReadonlySet<number>;
  /** Series already computed for this context (e.g. for the other overflow); default a new cache. */
  cache?: SeriesCache;
  /**
   * `full` (the default): every scope on each of its types, each with its recommendation. `current`: only what
   * today's cost needs (the FOCUS export) — each scope on its primary types alone, with a recommendation (its
   * best offer only) where the primary choice compares them; `skipped` then names only the types tried.
   */
  detail?: 'full' | 'current';
}

/**
 * Every customer on each of its GPU types and every pool on each of its members' types: documents, series and
 * the primary flag. Scopes whose window cannot be priced on a type are reported in `skipped`, not thrown.
 */
export function evaluateAll(
  ctx: PriceContext,
  customers: readonly CustomerInput[],
  pools: readonly PoolInput[],
  reservations: readonly ReservationInput[],
  options: EvaluateOptions,
): Evaluation {
  const { overflow } = options;
  const current = options.detail === 'current';
  const cache = options.cache ?? new SeriesCache(ctx);
  const skipped: Skipped[] = [];
  const byCustomer = new Map<string, ReservationInput[]>();
  for (const r of reservations) {
    const key = r.customer_id !== null ? `c${r.customer_id}|${r.gpu_type_id}` : `p${r.pool_id}|${r.gpu_type_id}`;
    const list = byCustomer.get(key) ?? [];
    list.push(r);
    byCustomer.set(key, list);
  }

  const customerResults: ScopeResult[] = [];
  /** GPU type id → customer id → its own optimum, for the pools' aggregation. */
  const optima = new Map<number, Map<number, MemberOptimum>>();
  const typesOf = new Map<number, { types: GpuTypePrices[]; measured: boolean; primary: GpuTypePrices | null }>();
  for (const customer of customers) {
    const candidates = candidateTypes(ctx, customer);
    let results: ScopeResult[] = [];
    // Today's cost is on a measured customer's first type that can be priced; a token-only one's primary is chosen
    // by its best offer on each type.
    const recommendation: Recommendation = !current ? 'full' : candidates.measured ? 'none' : 'best';
    for (const type of candidates.types) {
      if (current && candidates.measured && results.length > 0) break;
      try {
        const own = byCustomer.get(`c${customer.id}|${type.id}`) ?? [];
        const { document, series } = customerDocument(ctx, overflow, type, customer, own, cache, recommendation);
        if (!current) {
          let ofType = optima.get(type.id);
          if (!ofType) optima.set(type.id, (ofType = new Map()));
          ofType.set(customer.id, optimumOf(document, series, onDemandRate(type)));
        }
        results.push({ scope: { customer_id: customer.id, pool_id: null }, gpu_type: type, primary: false, document, series, reservations: asReservations(own) });
      } catch (error) {
        if (!(error instanceof PricingError)) throw error;
        skipped.push({ scope: { customer: customer.slug, pool: null }, gpu_type: type.name, reason: error.message });
      }
    }
    let primary: ScopeResult | undefined;
    if (candidates.measured) primary = results.find((r) => r.gpu_type === candidates.types[0]) ?? results[0];
    else for (const r of results) if (!primary || servingCost(r.document) < servingCost(primary.document)) primary = r;
    if (primary) primary.primary = true;
    if (current) results = primary ? [primary] : [];
    typesOf.set(customer.id, { ...candidates, primary: primary?.gpu_type ?? null });
    if (!options.customerIds || options.customerIds.has(customer.id)) customerResults.push(...results);
  }

  const poolResults: ScopeResult[] = [];
  for (const pool of pools) {
    if (options.poolIds && !options.poolIds.has(pool.id)) continue;
    const members = customers.filter((c) => c.pool_id === pool.id);
    if (members.length === 0) continue;
    const types = new Map<number, GpuTypePrices>();
    const measured = new Set<number>();
    for (const m of members) {
      const t = typesOf.get(m.id)!;
      for (const type of t.types) types.set(type.id, type);
      if (t.measured) for (const type of t.types) measured.add(type.id);
    }
    let results: ScopeResult[] = [];
    // Today's cost: a pool's measured types are its primary ones; without any, its best offer on each type chooses.
    const recommendation: Recommendation = !current ? 'full' : measured.size > 0 ? 'none' : 'best';
    for (const type of [...types.values()].sort(byName)) {
      if (current && measured.size > 0 && !measured.has(type.id)) continue;
      try {
        const own = byCustomer.get(`p${pool.id}|${type.id}`) ?? [];
        const { document, series } = poolDocument(ctx, overflow, type, pool, members, own, cache, optima.get(type.id), recommendation);
        results.push({
          scope: { customer_id: null, pool_id: pool.id }, gpu_type: type, primary: measured.has(type.id), document, series, reservations: asReservations(own),
        });
      } catch (error) {
        if (!(error instanceof PricingError)) throw error;
        skipped.push({ scope: { customer: null, pool: pool.name }, gpu_type: type.name, reason: error.message });
      }
    }
    if (measured.size === 0 && results.length > 0) {
      results.reduce((a, b) => (servingCost(b.document) < servingCost(a.document) ? b : a)).primary = true;
    }
    if (current) results = results.filter((r) => r.primary);
    poolResults.push(...results);
  }
  return { customers: customerResults, pools: poolResults, skipped, series: cache };
}
