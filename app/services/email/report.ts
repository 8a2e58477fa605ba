// The content of the weekly emails, read off the cost engine's own documents and summary rows (the same
// evaluateWindow → summaryRow path as costSummary, so every figure equals the dashboard's): the finance digest
// for the whole fleet, and one customer's week. Pure: evaluations and rows come in, a plain model goes out;
// render.ts turns it into HTML and text.
import type { FailedRunGroup } from '../../../db/queries/email-report.js';
import type { ReservationRow } from '../../../db/queries/reservations.js';
import { addIsoWeeks, formatIsoWeek, weekDates, type IsoWeek } from '../../domain/weeks.js';
import type { CostingDocument, Skipped } from '../costing.server.js';
import type { ScopeResult } from '../costing/evaluate.js';
import { summaryRow, type CostSummaryRow } from '../costing/summary.js';

const HOUR_MS = 3_600_000;
const WEEK_HOURS = 168;
/** The recommendation looks at this many weeks ending with the reported one (the engine's stability blocks). */
export const RECOMMENDATION_WEEKS = 4;
/** Reservations ending within this many days after the week are listed. */
export const EXPIRING_DAYS = 30;

export interface ReportPeriod {
  week: string;
  zone: string;
  /** The local week, Monday 00:00 to Monday 00:00, as instants. */
  start: Date;
  end: Date;
  /** The priced window: whole UTC hours (see costWindow). */
  from: Date;
  to: Date;
  /** Local calendar dates, YYYY-MM-DD: the Monday, the Sunday, the next Monday (the dashboard's exclusive `to`). */
  monday: string;
  sunday: string;
  nextMonday: string;
}

/** One window's evaluation, as costSummary sees it: every scope's row with its document. */
export interface EvaluatedWindow {
  period: ReportPeriod;
  customers: ScopeRow[];
  pools: ScopeRow[];
  skipped: Skipped[];
}

export interface ScopeRow {
  row: CostSummaryRow;
  document: CostingDocument;
  /** Customer's or pool's display name. */
  name: string;
}

/** What the engine's evaluation of a window gives, reduced to what the emails read. */
export interface EvaluationLike {
  customers: readonly ScopeResult[];
  pools: readonly ScopeResult[];
  skipped: readonly Skipped[];
  customersById: ReadonlyMap<number, { slug: string; name: string; pool: string | null }>;
  poolsById: ReadonlyMap<number, { name: string }>;
}

/** costSummary's rows (summaryRow of each result), kept beside their documents. */
export function evaluatedWindow(period: ReportPeriod, e: EvaluationLike): EvaluatedWindow {
  return {
    period,
    customers: e.customers.map((r) => {
      const c = e.customersById.get(r.scope.customer_id!)!;
      return { row: summaryRow(r, { customer: c.slug, pool: c.pool }), document: r.document, name: c.name };
    }),
    pools: e.pools.map((r) => {
      const p = e.poolsById.get(r.scope.pool_id!)!;
      return { row: summaryRow(r, { customer: null, pool: p.name }), document: r.document, name: p.name };
    }),
    skipped: [...e.skipped],
  };
}

/** The weeks a report reads: the week, the one before, and the recommendation's four ending with it. */
export function reportWeeks(week: IsoWeek): { week: IsoWeek; previous: IsoWeek; first: IsoWeek } {
  return { week, previous: addIsoWeeks(week, -1), first: addIsoWeeks(week, -(RECOMMENDATION_WEEKS - 1)) };
}

export interface Scenarios {
  /** What it costs as run today: existing reservations (+ overflow), else the API for token-only scopes, else on-demand. */
  as_run: number;
  api: number;
  /** null when some scope's type has no on-demand rate in some hour. */
  on_demand: number | null;
  /** Every reservation scope on its recommended reservation (+ overflow). */
  recommended: number | null;
}

/**
 * The reservation scopes: pools, and customers outside a pool, on their primary GPU type — where a reservation
 * is decided. A pool member's own row is a what-if: its GPUs are the pool's.
 */
