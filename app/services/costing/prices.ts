// The prices of a window, hour by hour: which price book is in force at each hour (its effective dates), and
// from it, per GPU type, the on-demand rate, the reserved offers and the capacity profiles, and per model the
// API offers. Pure: built from rows the caller read (db/queries/price-books.ts offersInForce).
import { DEFAULT_TARGET_UTILIZATION } from '../../domain/gpu-types.js';
import { HOUR_MS, type ApiPrice, type CapacityProfile, type Rate, type ReservedOffer } from '../../domain/types.js';

export interface BookRow {
  id: number;
  name: string;
  effective_from: Date;
  effective_to: Date | null;
}

/** An offer row with its GPU type's name (offersInForce's shape, trimmed to what pricing reads). */
export interface OfferRow {
  price_book_id: number;
  kind: 'reserved' | 'on_demand' | 'api';
  provider: string;
  gpu_type: string | null;
  model: string | null;
  term_days: number | null;
  block_size: number | null;
  usd_per_gpu_hour: number | null;
  usd_per_mtok_input: number | null;
  usd_per_mtok_cached_input: number | null;
  usd_per_mtok_cache_write: number | null;
  usd_per_mtok_output: number | null;
}

export interface ProfileRow {
  price_book_id: number;
  model: string;
  gpu_type: string;
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
  target_utilization: number;
}

export interface GpuTypeRow {
  id: number;
  name: string;
  target_utilization: number;
}

export interface PriceRows {
  /** Every price book (or at least those that meet the window). */
  books: readonly BookRow[];
  offers: readonly OfferRow[];
  capacity_profiles: readonly ProfileRow[];
  gpu_types: readonly GpuTypeRow[];
}

export interface ApiCandidate extends ApiPrice {
  provider: string;
}

/** A run of hours [start, end) of the window priced by one book. */
export interface Segment {
  book: BookRow;
  start: number;
  end: number;
  /** GPU type → model → profile. */
  profiles: Map<string, Map<string, CapacityProfile>>;
  /** model → its API offers in this book. */
  api: Map<string, ApiCandidate[]>;
}

export interface GpuTypePrices {
  id: number;
  name: string;
  /** The type's target utilization for telemetry-derived demand. */
  target_utilization: number;
  /** o(h): the lowest on-demand rate in force at hour h; NaN when the book in force has none. */
  on_demand: Float64Array;
  /** Hours without an on-demand rate, and the first of them (−1: none). */
  on_demand_missing: number;
  first_on_demand_missing: number;
  /** The providers whose rate was the lowest in some hour. */
  on_demand_providers: string[];
  /** o(h) for the engine (a number when it never changes), null when some hour has none. */
  on_demand_rate: Rate | null;
  /** Reserved offers in force at every hour of the window, with r(h) (a number when it never changes). */
  reserved: ReservedOffer[];
  /** Models with a capacity profile of this type in some book of the window. */
  profiled_models: Set<string>;
}

export interface PriceContext {
  from_ms: number;
  hours: number;
  segments: Segment[];
  /** Hours no book is in force at, and the first of them (−1: none). */
  uncovered: number;
  first_uncovered: number;
  gpu_types: Map<string, GpuTypePrices>;
}

/** First hour index h with from + h·1h ≥ t (the hour whose start the instant t has reached), clamped to [0, H]. */
function hourIndexAtOrAfter(t: number, fromMs: number, hours: number): number {
  return Math.min(hours, Math.max(0, Math.ceil((t - fromMs) / HOUR_MS)));
}

/**
 * The window's price segments: hour h is priced by the book with effective_from ≤ h < effective_to (the
 * newest on an overlap, which chained books never have), then every GPU type's hourly prices.
 *
 * Decisions: when several providers offer on-demand GPUs of a type, o(h) is the lowest rate in force at h
 * (what a buyer would pick; the overflow and all-on-demand scenarios use it). A reserved offer — provider,
 * term and block size — is considered only when every hour of the window has it in force, at the rate of
 * the book in force then: a reservation bought for the whole window must have been on sale throughout.
 */
