// The FOCUS 1.2 cost-and-usage export: what each customer's usage costs today, as charges a finance tool can
// ingest. It mirrors the overview's "current" figure unit by unit (fleet-totals.server.ts): a pool's shared
// reservations, or a customer's own, as Purchase rows amortised into Used/Unused commitment usage per customer;
// demand above the reservation as on-demand GPU usage; customers without reservations on on-demand GPUs
// (telemetry) or on the inference API (tokens only). One row per customer × UTC day × charge.
// Mapping and rounding: docs/decisions/050-exports.md.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Db } from '../../../db/client.js';
import type { ReservationRow } from '../../../db/queries/reservations.js';
import { allocateUnits, formatDecimal, formatUnits, roundUnits } from '../../domain/rounding.js';
import { tokenClassPrices, uncachedInputTokens } from '../../domain/tokens.js';
import { HOUR_MS } from '../../domain/types.js';
import { emptyTelemetry } from '../costing/columns.js';
import type { CustomerInput, ScopeResult } from '../costing/evaluate.js';
import type { GpuTypePrices } from '../costing/prices.js';
import { cheapestApiOffer, customerSeries } from '../costing/series.js';
import type { WindowEvaluation } from '../costing.server.js';
import { fleetTotals, type Unit } from '../dashboard/fleet-totals.server.js';
import { fleetOf, windowDays, type FleetEvaluation } from '../dashboard/fleet.server.js';
import { withEvaluationSlot } from '../dashboard/limit.server.js';
import { csvCell, CsvText, text, type Cell, type CsvExport, type Text } from './csv.server.js';
import { evaluateByPool } from './fleet-stream.server.js';
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