export function reservationScopes(w: EvaluatedWindow): ScopeRow[] {
  return [...w.pools.filter((p) => p.row.primary), ...w.customers.filter((c) => c.row.primary && c.row.pool === null)];
}

const sum = (values: readonly (number | null)[]): number | null => (values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + v!, 0));

/**
 * Fleet totals under each scenario: Σ over reservation scopes of the rows' baseline, on-demand and recommended
 * costs; the API total is Σ over customers' primary rows (every token counted once, also for a pool whose
 * members run on two types).
 */
export function fleetScenarios(w: EvaluatedWindow): Scenarios {
  const scopes = reservationScopes(w);
  return {
    as_run: scopes.reduce((a, s) => a + s.row.baseline_usd, 0),
    api: w.customers.filter((c) => c.row.primary).reduce((a, c) => a + c.row.api_usd, 0),
    on_demand: sum(scopes.map((s) => s.row.on_demand_usd)),
    recommended: sum(scopes.map((s) => s.row.recommended_usd ?? s.row.baseline_usd)),
  };
}

export interface RecommendationLine {
  scope: 'pool' | 'customer';
  /** Pool name or customer slug. */
  key: string;
  name: string;
  gpu_type: string;
  current_gpus: number;
  recommended_gpus: number;
  delta: number;
  provider: string | null;
  term_days: number | null;
  usd_per_gpu_hour: number | null;
  /** When the current reservation ends (the change applies at its renewal); null without one. */
  renewal: Date | null;
  /** baseline − recommended over the recommendation window, per 168 hours. */
  saving_per_week: number;
  savings_vs_api_per_week: number | null;
  savings_vs_on_demand_per_week: number | null;
  fill: number | null;
  break_even_fill: number | null;
  risk: { floor: number; balanced: number; optimal: number } | null;
  stability: { min_gpus: number; max_gpus: number } | null;
  recent: { gpus: number; flagged: boolean } | null;
  demand: { mean_gpus: number; p95_gpus: number; peak_gpus: number };
  baseline: CostSummaryRow['baseline'];
  /** "Add 8 H100 at renewal on 2026-12-01", "Reserve 8 H100", "Drop 8 H100 at renewal on …", "Keep 16 H100". */
  action: string;
}

const perWeek = (usd: number, hours: number) => (usd / hours) * WEEK_HOURS;

function termLabel(days: number | null): string {
  if (days === null) return '';
  if (days % 365 === 0) return days === 365 ? '1 year' : `${days / 365} years`;
  return `${days} days`;
}

/** The action sentence of a recommendation, e.g. "Add 8 H100 at renewal on 2026-12-01". `day` formats the renewal date. */
export function actionSentence(
  r: Pick<RecommendationLine, 'delta' | 'current_gpus' | 'recommended_gpus' | 'gpu_type' | 'renewal' | 'term_days'>,
  day: (d: Date) => string,
): string {
  const at = r.renewal ? ` at renewal on ${day(r.renewal)}` : '';
  if (r.delta === 0) return `Keep ${r.current_gpus} ${r.gpu_type}`;
  if (r.current_gpus === 0) return `Reserve ${r.recommended_gpus} ${r.gpu_type}${r.term_days ? ` for ${termLabel(r.term_days)}` : ''}`;
  if (r.delta > 0) return `Add ${r.delta} ${r.gpu_type}${at}`;
  return `Drop ${-r.delta} ${r.gpu_type}${at}`;
}

export { termLabel };

/** The reservation of a scope and type that ends first after `after` (what a change would renew). */
function renewalOf(reservations: readonly ReservationRow[], s: ScopeRow, after: Date): Date | null {
  let best: Date | null = null;
  for (const r of reservations) {
    const mine = s.row.customer_id === null ? r.pool_id === s.row.pool_id : r.customer_id === s.row.customer_id;
    if (!mine || r.gpu_type !== s.row.gpu_type || r.ends_at.getTime() <= after.getTime()) continue;
    if (!best || r.ends_at < best) best = r.ends_at;
  }
  return best;
}

