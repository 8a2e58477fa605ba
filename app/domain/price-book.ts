// The price book: GPU-hour and per-token offers, capacity profiles and GPU type settings, in force from
// effective_from until the next book's (DESIGN.md "Price book"). A bad document is refused whole, with
// every problem listed by its JSON path.
import { DEFAULT_TARGET_UTILIZATION, normalizeGpuType } from './gpu-types.js';

export interface PriceBookProblem {
  /** A JSON path into the document: `$`, `$.name`, `$.offers[2].usd_per_gpu_hour`. */
  path: string;
  message: string;
}

interface OfferSource {
  /** Where the price came from, e.g. a price page or a contract. */
  source: string | null;
  /** The day the price was read there, YYYY-MM-DD. */
  source_date: string | null;
}

export interface ReservedOffer extends OfferSource {
  kind: 'reserved';
  provider: string;
  gpu_type: string;
  term_days: number;
  block_size: number;
  usd_per_gpu_hour: number;
}

export interface OnDemandOffer extends OfferSource {
  kind: 'on_demand';
  provider: string;
  gpu_type: string;
  usd_per_gpu_hour: number;
}

export interface ApiOffer extends OfferSource {
  kind: 'api';
  provider: string;
  model: string;
  usd_per_mtok_input: number;
  /** Defaults to usd_per_mtok_input when the document leaves it out. */
  usd_per_mtok_cached_input: number;
  /** Defaults to usd_per_mtok_input when the document leaves it out. */
  usd_per_mtok_cache_write: number;
  usd_per_mtok_output: number;
}

export type PriceBookOffer = ReservedOffer | OnDemandOffer | ApiOffer;

export interface PriceBookCapacityProfile {
  model: string;
  gpu_type: string;
  input_tokens_per_gpu_second: number;
  output_tokens_per_gpu_second: number;
  target_utilization: number;
}

export interface PriceBookGpuType {
  name: string;
  target_utilization: number | null;
  memory_gib: number | null;
}

export interface PriceBook {
  name: string;
  effective_from: Date;
  offers: PriceBookOffer[];
  capacity_profiles: PriceBookCapacityProfile[];
  gpu_types: PriceBookGpuType[];
  /** The document as given, stored beside the rows it became. */
  document: unknown;
}

export type ParsePriceBookResult = { ok: true; book: PriceBook } | { ok: false; problems: PriceBookProblem[] };

const MAX_TEXT = 200;
const MAX_INT = 2_147_483_647;

const TOP_FIELDS = ['name', 'effective_from', 'description', 'offers', 'capacity_profiles', 'gpu_types'];
const SOURCE_FIELDS = ['source', 'source_date'];
const OFFER_FIELDS: Record<PriceBookOffer['kind'], string[]> = {
  reserved: ['kind', 'provider', 'gpu_type', 'term_days', 'block_size', 'usd_per_gpu_hour', ...SOURCE_FIELDS],
  on_demand: ['kind', 'provider', 'gpu_type', 'usd_per_gpu_hour', ...SOURCE_FIELDS],
  api: [
    'kind', 'provider', 'model', 'usd_per_mtok_input', 'usd_per_mtok_cached_input', 'usd_per_mtok_cache_write',
    'usd_per_mtok_output', ...SOURCE_FIELDS,
  ],
};
const PROFILE_FIELDS = ['model', 'gpu_type', 'input_tokens_per_gpu_second', 'output_tokens_per_gpu_second', 'target_utilization'];
const GPU_TYPE_FIELDS = ['name', 'target_utilization', 'memory_gib'];

/** `$.a[0].b`; a key that is not an identifier is quoted: `$["a b"]`. */
function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):?(\d{2}))$/;

function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** An ISO 8601 timestamp that carries `Z` or an offset, as a Date; undefined when it is not one. */
export function parseIsoTimestamp(text: string): Date | undefined {
  const m = ISO_TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] ? Number(m[6]) : 0;
  const millis = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  const date = new Date(utc);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  return m !== null && validDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** Collects problems while reading one object's fields. */
class Reader {
  constructor(
    private readonly problems: PriceBookProblem[],
    private readonly path: string,
    private readonly value: Record<string, unknown>,
  ) {}

  private problem(key: string, message: string): undefined {
    this.problems.push({ path: child(this.path, key), message });
    return undefined;
  }

  unknownFields(allowed: string[], what: string): void {
    for (const key of Object.keys(this.value)) {
      if (!allowed.includes(key)) this.problem(key, `is not a field of ${what}`);
    }
  }

