// Every price book's offers and capacity profiles with their GPU types' names, for /prices (the books
// themselves come from price-books.ts listPriceBooks).
import type { Kysely } from 'kysely';
import type { Database, OfferKind } from '../schema.js';

type Handle = Kysely<Database>;

export interface OfferDetail {
  price_book_id: number;
  kind: OfferKind;
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
  source: string | null;
  source_date: string | null;
}

export interface ProfileDetail {
  price_book_id: number;
  model: string;
  gpu_type: string;
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
  target_utilization: number;
}

export async function listOfferDetails(db: Handle): Promise<OfferDetail[]> {
  return db
    .selectFrom('offers as o')
    .leftJoin('gpu_types as g', 'g.id', 'o.gpu_type_id')
    .select([
      'o.price_book_id', 'o.kind', 'o.provider', 'g.name as gpu_type', 'o.model', 'o.term_days', 'o.block_size', 'o.usd_per_gpu_hour',
      'o.usd_per_mtok_input', 'o.usd_per_mtok_cached_input', 'o.usd_per_mtok_cache_write', 'o.usd_per_mtok_output', 'o.source', 'o.source_date',
    ])
    .orderBy('o.price_book_id')
    .orderBy('o.kind')
    .orderBy('g.name')
    .orderBy('o.model')
    .orderBy('o.provider')
    .orderBy('o.term_days')
    .execute();
}

export async function listProfileDetails(db: Handle): Promise<ProfileDetail[]> {
  return db
    .selectFrom('capacity_profiles as p')
    .innerJoin('gpu_types as g', 'g.id', 'p.gpu_type_id')
    .select(['p.price_book_id', 'p.model', 'g.name as gpu_type', 'p.input_tokens_per_gpu_second', 'p.output_tokens_per_gpu_second', 'p.target_utilization'])
    .orderBy('p.price_book_id')
    .orderBy('p.model')
    .orderBy('g.name')
    .execute();
}