/** A scope's recommendation over the recommendation window, or null when there is nothing to recommend. */
export function recommendationLine(s: ScopeRow, reservations: readonly ReservationRow[], after: Date, day: (d: Date) => string): RecommendationLine | null {
  const { row, document: d } = s;
  if (row.recommended_gpus === null || !d.best) return null;
  const current = row.current_gpus ?? 0;
  const hours = row.hours;
  const line: Omit<RecommendationLine, 'action'> = {
    scope: row.pool_id !== null && row.customer_id === null ? 'pool' : 'customer',
    key: row.customer ?? row.pool!,
    name: s.name,
    gpu_type: row.gpu_type,
    current_gpus: current,
    recommended_gpus: row.recommended_gpus,
    delta: row.recommended_gpus - current,
    provider: row.recommended_provider,
    term_days: row.recommended_term_days,
    usd_per_gpu_hour: row.recommended_usd_per_gpu_hour,
    renewal: current > 0 ? renewalOf(reservations, s, after) : null,
    saving_per_week: perWeek(row.saving_usd ?? 0, hours),
    savings_vs_api_per_week: row.savings_vs_api_usd === null ? null : perWeek(row.savings_vs_api_usd, hours),
    savings_vs_on_demand_per_week: row.savings_vs_on_demand_usd === null ? null : perWeek(row.savings_vs_on_demand_usd, hours),
    fill: row.fill,
    break_even_fill: row.break_even_fill,
    risk: d.risk_levels ? { floor: d.risk_levels.floor.gpus, balanced: d.risk_levels.balanced.gpus, optimal: d.risk_levels.optimal.gpus } : null,
    stability: d.stability ? { min_gpus: d.stability.min_gpus, max_gpus: d.stability.max_gpus } : null,
    recent: d.recent ? { gpus: d.recent.gpus, flagged: d.recent.flagged } : null,
    demand: { mean_gpus: d.demand.mean_gpus, p95_gpus: d.demand.p95_gpus, peak_gpus: d.demand.peak_gpus },
    baseline: row.baseline,
  };
  return { ...line, action: actionSentence(line, day) };
}

export interface ExpiringReservation {
  scope: 'pool' | 'customer';
  key: string;
  gpu_type: string;
  provider: string;
  gpus: number;
  usd_per_gpu_hour: number;
  ends_at: Date;
  /** The end's calendar date in the recipient's zone. */
  ends_on: string;
  /** What the recommendation says for that scope and type, when it has one. */
  recommended_gpus: number | null;
}

export interface IdleLine {
  scope: 'pool' | 'customer';
  key: string;
  gpu_type: string;
  gpus: number;
  idle_usd: number;
  fill: number | null;
}

export interface GapLine {
  customer: string;
  gpu_type: string;
  hours_without_data: number;
  hours: number;
}

export interface DigestReport {
  kind: 'digest';
  period: ReportPeriod;
  previous: ReportPeriod;
  recommendation_period: ReportPeriod;
  scenarios: Scenarios;
  previous_scenarios: Scenarios;
  scopes: number;
  /** Changes to make, largest saving first. */
  changes: RecommendationLine[];
  /** Scopes whose reservation already matches the recommendation. */
  on_target: RecommendationLine[];
  expiring: ExpiringReservation[];
  idle: { total_usd: number; lines: IdleLine[] };
  guard: RecommendationLine[];
  gaps: { customers: GapLine[]; failed_runs: FailedRunGroup[]; skipped: Skipped[] };
}

export interface DigestInputs {
  week: EvaluatedWindow;
  previous: EvaluatedWindow;
  recommendation: EvaluatedWindow;
  /** Reservations that meet [week start, week end + 30 days). */
  reservations: readonly ReservationRow[];
  failedRuns: FailedRunGroup[];
  /** Formats a date for the action sentences, in the recipient's zone. */
  day: (d: Date) => string;
}

const scopeOf = (row: CostSummaryRow): { scope: 'pool' | 'customer'; key: string } =>
  row.customer === null ? { scope: 'pool', key: row.pool! } : { scope: 'customer', key: row.customer };