  text(key: string, required = true): string | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return required ? this.problem(key, 'is required') : undefined;
    if (typeof v !== 'string' || v.trim() === '') return this.problem(key, 'must be a non-empty string');
    if (v.trim().length > MAX_TEXT) return this.problem(key, `must be at most ${MAX_TEXT} characters`);
    return v.trim();
  }

  /** Free text such as a source note: any length, may be left out. */
  note(key: string): string | null | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.trim() === '') return this.problem(key, 'must be a non-empty string');
    return v.trim();
  }

  gpuType(key: string): string | undefined {
    const raw = this.text(key);
    if (raw === undefined) return undefined;
    const name = normalizeGpuType(raw);
    return name === '' ? this.problem(key, 'must name a GPU type, e.g. "H100"') : name;
  }

  private number(key: string, required: boolean, ok: (n: number) => boolean, message: string): number | null | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return required ? this.problem(key, `is required and ${message}`) : null;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) return this.problem(key, message);
    return v;
  }

  positive(key: string): number | undefined {
    return this.number(key, true, (n) => n > 0, 'must be a positive number') ?? undefined;
  }

  nonNegative(key: string): number | null | undefined {
    return this.number(key, false, (n) => n >= 0, 'must be zero or a positive number');
  }

  count(key: string, required = true): number | null | undefined {
    return this.number(key, required, (n) => Number.isInteger(n) && n > 0 && n <= MAX_INT, 'must be a positive whole number');
  }

  utilization(key: string): number | null | undefined {
    return this.number(key, false, (n) => n > 0 && n <= 1, 'must be a number greater than 0 and at most 1');
  }

  timestamp(key: string): Date | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return this.problem(key, 'is required');
    const date = typeof v === 'string' ? parseIsoTimestamp(v) : undefined;
    return date ?? this.problem(key, 'must be an ISO 8601 timestamp with an offset or Z, e.g. "2026-01-01T00:00:00Z"');
  }

  day(key: string): string | null | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || !isCalendarDate(v)) return this.problem(key, 'must be a date written YYYY-MM-DD');
    return v;
  }
}

/** Reads an optional or required array field; reports a non-array. */
function list(problems: PriceBookProblem[], doc: Record<string, unknown>, key: string, required: boolean): unknown[] | undefined {
  const v = doc[key];
  if (v === undefined || v === null) {
    if (required) problems.push({ path: child('$', key), message: 'is required' });
    return undefined;
  }
  if (!Array.isArray(v)) {
    problems.push({ path: child('$', key), message: 'must be an array' });
    return undefined;
  }
  return v;
}

function readOffer(problems: PriceBookProblem[], path: string, value: unknown): PriceBookOffer | undefined {
  if (!isObject(value)) {
    problems.push({ path, message: 'must be an object' });
    return undefined;
  }
  const kind = value.kind;
  if (kind !== 'reserved' && kind !== 'on_demand' && kind !== 'api') {
    problems.push({
      path: child(path, 'kind'),
      message: kind === undefined ? 'is required: "reserved", "on_demand" or "api"' : 'must be "reserved", "on_demand" or "api"',
    });
    return undefined;
  }
  const r = new Reader(problems, path, value);
  const before = problems.length;
  const provider = r.text('provider');
  const source = r.note('source');
  const source_date = r.day('source_date');
  const sourced = { source: source ?? null, source_date: source_date ?? null };
  let offer: PriceBookOffer | undefined;
  if (kind === 'reserved') {
    const gpu_type = r.gpuType('gpu_type');
    const term_days = r.count('term_days');
    const block_size = r.count('block_size');
    const usd_per_gpu_hour = r.positive('usd_per_gpu_hour');
    offer = { kind, provider: provider!, gpu_type: gpu_type!, term_days: term_days!, block_size: block_size!, usd_per_gpu_hour: usd_per_gpu_hour!, ...sourced };
  } else if (kind === 'on_demand') {
    const gpu_type = r.gpuType('gpu_type');
    const usd_per_gpu_hour = r.positive('usd_per_gpu_hour');
    offer = { kind, provider: provider!, gpu_type: gpu_type!, usd_per_gpu_hour: usd_per_gpu_hour!, ...sourced };
  } else {
    const model = r.text('model');
    const input = r.positive('usd_per_mtok_input');
    const cached = r.nonNegative('usd_per_mtok_cached_input');
    const cacheWrite = r.nonNegative('usd_per_mtok_cache_write');
    const output = r.positive('usd_per_mtok_output');
    offer = {
      kind,
      provider: provider!,
      model: model!,
      usd_per_mtok_input: input!,
      usd_per_mtok_cached_input: cached ?? input!,
      usd_per_mtok_cache_write: cacheWrite ?? input!,
      usd_per_mtok_output: output!,
      ...sourced,
    };
  }
  r.unknownFields(OFFER_FIELDS[kind], `${kind === 'reserved' ? 'a' : 'an'} ${kind} offer`);
  return problems.length === before ? offer : undefined;
}

