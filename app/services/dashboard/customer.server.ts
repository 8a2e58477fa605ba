// /customers/:slug: one customer on one GPU type (its primary type unless asked) — the engine's document for
// the period (evaluateWindow for this customer alone: the same document as `breakeven recommend`), its hourly
// demand against the current and recommended reservation, the cost curve, tokens by model, an hour-of-week
// heatmap in the viewer's zone, the scenario table with each figure's formula and inputs, and observed vs
// profiled throughput. The whole view is cached per customer, type, period, zone and data version.
import type { Db } from '../../../db/client.js';
import { listScopeCustomers } from '../../../db/queries/costing-scopes.js';
import { customerGpuHours, customerTokensByDay } from '../../../db/queries/customer-usage.js';
import { findCustomerBySlug } from '../../../db/queries/customers.js';
import type { Period } from '../../domain/period.js';
import { reservationSchedule } from '../../domain/scenarios.js';
import { SOURCE_NONE, type Overflow } from '../../domain/types.js';
import {
  formatCompact,
  formatGpuHoursExact,
  formatGpus,
  formatInteger,
  formatPercent,
  formatRate,
  formatUsd,
} from '../../lib/format.js';
import { formatInstantIn, hourOfWeekIndex } from '../../lib/time-zone.js';
import type { CostingDocument } from '../costing/evaluate.js';
import { evaluateWindow } from '../costing.server.js';
import { VersionedCache } from './cache.server.js';
import { documentKey, peekFleet } from './fleet.server.js';
import { withEvaluationSlot } from './limit.server.js';

export interface CustomerQuery {
  slug: string;
  period: Pick<Period, 'from' | 'to'>;
  /** A GPU type name; default the customer's primary type. */
  gpuType?: string | null;
  overflow?: Overflow;
  timeZone: string;
}

/** Most points a chart draws; longer periods are bucketed (mean and peak per bucket). */
const MAX_POINTS = 744;

export interface ScenarioLine {
  key: 'api' | 'on_demand' | 'current' | 'recommended';
  label: string;
  usd: number | null;
  /** Against what the customer pays today (positive: cheaper). */
  saving_usd: number | null;
  formula: string;
  detail: string;
}

function scenarioLines(d: CostingDocument, baseline: { usd: number; label: string }): ScenarioLine[] {
  const H = d.hours;
  const demandGpuHours = d.demand.mean_gpus * H;
  const t = d.inputs.tokens;
  const uncached = t.input_tokens - t.cached_input_tokens - t.cache_write_input_tokens;
  const lines: ScenarioLine[] = [];
  lines.push({
    key: 'api',
    label: 'All on the API',
    usd: d.all_api_usd,
    saving_usd: baseline.usd - d.all_api_usd,
    formula: `API = Σ_h Σ_models (uncached·p_in + cached·p_cached + cache_write·p_cw + output·p_out) / 1e6 = ${formatUsd(d.all_api_usd)}`,
    detail:
      `${formatCompact(uncached)} uncached input, ${formatCompact(t.cached_input_tokens)} cached, ${formatCompact(t.cache_write_input_tokens)} cache-write and ` +
      `${formatCompact(t.output_tokens)} output tokens over ${formatInteger(H)} h, priced by ${d.inputs.api_rule}` +
      (d.inputs.unpriced_models.length ? `; no API price for ${d.inputs.unpriced_models.join(', ')}` : ''),
  });
  const od = d.inputs.on_demand;
  const oLabel = od ? (od.min_usd_per_gpu_hour === od.max_usd_per_gpu_hour ? formatRate(od.min_usd_per_gpu_hour) : `${formatRate(od.min_usd_per_gpu_hour)}–${formatRate(od.max_usd_per_gpu_hour)}`) : null;
  lines.push({
    key: 'on_demand',
    label: 'All on on-demand GPUs',
    usd: d.all_on_demand_usd,
    saving_usd: d.all_on_demand_usd === null ? null : baseline.usd - d.all_on_demand_usd,
    formula:
      d.all_on_demand_usd === null || !od
        ? 'ON_DEMAND: no on-demand rate is in force for every hour'
        : `ON_DEMAND = Σ_h d(h)·o = ${formatGpuHoursExact(demandGpuHours)} × ${oLabel} = ${formatUsd(d.all_on_demand_usd)}`,
    detail: od ? `o = ${od.rule} (${od.providers.join(', ')}); d(h) = demand at ${formatPercent(d.inputs.gpu_target_utilization)} target utilization` : '',
  });
  if (d.current) {
    const c = d.current;
    lines.push({
      key: 'current',
      label: `Current reservations (${formatInteger(c.gpus)} GPUs now)`,
      usd: c.cost_usd,
      saving_usd: baseline.usd - c.cost_usd,
      formula: `CURRENT = Σ_h N(h)·r + Σ_h overflow(h, N(h)) = ${formatUsd(c.reserved_usd)} + ${formatUsd(c.overflow_usd)} = ${formatUsd(c.cost_usd)}`,
      detail: `${formatGpuHoursExact(c.gpu_hours)} reserved, fill ${formatPercent(c.fill)}, idle ${formatUsd(c.idle_cost_usd)}; overflow to ${d.overflow === 'api' ? 'the API' : 'on-demand GPUs'}`,
    });
  }
  const b = d.best;
  if (b) {
    const r = b.usd_per_gpu_hour;
    const committed = r === null ? null : b.gpus * r * H;
    const overflow = committed === null ? null : b.cost_usd - committed;
    lines.push({
      key: 'recommended',
      label: `Recommended: ${formatInteger(b.gpus)} × ${d.gpu_type} (${b.provider}, ${b.term_days}-day)`,
      usd: b.cost_usd,
      saving_usd: baseline.usd - b.cost_usd,
      formula:
        committed === null || overflow === null
          ? `RESERVED(N) = N·Σ_h r(h) + Σ_h overflow(h, N) = ${formatUsd(b.cost_usd)}`
          : `RESERVED(${b.gpus}) = N·r·H + Σ_h overflow(h, N) = ${b.gpus} × ${formatRate(r!)} × ${formatInteger(H)} h + ${formatUsd(overflow)} = ${formatUsd(b.cost_usd)}`,
      detail:
        `fill ${formatPercent(b.fill)} = Σ min(d, N) / (N·H); idle cost ${formatUsd(b.idle_cost_usd)} = r·Σ (N − min(d, N)); ` +
        `break-even fill ${formatPercent(b.break_even_fill)} (${d.overflow === 'api' ? 'r ÷ (API ÷ Σd)' : 'r ÷ o'})`,
    });
  }
  return lines;
}

