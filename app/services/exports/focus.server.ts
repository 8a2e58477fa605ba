// The FOCUS 1.2 cost-and-usage export: what each customer's usage costs today, as charges a finance tool can
// ingest. It mirrors the overview's "current" figure unit by unit (fleet-totals.server.ts): a pool's shared
// reservations, or a customer's own, as Purchase rows amortised into Used/Unused commitment usage per customer;
// demand above the reservation as on-demand GPU usage; customers without reservations on on-demand GPUs
// (telemetry) or on the inference API (tokens only). One row per customer × UTC day × charge.
// Mapping and rounding: docs/decisions/050-exports.md.
import type { Db } from '../../../db/client.js';
import type { ReservationRow } from '../../../db/queries/reservations.js';
import { allocateUnits, formatDecimal, formatUnits, roundUnits } from '../../domain/rounding.js';
import { uncachedInputTokens } from '../../domain/tokens.js';
import { HOUR_MS } from '../../domain/types.js';
import { emptyTelemetry } from '../costing/columns.js';
import type { CustomerInput, ScopeResult } from '../costing/evaluate.js';
import type { GpuTypePrices } from '../costing/prices.js';
import { cheapestApiOffer, customerSeries } from '../costing/series.js';
import { evaluateWindow, type WindowEvaluation } from '../costing.server.js';
import { fleetTotals, type Unit } from '../dashboard/fleet-totals.server.js';
import { fleetOf } from '../dashboard/fleet.server.js';
import { withEvaluationSlot } from '../dashboard/limit.server.js';
import { text, type CsvExport, type Row } from './csv.server.js';
import { isoSeconds, periodFilename, type ExportPeriod } from './tables.server.js';

const DAY_MS = 86_400_000;

/** Every column of FOCUS 1.2, in the specification's (alphabetical) order. */
export const FOCUS_COLUMNS = [
  'AvailabilityZone', 'BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingAccountType', 'BillingCurrency', 'BillingPeriodEnd',
  'BillingPeriodStart', 'CapacityReservationId', 'CapacityReservationStatus', 'ChargeCategory', 'ChargeClass', 'ChargeDescription',
  'ChargeFrequency', 'ChargePeriodEnd', 'ChargePeriodStart', 'CommitmentDiscountCategory', 'CommitmentDiscountId', 'CommitmentDiscountName',
  'CommitmentDiscountQuantity', 'CommitmentDiscountStatus', 'CommitmentDiscountType', 'CommitmentDiscountUnit', 'ConsumedQuantity',
  'ConsumedUnit', 'ContractedCost', 'ContractedUnitPrice', 'EffectiveCost', 'InvoiceId', 'InvoiceIssuerName', 'ListCost', 'ListUnitPrice',
  'PricingCategory', 'PricingCurrency', 'PricingCurrencyContractedUnitPrice', 'PricingCurrencyEffectiveCost', 'PricingCurrencyListUnitPrice',
  'PricingQuantity', 'PricingUnit', 'ProviderName', 'PublisherName', 'RegionId', 'RegionName', 'ResourceId', 'ResourceName', 'ResourceType',
  'ServiceCategory', 'ServiceName', 'ServiceSubcategory', 'SkuId', 'SkuMeter', 'SkuPriceDetails', 'SkuPriceId', 'SubAccountId',
  'SubAccountName', 'SubAccountType', 'Tags',
] as const;

export const BILLING_ACCOUNT_ID = 'breakeven';
export const GPU_HOURS = 'GPU-Hours';
export const MILLION_TOKENS = '1000000 Tokens';

type Kind = 'purchase' | 'used' | 'unused' | 'on_demand' | 'api';
type TokenClass = 'input' | 'cached_input' | 'cache_write_input' | 'output';

const TOKEN_CLASS_LABEL: Record<TokenClass, string> = {
  input: 'Uncached Input Tokens',
  cached_input: 'Cached Input Tokens',
  cache_write_input: 'Cache Write Input Tokens',
  output: 'Output Tokens',
};

interface Account {
  id: string;
  name: string;
  type: 'Customer' | 'Pool';
  pool: string | null;
}

