// The OpenAI usage connector against a local server speaking the usage API (checked against the API's own
// example in ../shared/data): pagination, project → customer mapping, the cached-token convention, buckets
// that grow, and faults — a connection closed mid-pull, 5xx answers, a wrong key.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { parseUsagePage, usageTokenRows } from '../../app/domain/connectors/index.js';
import { pullSource } from '../../app/services/connectors/pull.server.js';
import { freshDatabase } from '../support/database.js';
import { RESULT_FIELDS, startUsageServer, type UsageEntry } from '../support/openai-usage-server.js';
import { addSource, count, customerIds, FAST_RETRY, HOUR, hourAgo, runsOf, SECRET, watermarkOf } from './helpers.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../../shared/data/openai_usage_completions_example.json');
const T = hourAgo(30);

function entries(seed: number, hours: number, projects: string[], models: string[]): UsageEntry[] {
  const out: UsageEntry[] = [];
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let h = 0; h < hours; h++) {
    for (const project of projects) {
      for (const model of models) {
        const input = Math.floor(next() * 1e6);
        const cached = Math.floor(input * next() * 0.6);
        const cacheWrite = Math.floor((input - cached) * next() * 0.2);
        out.push({ hour: T + h * HOUR, project_id: project, model, input_tokens: input, input_cached_tokens: cached, input_cache_write_tokens: cacheWrite, output_tokens: Math.floor(next() * 2e5), num_model_requests: 1 + Math.floor(next() * 500) });
      }
    }
  }
  return out;
}

const { db } = await freshDatabase();
const server = await startUsageServer({ maxBucketsPerPage: 5 });
afterAll(() => server.close());

interface Hour {
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  requests: number;
}

async function storedHours(slugs: string[]): Promise<Map<string, Hour>> {
  const { rows } = await sql<Hour & { slug: string; model: string; hour: Date }>`
    SELECT c.slug, h.model, h.hour, h.input_tokens, h.cached_input_tokens, h.cache_write_input_tokens, h.output_tokens, h.requests
    FROM hourly_token_usage h JOIN customers c ON c.id = h.customer_id WHERE c.slug = ANY(${slugs})`.execute(db);
  return new Map(rows.map(({ slug, model, hour, ...n }) => [`${slug}|${model}|${hour.getTime()}`, n]));
}

function expectedHours(list: readonly UsageEntry[], slugOf: (project: string | null) => string): Map<string, Hour> {
  return new Map(
    list.map((e) => [
      `${slugOf(e.project_id)}|${e.model}|${e.hour}`,
      { input_tokens: e.input_tokens, cached_input_tokens: e.input_cached_tokens, cache_write_input_tokens: e.input_cache_write_tokens, output_tokens: e.output_tokens, requests: e.num_model_requests },
    ]),
  );
}

