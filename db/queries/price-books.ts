import { sql, type Kysely, type Transaction } from 'kysely';
import { parsePriceBook, type PriceBook, type PriceBookProblem } from '../../app/domain/price-book.js';
import type { Database, Offer } from '../schema.js';
import { ensureGpuType, updateGpuTypeSettings } from './gpu-types.js';

type Handle = Kysely<Database>;

export type ImportPriceBookResult =
  | { ok: true; id: number; created: boolean }
  | { ok: false; problems: PriceBookProblem[] };

export interface PriceBookSummary {
  id: number;
  name: string;
  effective_from: Date;
  effective_to: Date | null;
  imported_at: Date;
  offers: number;
  capacity_profiles: number;
}

/** An offer with its GPU type's name and the dates of the book it belongs to. */
export interface OfferInForce extends Offer {
  gpu_type: string | null;
  price_book_name: string;
  effective_from: Date;
  effective_to: Date | null;
}

export interface CapacityProfileInForce {
  id: number;
  price_book_id: number;
  price_book_name: string;
  effective_from: Date;
  effective_to: Date | null;
  model: string;
  gpu_type_id: number;
  gpu_type: string;
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
  target_utilization: number;
}

/** Runs fn in a transaction, or in the caller's when the handle already is one. */
async function inTransaction<T>(db: Handle, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Transaction<Database>);
  return db.transaction().execute(fn);
}

/** Sets every book's effective_to to the next book's effective_from; the newest book's is null. */
async function chainEffectiveDates(db: Handle): Promise<void> {
  await sql`
    UPDATE price_books p SET effective_to = n.next_from
    FROM (SELECT id, lead(effective_from) OVER (ORDER BY effective_from) AS next_from FROM price_books) n
    WHERE p.id = n.id AND p.effective_to IS DISTINCT FROM n.next_from`.execute(db);
}

/**
 * Stores a parsed price book whole, in one transaction: the book with its original document, its offers and
 * capacity profiles, the GPU types it names (and the settings its gpu_types section gives them); then every
 * book's effective_to is recomputed. A book whose name is taken is refused, unless its document is the same
 * (compared as jsonb), which makes importing one file twice a no-op that returns the stored id.
 */
export async function importPriceBook(db: Handle, book: PriceBook): Promise<ImportPriceBookResult> {
  const document = JSON.stringify(book.document);
  return inTransaction(db, async (trx) => {
    // One import at a time: the effective dates are computed over all books.
    await sql`LOCK TABLE price_books IN SHARE ROW EXCLUSIVE MODE`.execute(trx);

    const sameName = await trx
      .selectFrom('price_books')
      .select(['id', sql<boolean>`document = ${document}::jsonb`.as('same')])
      .where('name', '=', book.name)
      .executeTakeFirst();
    if (sameName?.same) return { ok: true, id: sameName.id, created: false };
    if (sameName) {
      return {
        ok: false,
        problems: [{ path: '$.name', message: `a different price book named "${book.name}" is already stored; give this one a new name` }],
      };
    }
    const sameStart = await trx
      .selectFrom('price_books')
      .select('name')
      .where('effective_from', '=', book.effective_from)
      .executeTakeFirst();
    if (sameStart) {
      return {
        ok: false,
        problems: [{ path: '$.effective_from', message: `price book "${sameStart.name}" already takes effect at this instant` }],
      };
    }

    const { id } = await trx
      .insertInto('price_books')
      .values({ name: book.name, effective_from: book.effective_from, document: sql`${document}::jsonb` })
      .returning('id')
      .executeTakeFirstOrThrow();

    const gpuTypeIds = new Map<string, number>();
    const gpuTypeId = async (name: string): Promise<number> => {
      let typeId = gpuTypeIds.get(name);
      if (typeId === undefined) {
        typeId = await ensureGpuType(trx, name);
        gpuTypeIds.set(name, typeId);
      }
      return typeId;
    };
    for (const t of book.gpu_types) {
      await updateGpuTypeSettings(trx, await gpuTypeId(t.name), t);
    }

    const offers = [];
    for (const o of book.offers) {
      const common = { price_book_id: id, kind: o.kind, provider: o.provider, source: o.source, source_date: o.source_date };
      const none = {
        gpu_type_id: null, model: null, term_days: null, block_size: null, usd_per_gpu_hour: null, usd_per_mtok_input: null,
        usd_per_mtok_cached_input: null, usd_per_mtok_cache_write: null, usd_per_mtok_output: null,
      };
      if (o.kind === 'api') {
        offers.push({
          ...common, ...none, model: o.model, usd_per_mtok_input: o.usd_per_mtok_input,
          usd_per_mtok_cached_input: o.usd_per_mtok_cached_input, usd_per_mtok_cache_write: o.usd_per_mtok_cache_write,
          usd_per_mtok_output: o.usd_per_mtok_output,
        });
      } else {
        offers.push({
          ...common, ...none, gpu_type_id: await gpuTypeId(o.gpu_type), usd_per_gpu_hour: o.usd_per_gpu_hour,
          ...(o.kind === 'reserved' ? { term_days: o.term_days, block_size: o.block_size } : {}),
        });
      }
    }
    if (offers.length > 0) await trx.insertInto('offers').values(offers).execute();

    const profiles = [];
    for (const p of book.capacity_profiles) {
      profiles.push({
        price_book_id: id, model: p.model, gpu_type_id: await gpuTypeId(p.gpu_type),
        input_tokens_per_gpu_second: p.input_tokens_per_gpu_second, output_tokens_per_gpu_second: p.output_tokens_per_gpu_second,
        target_utilization: p.target_utilization,
      });
    }
    if (profiles.length > 0) await trx.insertInto('capacity_profiles').values(profiles).execute();

    await chainEffectiveDates(trx);
    return { ok: true, id, created: true };
  });
}