interface Charge {
  day: number;
  kind: Kind;
  account: Account;
  gpuType: string | null;
  model: string | null;
  tokenClass: TokenClass | null;
  provider: string;
  commitment: ReservationRow | null;
  listUnitPrice: number;
  contractedUnitPrice: number;
  /** GPU-hours, or tokens for API rows (priced per million). */
  quantity: number;
  /** Unrounded USD: what is billed (purchases, on-demand, API) or amortised (commitment usage). */
  cost: number;
  listCost: number;
}

/** Accumulates charges by what identifies a row; a day whose unit price changed gets a row per price. */
class Charges {
  readonly map = new Map<string, Charge>();

  add(c: Omit<Charge, 'quantity' | 'cost' | 'listCost'>, quantity: number, cost: number, listCost: number): void {
    if (!(quantity > 0)) return;
    const key = `${c.day}|${c.kind}|${c.account.id}|${c.gpuType}|${c.model}|${c.tokenClass}|${c.provider}|${c.commitment?.id ?? ''}|${c.listUnitPrice}|${c.contractedUnitPrice}`;
    const known = this.map.get(key);
    if (known) {
      known.quantity += quantity;
      known.cost += cost;
      known.listCost += listCost;
    } else this.map.set(key, { ...c, quantity, cost, listCost });
  }
}

interface Member {
  account: Account;
  demand: ArrayLike<number>;
}

interface Context {
  e: WindowEvaluation;
  firstDay: number;
  /** Hour index → day index of the period. */
  dayOf: (h: number) => number;
  names: Map<number, { slug: string; name: string; pool: string | null }>;
  idOf: Map<string, number>;
}

const customerAccount = (c: { slug: string; name: string; pool: string | null }): Account => ({ id: c.slug, name: c.name, type: 'Customer', pool: c.pool });

function providersOf(type: GpuTypePrices): string {
  return type.on_demand_providers.length ? type.on_demand_providers.join(' / ') : 'on-demand';
}

/** Σ_members d(h), hour by hour. */
function scopeDemand(members: readonly Member[], hours: number): Float64Array {
  const total = new Float64Array(hours);
  for (const m of members) for (let h = 0; h < hours; h++) total[h] += m.demand[h];
  return total;
}

/**
 * Hours grouped into runs of one UTC day and one on-demand rate: a run becomes one row per charge, and a day whose
 * rate changed gets a row per rate. `visit` adds an hour's quantities; `flush` writes the run's rows.
 */
function byRun(ctx: Context, type: GpuTypePrices, a: number, b: number, visit: (h: number) => void, flush: (day: number, o: number) => void): void {
  let day = -1;
  let o = NaN;
  for (let h = a; h < b; h++) {
    const d = ctx.dayOf(h);
    const rate = type.on_demand[h];
    if (d !== day || rate !== o) {
      if (day >= 0) flush(day, o);
      day = d;
      o = rate;
    }
    visit(h);
  }
  if (day >= 0) flush(day, o);
}

/** Demand served on on-demand GPUs: d(h)·o(h) for each member (above `reserved(h)` GPUs, shared by demand that hour). */
function onDemandCharges(out: Charges, ctx: Context, type: GpuTypePrices, members: readonly Member[], reserved: ArrayLike<number> | null, total: Float64Array): void {
  const provider = providersOf(type);
  const qty = new Float64Array(members.length);
  byRun(
    ctx,
    type,
    0,
    ctx.e.ctx.hours,
    (h) => {
      const n = reserved ? reserved[h] : 0;
      const all = total[h];
      if (all <= n) return;
      const over = all - n;
      for (let k = 0; k < members.length; k++) {
        const d = members[k].demand[h];
        if (d > 0) qty[k] += (over * d) / all;
      }
    },
    (day, o) => {
      for (let k = 0; k < members.length; k++) {
        if (qty[k] > 0) {
          const base = { day, kind: 'on_demand' as const, account: members[k].account, gpuType: type.name, model: null, tokenClass: null, provider, commitment: null };
          out.add({ ...base, listUnitPrice: o, contractedUnitPrice: o }, qty[k], qty[k] * o, qty[k] * o);
        }
      }
      qty.fill(0);
    },
  );
}

