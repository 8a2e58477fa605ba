import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatProblems, inForceAt, parsePriceBook, type PriceBook } from '../../app/domain/price-book.js';
import type { Db } from '../../db/client.js';
import { ensureGpuType, findGpuTypeByName, listGpuTypes } from '../../db/queries/gpu-types.js';
import { findPriceBook, importPriceBook, importPriceBookDocument, listPriceBooks, offersInForce, priceBookInForce } from '../../db/queries/price-books.js';
import { freshDatabase } from '../support/database.js';

function book(doc: unknown): PriceBook {
  const result = parsePriceBook(doc);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.book;
}

const january = {
  name: 'public-2026-01',
  effective_from: '2026-01-01T00:00:00Z',
  offers: [
    { kind: 'reserved', provider: 'example-cloud', gpu_type: 'H100', term_days: 30, block_size: 8, usd_per_gpu_hour: 2.1,
      source: 'price page', source_date: '2026-01-01' },
    { kind: 'reserved', provider: 'example-cloud', gpu_type: 'H100', term_days: 365, block_size: 8, usd_per_gpu_hour: 1.8 },
    { kind: 'on_demand', provider: 'example-cloud', gpu_type: 'NVIDIA H100 80GB HBM3', usd_per_gpu_hour: 3.5 },
    { kind: 'on_demand', provider: 'example-cloud', gpu_type: 'L40S', usd_per_gpu_hour: 1.2 },
    { kind: 'api', provider: 'example-api', model: 'llama-3.1-70b', usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44,
      usd_per_mtok_output: 0.88 },
  ],
  capacity_profiles: [
    { model: 'llama-3.1-70b', gpu_type: 'H100', input_tokens_per_gpu_second: 9000, output_tokens_per_gpu_second: 750, target_utilization: 0.75 },
  ],
  gpu_types: [{ name: 'L40S', target_utilization: 0.7 }],
};

const march = {
  name: 'public-2026-03',
  effective_from: '2026-03-01T00:00:00+00:00',
  offers: [{ kind: 'on_demand', provider: 'example-cloud', gpu_type: 'H100', usd_per_gpu_hour: 3.0 }],
  capacity_profiles: [
    { model: 'llama-3.1-70b', gpu_type: 'H100', input_tokens_per_gpu_second: 9500, output_tokens_per_gpu_second: 800 },
  ],
};

describe('GPU types in the database', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await freshDatabase());
  });

  it('ensureGpuType creates a normalised type once and records each vendor name as an alias', async () => {
    const id = await ensureGpuType(db, 'NVIDIA H100 80GB HBM3');
    expect(await ensureGpuType(db, 'NVIDIA H100 PCIe')).toBe(id);
    expect(await ensureGpuType(db, 'H100')).toBe(id);
    expect(await findGpuTypeByName(db, 'nvidia h100 80gb hbm3')).toMatchObject({ id, name: 'H100', memory_gib: 80, target_utilization: 0.8 });
    const aliases = await db.selectFrom('gpu_type_aliases').select('alias').where('gpu_type_id', '=', id).orderBy('alias').execute();
    expect(aliases.map((a) => a.alias)).toEqual(['h100', 'nvidia h100 80gb hbm3', 'nvidia h100 pcie']);

    const unknown = await ensureGpuType(db, 'NVIDIA GH200 480GB');
    expect(await findGpuTypeByName(db, 'GH200-480GB')).toMatchObject({ id: unknown, memory_gib: null, target_utilization: 0.8 });
    expect((await listGpuTypes(db)).map((t) => t.name)).toEqual(['GH200-480GB', 'H100']);
    await expect(ensureGpuType(db, 'NVIDIA')).rejects.toThrow(/does not name a GPU type/);
    expect(await findGpuTypeByName(db, 'B200')).toBeUndefined();
  });

  it('a recorded alias wins over the normaliser', async () => {
    const nvl = await ensureGpuType(db, 'H100-NVL-CUSTOM');
    await db.insertInto('gpu_type_aliases').values({ alias: 'nvidia h100 nvl', gpu_type_id: nvl }).execute();
    expect(await ensureGpuType(db, 'NVIDIA H100 NVL')).toBe(nvl);
  });
});

