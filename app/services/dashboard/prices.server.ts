// /prices and prices.csv: price books by effective date with their offers and capacity profiles; for admins, an
// import of a price-book JSON (uploaded or pasted) through the same importPriceBookDocument as `breakeven prices
// import`, refused whole with every problem listed by JSON path, audit-logged in the same transaction.
import type { Db } from '../../../db/client.js';
import { recordAudit } from '../../../db/queries/audit.js';
import { listOfferDetails, listProfileDetails, type OfferDetail } from '../../../db/queries/price-book-details.js';
import { importPriceBookDocument, listPriceBooks } from '../../../db/queries/price-books.js';
import { markRecommendationsStaleFrom } from '../../../db/queries/recommendations.js';
import type { Period } from '../../domain/period.js';
import { formatDayIn, formatInstantIn } from '../../lib/time-zone.js';
import { invalidateDashboard } from './cache.server.js';

export interface PriceRow extends OfferDetail {
  price_book: string;
  effective_from: string;
  effective_to: string | null;
}

/** Every offer of every book, oldest book first (prices.csv). */
export async function loadPriceRows(db: Db): Promise<PriceRow[]> {
  const [books, offers] = await Promise.all([listPriceBooks(db), listOfferDetails(db)]);
  const byId = new Map(books.map((b) => [b.id, b]));
  return offers
    .map((o) => {
      const b = byId.get(o.price_book_id)!;
      return { ...o, price_book: b.name, effective_from: b.effective_from.toISOString(), effective_to: b.effective_to?.toISOString() ?? null };
    })
    .sort((a, b) => (a.effective_from < b.effective_from ? -1 : a.effective_from > b.effective_from ? 1 : 0));
}

/** The books, newest first, each with its offers (by kind) and capacity profiles, and whether it is in force in the period. */
export async function loadPricesPage(db: Db, q: { period: Pick<Period, 'from' | 'to'>; now: Date; timeZone: string }) {
  const [books, offers, profiles] = await Promise.all([listPriceBooks(db), listOfferDetails(db), listProfileDetails(db)]);
  return {
    books: books
      .slice()
      .reverse()
      .map((b) => {
        const own = offers.filter((o) => o.price_book_id === b.id);
        return {
          id: b.id,
          name: b.name,
          effectiveFrom: b.effective_from.toISOString(),
          effectiveFromLabel: formatDayIn(b.effective_from, q.timeZone),
          effectiveTo: b.effective_to?.toISOString() ?? null,
          effectiveToLabel: b.effective_to ? formatDayIn(b.effective_to, q.timeZone) : null,
          importedLabel: formatInstantIn(b.imported_at, q.timeZone),
          inForceNow: b.effective_from <= q.now && (b.effective_to === null || b.effective_to > q.now),
          inPeriod: b.effective_from < q.period.to && (b.effective_to === null || b.effective_to > q.period.from),
          gpuOffers: own.filter((o) => o.kind !== 'api').sort((a, b) => (a.gpu_type ?? '').localeCompare(b.gpu_type ?? '') || a.kind.localeCompare(b.kind) || a.provider.localeCompare(b.provider) || (a.term_days ?? 0) - (b.term_days ?? 0)),
          apiOffers: own.filter((o) => o.kind === 'api'),
          profiles: profiles.filter((p) => p.price_book_id === b.id),
        };
      }),
  };
}

export interface Actor {
  id: number;
  email: string;
}

export type PriceImportOutcome =
  | { ok: true; id: number; created: boolean; name: string; message: string }
  | { ok: false; problems: { path: string; message: string }[] };

/** Imports a price book from JSON text: nothing is stored unless the whole document is valid. */
export async function importPriceBookText(db: Db, actor: Actor, text: string): Promise<PriceImportOutcome> {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return { ok: false, problems: [{ path: '$', message: `not valid JSON (${(error as Error).message})` }] };
  }
  const outcome = await db.transaction().execute(async (trx): Promise<PriceImportOutcome> => {
    const result = await importPriceBookDocument(trx, json);
    if (!result.ok) return { ok: false, problems: result.problems };
    const book = await trx.selectFrom('price_books').select(['id', 'name', 'effective_from']).where('id', '=', result.id).executeTakeFirstOrThrow();
    if (!result.created) return { ok: true, id: book.id, created: false, name: book.name, message: `Price book "${book.name}" is already stored, unchanged.` };
    const counts = await Promise.all([
      trx.selectFrom('offers').select((e) => e.fn.countAll<number>().as('n')).where('price_book_id', '=', book.id).executeTakeFirstOrThrow(),
      trx.selectFrom('capacity_profiles').select((e) => e.fn.countAll<number>().as('n')).where('price_book_id', '=', book.id).executeTakeFirstOrThrow(),
    ]);
    await recordAudit(trx, {
      userId: actor.id,
      actor: actor.email,
      action: 'create',
      entity: 'price_book',
      entityId: String(book.id),
      before: null,
      after: { name: book.name, effective_from: book.effective_from.toISOString(), offers: Number(counts[0].n), capacity_profiles: Number(counts[1].n) },
    });
    await markRecommendationsStaleFrom(trx, book.effective_from);
    return {
      ok: true,
      id: book.id,
      created: true,
      name: book.name,
      message: `Price book "${book.name}" imported: ${counts[0].n} offers and ${counts[1].n} capacity profiles, in force from ${book.effective_from.toISOString().slice(0, 10)}.`,
    };
  });
  if (outcome.ok) invalidateDashboard();
  return outcome;
}