/**
 * Reservations of a scope, hour by hour (active when starts_at ≤ h < ends_at, as the engine schedules them):
 * each is billed g·r (Purchase); its use is amortised as in the showback — the used share min(D, N)/N split by
 * each member's demand that hour, the idle share by the members' demand over the window (equally when none) —
 * and demand above N is bought on demand. Quantities are GPU-hours; costs are quantity × rate.
 */
function reservationCharges(out: Charges, ctx: Context, type: GpuTypePrices, owner: Account, members: readonly Member[], reservations: readonly ReservationRow[]): void {
  const { from_ms: fromMs, hours } = ctx.e.ctx;
  const active = reservations.map((r) => ({
    r,
    a: Math.max(0, Math.ceil((r.starts_at.getTime() - fromMs) / HOUR_MS)),
    b: Math.min(hours, Math.ceil((r.ends_at.getTime() - fromMs) / HOUR_MS)),
  }));
  const gpus = new Float64Array(hours);
  for (const x of active) for (let h = x.a; h < x.b; h++) gpus[h] += x.r.gpus;
  const total = scopeDemand(members, hours);
  // Idle capacity is shared by each member's demand over the window.
  let totalSum = 0;
  for (let h = 0; h < hours; h++) totalSum += total[h];
  const share = members.map((m) => {
    let s = 0;
    for (let h = 0; h < hours; h++) s += m.demand[h];
    return totalSum > 0 ? s / totalSum : 1 / members.length;
  });
  const m = members.length;
  for (const { r, a, b } of active) {
    const rate = r.usd_per_gpu_hour;
    const base = { gpuType: type.name, model: null, tokenClass: null, provider: r.provider, commitment: r, contractedUnitPrice: rate };
    const used = new Float64Array(m);
    const unused = new Float64Array(m);
    let bought = 0;
    byRun(
      ctx,
      type,
      a,
      b,
      (h) => {
        bought += r.gpus;
        const demand = total[h];
        const fill = Math.min(demand, gpus[h]) / gpus[h];
        if (fill > 0) {
          for (let k = 0; k < m; k++) {
            const d = members[k].demand[h];
            if (d > 0) used[k] += (r.gpus * fill * d) / demand;
          }
        }
        if (fill < 1) for (let k = 0; k < m; k++) unused[k] += r.gpus * (1 - fill) * share[k];
      },
      (day, o) => {
        out.add({ ...base, day, kind: 'purchase', account: owner, listUnitPrice: rate }, bought, bought * rate, bought * rate);
        for (let k = 0; k < m; k++) {
          out.add({ ...base, day, kind: 'used', account: members[k].account, listUnitPrice: o }, used[k], used[k] * rate, used[k] * o);
          out.add({ ...base, day, kind: 'unused', account: members[k].account, listUnitPrice: o }, unused[k], unused[k] * rate, unused[k] * o);
        }
        bought = 0;
        used.fill(0);
        unused.fill(0);
      },
    );
  }
  onDemandCharges(out, ctx, type, members, gpus, total);
}

/** A token-only customer on the API: each model, token class and price per day, priced as the engine prices each hour. */
function apiCharges(out: Charges, ctx: Context, account: Account, input: CustomerInput): void {
  const { from_ms: fromMs, hours, segments } = ctx.e.ctx;
  const t = input.tokens;
  for (let k = 0; k < t.length; k++) {
    const i = t.rows[k];
    const h = (t.epoch_hour[i] * HOUR_MS - fromMs) / HOUR_MS;
    if (h < 0 || h >= hours) continue;
    const segment = segments.find((s) => s.start <= h && h < s.end);
    const model = t.models[t.model[i]];
    const candidates = segment?.api.get(model);
    if (!candidates || candidates.length === 0) continue;
    const row = {
      hour: t.epoch_hour[i] * HOUR_MS, model, input_tokens: t.input_tokens[i], cached_input_tokens: t.cached_input_tokens[i],
      cache_write_input_tokens: t.cache_write_input_tokens[i], output_tokens: t.output_tokens[i],
    };
    const offer = candidates.length === 1 ? candidates[0] : cheapestApiOffer(candidates, row);
    const prices: Record<TokenClass, number> = {
      input: offer.usd_per_mtok_input,
      cached_input: offer.usd_per_mtok_cached_input ?? offer.usd_per_mtok_input,
      cache_write_input: offer.usd_per_mtok_cache_write ?? offer.usd_per_mtok_input,
      output: offer.usd_per_mtok_output,
    };
    const counts: Record<TokenClass, number> = {
      input: uncachedInputTokens(row),
      cached_input: row.cached_input_tokens,
      cache_write_input: row.cache_write_input_tokens,
      output: row.output_tokens,
    };
    const day = ctx.dayOf(h);
    for (const cls of Object.keys(counts) as TokenClass[]) {
      const p = prices[cls];
      const cost = (counts[cls] * p) / 1e6;
      out.add({ day, kind: 'api', account, gpuType: null, model, tokenClass: cls, provider: offer.provider, commitment: null, listUnitPrice: p, contractedUnitPrice: p }, counts[cls], cost, cost);
    }
  }
}