/**
 * The demand chart's series as columns (a page carries up to 744 points): bucket starts `t0 + i·step`, mean demand,
 * and only when they add something, the peak hour of each bucket and the reservation in force.
 */
function bucketSeries(demand: Float64Array, current: Float64Array, fromMs: number) {
  const hours = demand.length;
  const bucket = Math.max(1, Math.ceil(hours / MAX_POINTS));
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const mean: number[] = [];
  const peak: number[] = [];
  const reserved: number[] = [];
  let anyReserved = false;
  for (let start = 0; start < hours; start += bucket) {
    const end = Math.min(hours, start + bucket);
    let sum = 0;
    let top = 0;
    let n = 0;
    for (let h = start; h < end; h++) {
      sum += demand[h];
      if (demand[h] > top) top = demand[h];
      if (current[h] > n) n = current[h];
    }
    mean.push(round(sum / (end - start)));
    peak.push(round(top));
    reserved.push(n);
    if (n > 0) anyReserved = true;
  }
  return { bucketHours: bucket, t0: fromMs, stepMs: bucket * 3_600_000, demand: mean, peak: bucket > 1 ? peak : null, current: anyReserved ? reserved : null };
}

async function buildCustomerView(db: Db, q: CustomerQuery, customer: { id: number; slug: string; name: string; pool: string | null; pool_id: number | null }) {
  const overflow = q.overflow ?? 'on_demand';
  const { from, to } = q.period;
  const [e, tokensByDay] = await Promise.all([
    withEvaluationSlot(() => evaluateWindow(db, { from, to, overflow, customerIds: [customer.id], poolIds: [] })),
    customerTokensByDay(db, customer.id, from, to),
  ]);
  const results = [...e.customers].sort((a, b) => Number(b.primary) - Number(a.primary) || (a.gpu_type.name < b.gpu_type.name ? -1 : 1));
  const hours = (to.getTime() - from.getTime()) / 3_600_000;
  const base = {
    customer: { slug: customer.slug, name: customer.name, pool: customer.pool },
    hours,
    overflow,
    timeZone: q.timeZone,
    types: results.map((r) => ({ name: r.gpu_type.name, primary: r.primary, costUsd: r.document.best?.cost_usd ?? null, gpus: r.document.best?.gpus ?? null })),
    skipped: e.skipped.map((s) => ({ gpuType: s.gpu_type, reason: s.reason })),
  };
  const result = (q.gpuType ? results.find((r) => r.gpu_type.name === q.gpuType) : undefined) ?? results[0];
  const tokens = tokensTable(tokensByDay);
  if (!result) return { ...base, selected: null, tokens };

  const d = result.document;
  const s = result.series;
  const schedule = reservationSchedule(result.reservations, s.from_ms, s.hours);
  const demandChart = bucketSeries(s.demand, schedule.gpus, s.from_ms);

  // What the customer pays today: its reservations, else the API when it has no telemetry, else on-demand GPUs.
  const baseline = d.current
    ? { usd: d.current.cost_usd, label: 'its current reservations', key: 'current' as const }
    : s.telemetry_hours === 0 || d.all_on_demand_usd === null
      ? { usd: d.all_api_usd, label: 'the API (it has no GPU telemetry)', key: 'api' as const }
      : { usd: d.all_on_demand_usd, label: 'on-demand GPUs (no reservation of its own)', key: 'on_demand' as const };

  // Hour of week in the viewer's zone: GPU utilization (busy ÷ held) where telemetry exists, else mean demand.
  const slots = hourOfWeekIndex(s.from_ms, s.hours, q.timeZone);
  const sums = new Float64Array(168);
  const weights = new Float64Array(168);
  let metric: 'utilization' | 'demand';
  if (s.telemetry_hours > 0) {
    metric = 'utilization';
    for (const row of await customerGpuHours(db, customer.id, result.gpu_type.id, from, to)) {
      const h = (row.hour.getTime() - s.from_ms) / 3_600_000;
      sums[slots[h]] += row.busy_gpu_seconds;
      weights[slots[h]] += row.allocated_gpu_seconds;
    }
  } else {
    metric = 'demand';
    for (let h = 0; h < s.hours; h++) {
      if (s.source[h] === SOURCE_NONE) continue;
      sums[slots[h]] += s.demand[h];
      weights[slots[h]] += 1;
    }
  }
  const heatmap = Array.from({ length: 168 }, (_, i) => (weights[i] > 0 ? Math.round((sums[i] / weights[i]) * 10_000) / 10_000 : null));
  const present = heatmap.filter((v): v is number => v !== null);

  // Capacity profiles of the models it uses, in the book in force at the period's last hour.
  const lastSegment = e.ctx.segments[e.ctx.segments.length - 1];
  const profiles = lastSegment?.profiles.get(result.gpu_type.name) ?? new Map();
  const observed = d.inputs.observed_throughput;
  const throughput = {
    observed: observed
      ? {
          hours: observed.hours,
          input: observed.input_tokens_per_busy_gpu_second,
          output: observed.output_tokens_per_busy_gpu_second,
          profileOverObserved: observed.profile_over_observed,
          busyGpuHours: observed.busy_gpu_seconds / 3600,
          profileGpuHours: observed.profile_gpu_seconds / 3600,
        }
      : null,
    profiles: tokens.models.map((m) => {
      const p = profiles.get(m.model);
      return { model: m.model, input: p?.input_tokens_per_gpu_second ?? null, output: p?.output_tokens_per_gpu_second ?? null, targetUtilization: p?.target_utilization ?? null };
    }),
    unprofiled: d.inputs.unprofiled_models,
  };

  const risk = d.risk_levels;
  return {
    ...base,
    tokens,
    selected: {
      gpuType: d.gpu_type,
      primary: result.primary,
      document: {
        demand: d.demand,
        allApiUsd: d.all_api_usd,
        allOnDemandUsd: d.all_on_demand_usd,
        current: d.current,
        best: d.best,
        savingsVsApiUsd: d.savings_vs_api_usd,
        savingsVsOnDemandUsd: d.savings_vs_on_demand_usd,
        stability: d.stability ? { ...d.stability, weeks: d.stability.weeks.map((w) => ({ ...w, label: formatInstantIn(Date.parse(w.from), q.timeZone) })) } : null,
        riskLevels: risk,
        recent: d.recent,
        change: d.change,
        offers: d.offers,
        priceBooks: d.inputs.price_books,
        hoursFromTelemetry: d.inputs.hours.telemetry,
        hoursFromTokens: d.inputs.hours.tokens,
        targetUtilization: d.inputs.gpu_target_utilization,
      },
      baseline: { usd: baseline.usd, label: baseline.label, key: baseline.key },
      scenarios: scenarioLines(d, baseline),
      demandChart: { ...demandChart, recommendedGpus: d.best?.gpus ?? null },
      curve: {
        points: d.curve.map((p) => ({ gpus: p.gpus, cost: p.cost_usd })),
        markers: risk
          ? [
              { key: 'floor', label: 'Floor', gpus: risk.floor.gpus, cost: risk.floor.cost_usd },
              { key: 'balanced', label: 'Balanced', gpus: risk.balanced.gpus, cost: risk.balanced.cost_usd },
              { key: 'optimal', label: 'Optimal', gpus: risk.optimal.gpus, cost: risk.optimal.cost_usd },
            ]
          : [],
        currentGpus: d.current?.gpus ?? null,
        apiUsd: d.all_api_usd,
        onDemandUsd: d.all_on_demand_usd,
      },
      heatmap: { metric, cells: heatmap, min: present.length ? Math.min(...present) : 0, max: present.length ? Math.max(...present) : 0 },
      throughput,
      gpus: { mean: formatGpus(d.demand.mean_gpus) },
    },
  };
}

