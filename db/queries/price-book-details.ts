// Every price book's offers and capacity profiles with their GPU types' names, for /prices (the books
// themselves come from price-books.ts listPriceBooks).
import type { Kysely } from 'kysely';
import type { OfferRow, ProfileRow } from '../../app/services/costing/prices.js';
import type { Database } from '../schema.js';

type Handle = Kysely<Database>;

/** An offer as pricing reads it, with where its price came from. */
export interface OfferDetail extends OfferRow {
  source: string | null;
  source_date: string | null;
}

export type ProfileDetail = ProfileRow;

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