/** What one customer pays when it stands alone: its reservations (+ overflow), else the API or on-demand GPUs. */
function standaloneCharges(out: Charges, ctx: Context, result: ScopeResult, basis: 'current' | 'api' | 'on_demand'): void {
  const id = result.scope.customer_id!;
  const account = customerAccount(ctx.names.get(id)!);
  const member = { account, demand: result.series.demand };
  if (basis === 'current') {
    const own = ctx.e.reservations.filter((r) => r.customer_id === id && r.gpu_type_id === result.gpu_type.id);
    reservationCharges(out, ctx, result.gpu_type, account, [member], own);
  } else if (basis === 'on_demand') {
    onDemandCharges(out, ctx, result.gpu_type, [member], null, scopeDemand([member], ctx.e.ctx.hours));
  } else {
    apiCharges(out, ctx, account, ctx.e.inputs.find((c) => c.id === id)!);
  }
}

function unitCharges(ctx: Context, unit: Unit): Charge[] {
  const out = new Charges();
  const { e } = ctx;
  const primaryOf = (customerId: number) => e.customers.find((r) => r.primary && r.scope.customer_id === customerId);
  if (unit.kind === 'pool' && unit.current_basis === 'reservation') {
    const pool = e.pools.find((r) => r.primary && r.gpu_type.name === unit.gpu_type && e.poolsById.get(r.scope.pool_id!)?.name === unit.name)!;
    const type = pool.gpu_type;
    const poolId = pool.scope.pool_id!;
    // The pool document's members: every customer of the pool, each with its demand on the pool's type.
    const members: Member[] = e.inputs
      .filter((c) => c.pool_id === poolId)
      .map((c) => {
        const own = e.customers.find((r) => r.scope.customer_id === c.id && r.gpu_type.id === type.id);
        const series = own?.series ?? customerSeries(e.ctx, type, c.telemetry.get(type.id) ?? emptyTelemetry(), c.tokens);
        return { account: customerAccount(ctx.names.get(c.id)!), demand: series.demand };
      });
    const owner: Account = { id: `pool:${unit.name}`, name: unit.name, type: 'Pool', pool: unit.name };
    const own = e.reservations.filter((r) => r.pool_id === poolId && r.gpu_type_id === type.id);
    reservationCharges(out, ctx, type, owner, members, own);
  } else {
    // A customer alone, or a pool without a reservation: each member pays as it would alone.
    for (const slug of unit.members) {
      const result = primaryOf(ctx.idOf.get(slug)!)!;
      const row = result.document;
      const basis = row.current ? 'current' : result.series.telemetry_hours === 0 || row.all_on_demand_usd === null ? 'api' : 'on_demand';
      standaloneCharges(out, ctx, result, basis);
    }
  }
  return [...out.map.values()];
}

interface Rounded {
  billed: number;
  effective: number;
  list: number;
}

/**
 * Cents for a unit's charges: the unit's cents (its share of the export's total) go to its groups — each
 * commitment, and the rest — by largest remainder; a commitment's cents go once to its Purchase rows (BilledCost)
 * and once to its Used/Unused rows (EffectiveCost), so the two sides agree to the cent; other rows are billed
 * what they cost (BilledCost = EffectiveCost).
 */