function tokensTable(rows: Awaited<ReturnType<typeof customerTokensByDay>>) {
  const byModel = new Map<string, { model: string; input: number; cached: number; cacheWrite: number; output: number; requests: number }>();
  const days = new Map<string, Record<string, number | string>>();
  for (const r of rows) {
    const m = byModel.get(r.model) ?? { model: r.model, input: 0, cached: 0, cacheWrite: 0, output: 0, requests: 0 };
    m.input += r.input_tokens;
    m.cached += r.cached_input_tokens;
    m.cacheWrite += r.cache_write_input_tokens;
    m.output += r.output_tokens;
    m.requests += r.requests;
    byModel.set(r.model, m);
    const day = days.get(r.day) ?? { day: r.day };
    day[r.model] = ((day[r.model] as number | undefined) ?? 0) + r.input_tokens + r.output_tokens;
    days.set(r.day, day);
  }
  const models = [...byModel.values()].sort((a, b) => b.input + b.output - (a.input + a.output));
  return { models, daily: [...days.values()] };
}

export type CustomerView = Awaited<ReturnType<typeof buildCustomerView>>;
type Customer = { id: number; slug: string; name: string; pool: string | null; pool_id: number | null };

const customerCache = new VersionedCache<{ customer: Customer; view: CustomerView } | null>('customer', Number(process.env.BREAKEVEN_DASHBOARD_CUSTOMER_VIEWS ?? 500));