export function buildDigest(input: DigestInputs): DigestReport {
  const { week, previous, recommendation } = input;
  const after = week.period.end;
  const lines = reservationScopes(recommendation)
    .map((s) => recommendationLine(s, input.reservations, after, input.day))
    .filter((l): l is RecommendationLine => l !== null);
  const changes = lines.filter((l) => l.delta !== 0).sort((a, b) => b.saving_per_week - a.saving_per_week || a.key.localeCompare(b.key));
  const onTarget = lines.filter((l) => l.delta === 0 && l.current_gpus > 0);

  const horizon = after.getTime() + EXPIRING_DAYS * 24 * HOUR_MS;
  const recommendationFor = (scope: 'pool' | 'customer', key: string, gpuType: string) =>
    lines.find((l) => l.scope === scope && l.key === key && l.gpu_type === gpuType)?.recommended_gpus ?? null;
  const names = new Map<string, { scope: 'pool' | 'customer'; key: string }>();
  for (const s of [...recommendation.customers, ...recommendation.pools, ...week.customers, ...week.pools]) {
    names.set(s.row.customer_id !== null ? `c${s.row.customer_id}` : `p${s.row.pool_id}`, scopeOf(s.row));
  }
  const expiring: ExpiringReservation[] = input.reservations
    .filter((r) => r.ends_at.getTime() > after.getTime() && r.ends_at.getTime() <= horizon)
    .flatMap((r) => {
      const who = names.get(r.customer_id !== null ? `c${r.customer_id}` : `p${r.pool_id}`);
      if (!who) return [];
      return [{
        ...who,
        gpu_type: r.gpu_type,
        provider: r.provider,
        gpus: r.gpus,
        usd_per_gpu_hour: r.usd_per_gpu_hour,
        ends_at: r.ends_at,
        ends_on: input.day(r.ends_at),
        recommended_gpus: recommendationFor(who.scope, who.key, r.gpu_type),
      }];
    })
    .sort((a, b) => a.ends_at.getTime() - b.ends_at.getTime());

  const idleLines: IdleLine[] = reservationScopes(week)
    .filter((s) => s.document.current !== null)
    .map((s) => ({ ...scopeOf(s.row), gpu_type: s.row.gpu_type, gpus: s.document.current!.gpus, idle_usd: s.document.current!.idle_cost_usd, fill: s.document.current!.fill }))
    .sort((a, b) => b.idle_usd - a.idle_usd);

  const guard = [...recommendation.pools, ...recommendation.customers]
    .filter((s) => s.row.primary && s.row.recent_flagged)
    .map((s) => recommendationLine(s, input.reservations, after, input.day))
    .filter((l): l is RecommendationLine => l !== null);

  const gaps: GapLine[] = week.customers
    .filter((c) => c.row.primary && c.row.hours_without_data > 0)
    .map((c) => ({ customer: c.row.customer!, gpu_type: c.row.gpu_type, hours_without_data: c.row.hours_without_data, hours: c.row.hours }))
    .sort((a, b) => b.hours_without_data - a.hours_without_data || a.customer.localeCompare(b.customer));

  return {
    kind: 'digest',
    period: week.period,
    previous: previous.period,
    recommendation_period: recommendation.period,
    scenarios: fleetScenarios(week),
    previous_scenarios: fleetScenarios(previous),
    scopes: reservationScopes(week).length,
    changes,
    on_target: onTarget,
    expiring,
    idle: { total_usd: idleLines.reduce((a, l) => a + l.idle_usd, 0), lines: idleLines },
    guard,
    gaps: { customers: gaps, failed_runs: input.failedRuns, skipped: [...week.skipped] },
  };
}

export interface CustomerWeek {
  gpu_type: string;
  hours: number;
  hours_without_data: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  requests: number;
  /** Measured GPU-hours over every GPU type the customer ran on. */
  gpu_hours: number;
  busy_gpu_hours: number;
  demand_gpu_hours: number;
  baseline: CostSummaryRow['baseline'];
  scenarios: Scenarios;
}

