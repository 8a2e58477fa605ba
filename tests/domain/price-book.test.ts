import { describe, expect, it } from 'vitest';
import { formatProblems, inForceAt, parseIsoTimestamp, parsePriceBook, type PriceBook } from '../../app/domain/price-book.js';

const good = () => ({
  name: 'public-2026-11',
  effective_from: '2026-01-01T00:00:00Z',
  offers: [
    { kind: 'reserved', provider: 'example-cloud', gpu_type: 'H100', term_days: 30, block_size: 8, usd_per_gpu_hour: 2.1 },
    { kind: 'on_demand', provider: 'example-cloud', gpu_type: 'NVIDIA H100 80GB HBM3', usd_per_gpu_hour: 3.5,
      source: 'price page', source_date: '2026-11-28' },
    { kind: 'api', provider: 'example-api', model: 'llama-3.1-70b', usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44,
      usd_per_mtok_output: 0.88 },
  ],
  capacity_profiles: [
    { model: 'llama-3.1-70b', gpu_type: 'H100', input_tokens_per_gpu_second: 9000, output_tokens_per_gpu_second: 750, target_utilization: 0.8 },
    { model: 'llama-3.1-8b', gpu_type: 'NVIDIA L40S', input_tokens_per_gpu_second: 20000, output_tokens_per_gpu_second: 2000 },
  ],
});

function parsed(doc: unknown): PriceBook {
  const result = parsePriceBook(doc);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.book;
}