const TOKEN_CLASSES: TokenClass[] = ['input', 'cached_input', 'cache_write_input', 'output'];

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
  /** Everything that identifies the charge but its day: rows of one identity differ only in dates and figures. */
  identity: string;
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

  add(c: Omit<Charge, 'quantity' | 'cost' | 'listCost' | 'identity'>, quantity: number, cost: number, listCost: number): void {
    if (!(quantity > 0)) return;
    const identity = `${c.kind}|${c.account.id}|${c.gpuType}|${c.model}|${c.tokenClass}|${c.provider}|${c.commitment?.id ?? ''}|${c.listUnitPrice}|${c.contractedUnitPrice}`;
    const key = `${c.day}|${identity}`;
    const known = this.map.get(key);
    if (known) {
      known.quantity += quantity;
      known.cost += cost;
      known.listCost += listCost;
    } else this.map.set(key, { ...c, identity, quantity, cost, listCost });
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
  /** Per day of the period, its charge and billing periods as written (formatted once, not once a row). */
  dates: { start: string; end: string; monthStart: string; monthEnd: string }[];
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

type ApiOffer = ReturnType<typeof cheapestApiOffer>;

/**
 * A token-only customer on the API: each model, token class and price per day, priced as the engine prices each
 * hour. This runs for every token row of the period, so a day's sums are kept per offer (the offer fixes the model,
 * provider and prices) in flat arrays indexed by day and class, not under a key built per row.
 */
function apiCharges(out: Charges, ctx: Context, account: Account, input: CustomerInput): void {
  const { from_ms: fromMs, hours, segments } = ctx.e.ctx;
  const t = input.tokens;
  const days = ctx.dates.length;
  const sums = new Map<ApiOffer, { model: string; prices: readonly number[]; quantity: Float64Array; cost: Float64Array }>();
  let segment: (typeof segments)[number] | undefined = segments[0];
  const counts = [0, 0, 0, 0];
  // One row object, refilled per token row (cheapestApiOffer and uncachedInputTokens read it).
  const row = { hour: 0, model: '', input_tokens: 0, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 0 };
  for (let k = 0; k < t.length; k++) {
    const i = t.rows[k];
    const h = (t.epoch_hour[i] * HOUR_MS - fromMs) / HOUR_MS;
    if (h < 0 || h >= hours) continue;
    // Rows come mostly in hour order: the last row's segment is tried first.
    if (!segment || h < segment.start || h >= segment.end) segment = segments.find((s) => s.start <= h && h < s.end);
    const model = t.models[t.model[i]];
    const candidates = segment?.api.get(model);
    if (!candidates || candidates.length === 0) continue;
    row.hour = t.epoch_hour[i] * HOUR_MS;
    row.model = model;
    row.input_tokens = t.input_tokens[i];
    counts[1] = row.cached_input_tokens = t.cached_input_tokens[i];
    counts[2] = row.cache_write_input_tokens = t.cache_write_input_tokens[i];
    counts[3] = row.output_tokens = t.output_tokens[i];
    counts[0] = uncachedInputTokens(row);
    const offer = candidates.length === 1 ? candidates[0] : cheapestApiOffer(candidates, row);
    let sum = sums.get(offer);
    if (!sum) sums.set(offer, (sum = { model, prices: tokenClassPrices(offer), quantity: new Float64Array(days * 4), cost: new Float64Array(days * 4) }));
    const at = ctx.dayOf(h) * 4;
    for (let c = 0; c < 4; c++) {
      const quantity = counts[c];
      if (!(quantity > 0)) continue;
      sum.quantity[at + c] += quantity;
      sum.cost[at + c] += (quantity * sum.prices[c]) / 1e6;
    }
  }
  // Two offers at the same price for a model, class and day make one row, as one price makes one row.
  for (const [offer, { model, prices, quantity, cost }] of sums) {
    for (let at = 0; at < quantity.length; at++) {
      if (!(quantity[at] > 0)) continue;
      const p = prices[at % 4];
      const charge = { day: Math.floor(at / 4), kind: 'api' as const, account, gpuType: null, model, tokenClass: TOKEN_CLASSES[at % 4], provider: offer.provider, commitment: null, listUnitPrice: p, contractedUnitPrice: p };
      out.add(charge, quantity[at], cost[at], cost[at]);
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

/** The dates of the period's days, as the rows write them. */
function periodDates(firstDay: number, days: number): Context['dates'] {
  return Array.from({ length: days }, (_, d) => {
    const start = (firstDay + d) * DAY_MS;
    return { start: isoSeconds(start), end: isoSeconds(start + DAY_MS), monthStart: isoSeconds(monthStart(start)), monthEnd: isoSeconds(nextMonth(start)) };
  });
}

/** A reservation's CommitmentDiscountName, formatted once per reservation. */
const commitmentNames = new WeakMap<ReservationRow, string>();
function commitmentName(r: ReservationRow, gpuType: string | null): string {
  let name = commitmentNames.get(r);
  if (name === undefined) commitmentNames.set(r, (name = `${r.gpus} × ${gpuType}, ${r.provider}, ${isoSeconds(r.starts_at)} to ${isoSeconds(r.ends_at)}`));
  return name;
}

const quantity6 = (x: number) => formatDecimal(x, 6);

/** The cells of a row that change from day to day among rows of one charge identity, formatted. */
interface RowFigures {
  billed: string;
  contracted: string;
  effective: string;
  list: string;
  monthEnd: string;
  monthStart: string;
  end: string;
  start: string;
  commitmentQuantity: string;
  consumed: string;
  priced: string;
}

function rowFigures(ctx: Context, c: Charge, r: Rounded): RowFigures {
  const dates = ctx.dates[c.day];
  const gpu = c.kind !== 'api';
  const isUsageOfCommitment = c.kind === 'used' || c.kind === 'unused';
  return {
    billed: formatUnits(r.billed),
    contracted: formatUnits(isUsageOfCommitment ? r.effective : r.billed),
    effective: formatUnits(r.effective),
    list: formatUnits(r.list),
    monthEnd: dates.monthEnd,
    monthStart: dates.monthStart,
    end: dates.end,
    start: dates.start,
    commitmentQuantity: c.commitment ? quantity6(c.quantity) : '',
    consumed: gpu ? quantity6(c.quantity) : String(c.quantity),
    priced: quantity6(gpu ? c.quantity : c.quantity / 1e6),
  };
}

function focusRow(c: Charge, f: { [K in keyof RowFigures]: string | Slot }): (Cell | Text | Slot)[] {
  const gpu = c.kind !== 'api';
  const commitment = c.commitment;
  const isUsageOfCommitment = c.kind === 'used' || c.kind === 'unused';
  const sku = gpu ? `${c.kind === 'on_demand' ? 'on-demand' : 'reserved'}:${c.gpuType}` : `api:${c.provider}:${c.model}:${c.tokenClass}`;
  const tags: Record<string, string> = {};
  if (c.account.pool) tags.pool = c.account.pool;
  if (c.model) tags.model = c.model;
  if (c.gpuType) tags.gpu_type = c.gpuType;
  const purchase = c.kind === 'purchase';
  return [
    null, // AvailabilityZone
    f.billed,
    BILLING_ACCOUNT_ID,
    'Breakeven',
    'Fleet',
    'USD',
    f.monthEnd,
    f.monthStart,
    null, // CapacityReservationId
    null, // CapacityReservationStatus
    purchase ? 'Purchase' : 'Usage',
    null, // ChargeClass: null unless a correction
    text(description(c)),
    purchase ? 'Recurring' : 'Usage-Based',
    f.end,
    f.start,
    commitment ? 'Usage' : null,
    commitment ? `reservation-${commitment.id}` : null,
    commitment ? text(commitmentName(commitment, c.gpuType)) : null,
    commitment ? f.commitmentQuantity : null,
    c.kind === 'used' ? 'Used' : c.kind === 'unused' ? 'Unused' : null,
    commitment ? 'Reservation' : null,
    commitment ? GPU_HOURS : null,
    // Consumed: what was used; nothing for a purchase or for idle capacity.
    purchase || c.kind === 'unused' ? null : f.consumed,
    purchase || c.kind === 'unused' ? null : gpu ? GPU_HOURS : 'Tokens',
    f.contracted,
    quantity6(c.contractedUnitPrice),
    f.effective,
    null, // InvoiceId
    text(c.provider),
    f.list,
    quantity6(c.listUnitPrice),
    isUsageOfCommitment ? 'Committed' : 'Standard',
    null, null, null, null, // PricingCurrency…: priced and billed in USD
    f.priced,
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

const compareText = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);

/**
 * A unit's rows by day, account, then model, token class and price; the rest (a reservation's purchase, used,
 * unused and on-demand rows) in the order they were priced. Not the order token rows were read in: that follows
 * where PostgreSQL happens to keep them, and the same data must give the same file.
 */
function rowOrder(a: Charge, b: Charge): number {
  return (
    a.day - b.day ||
    compareText(a.account.id, b.account.id) ||
    compareText(a.model, b.model) ||
    (a.tokenClass && b.tokenClass ? TOKEN_CLASSES.indexOf(a.tokenClass) - TOKEN_CLASSES.indexOf(b.tokenClass) : 0) ||
    (a.kind === 'api' && b.kind === 'api' ? a.listUnitPrice - b.listUnitPrice : 0)
  );
}

const FIGURES = ['billed', 'contracted', 'effective', 'list', 'monthEnd', 'monthStart', 'end', 'start', 'commitmentQuantity', 'consumed', 'priced'] as const;

/** Where a figure goes in a record template. */
class Slot {
  constructor(readonly figure: keyof RowFigures) {}
}

const SLOTS = Object.fromEntries(FIGURES.map((k) => [k, new Slot(k)])) as { [K in keyof RowFigures]: Slot };

/** A charge identity's record with its figures left out: the text between them, and which figure goes where. */
interface RowTemplate {
  pieces: string[];
  figures: (keyof RowFigures)[];
}

/**
 * Why: formatting 57 cells (and checking each for quoting and formulas) was most of the file's writing time,
 * yet rows of one identity — a customer's charge of one kind, model, price and commitment — differ only in their
 * dates and figures. The record is written once per identity, cell by cell as csvLine writes it, with a slot for
 * each figure, and each row fills the slots in: figures are numbers and dates, which csvLine writes as they are,
 * so a row is the same bytes as csvLine(focusRow(…)) of it.
 */
function rowTemplate(c: Charge): RowTemplate {
  const pieces = [''];
  const figures: (keyof RowFigures)[] = [];
  focusRow(c, SLOTS).forEach((cell, i) => {
    if (i > 0) pieces[pieces.length - 1] += ',';
    if (cell instanceof Slot) {
      figures.push(cell.figure);
      pieces.push('');
    } else pieces[pieces.length - 1] += csvCell(cell);
  });
  pieces[pieces.length - 1] += '\r\n';
  return { pieces, figures };
}

function fillTemplate(t: RowTemplate, f: RowFigures): string {
  let line = t.pieces[0];
  for (let i = 0; i < t.figures.length; i++) line += f[t.figures[i]] + t.pieces[i + 1];
  return line;
}

/** A unit's rows, written to the spill file with its floor cents; `plusOne` are the rows that differ with a cent more. */
interface SpilledUnit {
  name: string;
  current_usd: number;
  /** ⌊current_usd·100⌋ as allocateUnits computes it: the unit's share is this or one cent more. */
  floor: number;
  offset: number;
  bytes: number;
  rows: number;
  plusOne: { start: number; end: number; line: string }[];
}

/**
 * The formatted rows of every unit, on disk until the file's total is known. Why: a unit's cents are its share of
 * the file's total by largest remainder, which depends on every unit — known only once the whole period is
 * evaluated — while the rows of a year do not fit in memory. Each unit is written with its floor share and the
 * few rows that change with one cent more (allocateUnits gives each unit its floor or one cent more).
 */
class UnitSpill {
  private constructor(private readonly fd: number) {}

  private size = 0;

  /** An anonymous file: unlinked once open, so nothing is left on disk whatever ends the process. */
  static open(): UnitSpill {
    const dir = mkdtempSync(path.join(tmpdir(), 'breakeven-focus-'));
    try {
      return new UnitSpill(openSync(path.join(dir, 'rows'), 'w+'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  add(ctx: Context, unit: Unit): SpilledUnit {
    const charges = unitCharges(ctx, unit);
    const floor = Math.floor(unit.current_usd * 100 + 1e-9);
    const rounded = roundUnit(charges, floor);
    const more = roundUnit(charges, floor + 1);
    const order = charges.map((_, i) => i).sort((a, b) => rowOrder(charges[a], charges[b]));
    // Written 64 kB at a time: memory holds a few rows of a unit, not its text (a year of a pool is ~10 MB).
    const offset = this.size;
    let text = '';
    let bytes = 0;
    const plusOne: SpilledUnit['plusOne'] = [];
    const templates = new Map<string, RowTemplate>();
    const lineOf = (c: Charge, r: Rounded) => {
      let t = templates.get(c.identity);
      if (!t) templates.set(c.identity, (t = rowTemplate(c)));
      return fillTemplate(t, rowFigures(ctx, c, r));
    };
    for (const i of order) {
      const line = lineOf(charges[i], rounded[i]);
      const length = Buffer.byteLength(line);
      const r = rounded[i];
      const m = more[i];
      if (r.billed !== m.billed || r.effective !== m.effective || r.list !== m.list) {
        plusOne.push({ start: bytes, end: bytes + length, line: lineOf(charges[i], m) });
      }
      text += line;
      bytes += length;
      if (text.length >= 64 * 1024) {
        this.size += writeSync(this.fd, text, this.size, 'utf8');
        text = '';
      }
    }
    this.size += writeSync(this.fd, text, this.size, 'utf8');
    if (this.size - offset !== bytes) throw new Error('the FOCUS spill file was not written whole');
    return { name: unit.name, current_usd: unit.current_usd, floor, offset, bytes, rows: charges.length, plusOne };
  }

  /** Read buffer, reused: pieces are handed over as (young, cheaply collected) strings, not as fresh buffers. */
  private readonly buf = Buffer.allocUnsafe(64 * 1024);

  /** A unit's rows with its share of the total in cents, in pieces of at most 64 kB (the last one counts the rows). */
  *read(unit: SpilledUnit, cents: number): Generator<CsvText> {
    if (cents !== unit.floor && cents !== unit.floor + 1) throw new Error(`unit ${unit.name}: ${cents} cents is not its floor share or one more`);
    const edits = cents === unit.floor ? [] : unit.plusOne;
    const rows = (end: number) => (end === unit.bytes ? unit.rows : 0);
    const decoder = new StringDecoder('utf8');
    let at = 0;
    let edit = 0;
    while (at < unit.bytes) {
      const next = edit < edits.length ? edits[edit].start : unit.bytes;
      if (at === next) {
        at = edits[edit].end;
        yield new CsvText(edits[edit++].line, rows(at));
        continue;
      }
      const got = readSync(this.fd, this.buf, 0, Math.min(this.buf.length, next - at), unit.offset + at);
      if (got <= 0) throw new Error('the FOCUS spill file ended early');
      at += got;
      // A piece may end inside a character: the decoder keeps its first bytes for the next piece.
      yield new CsvText(decoder.write(this.buf.subarray(0, got)), rows(at));
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The FOCUS rows of a period, evaluated pool by pool (fleet-stream.server.ts) as the first row is asked for. Each
 * unit (fleet-totals.server.ts: a pool on its reservation, or a customer) is priced as the overview prices it, and
 * its rows written to disk; once every unit is known, the file's total (= the overview's "current" total) is shared
 * out to the units and their rows read back, largest unit first: BilledCost and EffectiveCost each add up to it,
 * to the cent. Memory holds one pool's evaluation and one unit's rows.
 */
export async function focusExport(
  db: Db,
  period: ExportPeriod,
  // Tests pass one evaluation of the whole fleet here, to hold the pool-by-pool file to it.
  evaluations: (window: { from: Date; to: Date }) => AsyncIterable<WindowEvaluation> = (window) => evaluateByPool(db, window, { pools: true }),
): Promise<CsvExport> {
  const window = { from: period.from, to: period.to };
  const dates = periodDates(Math.floor(period.from.getTime() / DAY_MS), windowDays(period.from, period.to).length);
  async function* records(): AsyncGenerator<CsvText> {
    const spill = UnitSpill.open();
    try {
      const units = await withEvaluationSlot(async () => {
        const out: SpilledUnit[] = [];
        for await (const e of evaluations(window)) {
          const ctx = contextOf(e, window, dates);
          for (const unit of fleetTotals(ctx.fleet).units) out.push(spill.add(ctx, unit));
        }
        return out;
      });
      // fleetTotals' order: what is paid, most first.
      units.sort((a, b) => b.current_usd - a.current_usd || (a.name < b.name ? -1 : 1));
      const cents = allocateUnits(units.map((u) => u.current_usd));
      for (let k = 0; k < units.length; k++) yield* spill.read(units[k], cents[k]);
    } finally {
      spill.close();
    }
  }
  return { filename: periodFilename('focus', period), header: FOCUS_COLUMNS, rows: records() };
}

/** What the charge builders need of one group's evaluation. */
function contextOf(e: WindowEvaluation, window: { from: Date; to: Date }, dates: Context['dates']): Context & { fleet: FleetEvaluation } {
  const fleet = fleetOf(e, window, 'on_demand');
  const firstDay = Math.floor(e.ctx.from_ms / DAY_MS);
  return {
    e,
    fleet,
    firstDay,
    dayOf: (h) => Math.floor((e.ctx.from_ms + h * HOUR_MS) / DAY_MS) - firstDay,
    names: new Map(fleet.customers.map((c) => [c.id, { slug: c.slug, name: c.name, pool: c.pool }])),
    idOf: new Map(fleet.customers.map((c) => [c.slug, c.id])),
    dates,
  };
}