describe('price books in the database', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await freshDatabase());
  });

  it('stores a good book whole', async () => {
    const result = await importPriceBook(db, book(january));
    expect(result).toEqual({ ok: true, id: expect.any(Number), created: true });
    if (!result.ok) return;

    const stored = await findPriceBook(db, result.id);
    expect(stored).toMatchObject({ name: 'public-2026-01', effective_to: null, offers: 5, capacity_profiles: 1, document: january });
    expect(stored?.effective_from.toISOString()).toBe('2026-01-01T00:00:00.000Z');

    const { offers, capacity_profiles } = await offersInForce(db, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
    expect(offers.map((o) => [o.kind, o.provider, o.gpu_type ?? o.model, o.term_days])).toEqual([
      ['api', 'example-api', 'llama-3.1-70b', null],
      ['on_demand', 'example-cloud', 'H100', null],
      ['on_demand', 'example-cloud', 'L40S', null],
      ['reserved', 'example-cloud', 'H100', 30],
      ['reserved', 'example-cloud', 'H100', 365],
    ]);
    expect(offers[0]).toMatchObject({
      usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44, usd_per_mtok_cache_write: 0.88, usd_per_mtok_output: 0.88,
      gpu_type_id: null, price_book_name: 'public-2026-01', effective_to: null,
    });
    expect(offers[3]).toMatchObject({ block_size: 8, usd_per_gpu_hour: 2.1, source: 'price page', source_date: '2026-01-01' });
    expect(capacity_profiles).toEqual([
      expect.objectContaining({ model: 'llama-3.1-70b', gpu_type: 'H100', input_tokens_per_gpu_second: 9000, output_tokens_per_gpu_second: 750, target_utilization: 0.75 }),
    ]);
    expect(await findGpuTypeByName(db, 'L40S')).toMatchObject({ target_utilization: 0.7, memory_gib: 48 });
    expect(await findGpuTypeByName(db, 'NVIDIA H100 80GB HBM3')).toMatchObject({ name: 'H100' });
  });

  it('importing the same document again changes nothing', async () => {
    const before = await listPriceBooks(db);
    const again = await importPriceBook(db, book(structuredClone(january)));
    expect(again).toEqual({ ok: true, id: before[0].id, created: false });
    expect(await listPriceBooks(db)).toEqual(before);
    const { count } = await db.selectFrom('offers').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    expect(count).toBe(5);
  });

  it('refuses a different book under a taken name, or at a taken instant, storing nothing', async () => {
    const changed = { ...january, offers: january.offers.slice(1) };
    expect(await importPriceBook(db, book(changed))).toEqual({
      ok: false,
      problems: [{ path: '$.name', message: 'a different price book named "public-2026-01" is already stored; give this one a new name' }],
    });
    expect(await importPriceBook(db, book({ ...changed, name: 'other' }))).toEqual({
      ok: false,
      problems: [{ path: '$.effective_from', message: 'price book "public-2026-01" already takes effect at this instant' }],
    });
    expect(await listPriceBooks(db)).toHaveLength(1);
  });

  it('a later book ends the earlier one, and each hour is priced by the book in force', async () => {
    const result = await importPriceBook(db, book(march));
    expect(result.ok).toBe(true);
    const books = await listPriceBooks(db);
    expect(books.map((b) => [b.name, b.effective_from.toISOString(), b.effective_to?.toISOString() ?? null])).toEqual([
      ['public-2026-01', '2026-01-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
      ['public-2026-03', '2026-03-01T00:00:00.000Z', null],
    ]);

    expect((await priceBookInForce(db, new Date('2026-02-28T23:00:00Z')))?.name).toBe('public-2026-01');
    expect((await priceBookInForce(db, new Date('2026-03-01T00:00:00Z')))?.name).toBe('public-2026-03');
    expect(await priceBookInForce(db, new Date('2025-12-31T23:59:59Z'))).toBeUndefined();

    const feb = await offersInForce(db, new Date('2026-02-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'));
    expect(new Set(feb.offers.map((o) => o.price_book_name))).toEqual(new Set(['public-2026-01']));
    const span = await offersInForce(db, new Date('2026-02-28T00:00:00Z'), new Date('2026-03-02T00:00:00Z'));
    expect(span.offers).toHaveLength(6);
    const onDemandH100 = (at: string) =>
      span.offers.filter((o) => o.kind === 'on_demand' && o.gpu_type === 'H100' && inForceAt(o, new Date(at))).map((o) => o.usd_per_gpu_hour);
    expect(onDemandH100('2026-02-28T23:00:00Z')).toEqual([3.5]);
    expect(onDemandH100('2026-03-01T00:00:00Z')).toEqual([3]);
    expect(span.capacity_profiles.map((p) => [p.price_book_name, p.input_tokens_per_gpu_second, p.target_utilization])).toEqual([
      ['public-2026-01', 9000, 0.75],
      ['public-2026-03', 9500, 0.8],
    ]);
    expect((await offersInForce(db, new Date('2025-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'))).offers).toEqual([]);
  });

  it('a book slotted between two others is chained in', async () => {
    const feb = { ...march, name: 'public-2026-02', effective_from: '2026-02-01T00:00:00Z' };
    expect((await importPriceBook(db, book(feb))).ok).toBe(true);
    const books = await listPriceBooks(db);
    expect(books.map((b) => [b.name, b.effective_to?.toISOString() ?? null])).toEqual([
      ['public-2026-01', '2026-02-01T00:00:00.000Z'],
      ['public-2026-02', '2026-03-01T00:00:00.000Z'],
      ['public-2026-03', null],
    ]);
  });

  it('refuses a bad document whole with every problem, through importPriceBookDocument', async () => {
    const result = await importPriceBookDocument(db, { ...march, name: 'bad', effective_from: '2026-05-01T00:00:00Z', offers: [{ kind: 'on_demand' }] });
    expect(result).toEqual({
      ok: false,
      problems: [
        { path: '$.offers[0].provider', message: 'is required' },
        { path: '$.offers[0].gpu_type', message: 'is required' },
        { path: '$.offers[0].usd_per_gpu_hour', message: 'is required and must be a positive number' },
      ],
    });
    expect((await listPriceBooks(db)).map((b) => b.name)).not.toContain('bad');
  });

  it('works inside a caller’s transaction, where a refusal leaves it usable', async () => {
    await db.transaction().execute(async (trx) => {
      const refused = await importPriceBook(trx, book({ ...march, offers: march.offers.concat(march.offers.map((o) => ({ ...o, provider: 'x' }))) }));
      expect(refused.ok).toBe(false);
      const apr = await importPriceBook(trx, book({ ...march, name: 'public-2026-04', effective_from: '2026-04-01T00:00:00Z' }));
      expect(apr.ok).toBe(true);
      await sql`SELECT 1`.execute(trx);
    });
    expect((await listPriceBooks(db)).map((b) => b.name)).toEqual(['public-2026-01', 'public-2026-02', 'public-2026-03', 'public-2026-04']);
  });
});