function roundUnit(charges: readonly Charge[], unitCents: number): Rounded[] {
  const groups = new Map<string, number[]>();
  charges.forEach((c, i) => {
    const key = c.commitment ? `c${c.commitment.id}` : 'rest';
    const list = groups.get(key) ?? [];
    list.push(i);
    groups.set(key, list);
  });
  const keys = [...groups.keys()];
  const totals = keys.map((k) => groups.get(k)!.reduce((s, i) => s + (charges[i].kind === 'used' || charges[i].kind === 'unused' ? 0 : charges[i].cost), 0));
  const groupCents = keys.length ? allocateUnits(totals, 100, unitCents) : [];
  const out: Rounded[] = charges.map((c) => ({ billed: 0, effective: 0, list: roundUnits(c.listCost) }));
  keys.forEach((key, g) => {
    const members = groups.get(key)!;
    if (key === 'rest') {
      const cents = allocateUnits(members.map((i) => charges[i].cost), 100, groupCents[g]);
      members.forEach((i, k) => {
        out[i].billed = out[i].effective = out[i].list = cents[k];
      });
      return;
    }
    const purchases = members.filter((i) => charges[i].kind === 'purchase');
    const usage = members.filter((i) => charges[i].kind !== 'purchase');
    allocateUnits(purchases.map((i) => charges[i].cost), 100, groupCents[g]).forEach((c, k) => (out[purchases[k]].billed = c));
    allocateUnits(usage.map((i) => charges[i].cost), 100, groupCents[g]).forEach((c, k) => (out[usage[k]].effective = c));
  });
  return out;
}

const SERVICE: Record<Kind, string> = {
  purchase: 'Reserved GPUs',
  used: 'Reserved GPUs',
  unused: 'Reserved GPUs',
  on_demand: 'On-demand GPUs',
  api: 'Inference API',
};

function description(c: Charge): string {
  const r = c.commitment;
  switch (c.kind) {
    case 'purchase':
      return `Reservation ${r!.id}: ${r!.gpus} × ${c.gpuType} at ${r!.usd_per_gpu_hour} USD per GPU-hour`;
    case 'used':
      return `${c.gpuType} GPU-hours of reservation ${r!.id} used by ${c.account.id}`;
    case 'unused':
      return `Idle ${c.gpuType} GPU-hours of reservation ${r!.id}, shown back to ${c.account.id}`;
    case 'on_demand':
      return `On-demand ${c.gpuType} GPU-hours`;
    case 'api':
      return `${TOKEN_CLASS_LABEL[c.tokenClass!]} of ${c.model} on the API`;
  }
}

const monthStart = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const nextMonth = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