function readProfile(problems: PriceBookProblem[], path: string, value: unknown): PriceBookCapacityProfile | undefined {
  if (!isObject(value)) {
    problems.push({ path, message: 'must be an object' });
    return undefined;
  }
  const before = problems.length;
  const r = new Reader(problems, path, value);
  const profile = {
    model: r.text('model')!,
    gpu_type: r.gpuType('gpu_type')!,
    input_tokens_per_gpu_second: r.positive('input_tokens_per_gpu_second')!,
    output_tokens_per_gpu_second: r.positive('output_tokens_per_gpu_second')!,
    target_utilization: r.utilization('target_utilization') ?? DEFAULT_TARGET_UTILIZATION,
  };
  r.unknownFields(PROFILE_FIELDS, 'a capacity profile');
  return problems.length === before ? profile : undefined;
}

function readGpuType(problems: PriceBookProblem[], path: string, value: unknown): PriceBookGpuType | undefined {
  if (!isObject(value)) {
    problems.push({ path, message: 'must be an object' });
    return undefined;
  }
  const before = problems.length;
  const r = new Reader(problems, path, value);
  const gpuType = {
    name: r.gpuType('name')!,
    target_utilization: r.utilization('target_utilization') ?? null,
    memory_gib: r.count('memory_gib', false) ?? null,
  };
  r.unknownFields(GPU_TYPE_FIELDS, 'a GPU type');
  return problems.length === before ? gpuType : undefined;
}

/** Reports each entry whose key an earlier entry already has. */
function duplicates<T>(problems: PriceBookProblem[], items: { path: string; item: T }[], key: (item: T) => string, what: string): void {
  const first = new Map<string, string>();
  for (const { path, item } of items) {
    const k = key(item);
    const earlier = first.get(k);
    if (earlier === undefined) first.set(k, path);
    else problems.push({ path, message: `duplicates ${earlier} (same ${what})` });
  }
}

/**
 * Validates a price book document (DESIGN.md "Price book"). Every problem is listed with its JSON path;
 * GPU type names are normalised, and an api offer's cached-input and cache-write prices default to its
 * input price. Fields the format does not have are problems too: a misspelt optional price would otherwise
 * silently become the default.
 */
export function parsePriceBook(json: unknown): ParsePriceBookResult {
  const problems: PriceBookProblem[] = [];
  if (!isObject(json)) return { ok: false, problems: [{ path: '$', message: 'must be a JSON object' }] };

  const top = new Reader(problems, '$', json);
  const name = top.text('name');
  const effective_from = top.timestamp('effective_from');
  top.note('description');

  const offers: { path: string; item: PriceBookOffer }[] = [];
  const offerList = list(problems, json, 'offers', true);
  if (offerList && offerList.length === 0) problems.push({ path: '$.offers', message: 'must list at least one offer' });
  offerList?.forEach((value, i) => {
    const path = child('$.offers', i);
    const item = readOffer(problems, path, value);
    if (item) offers.push({ path, item });
  });
  duplicates(problems, offers, (o) => JSON.stringify([o.kind, o.provider, o.kind === 'api' ? o.model : o.gpu_type, o.kind === 'reserved' ? o.term_days : null]),
    'kind, provider, gpu_type or model, and term_days');

  const profiles: { path: string; item: PriceBookCapacityProfile }[] = [];
  list(problems, json, 'capacity_profiles', false)?.forEach((value, i) => {
    const path = child('$.capacity_profiles', i);
    const item = readProfile(problems, path, value);
    if (item) profiles.push({ path, item });
  });
  duplicates(problems, profiles, (p) => JSON.stringify([p.model, p.gpu_type]), 'model and gpu_type');

  const gpuTypes: { path: string; item: PriceBookGpuType }[] = [];
  list(problems, json, 'gpu_types', false)?.forEach((value, i) => {
    const path = child('$.gpu_types', i);
    const item = readGpuType(problems, path, value);
    if (item) gpuTypes.push({ path, item });
  });
  duplicates(problems, gpuTypes, (g) => g.name, 'name');

  top.unknownFields(TOP_FIELDS, 'a price book');

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    book: {
      name: name!,
      effective_from: effective_from!,
      offers: offers.map((o) => o.item),
      capacity_profiles: profiles.map((p) => p.item),
      gpu_types: gpuTypes.map((g) => g.item),
      document: json,
    },
  };
}

/** One line per problem, `path: message`, as the CLI prints them. */
export function formatProblems(problems: PriceBookProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}

/** Whether a price (an offer or profile carrying its book's dates) is in force at `at`: effective_from ≤ at < effective_to. */
export function inForceAt(row: { effective_from: Date; effective_to: Date | null }, at: Date): boolean {
  return row.effective_from.getTime() <= at.getTime() && (row.effective_to === null || at.getTime() < row.effective_to.getTime());
}