export function buildPriceContext(window: { from_ms: number; hours: number }, rows: PriceRows): PriceContext {
  const { from_ms: fromMs, hours } = window;
  const owner = new Int32Array(hours).fill(-1);
  const books = [...rows.books].sort((a, b) => a.effective_from.getTime() - b.effective_from.getTime());
  books.forEach((book, i) => {
    const start = hourIndexAtOrAfter(book.effective_from.getTime(), fromMs, hours);
    const end = book.effective_to === null ? hours : hourIndexAtOrAfter(book.effective_to.getTime(), fromMs, hours);
    for (let h = start; h < end; h++) owner[h] = i;
  });

  const offersByBook = new Map<number, OfferRow[]>();
  for (const o of rows.offers) {
    const list = offersByBook.get(o.price_book_id) ?? [];
    list.push(o);
    offersByBook.set(o.price_book_id, list);
  }
  const profilesByBook = new Map<number, ProfileRow[]>();
  for (const p of rows.capacity_profiles) {
    const list = profilesByBook.get(p.price_book_id) ?? [];
    list.push(p);
    profilesByBook.set(p.price_book_id, list);
  }

  const segments: Segment[] = [];
  let uncovered = 0;
  let firstUncovered = -1;
  for (let h = 0; h < hours; ) {
    let e = h + 1;
    while (e < hours && owner[e] === owner[h]) e++;
    if (owner[h] < 0) {
      uncovered += e - h;
      if (firstUncovered < 0) firstUncovered = h;
    } else {
      const book = books[owner[h]];
      const profiles = new Map<string, Map<string, CapacityProfile>>();
      for (const p of profilesByBook.get(book.id) ?? []) {
        let byModel = profiles.get(p.gpu_type);
        if (!byModel) profiles.set(p.gpu_type, (byModel = new Map()));
        byModel.set(p.model, {
          input_tokens_per_gpu_second: p.input_tokens_per_gpu_second,
          output_tokens_per_gpu_second: p.output_tokens_per_gpu_second,
          target_utilization: p.target_utilization,
        });
      }
      const api = new Map<string, ApiCandidate[]>();
      for (const o of offersByBook.get(book.id) ?? []) {
        if (o.kind !== 'api' || o.model === null || o.usd_per_mtok_input === null || o.usd_per_mtok_output === null) continue;
        const list = api.get(o.model) ?? [];
        list.push({
          provider: o.provider,
          usd_per_mtok_input: o.usd_per_mtok_input,
          usd_per_mtok_cached_input: o.usd_per_mtok_cached_input,
          usd_per_mtok_cache_write: o.usd_per_mtok_cache_write,
          usd_per_mtok_output: o.usd_per_mtok_output,
        });
        api.set(o.model, list);
      }
      segments.push({ book, start: h, end: e, profiles, api });
    }
    h = e;
  }

  const gpuTypes = new Map<string, GpuTypePrices>();
  for (const t of rows.gpu_types) {
    const onDemand = new Float64Array(hours).fill(NaN);
    const providers = new Set<string>();
    const reservedRates = new Map<string, { offer: Omit<ReservedOffer, 'usd_per_gpu_hour'>; rates: Float64Array; hours: number }>();
    const profiled = new Set<string>();
    for (const s of segments) {
      let best: OfferRow | undefined;
      for (const o of offersByBook.get(s.book.id) ?? []) {
        if (o.gpu_type !== t.name || o.usd_per_gpu_hour === null) continue;
        if (o.kind === 'on_demand') {
          if (!best || o.usd_per_gpu_hour < best.usd_per_gpu_hour! || (o.usd_per_gpu_hour === best.usd_per_gpu_hour && o.provider < best.provider)) best = o;
        } else if (o.kind === 'reserved' && o.term_days !== null && o.block_size !== null) {
          const key = JSON.stringify([o.provider, o.term_days, o.block_size]);
          let entry = reservedRates.get(key);
          if (!entry) {
            entry = { offer: { provider: o.provider, term_days: o.term_days, block_size: o.block_size }, rates: new Float64Array(hours), hours: 0 };
            reservedRates.set(key, entry);
          }
          entry.rates.fill(o.usd_per_gpu_hour, s.start, s.end);
          entry.hours += s.end - s.start;
        }
      }
      if (best) {
        onDemand.fill(best.usd_per_gpu_hour!, s.start, s.end);
        providers.add(best.provider);
      }
      for (const model of s.profiles.get(t.name)?.keys() ?? []) profiled.add(model);
    }
    let missing = 0;
    let firstMissing = -1;
    for (let h = 0; h < hours; h++) {
      if (Number.isNaN(onDemand[h])) {
        missing++;
        if (firstMissing < 0) firstMissing = h;
      }
    }
    const reserved: ReservedOffer[] = [];
    for (const { offer, rates, hours: covered } of reservedRates.values()) {
      if (covered !== hours) continue;
      reserved.push({ ...offer, usd_per_gpu_hour: compactRate(rates) });
    }
    reserved.sort((a, b) => a.provider.localeCompare(b.provider) || a.term_days - b.term_days || a.block_size - b.block_size);
    gpuTypes.set(t.name, {
      id: t.id,
      name: t.name,
      target_utilization: t.target_utilization ?? DEFAULT_TARGET_UTILIZATION,
      on_demand: onDemand,
      on_demand_missing: missing,
      first_on_demand_missing: firstMissing,
      on_demand_providers: [...providers].sort(),
      on_demand_rate: missing > 0 ? null : compactRate(onDemand),
      reserved,
      profiled_models: profiled,
    });
  }
  return { from_ms: fromMs, hours, segments, uncovered, first_uncovered: firstUncovered, gpu_types: gpuTypes };
}

/** A per-hour rate as a number when it is the same every hour (the common case, and faster to sum). */
export function compactRate(rates: Float64Array): Rate {
  for (let h = 1; h < rates.length; h++) if (rates[h] !== rates[0]) return rates;
  return rates.length > 0 ? rates[0] : rates;
}

/** o(h) for the engine, or null when some hour has no on-demand rate. */
export function onDemandRate(t: GpuTypePrices): Rate | null {
  return t.on_demand_rate;
}

/** The start of hour index h as an ISO instant. */
export function hourIso(ctx: { from_ms: number }, h: number): string {
  return new Date(ctx.from_ms + h * HOUR_MS).toISOString().replace(/\.000Z$/, 'Z');
}
