// The FOCUS 1.2 cost-and-usage export: what each customer's usage costs today, as charges a finance tool can
// ingest. It mirrors the overview's "current" figure unit by unit (fleet-totals.server.ts): a pool's shared
// reservations, or a customer's own, as Purchase rows amortised into Used/Unused commitment usage per customer;
// demand above the reservation as on-demand GPU usage; customers without reservations on on-demand GPUs
// (telemetry) or on the inference API (tokens only). One row per customer × UTC day × charge.
// Mapping and rounding: docs/decisions/050-exports.md.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '../../../db/client.js';
import type { ReservationRow } from '../../../db/queries/reservations.js';
import { allocateUnits, formatDecimal, roundUnits } from '../../domain/rounding.js';
import { tokenClassPrices, uncachedInputTokens } from '../../domain/tokens.js';
import { HOUR_MS } from '../../domain/types.js';
import type { CustomerInput, ScopeResult } from '../costing/evaluate.js';
import type { GpuTypePrices } from '../costing/prices.js';
import { cheapestApiOffer } from '../costing/series.js';
import type { WindowEvaluation } from '../costing.server.js';
import { fleetTotals, type Unit } from '../dashboard/fleet-totals.server.js';
import { fleetOf, windowDays, type FleetEvaluation } from '../dashboard/fleet.server.js';
import { withEvaluationSlot } from '../dashboard/limit.server.js';
import { CsvBytes, csvCell, CsvText, text, type Cell, type CsvExport, type Text } from './csv.server.js';
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

/** Everything that identifies a charge but its day: rows of one identity differ only in dates and figures. */
interface Identity {
  kind: Kind;
  account: Account;
  gpuType: string | null;
  model: string | null;
  tokenClass: TokenClass | null;
  provider: string;
  commitment: ReservationRow | null;
  listUnitPrice: number;
  contractedUnitPrice: number;
}

/**
 * A unit's charges: one per identity and day (a day whose unit price changed gets one per price), in the order
 * first added, as flat columns. Why not an object keyed by a string per charge: a year of a fleet adds ~1.5 million
 * charges, and building their keys and objects was a third of the export's time and most of its garbage. Builders
 * look an identity up once (per member, kind and price), then add day by day under a numeric key.
 */
class Charges {
  /** `days`: of the period (charges' days are 0 … days − 1). */
  constructor(private readonly days: number) {}

  readonly identities: Identity[] = [];
  private readonly byKey = new Map<string, number>();
  /** identity · days + day → charge. */
  private readonly at = new Map<number, number>();
  readonly identity: number[] = [];
  readonly day: number[] = [];
  /** GPU-hours, or tokens for API rows (priced per million). */
  readonly quantity: number[] = [];
  /** Unrounded USD: what is billed (purchases, on-demand, API) or amortised (commitment usage). */
  readonly cost: number[] = [];
  readonly listCost: number[] = [];

  get length(): number {
    return this.day.length;
  }

  identityOf(c: Identity): number {
    const key = `${c.kind}|${c.account.id}|${c.gpuType}|${c.model}|${c.tokenClass}|${c.provider}|${c.commitment?.id ?? ''}|${c.listUnitPrice}|${c.contractedUnitPrice}`;
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.identities.length;
      this.identities.push(c);
      this.byKey.set(key, i);
    }
    return i;
  }

  add(identity: number, day: number, quantity: number, cost: number, listCost: number): void {
    if (!(quantity > 0)) return;
    const key = identity * this.days + day;
    const i = this.at.get(key);
    if (i !== undefined) {
      this.quantity[i] += quantity;
      this.cost[i] += cost;
      this.listCost[i] += listCost;
      return;
    }
    this.at.set(key, this.day.length);
    this.identity.push(identity);
    this.day.push(day);
    this.quantity.push(quantity);
    this.cost.push(cost);
    this.listCost.push(listCost);
  }
}

/** Identities looked up for an on-demand rate, again only when the rate changes (it rarely does within a period). */
function perRate(identities: (rate: number) => number[]): (rate: number) => number[] {
  let known = NaN;
  let ids: number[] = [];
  return (rate) => {
    if (rate !== known) {
      known = rate;
      ids = identities(rate);
    }
    return ids;
  };
}

interface Member {
  account: Account;
  demand: ArrayLike<number>;
}