/** parsePriceBook then importPriceBook: what `prices import FILE.json` does with the parsed JSON. */
export async function importPriceBookDocument(db: Handle, json: unknown): Promise<ImportPriceBookResult> {
  const parsed = parsePriceBook(json);
  return parsed.ok ? importPriceBook(db, parsed.book) : parsed;
}

function summaries(db: Handle) {
  return db
    .selectFrom('price_books as b')
    .select((eb) => [
      'b.id', 'b.name', 'b.effective_from', 'b.effective_to', 'b.imported_at',
      eb.selectFrom('offers').select((e) => e.fn.countAll<number>().as('n')).whereRef('offers.price_book_id', '=', 'b.id').as('offers'),
      eb.selectFrom('capacity_profiles').select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('capacity_profiles.price_book_id', '=', 'b.id').as('capacity_profiles'),
    ]);
}

function withCounts<T extends { offers: number | null; capacity_profiles: number | null }>(row: T): T & { offers: number; capacity_profiles: number } {
  return { ...row, offers: row.offers ?? 0, capacity_profiles: row.capacity_profiles ?? 0 };
}

/** Every price book, oldest first, with how many offers and capacity profiles it holds. */
export async function listPriceBooks(db: Handle): Promise<PriceBookSummary[]> {
  const rows = await summaries(db).orderBy('b.effective_from').execute();
  return rows.map(withCounts);
}

/** The book in force at an instant (effective_from ≤ at < effective_to), if any. */
export async function priceBookInForce(db: Handle, at: Date): Promise<PriceBookSummary | undefined> {
  const row = await summaries(db)
    .where('b.effective_from', '<=', at)
    .where((eb) => eb.or([eb('b.effective_to', 'is', null), eb('b.effective_to', '>', at)]))
    .orderBy('b.effective_from', 'desc')
    .executeTakeFirst();
  return row && withCounts(row);
}

/** One book with its original document. */
export async function findPriceBook(db: Handle, id: number): Promise<(PriceBookSummary & { document: unknown }) | undefined> {
  const row = await summaries(db).select('b.document').where('b.id', '=', id).executeTakeFirst();
  return row && withCounts(row);
}

/**
 * Every offer and capacity profile of every book in force at some instant of [from, to), each carrying its
 * book's effective_from and effective_to, so each hour can be priced with the book in force then (inForceAt).
 */
export async function offersInForce(
  db: Handle,
  from: Date,
  to: Date,
): Promise<{ offers: OfferInForce[]; capacity_profiles: CapacityProfileInForce[] }> {
  const books = db
    .selectFrom('price_books')
    .select(['id', 'name', 'effective_from', 'effective_to'])
    .where('effective_from', '<', to)
    .where((eb) => eb.or([eb('effective_to', 'is', null), eb('effective_to', '>', from)]));

  const offers = await db
    .with('b', () => books)
    .selectFrom('offers as o')
    .innerJoin('b', 'b.id', 'o.price_book_id')
    .leftJoin('gpu_types as g', 'g.id', 'o.gpu_type_id')
    .selectAll('o')
    .select(['g.name as gpu_type', 'b.name as price_book_name', 'b.effective_from', 'b.effective_to'])
    .orderBy('b.effective_from')
    .orderBy('o.kind')
    .orderBy('o.provider')
    .orderBy(sql`coalesce(g.name, o.model)`)
    .orderBy('o.term_days')
    .execute();

  const capacity_profiles = await db
    .with('b', () => books)
    .selectFrom('capacity_profiles as p')
    .innerJoin('b', 'b.id', 'p.price_book_id')
    .innerJoin('gpu_types as g', 'g.id', 'p.gpu_type_id')
    .selectAll('p')
    .select(['g.name as gpu_type', 'b.name as price_book_name', 'b.effective_from', 'b.effective_to'])
    .orderBy('b.effective_from')
    .orderBy('p.model')
    .orderBy('g.name')
    .execute();

  return { offers, capacity_profiles };
}