function problems(doc: unknown): string[] {
  const result = parsePriceBook(doc);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('parsePriceBook', () => {
  it('reads the DESIGN.md example, normalising GPU types and defaulting prices', () => {
    const doc = good();
    const book = parsed(doc);
    expect(book.name).toBe('public-2026-11');
    expect(book.effective_from.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(book.document).toBe(doc);
    expect(book.offers[0]).toEqual({
      kind: 'reserved', provider: 'example-cloud', gpu_type: 'H100', term_days: 30, block_size: 8, usd_per_gpu_hour: 2.1,
      source: null, source_date: null,
    });
    expect(book.offers[1]).toMatchObject({ kind: 'on_demand', gpu_type: 'H100', source: 'price page', source_date: '2026-11-28' });
    expect(book.offers[2]).toMatchObject({
      kind: 'api', model: 'llama-3.1-70b', usd_per_mtok_input: 0.88, usd_per_mtok_cached_input: 0.44,
      usd_per_mtok_cache_write: 0.88, usd_per_mtok_output: 0.88,
    });
    expect(book.capacity_profiles[1]).toEqual({
      model: 'llama-3.1-8b', gpu_type: 'L40S', input_tokens_per_gpu_second: 20000, output_tokens_per_gpu_second: 2000,
      target_utilization: 0.8,
    });
    expect(book.gpu_types).toEqual([]);
  });

  it('accepts a zero cached price and a gpu_types section', () => {
    const doc = {
      ...good(),
      offers: [{ kind: 'api', provider: 'p', model: 'm', usd_per_mtok_input: 1, usd_per_mtok_output: 2, usd_per_mtok_cached_input: 0, usd_per_mtok_cache_write: 1.25 }],
      gpu_types: [{ name: 'NVIDIA A100-SXM4-80GB', target_utilization: 0.7, memory_gib: 80 }, { name: 'L4' }],
    };
    const book = parsed(doc);
    expect(book.offers[0]).toMatchObject({ usd_per_mtok_cached_input: 0, usd_per_mtok_cache_write: 1.25 });
    expect(book.gpu_types).toEqual([
      { name: 'A100-80GB', target_utilization: 0.7, memory_gib: 80 },
      { name: 'L4', target_utilization: null, memory_gib: null },
    ]);
  });

  it('refuses what is not an object', () => {
    expect(problems(null)).toEqual(['$: must be a JSON object']);
    expect(problems([])).toEqual(['$: must be a JSON object']);
  });

  it('lists every problem of a bad document by JSON path', () => {
    const doc = {
      name: ' ',
      effective_from: '2026-01-01 00:00:00',
      offers: [
        { kind: 'reserved', provider: 'a', gpu_type: 'H100', term_days: 0, block_size: 2.5, usd_per_gpu_hour: -1 },
        { kind: 'on_demand', provider: '', gpu_type: 'NVIDIA', usd_per_gpu_hour: '3.50' },
        { kind: 'api', provider: 'p', model: 'm', usd_per_mtok_input: 0, usd_per_mtok_cached_input: -0.1, usd_per_mtok_cached: 0.1 },
        { kind: 'spot', provider: 'x' },
        'nope',
        { provider: 'x' },
        { kind: 'on_demand', provider: 'b', gpu_type: 'H100', usd_per_gpu_hour: 3, model: 'm', source_date: '2026-02-30' },
      ],
      capacity_profiles: [
        { model: 'm', gpu_type: 'H100', input_tokens_per_gpu_second: 0, output_tokens_per_gpu_second: 10, target_utilization: 1.5 },
        { gpu_type: 'H100', input_tokens_per_gpu_second: 1, output_tokens_per_gpu_second: 1, target_utilization: 0 },
      ],
      gpu_types: [{ name: 'H100', memory_gib: 0 }],
      currency: 'USD',
    };
    expect(problems(doc)).toEqual([
      '$.name: must be a non-empty string',
      '$.effective_from: must be an ISO 8601 timestamp with an offset or Z, e.g. "2026-01-01T00:00:00Z"',
      '$.offers[0].term_days: must be a positive whole number',
      '$.offers[0].block_size: must be a positive whole number',
      '$.offers[0].usd_per_gpu_hour: must be a positive number',
      '$.offers[1].provider: must be a non-empty string',
      '$.offers[1].gpu_type: must name a GPU type, e.g. "H100"',
      '$.offers[1].usd_per_gpu_hour: must be a positive number',
      '$.offers[2].usd_per_mtok_input: must be a positive number',
      '$.offers[2].usd_per_mtok_cached_input: must be zero or a positive number',
      '$.offers[2].usd_per_mtok_output: is required and must be a positive number',
      '$.offers[2].usd_per_mtok_cached: is not a field of an api offer',
      '$.offers[3].kind: must be "reserved", "on_demand" or "api"',
      '$.offers[4]: must be an object',
      '$.offers[5].kind: is required: "reserved", "on_demand" or "api"',
      '$.offers[6].source_date: must be a date written YYYY-MM-DD',
      '$.offers[6].model: is not a field of an on_demand offer',
      '$.capacity_profiles[0].input_tokens_per_gpu_second: must be a positive number',
      '$.capacity_profiles[0].target_utilization: must be a number greater than 0 and at most 1',
      '$.capacity_profiles[1].model: is required',
      '$.capacity_profiles[1].target_utilization: must be a number greater than 0 and at most 1',
      '$.gpu_types[0].memory_gib: must be a positive whole number',
      '$.currency: is not a field of a price book',
    ]);
  });

  it('reports missing sections and an empty offer list', () => {
    expect(problems({})).toEqual(['$.name: is required', '$.effective_from: is required', '$.offers: is required']);
    expect(problems({ ...good(), offers: [] })).toEqual(['$.offers: must list at least one offer']);
    expect(problems({ ...good(), offers: {}, capacity_profiles: 'x' })).toEqual([
      '$.offers: must be an array',
      '$.capacity_profiles: must be an array',
    ]);
  });

  it('reports duplicate offers, profiles and GPU types, comparing normalised names', () => {
    const doc = good();
    doc.offers.push(
      { kind: 'reserved', provider: 'example-cloud', gpu_type: 'NVIDIA H100 PCIe', term_days: 30, block_size: 4, usd_per_gpu_hour: 2 },
      { kind: 'reserved', provider: 'example-cloud', gpu_type: 'H100', term_days: 365, block_size: 8, usd_per_gpu_hour: 1.9 },
      { kind: 'api', provider: 'example-api', model: 'llama-3.1-70b', usd_per_mtok_input: 1, usd_per_mtok_output: 1 } as never,
      { kind: 'api', provider: 'other-api', model: 'llama-3.1-70b', usd_per_mtok_input: 1, usd_per_mtok_output: 1 } as never,
    );
    doc.capacity_profiles.push({ model: 'llama-3.1-70b', gpu_type: 'NVIDIA H100 80GB HBM3', input_tokens_per_gpu_second: 1, output_tokens_per_gpu_second: 1 } as never);
    expect(problems({ ...doc, gpu_types: [{ name: 'H100' }, { name: 'h100' }] })).toEqual([
      '$.offers[3]: duplicates $.offers[0] (same kind, provider, gpu_type or model, and term_days)',
      '$.offers[5]: duplicates $.offers[2] (same kind, provider, gpu_type or model, and term_days)',
      '$.capacity_profiles[2]: duplicates $.capacity_profiles[0] (same model and gpu_type)',
      '$.gpu_types[1]: duplicates $.gpu_types[0] (same name)',
    ]);
  });

  it('quotes keys that are not identifiers', () => {
    expect(problems({ ...good(), 'bad key': 1 })).toEqual(['$["bad key"]: is not a field of a price book']);
  });

  it('reads offsets and refuses impossible timestamps', () => {
    expect(parseIsoTimestamp('2026-03-29T02:30:00+02:00')?.toISOString()).toBe('2026-03-29T00:30:00.000Z');
    expect(parseIsoTimestamp('2026-01-01T00:00Z')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseIsoTimestamp('2026-01-01T05:00:00.250-0500')?.toISOString()).toBe('2026-01-01T10:00:00.250Z');
    expect(parseIsoTimestamp('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(parseIsoTimestamp('2026-01-01T24:00:00Z')).toBeUndefined();
    expect(parseIsoTimestamp('2026-01-01')).toBeUndefined();
    expect(parseIsoTimestamp('2026-01-01T00:00:00')).toBeUndefined();
  });
});

describe('inForceAt', () => {
  it('is effective_from ≤ at < effective_to', () => {
    const row = { effective_from: new Date('2026-01-01T00:00:00Z'), effective_to: new Date('2026-02-01T00:00:00Z') };
    expect(inForceAt(row, new Date('2025-12-31T23:00:00Z'))).toBe(false);
    expect(inForceAt(row, new Date('2026-01-01T00:00:00Z'))).toBe(true);
    expect(inForceAt(row, new Date('2026-01-31T23:00:00Z'))).toBe(true);
    expect(inForceAt(row, new Date('2026-02-01T00:00:00Z'))).toBe(false);
    expect(inForceAt({ ...row, effective_to: null }, new Date('2030-01-01T00:00:00Z'))).toBe(true);
  });
});