interface Context {
  e: WindowEvaluation;
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

/** Σ_members d(h), hour by hour (a lone member's own series: the sum would be a copy of it). */
function scopeDemand(members: readonly Member[], hours: number): ArrayLike<number> {
  if (members.length === 1) return members[0].demand;
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
function onDemandCharges(out: Charges, ctx: Context, type: GpuTypePrices, members: readonly Member[], reserved: ArrayLike<number> | null, total: ArrayLike<number>): void {
  const provider = providersOf(type);
  const demands = members.map((m) => m.demand);
  const identities = perRate((o) =>
    members.map((m) =>
      out.identityOf({ kind: 'on_demand', account: m.account, gpuType: type.name, model: null, tokenClass: null, provider, commitment: null, listUnitPrice: o, contractedUnitPrice: o }),
    ),
  );
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
      for (let k = 0; k < demands.length; k++) {
        const d = demands[k][h];
        if (d > 0) qty[k] += (over * d) / all;
      }
    },
    (day, o) => {
      const ids = identities(o);
      for (let k = 0; k < qty.length; k++) out.add(ids[k], day, qty[k], qty[k] * o, qty[k] * o);
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
  const demands = members.map((x) => x.demand);
  for (const { r, a, b } of active) {
    const rate = r.usd_per_gpu_hour;
    const base = { gpuType: type.name, model: null, tokenClass: null, provider: r.provider, commitment: r, contractedUnitPrice: rate };
    const purchase = out.identityOf({ ...base, kind: 'purchase', account: owner, listUnitPrice: rate });
    const usedIds = perRate((o) => members.map((x) => out.identityOf({ ...base, kind: 'used', account: x.account, listUnitPrice: o })));
    const unusedIds = perRate((o) => members.map((x) => out.identityOf({ ...base, kind: 'unused', account: x.account, listUnitPrice: o })));
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
            const d = demands[k][h];
            if (d > 0) used[k] += (r.gpus * fill * d) / demand;
          }
        }
        if (fill < 1) for (let k = 0; k < m; k++) unused[k] += r.gpus * (1 - fill) * share[k];
      },
      (day, o) => {
        out.add(purchase, day, bought, bought * rate, bought * rate);
        const usedId = usedIds(o);
        const unusedId = unusedIds(o);
        for (let k = 0; k < m; k++) {
          out.add(usedId[k], day, used[k], used[k] * rate, used[k] * o);
          out.add(unusedId[k], day, unused[k], unused[k] * rate, unused[k] * o);
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
    const ids = TOKEN_CLASSES.map((tokenClass, c) =>
      out.identityOf({ kind: 'api', account, gpuType: null, model, tokenClass, provider: offer.provider, commitment: null, listUnitPrice: prices[c], contractedUnitPrice: prices[c] }),
    );
    for (let at = 0; at < quantity.length; at++) out.add(ids[at % 4], Math.floor(at / 4), quantity[at], cost[at], cost[at]);
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

function unitCharges(ctx: Context, unit: Unit): Charges {
  const out = new Charges(ctx.dates.length);
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
        return { account: customerAccount(ctx.names.get(c.id)!), demand: e.series.get(c, type).demand };
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
  return out;
}

/** A unit's charges as read back from the spill file: what rounding and the rows need of them. */
interface UnitRows {
  identities: readonly Identity[];
  identity: ArrayLike<number>;
  day: ArrayLike<number>;
  quantity: ArrayLike<number>;
  cost: ArrayLike<number>;
  listCost: ArrayLike<number>;
  length: number;
}

/** Cents of each charge. */
interface Rounded {
  billed: Float64Array;
  effective: Float64Array;
  list: Float64Array;
}

/**
 * Cents for a unit's charges: the unit's cents (its share of the export's total) go to its groups — each
 * commitment, and the rest — by largest remainder; a commitment's cents go once to its Purchase rows (BilledCost)
 * and once to its Used/Unused rows (EffectiveCost), so the two sides agree to the cent; other rows are billed
 * what they cost (BilledCost = EffectiveCost).
 */
function roundUnit(u: UnitRows, order: Int32Array, unitCents: number): Rounded {
  const n = u.length;
  const kindOf = (i: number) => u.identities[u.identity[i]].kind;
  // Groups and their charges in the rows' order: ties between remainders go to the earlier row of the file.
  const groups = new Map<string, number[]>();
  for (const i of order) {
    const commitment = u.identities[u.identity[i]].commitment;
    const key = commitment ? `c${commitment.id}` : 'rest';
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  }
  const keys = [...groups.keys()];
  const totals = keys.map((k) => groups.get(k)!.reduce((s, i) => s + (kindOf(i) === 'used' || kindOf(i) === 'unused' ? 0 : u.cost[i]), 0));
  const groupCents = keys.length ? allocateUnits(totals, 100, unitCents) : [];
  const out: Rounded = { billed: new Float64Array(n), effective: new Float64Array(n), list: new Float64Array(n) };
  for (let i = 0; i < n; i++) out.list[i] = roundUnits(u.listCost[i]);
  keys.forEach((key, g) => {
    const members = groups.get(key)!;
    if (key === 'rest') {
      const cents = allocateUnits(members.map((i) => u.cost[i]), 100, groupCents[g]);
      members.forEach((i, k) => {
        out.billed[i] = out.effective[i] = out.list[i] = cents[k];
      });
      return;
    }
    const purchases = members.filter((i) => kindOf(i) === 'purchase');
    const usage = members.filter((i) => kindOf(i) !== 'purchase');
    allocateUnits(purchases.map((i) => u.cost[i]), 100, groupCents[g]).forEach((c, k) => (out.billed[purchases[k]] = c));
    allocateUnits(usage.map((i) => u.cost[i]), 100, groupCents[g]).forEach((c, k) => (out.effective[usage[k]] = c));
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

function description(c: Identity): string {
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

/** A row of an identity, its day-to-day figures left as slots (rowTemplate). */
function focusRow(c: Identity): (Cell | Text | Slot)[] {
  const f = SLOTS;
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
function rowOrder(u: UnitRows): Int32Array {
  // Identities ranked by account, model, token class and (API) price; equal ones share a rank.
  const byIdentity = (a: Identity, b: Identity) =>
    compareText(a.account.id, b.account.id) ||
    compareText(a.model, b.model) ||
    (a.tokenClass && b.tokenClass ? TOKEN_CLASSES.indexOf(a.tokenClass) - TOKEN_CLASSES.indexOf(b.tokenClass) : 0) ||
    (a.kind === 'api' && b.kind === 'api' ? a.listUnitPrice - b.listUnitPrice : 0);
  const ranked = u.identities.map((_, i) => i).sort((a, b) => byIdentity(u.identities[a], u.identities[b]));
  const rank = new Int32Array(u.identities.length);
  ranked.forEach((id, k) => (rank[id] = k > 0 && byIdentity(u.identities[ranked[k - 1]], u.identities[id]) === 0 ? rank[ranked[k - 1]] : k));
  const order = new Int32Array(u.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => u.day[a] - u.day[b] || rank[u.identity[a]] - rank[u.identity[b]] || a - b);
}

/** The cells of a row that change from day to day among rows of one charge identity. */
const FIGURES = ['billed', 'contracted', 'effective', 'list', 'monthEnd', 'monthStart', 'end', 'start', 'commitmentQuantity', 'consumed', 'priced'] as const;
type Figure = (typeof FIGURES)[number];

/** Where a figure goes in a record template. */
class Slot {
  constructor(readonly figure: number) {}
}

const SLOTS = Object.fromEntries(FIGURES.map((k, i) => [k, new Slot(i)])) as Record<Figure, Slot>;

/** A charge identity's record with its figures left out: its UTF-8 bytes between them, and which figure goes where. */
interface RowTemplate {
  pieces: Uint8Array[];
  figures: number[];
  /** The most a row can take: the pieces and FIGURE_BYTES a figure. */
  bytes: number;
}

/** The most bytes a figure takes: a date (20), an amount in cents or a quantity with 6 places below 1e21 (29). */
const FIGURE_BYTES = 32;

/**
 * Why: formatting 57 cells (and checking each for quoting and formulas) was most of the file's writing time,
 * yet rows of one identity — a customer's charge of one kind, model, price and commitment — differ only in their
 * dates and figures. The record is written once per identity, cell by cell as csvLine writes it, with a slot for
 * each figure, and each row fills the slots in: figures are numbers and dates, which csvLine writes as they are,
 * so a row is the same bytes as csvLine(focusRow(…)) of it. Rows go straight into bytes (CsvBytes).
 */
function rowTemplate(c: Identity): RowTemplate {
  const pieces = [''];
  const figures: number[] = [];
  focusRow(c).forEach((cell, i) => {
    if (i > 0) pieces[pieces.length - 1] += ',';
    if (cell instanceof Slot) {
      figures.push(cell.figure);
      pieces.push('');
    } else pieces[pieces.length - 1] += csvCell(cell);
  });
  pieces[pieces.length - 1] += '\r\n';
  const bytes = pieces.map((p) => Buffer.from(p, 'utf8'));
  return { pieces: bytes, figures, bytes: bytes.reduce((n, b) => n + b.length, 0) + FIGURE_BYTES * figures.length };
}

const [BILLED, CONTRACTED, EFFECTIVE, LIST, MONTH_END, MONTH_START, END, START, COMMITMENT_QUANTITY, CONSUMED, PRICED] = FIGURES.map((_, i) => i);

/** Charge i of a unit as a row of its identity's template. */
function writeRow(out: CsvBytes, t: RowTemplate, dates: Context['dates'], u: UnitRows, r: Rounded, i: number): void {
  const c = u.identities[u.identity[i]];
  const day = dates[u.day[i]];
  const quantity = u.quantity[i];
  const gpu = c.kind !== 'api';
  // Commitment rows are GPU rows: one formatting of the GPU-hours serves all three columns.
  const gpuHours = gpu ? quantity6(quantity) : '';
  for (let k = 0; k < t.figures.length; k++) {
    out.bytes(t.pieces[k]);
    switch (t.figures[k]) {
      case BILLED:
        out.units(r.billed[i]);
        break;
      case CONTRACTED:
        out.units(c.kind === 'used' || c.kind === 'unused' ? r.effective[i] : r.billed[i]);
        break;
      case EFFECTIVE:
        out.units(r.effective[i]);
        break;
      case LIST:
        out.units(r.list[i]);
        break;
      case MONTH_END:
        out.ascii(day.monthEnd);
        break;
      case MONTH_START:
        out.ascii(day.monthStart);
        break;
      case END:
        out.ascii(day.end);
        break;
      case START:
        out.ascii(day.start);
        break;
      case COMMITMENT_QUANTITY:
        out.ascii(gpuHours);
        break;
      case CONSUMED:
        out.ascii(gpu ? gpuHours : String(quantity));
        break;
      case PRICED:
        out.ascii(gpu ? gpuHours : quantity6(quantity / 1e6));
        break;
    }
  }
  out.bytes(t.pieces[t.figures.length]);
  out.endRecord();
}

/** A unit's charges in the spill file, and the identities they refer to (kept in memory: a few per customer). */
interface SpilledUnit {
  name: string;
  current_usd: number;
  /** ⌊current_usd·100⌋ as allocateUnits computes it: the unit's share is this or one cent more. */
  floor: number;
  identities: Identity[];
  offset: number;
  rows: number;
}

/** A spilled charge: identity (uint32), day (uint32), quantity, cost, list cost (float64), little-endian. */
const CHARGE_BYTES = 4 + 4 + 3 * 8;

/**
 * Every unit's charges, on disk until the file's total is known. Why: a unit's cents are its share of the file's
 * total by largest remainder, which depends on every unit — known only once the whole period is evaluated —
 * while a year's charges (~1.5 million at 1,000 customers) are better not held in memory. They are kept as
 * numbers (32 bytes a charge, not the ~600 of a formatted row) and each unit's rows are rounded and formatted once
 * its cents are known, as they are written out.
 */
class UnitSpill {
  private constructor(private readonly fd: number) {}

  private size = 0;
  /** Reused for every unit: grown to the largest unit's charges. */
  private buf = Buffer.alloc(0);

  /** An anonymous file: unlinked once open, so nothing is left on disk whatever ends the process. */
  static open(): UnitSpill {
    const dir = mkdtempSync(path.join(tmpdir(), 'breakeven-focus-'));
    try {
      return new UnitSpill(openSync(path.join(dir, 'rows'), 'w+'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private view(bytes: number): DataView {
    if (this.buf.length < bytes) this.buf = Buffer.allocUnsafe(Math.ceil(bytes * 1.1));
    return new DataView(this.buf.buffer, this.buf.byteOffset, bytes);
  }

  add(ctx: Context, unit: Unit): SpilledUnit {
    const charges = unitCharges(ctx, unit);
    const bytes = charges.length * CHARGE_BYTES;
    const view = this.view(bytes);
    for (let i = 0, at = 0; i < charges.length; i++, at += CHARGE_BYTES) {
      view.setUint32(at, charges.identity[i], true);
      view.setUint32(at + 4, charges.day[i], true);
      view.setFloat64(at + 8, charges.quantity[i], true);
      view.setFloat64(at + 16, charges.cost[i], true);
      view.setFloat64(at + 24, charges.listCost[i], true);
    }
    const offset = this.size;
    for (let at = 0; at < bytes; ) at += writeSync(this.fd, this.buf, at, bytes - at, offset + at);
    this.size += bytes;
    const floor = Math.floor(unit.current_usd * 100 + 1e-9);
    return { name: unit.name, current_usd: unit.current_usd, floor, identities: charges.identities, offset, rows: charges.length };
  }

  /** A unit's rows with its share of the total in cents, into `out` (chunks handed over as they fill). */
  *read(unit: SpilledUnit, cents: number, dates: Context['dates'], out: CsvBytes): Generator<CsvText> {
    if (cents !== unit.floor && cents !== unit.floor + 1) throw new Error(`unit ${unit.name}: ${cents} cents is not its floor share or one more`);
    const n = unit.rows;
    const view = this.view(n * CHARGE_BYTES);
    for (let got = 0; got < view.byteLength; ) {
      const read = readSync(this.fd, this.buf, got, view.byteLength - got, unit.offset + got);
      if (read <= 0) throw new Error('the FOCUS spill file ended early');
      got += read;
    }
    const u = { identities: unit.identities, identity: new Uint32Array(n), day: new Uint32Array(n), quantity: new Float64Array(n), cost: new Float64Array(n), listCost: new Float64Array(n), length: n };
    for (let i = 0, at = 0; i < n; i++, at += CHARGE_BYTES) {
      u.identity[i] = view.getUint32(at, true);
      u.day[i] = view.getUint32(at + 4, true);
      u.quantity[i] = view.getFloat64(at + 8, true);
      u.cost[i] = view.getFloat64(at + 16, true);
      u.listCost[i] = view.getFloat64(at + 24, true);
    }
    const order = rowOrder(u);
    const rounded = roundUnit(u, order, cents);
    const templates: (RowTemplate | undefined)[] = [];
    for (const i of order) {
      const id = u.identity[i];
      const template = (templates[id] ??= rowTemplate(u.identities[id]));
      const full = out.reserve(template.bytes);
      if (full) yield full;
      writeRow(out, template, dates, u, rounded, i);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The FOCUS rows of a period, evaluated pool by pool (fleet-stream.server.ts) as the first row is asked for. Each
 * unit (fleet-totals.server.ts: a pool on its reservation, or a customer) is priced as the overview prices it, and
 * its charges written to disk; once every unit is known, the file's total (= the overview's "current" total) is
 * shared out to the units and their charges read back, rounded and written as rows, largest unit first: BilledCost
 * and EffectiveCost each add up to it, to the cent. Memory holds one pool's evaluation, one unit's charges and the
 * charge identities of every unit (a few per customer).
 */
export async function focusExport(
  db: Db,
  period: ExportPeriod,
  // Tests pass one evaluation of the whole fleet here, to hold the pool-by-pool file to it.
  evaluations: (window: { from: Date; to: Date }) => AsyncIterable<WindowEvaluation> = (window) => evaluateByPool(db, window, { pools: true, detail: 'current' }),
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
      const out = new CsvBytes();
      for (let k = 0; k < units.length; k++) yield* spill.read(units[k], cents[k], dates, out);
      const last = out.take();
      if (last) yield last;
    } finally {
      spill.close();
    }
  }
  return { filename: periodFilename('focus', period), header: FOCUS_COLUMNS, rows: records() };
}

/** What the charge builders need of one group's evaluation. */
function contextOf(e: WindowEvaluation, window: { from: Date; to: Date }, dates: Context['dates']): Context & { fleet: FleetEvaluation } {
  // Units need each scope's total today, not its days (the charges are priced here, hour by hour).
  const fleet = fleetOf(e, window, 'on_demand', { daily: false });
  const firstDay = Math.floor(e.ctx.from_ms / DAY_MS);
  return {
    e,
    fleet,
    dayOf: (h) => Math.floor((e.ctx.from_ms + h * HOUR_MS) / DAY_MS) - firstDay,
    names: new Map(fleet.customers.map((c) => [c.id, { slug: c.slug, name: c.name, pool: c.pool }])),
    idOf: new Map(fleet.customers.map((c) => [c.slug, c.id])),
    dates,
  };
}