function focusRow(ctx: Context, c: Charge, r: Rounded): Row {
  const start = (ctx.firstDay + c.day) * DAY_MS;
  const gpu = c.kind !== 'api';
  const commitment = c.commitment;
  const isUsageOfCommitment = c.kind === 'used' || c.kind === 'unused';
  const priced = gpu ? c.quantity : c.quantity / 1e6;
  const q = (x: number) => formatDecimal(x, 6);
  const sku = gpu ? `${c.kind === 'on_demand' ? 'on-demand' : 'reserved'}:${c.gpuType}` : `api:${c.provider}:${c.model}:${c.tokenClass}`;
  const tags: Record<string, string> = {};
  if (c.account.pool) tags.pool = c.account.pool;
  if (c.model) tags.model = c.model;
  if (c.gpuType) tags.gpu_type = c.gpuType;
  const purchase = c.kind === 'purchase';
  return [
    null, // AvailabilityZone
    formatUnits(r.billed),
    BILLING_ACCOUNT_ID,
    'Breakeven',
    'Fleet',
    'USD',
    isoSeconds(nextMonth(start)),
    isoSeconds(monthStart(start)),
    null, // CapacityReservationId
    null, // CapacityReservationStatus
    purchase ? 'Purchase' : 'Usage',
    null, // ChargeClass: null unless a correction
    text(description(c)),
    purchase ? 'Recurring' : 'Usage-Based',
    isoSeconds(start + DAY_MS),
    isoSeconds(start),
    commitment ? 'Usage' : null,
    commitment ? `reservation-${commitment.id}` : null,
    commitment ? text(`${commitment.gpus} × ${c.gpuType}, ${commitment.provider}, ${isoSeconds(commitment.starts_at)} to ${isoSeconds(commitment.ends_at)}`) : null,
    commitment ? q(c.quantity) : null,
    c.kind === 'used' ? 'Used' : c.kind === 'unused' ? 'Unused' : null,
    commitment ? 'Reservation' : null,
    commitment ? GPU_HOURS : null,
    // Consumed: what was used; nothing for a purchase or for idle capacity.
    purchase || c.kind === 'unused' ? null : gpu ? q(c.quantity) : String(c.quantity),
    purchase || c.kind === 'unused' ? null : gpu ? GPU_HOURS : 'Tokens',
    formatUnits(purchase ? r.billed : isUsageOfCommitment ? r.effective : r.billed),
    q(c.contractedUnitPrice),
    formatUnits(r.effective),
    null, // InvoiceId
    text(c.provider),
    formatUnits(r.list),
    q(c.listUnitPrice),
    isUsageOfCommitment ? 'Committed' : 'Standard',
    null, null, null, null, // PricingCurrency…: priced and billed in USD
    q(priced),
    gpu ? GPU_HOURS : MILLION_TOKENS,
    text(c.provider),
    text(c.provider),
    null, null, // RegionId, RegionName
    commitment ? `reservation-${commitment.id}` : gpu ? `gpu:${c.gpuType}` : `model:${c.model}`,
    text(commitment ? `${commitment.gpus} × ${c.gpuType}` : gpu ? `${c.gpuType} GPUs` : c.model),
    gpu ? 'GPU' : 'Model',
    'AI and Machine Learning',
    SERVICE[c.kind],
    'Generative AI',
    text(sku),
    gpu ? GPU_HOURS : TOKEN_CLASS_LABEL[c.tokenClass!],
    JSON.stringify(gpu ? { GpuType: c.gpuType } : { Model: c.model, TokenClass: c.tokenClass }),
    text(`${sku}@${c.listUnitPrice}`),
    text(c.account.id),
    text(c.account.name),
    c.account.type,
    JSON.stringify(tags),
  ];
}

/**
 * The FOCUS rows of a period. It evaluates the period afresh (the dashboard's cache keeps no hourly series),
 * then writes unit by unit: the file's BilledCost and EffectiveCost each add up to the overview's "current"
 * total, to the cent.
 */
export async function focusExport(db: Db, period: ExportPeriod): Promise<CsvExport & { totalUsd: number }> {
  const window = { from: period.from, to: period.to };
  const e = await withEvaluationSlot(() => evaluateWindow(db, { ...window, overflow: 'on_demand' }));
  const fleet = fleetOf(e, window, 'on_demand');
  const units = fleetTotals(fleet).units;
  const firstDay = Math.floor(e.ctx.from_ms / DAY_MS);
  const ctx: Context = {
    e,
    firstDay,
    dayOf: (h) => Math.floor((e.ctx.from_ms + h * HOUR_MS) / DAY_MS) - firstDay,
    names: new Map(fleet.customers.map((c) => [c.id, { slug: c.slug, name: c.name, pool: c.pool }])),
    idOf: new Map(fleet.customers.map((c) => [c.slug, c.id])),
  };
  const unitCents = allocateUnits(units.map((u) => u.current_usd));
  function* lines(): Generator<Row> {
    for (let k = 0; k < units.length; k++) {
      const charges = unitCharges(ctx, units[k]);
      const rounded = roundUnit(charges, unitCents[k]);
      const order = charges.map((_, i) => i).sort((a, b) => charges[a].day - charges[b].day || (charges[a].account.id < charges[b].account.id ? -1 : charges[a].account.id > charges[b].account.id ? 1 : 0));
      for (const i of order) yield focusRow(ctx, charges[i], rounded[i]);
    }
  }
  return {
    filename: periodFilename('focus', period),
    header: FOCUS_COLUMNS,
    rows: lines(),
    totalUsd: units.reduce((s, u) => s + u.current_usd, 0),
  };
}