/** The pool's split of its reserved cost for this member, when the fleet's figures for the period are in memory. */
function poolShareOf(db: Db, q: CustomerQuery, poolId: number | null, pool: string | null, slug: string, gpuType: string | undefined) {
  if (poolId === null || pool === null || !gpuType) return null;
  const fleet = peekFleet(db, { from: q.period.from, to: q.period.to }, q.overflow ?? 'on_demand');
  const poolDoc = fleet?.documents.get(documentKey({ customer_id: null, pool_id: poolId }, gpuType));
  const line = poolDoc?.showback?.customers.find((c) => c.customer === slug);
  if (!poolDoc?.showback || !line) return null;
  return {
    pool, basis: poolDoc.showback.basis, gpus: poolDoc.showback.gpus, usedCents: line.used_cents, idleCents: line.idle_cents,
    totalCents: line.total_cents, poolTotalCents: poolDoc.showback.total_cents,
  };
}

async function findCustomer(db: Db, slug: string) {
  const found = await findCustomerBySlug(db, slug);
  if (!found) return null;
  const [scope] = await listScopeCustomers(db, { customerIds: [found.id] });
  return { id: found.id, slug: found.slug, name: found.name, pool: scope?.pool ?? null, pool_id: found.pool_id };
}

/** The customer page's view model, or null for an unknown slug. */
export async function loadCustomerDetail(db: Db, q: CustomerQuery) {
  const key = [q.slug, q.gpuType ?? '', q.period.from.toISOString(), q.period.to.toISOString(), q.overflow ?? 'on_demand', q.timeZone].join('|');
  const cached = await customerCache.get(db, key, async () => {
    const customer = await findCustomer(db, q.slug);
    return customer ? { customer, view: await buildCustomerView(db, q, customer) } : null;
  });
  if (!cached.value) return null;
  const { customer, view } = cached.value;
  return {
    ...view,
    poolShare: poolShareOf(db, q, customer.pool_id, customer.pool, customer.slug, view.selected?.gpuType),
    computedAt: cached.computedAt,
    fresh: cached.fresh,
  };
}