describe.skipIf(!existsSync(EXAMPLE))('the usage API example', () => {
  const example = JSON.parse(readFileSync(EXAMPLE, 'utf8'));

  it('the test server answers with the documented field names', () => {
    expect(Object.keys(example.data[0].results[0])).toEqual([...RESULT_FIELDS]);
    expect(Object.keys(example)).toEqual(['object', 'data', 'has_more', 'next_page']);
    expect(Object.keys(example.data[0])).toEqual(['object', 'start_time', 'end_time', 'results']);
  });

  it('becomes a row whose input includes the cached and cache-write tokens', () => {
    const page = parseUsagePage(example);
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    // The example is not grouped (project_id and model are null): a model is required.
    const ungrouped = usageTokenRows(page.page, { sourceName: 'x', mapping: { map: {}, defaultCustomer: 'acme' } });
    expect(ungrouped.rows).toEqual([]);
    expect(ungrouped.rejected[0].reason).toContain('not grouped by model');
    const grouped = structuredClone(example);
    grouped.data[0].results[0].model = 'gpt-4o-mini-2024-07-18';
    const groupedPage = parseUsagePage(grouped);
    if (!groupedPage.ok) throw new Error(groupedPage.error);
    const { rows } = usageTokenRows(groupedPage.page, { sourceName: 'openai', mapping: { map: {}, defaultCustomer: 'acme' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      recordKey: 'openai:openai:2024-11-01T00:00:00.000Z:-:gpt-4o-mini-2024-07-18',
      customerSlug: 'acme',
      inputTokens: 1000,
      cachedInputTokens: 400,
      cacheWriteInputTokens: 100,
      outputTokens: 500,
      requests: 5,
    });
    // uncached = input − cached − cache_write, as the API reports it.
    expect(rows[0].inputTokens - rows[0].cachedInputTokens - rows[0].cacheWriteInputTokens).toBe(example.data[0].results[0].input_uncached_tokens);
  });
});

describe('OpenAI-compatible usage API', () => {
  it('follows next_page, maps projects to customers and stores every bucket once', async () => {
    server.entries = entries(1, 12, ['proj_alpha', 'proj_Beta'], ['gpt-4o-2024-08-06', 'gpt-4o-mini-2024-07-18']);
    const id = await addSource(db, { name: 'openai', kind: 'openai-usage', url: server.url, lookback_seconds: 12 * 3600, config: { customer_map: { proj_alpha: 'acme' } } }, { type: 'bearer', token: server.apiKey });
    server.requests.length = 0;
    const [run] = await pullSource(db, id, { secret: SECRET, now: new Date(T + 12 * HOUR), retry: FAST_RETRY });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    // 12 hourly buckets, 5 to a page.
    expect(server.requests).toHaveLength(3);
    expect(server.requests[0]).toContain(`start_time=${T / 1000}&end_time=${(T + 12 * HOUR) / 1000}&bucket_width=1h&group_by=project_id&group_by=model`);
    expect(server.requests[1]).toContain('page=');
    expect(run.rowsRead).toBe(48);
    expect(run.rowsStored).toBe(48);
    expect(run.customersCreated).toEqual(['acme', 'proj-beta']);
    const slugOf = (p: string | null) => (p === 'proj_alpha' ? 'acme' : 'proj-beta');
    expect(await storedHours(['acme', 'proj-beta'])).toEqual(expectedHours(server.entries, slugOf));
    const key = `openai:openai:${new Date(T).toISOString()}:proj_alpha:gpt-4o-2024-08-06`;
    expect(await db.selectFrom('token_usage').select('record_key').where('record_key', '=', key).executeTakeFirst()).toBeDefined();
    expect(await watermarkOf(db, id)).toBe(T + 12 * HOUR);

    // The last hour grows after the pull (late usage); the next pull reads it again and replaces the bucket.
    const grown = server.entries.filter((e) => e.hour === T + 11 * HOUR);
    for (const e of grown) {
      e.input_tokens += 1_000;
      e.output_tokens += 10;
      e.num_model_requests += 1;
    }
    const [again] = await pullSource(db, id, { secret: SECRET, now: new Date(T + 12 * HOUR + 60_000), retry: FAST_RETRY });
    expect(again.status).toBe('succeeded');
    expect(again.rowsStored).toBe(grown.length);
    expect(await count(db, 'token_usage')).toBe(48);
    expect(await storedHours(['acme', 'proj-beta'])).toEqual(expectedHours(server.entries, slugOf));
  });

  it('a connection closed after some pages fails the run, keeps the watermark, and the re-run stores everything once', async () => {
    const mine = entries(2, 12, ['proj_close'], ['gpt-4.1']);
    server.entries = mine;
    const id = await addSource(db, { name: 'openai-close', kind: 'openai-usage', url: server.url, lookback_seconds: 12 * 3600 }, { type: 'bearer', token: server.apiKey });
    server.closeAfterPages(1);
    const [failed] = await pullSource(db, id, { secret: SECRET, now: new Date(T + 12 * HOUR), retry: FAST_RETRY });
    server.closeAfterPages(null);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/connection failed.*gave up after 3 attempts/);
    expect(await watermarkOf(db, id)).toBeNull();
    expect((await customerIds(db)).has('proj-close')).toBe(false);
    expect((await runsOf(db, id))[0]).toMatchObject({ status: 'failed', rows_stored: 0 });

    const [ok] = await pullSource(db, id, { secret: SECRET, now: new Date(T + 12 * HOUR), retry: FAST_RETRY });
    expect(ok.status).toBe('succeeded');
    expect(ok.rowsStored).toBe(12);
    expect(await storedHours(['proj-close'])).toEqual(expectedHours(mine, () => 'proj-close'));
  });

  it('two 5xx answers then success: one run, the right rows', async () => {
    const mine = entries(3, 4, ['proj_flaky'], ['o3']);
    server.entries = mine;
    const id = await addSource(db, { name: 'openai-flaky', kind: 'openai-usage', url: server.url, lookback_seconds: 4 * 3600 }, { type: 'bearer', token: server.apiKey });
    server.requests.length = 0;
    server.failNext(2, 502);
    const results = await pullSource(db, id, { secret: SECRET, now: new Date(T + 4 * HOUR), retry: FAST_RETRY });
    expect(results.map((r) => r.status)).toEqual(['succeeded']);
    expect(server.requests).toHaveLength(3);
    expect(await runsOf(db, id)).toHaveLength(1);
    expect(await storedHours(['proj-flaky'])).toEqual(expectedHours(mine, () => 'proj-flaky'));
  });

  it('a wrong key fails at once, is not retried, and says so', async () => {
    const id = await addSource(db, { name: 'openai-badkey', kind: 'openai-usage', url: server.url, lookback_seconds: 3600 }, { type: 'bearer', token: 'sk-wrong' });
    server.requests.length = 0;
    const [run] = await pullSource(db, id, { secret: SECRET, now: new Date(T + HOUR), retry: FAST_RETRY });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/authentication failed \(HTTP 401 Unauthorized\): check the source's credentials: Incorrect API key provided/);
    expect(run.error).not.toContain('sk-wrong');
    expect(server.requests).toHaveLength(1);
    const [recorded] = await runsOf(db, id);
    expect(recorded.error).toContain('authentication failed');
  });

  it('keeps the API key encrypted at rest', async () => {
    const row = await db.selectFrom('ingestion_sources').selectAll().where('name', '=', 'openai').executeTakeFirstOrThrow();
    expect(row.credentials_encrypted).toBeInstanceOf(Buffer);
    expect(row.credentials_encrypted!.includes(Buffer.from(server.apiKey))).toBe(false);
    const { rows } = await sql<{ text: string }>`SELECT row_to_json(s)::text AS text FROM ingestion_sources s`.execute(db);
    for (const r of rows) expect(r.text).not.toContain(server.apiKey);
    const audit = await db.selectFrom('audit_log').select(['after']).where('entity', '=', 'ingestion_source').execute();
    expect(JSON.stringify(audit)).not.toContain(server.apiKey);
    expect(JSON.stringify(audit)).toContain('"credentials":"changed"');
  });
});
