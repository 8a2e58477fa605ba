// `breakeven seed demo`: fills an empty database with a realistic, deterministic demo — the default price
// book (imported the way `prices import` does), twelve customers in two pools and alone, hourly GPU telemetry
// and token usage over the window, and a few reservations. The same seed and end give the same rows.
import type { Kysely } from 'kysely';
import { formatProblems, parsePriceBook, type PriceBook, type ReservedOffer } from '../app/domain/price-book.js';
import { insertHourlyGpuUsage, insertHourlyTokenUsage, insertTokenUsage } from '../db/queries/bulk-usage.js';
import { ensureGpuType } from '../db/queries/gpu-types.js';
import { importPriceBook } from '../db/queries/price-books.js';
import { insertCustomers, insertPools, insertReservations, isDatabaseEmpty, lockForSeeding } from '../db/queries/seed-writes.js';
import type { Database, NewReservation } from '../db/schema.js';
// A JSON import rather than a file read: it resolves the same under tsx, vitest and a bundled server build.
import defaultPriceBookDocument from './default-price-book.json';
import { DEMO_CUSTOMERS, DEMO_POOLS, HOUR_MS, VENDOR_NAMES, generateDemoUsage, type DemoGpuType } from './demo-usage.js';

export { isDatabaseEmpty };

const DAY_MS = 24 * HOUR_MS;
export const MAX_SEED_DAYS = 800;

export interface SeedOptions {
  /** Days of hourly history, ending at `end`. Default 90. */
  days?: number;
  /** The random seed; the same seed and end give identical data. Default 1. */
  seed?: number;
  /** Exclusive end of the data, on an hour boundary: callers pass the start of the current UTC day. */
  end: Date;
  onProgress?: (done: number, total: number) => void;
}

export interface SeedSummary {
  customers: number;
  pools: number;
  gpu_types: number;
  price_book_id: number;
  /** Hours in the window. */
  hours: number;
  /** Rows in token_usage (one per customer, model and hour with traffic); hourly_token_usage has as many. */
  token_rows: number;
  /** Rows in hourly_gpu_usage. */
  gpu_rollup_rows: number;
  reservations: number;
  from: string;
  to: string;
  seed: number;
}

/** The seed refuses to run: the database is not empty, or the options are wrong. */
export class SeedError extends Error {
  override name = 'SeedError';
}

/** The bundled default price book (seeds/default-price-book.json), parsed. */
export function defaultPriceBook(): PriceBook {
  const result = parsePriceBook(defaultPriceBookDocument);
  if (!result.ok) throw new Error(`seeds/default-price-book.json is not a valid price book:\n${formatProblems(result.problems)}`);
  return result.book;
}

interface DemoReservation {
  scope: { customer: string } | { pool: string };
  gpu_type: DemoGpuType;
  provider: string;
  term_days: number;
  gpus: number;
  /** Start, in days before the end of the window. */
  started_days_ago: number;
  note: string;
}

// Relative to the end of the window, so that one always ends within 30 days and one has already ended.
const DEMO_RESERVATIONS: DemoReservation[] = [
  { scope: { pool: 'shared-h100' }, gpu_type: 'H100', provider: 'tailspin-cloud', term_days: 365, gpus: 16, started_days_ago: 200,
    note: 'one-year commitment shared by the shared-h100 pool' },
  { scope: { customer: 'wonka' }, gpu_type: 'H100', provider: 'northwind-gpu', term_days: 365, gpus: 16, started_days_ago: 350,
    note: 'renews in 15 days' },
  { scope: { pool: 'batch-a100' }, gpu_type: 'A100-80GB', provider: 'northwind-gpu', term_days: 30, gpus: 8, started_days_ago: 75,
    note: 'trial month for the batch pool, not renewed' },
  { scope: { customer: 'wayne' }, gpu_type: 'L40S', provider: 'tailspin-cloud', term_days: 30, gpus: 4, started_days_ago: 20,
    note: 'monthly block' },
];

function checkOptions(options: SeedOptions): { days: number; seed: number; end: number } {
  const { days = 90, seed = 1, end } = options;
  if (!Number.isInteger(days) || days < 1 || days > MAX_SEED_DAYS) throw new SeedError(`days must be a whole number from 1 to ${MAX_SEED_DAYS} (got ${days})`);
  if (!Number.isSafeInteger(seed)) throw new SeedError(`seed must be a whole number (got ${seed})`);
  if (!(end instanceof Date) || Number.isNaN(end.getTime()) || end.getTime() % HOUR_MS !== 0) {
    throw new SeedError(`end must be a time on an hour boundary (got ${String(end)})`);
  }
  return { days, seed, end: end.getTime() };
}

/**
 * Fills an empty database (no customers) with the demo, in one transaction: nothing is left half-seeded.
 * Refuses, with a SeedError, a database that already has customers.
 */