export interface CustomerReport {
  kind: 'customer';
  period: ReportPeriod;
  previous: ReportPeriod;
  recommendation_period: ReportPeriod;
  customer: { slug: string; name: string; pool: string | null };
  /** null: no usage in the week. */
  week: CustomerWeek | null;
  previous_week: CustomerWeek | null;
  /** The customer's own recommendation, or its pool's (the pool decides its reservation). */
  recommendation: RecommendationLine | null;
  /** A pool member's share of the pool's reserved cost in the week (showback), when the pool reserves. */
  pool_share: { usd: number; basis: 'current' | 'recommended'; pool_total_usd: number } | null;
  previous_pool_share: { usd: number; basis: 'current' | 'recommended'; pool_total_usd: number } | null;
}

function customerWeek(w: EvaluatedWindow, slug: string): CustomerWeek | null {
  const rows = w.customers.filter((c) => c.row.customer === slug);
  const primary = rows.find((c) => c.row.primary);
  if (!primary) return null;
  const r = primary.row;
  // GPU time measured on every type it ran on (token-only what-ifs have none).
  const measured = rows.filter((c) => c.row.telemetry_hours > 0);
  return {
    gpu_type: r.gpu_type,
    hours: r.hours,
    hours_without_data: r.hours_without_data,
    input_tokens: r.input_tokens,
    cached_input_tokens: r.cached_input_tokens,
    output_tokens: r.output_tokens,
    requests: r.requests,
    gpu_hours: measured.reduce((a, c) => a + c.row.gpu_hours, 0),
    busy_gpu_hours: measured.reduce((a, c) => a + c.row.busy_gpu_hours, 0),
    demand_gpu_hours: r.demand_gpu_hours,
    baseline: r.baseline,
    scenarios: { as_run: r.baseline_usd, api: r.api_usd, on_demand: r.on_demand_usd, recommended: r.recommended_usd },
  };
}

export interface CustomerInputs extends Omit<DigestInputs, 'failedRuns'> {
  customer: { slug: string; name: string; pool: string | null };
}

export function buildCustomerReport(input: CustomerInputs): CustomerReport {
  const { week, previous, recommendation, customer } = input;
  const scope = customer.pool
    ? recommendation.pools.find((p) => p.row.pool === customer.pool && p.row.primary)
    : recommendation.customers.find((c) => c.row.customer === customer.slug && c.row.primary);
  const shareIn = (w: EvaluatedWindow): CustomerReport['pool_share'] => {
    if (!customer.pool) return null;
    const pool = w.pools.find((p) => p.row.pool === customer.pool && p.row.primary);
    const split = pool?.document.showback;
    const line = split?.customers.find((c) => c.customer === customer.slug);
    return split && line ? { usd: line.total_usd, basis: split.basis, pool_total_usd: split.total_usd } : null;
  };
  return {
    kind: 'customer',
    period: week.period,
    previous: previous.period,
    recommendation_period: recommendation.period,
    customer,
    week: customerWeek(week, customer.slug),
    previous_week: customerWeek(previous, customer.slug),
    recommendation: scope ? recommendationLine(scope, input.reservations, week.period.end, input.day) : null,
    pool_share: shareIn(week),
    previous_pool_share: shareIn(previous),
  };
}

/** A ReportPeriod from a week's local window and its priced window. */
export function reportPeriod(
  week: IsoWeek,
  zone: string,
  local: { start: Date; end: Date },
  priced: { from: Date; to: Date },
  firstWeek: IsoWeek = week,
): ReportPeriod {
  const first = weekDates(firstWeek);
  const last = weekDates(week);
  const single = firstWeek.year === week.year && firstWeek.week === week.week;
  return {
    week: single ? formatIsoWeek(week) : `${formatIsoWeek(firstWeek)}…${formatIsoWeek(week)}`,
    zone,
    start: local.start,
    end: local.end,
    from: priced.from,
    to: priced.to,
    monday: first.monday,
    sunday: last.sunday,
    nextMonday: last.nextMonday,
  };
}