export async function seedDemo(db: Kysely<Database>, options: SeedOptions): Promise<SeedSummary> {
  const { days, seed, end } = checkOptions(options);
  const hours = days * 24;
  const from = end - hours * HOUR_MS;
  const book = defaultPriceBook();

  const profiles = new Map(book.capacity_profiles.map((p) => [`${p.model}|${p.gpu_type}`, p]));
  const usage = generateDemoUsage({
    seed,
    from,
    hours,
    profile: (model, gpuType) => {
      const p = profiles.get(`${model}|${gpuType}`);
      if (!p) throw new Error(`the default price book has no capacity profile for ${model} on ${gpuType}`);
      return p;
    },
  });

  const total = usage.gpu.length + 2 * usage.tokens.length;
  let done = 0;
  const progress = (rows: number) => {
    done += rows;
    options.onProgress?.(done, total);
  };
  options.onProgress?.(0, total);

  return db.transaction().execute(async (trx) => {
    await lockForSeeding(trx);
    if (!(await isDatabaseEmpty(trx))) {
      throw new SeedError('the database already has customers; the demo seed only fills an empty database');
    }

    const imported = await importPriceBook(trx, book);
    if (!imported.ok) throw new SeedError(`cannot import the default price book:\n${formatProblems(imported.problems)}`);

    // The vendor names the demo's GPUs report, recorded as aliases the way ingestion would.
    const gpuTypeIds = new Map<DemoGpuType, number>();
    for (const [type, vendorName] of Object.entries(VENDOR_NAMES) as [DemoGpuType, string][]) {
      gpuTypeIds.set(type, await ensureGpuType(trx, vendorName));
    }

    const poolIds = await insertPools(trx, DEMO_POOLS);
    const customerIds = await insertCustomers(
      trx,
      DEMO_CUSTOMERS.map((c) => ({ slug: c.slug, name: c.name, owner_email: c.owner_email, pool_id: c.pool === null ? null : poolIds.get(c.pool)! })),
    );

    const reservations: NewReservation[] = DEMO_RESERVATIONS.map((r) => {
      const offer = book.offers.find(
        (o): o is ReservedOffer => o.kind === 'reserved' && o.provider === r.provider && o.gpu_type === r.gpu_type && o.term_days === r.term_days,
      );
      if (!offer) throw new Error(`the default price book has no ${r.term_days}-day ${r.gpu_type} offer from ${r.provider}`);
      const starts = end - r.started_days_ago * DAY_MS;
      return {
        customer_id: 'customer' in r.scope ? customerIds.get(r.scope.customer)! : null,
        pool_id: 'pool' in r.scope ? poolIds.get(r.scope.pool)! : null,
        gpu_type_id: gpuTypeIds.get(r.gpu_type)!,
        provider: r.provider,
        gpus: r.gpus,
        usd_per_gpu_hour: offer.usd_per_gpu_hour,
        starts_at: new Date(starts),
        ends_at: new Date(starts + r.term_days * DAY_MS),
        note: r.note,
      };
    });
    await insertReservations(trx, reservations);

    const gpuRows = usage.gpu.map((g) => ({
      customer_id: customerIds.get(g.slug)!,
      gpu_type_id: gpuTypeIds.get(g.gpu_type)!,
      hour: new Date(g.hour),
      allocated_gpu_seconds: g.allocated_gpu_seconds,
      busy_gpu_seconds: g.busy_gpu_seconds,
      samples: g.samples,
    }));
    await insertHourlyGpuUsage(trx, gpuRows, progress);

    const tokenRows = usage.tokens.map((u) => {
      const hour = new Date(u.hour);
      return {
        customer_id: customerIds.get(u.slug)!,
        model: u.model,
        hour,
        input_tokens: u.input_tokens,
        cached_input_tokens: u.cached_input_tokens,
        cache_write_input_tokens: u.cache_write_input_tokens,
        output_tokens: u.output_tokens,
        requests: u.requests,
      };
    });
    await insertTokenUsage(
      trx,
      tokenRows.map((r, i) => ({ ...r, ts: r.hour, record_key: `seed:${usage.tokens[i].slug}:${r.model}:${r.hour.toISOString().replace('.000Z', 'Z')}` })),
      progress,
    );
    await insertHourlyTokenUsage(trx, tokenRows, progress);

    return {
      customers: customerIds.size,
      pools: poolIds.size,
      gpu_types: gpuTypeIds.size,
      price_book_id: imported.id,
      hours,
      token_rows: tokenRows.length,
      gpu_rollup_rows: gpuRows.length,
      reservations: reservations.length,
      from: new Date(from).toISOString(),
      to: new Date(end).toISOString(),
      seed,
    };
  });
}
