// The admin forms of /reservations and /prices through the real server: each change lands, is audit-logged with
// its before and after in the same transaction, and shows on the pages; a viewer gets 403 and nothing changes;
// bad input is refused with a message per field or per JSON path.
import { beforeAll, describe, expect, it } from 'vitest';
import { loader as customerLoader } from '../../app/routes/customers.$slug';
import { callLoader, demoApp, PERIOD, type DemoApp } from './helpers.js';

let t: DemoApp;

beforeAll(async () => {
  t = await demoApp();
}, 120_000);

const HOUR = 3_600_000;

async function auditOf(entity: string) {
  return t.db.selectFrom('audit_log').selectAll().where('entity', '=', entity).orderBy('id').execute();
}

const reservation = {
  intent: 'create',
  scope: 'customer:acme',
  gpuType: 'H100',
  provider: 'northwind-gpu',
  gpus: '8',
  usdPerGpuHour: '2.19',
  startsAt: '2026-11-01',
  endsAt: '2027-11-01',
  note: 'signed after the dashboard said so',
};

describe('reservations', () => {
  it('an admin creates one: stored, audit-logged, and in acme’s current cost within a second', async () => {
    const before = await callLoader(customerLoader, t.viewer, `/customers/acme?${PERIOD}`, { slug: 'acme' });
    expect(before.selected.document.current).toBeNull();

    const response = await t.admin.post(`/reservations?${PERIOD}`, reservation);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toMatch(/done=created-\d+/);
    const row = await t.db.selectFrom('reservations').selectAll().where('note', '=', reservation.note).executeTakeFirstOrThrow();
    expect([row.gpus, row.usd_per_gpu_hour, row.starts_at.toISOString(), row.ends_at.toISOString()]).toEqual([8, 2.19, '2026-11-01T00:00:00.000Z', '2027-11-01T00:00:00.000Z']);
    const [entry] = await auditOf('reservation');
    expect(entry).toMatchObject({ actor: 'admin@example.com', action: 'create', entity_id: String(row.id), before: null });
    expect(entry.after).toMatchObject({ customer: 'acme', gpu_type: 'H100', gpus: 8, usd_per_gpu_hour: 2.19 });

    // The figures depend on reservations: the data version moves and the page is recomputed.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await callLoader(customerLoader, t.viewer, `/customers/acme?${PERIOD}`, { slug: 'acme' });
    expect(after.fresh).toBe(true);
    expect(after.selected.document.current.gpus).toBe(8);
    expect(after.selected.baseline.key).toBe('current');
  });

  it('an admin edits one: before and after are logged', async () => {
    const row = await t.db.selectFrom('reservations').select('id').where('note', '=', reservation.note).executeTakeFirstOrThrow();
    const response = await t.admin.post(`/reservations?${PERIOD}&edit=${row.id}`, { ...reservation, intent: 'update', id: String(row.id), gpus: '16', usdPerGpuHour: '2.09' });
    expect(response.status).toBe(302);
    const stored = await t.db.selectFrom('reservations').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect([stored.gpus, stored.usd_per_gpu_hour]).toEqual([16, 2.09]);
    const entries = await auditOf('reservation');
    const last = entries[entries.length - 1];
    expect(last.action).toBe('update');
    expect(last.before).toMatchObject({ gpus: 8, usd_per_gpu_hour: 2.19 });
    expect(last.after).toMatchObject({ gpus: 16, usd_per_gpu_hour: 2.09 });
  });

  it('an admin ends one at the start of the current hour', async () => {
    const pool = await t.db
      .selectFrom('reservations as r')
      .innerJoin('pools as p', 'p.id', 'r.pool_id')
      .select(['r.id', 'r.ends_at'])
      .where('p.name', '=', 'shared-h100')
      .executeTakeFirstOrThrow();
    const started = Date.now();
    const response = await t.admin.post(`/reservations?${PERIOD}`, { intent: 'end', id: String(pool.id) });
    expect(response.status).toBe(302);
    const stored = await t.db.selectFrom('reservations').select('ends_at').where('id', '=', pool.id).executeTakeFirstOrThrow();
    expect(stored.ends_at.getTime()).toBe(Math.floor(started / HOUR) * HOUR);
    const entries = await auditOf('reservation');
    const last = entries[entries.length - 1];
    expect(last.before).toMatchObject({ ends_at: pool.ends_at.toISOString() });
    expect(last.after).toMatchObject({ ends_at: stored.ends_at.toISOString() });
    // Ending it again is refused.
    const again = await t.admin.post(`/reservations?${PERIOD}`, { intent: 'end', id: String(pool.id) });
    expect(again.status).toBe(400);
  });

  it('refuses bad input with a message for each field, and changes nothing', async () => {
    const count = async () => (await t.db.selectFrom('reservations').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const audits = (await auditOf('reservation')).length;
    const before = await count();
    const bad = await t.admin.post('/reservations', { ...reservation, gpus: '0', usdPerGpuHour: 'free', endsAt: '2026-10-01' });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain('Reserve at least 1 GPU.');
    const unknown = await t.admin.post('/reservations', { ...reservation, scope: 'customer:nobody' });
    expect(unknown.status).toBe(400);
    expect(await count()).toBe(before);
    expect((await auditOf('reservation')).length).toBe(audits);
  });

  it('a viewer gets 403 and nothing changes', async () => {
    const snapshot = JSON.stringify(await t.db.selectFrom('reservations').selectAll().orderBy('id').execute());
    for (const intent of ['create', 'update', 'end']) {
      const response = await t.viewer.post('/reservations', { ...reservation, intent, id: '1' });
      expect(response.status, intent).toBe(403);
    }
    expect(JSON.stringify(await t.db.selectFrom('reservations').selectAll().orderBy('id').execute())).toBe(snapshot);
  });
});

describe('prices', () => {
  const book = {
    name: 'contract-2026-11',
    effective_from: '2026-11-15T00:00:00Z',
    offers: [
      { kind: 'reserved', provider: 'northwind-gpu', gpu_type: 'H100', term_days: 365, block_size: 8, usd_per_gpu_hour: 1.99 },
      { kind: 'on_demand', provider: 'northwind-gpu', gpu_type: 'H100', usd_per_gpu_hour: 2.99 },
    ],
    capacity_profiles: [],
  };

  it('an admin imports a price book: stored, audit-logged, listed', async () => {
    const response = await t.admin.post(`/prices?${PERIOD}`, { intent: 'import', json: JSON.stringify(book) });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('contract-2026-11');
    const stored = await t.db.selectFrom('price_books').selectAll().where('name', '=', book.name).executeTakeFirstOrThrow();
    expect(stored.effective_from.toISOString()).toBe('2026-11-15T00:00:00.000Z');
    const [entry] = await auditOf('price_book');
    expect(entry).toMatchObject({ action: 'create', entity_id: String(stored.id), actor: 'admin@example.com' });
    expect(entry.after).toMatchObject({ name: book.name, offers: 2 });
    const page = await (await t.viewer.get(`/prices?${PERIOD}`)).text();
    expect(page).toContain('contract-2026-11');
  });

  it('refuses a bad book whole, listing every problem by JSON path', async () => {
    const books = (await t.db.selectFrom('price_books').select('id').execute()).length;
    const bad = { ...book, name: 'broken', offers: [{ kind: 'reserved', provider: 'x', gpu_type: 'H100', term_days: -1, usd_per_gpu_hour: 'cheap' }] };
    const response = await t.admin.post('/prices', { intent: 'import', json: JSON.stringify(bad) });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain('$.offers[0].term_days');
    expect(text).toContain('$.offers[0].usd_per_gpu_hour');
    const notJson = await t.admin.post('/prices', { intent: 'import', json: '{"name": ' });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain('not valid JSON');
    expect((await t.db.selectFrom('price_books').select('id').execute()).length).toBe(books);
    expect((await auditOf('price_book')).length).toBe(1);
  });

  it('a viewer gets 403 and nothing is imported', async () => {
    const response = await t.viewer.post('/prices', { intent: 'import', json: JSON.stringify({ ...book, name: 'viewer-book' }) });
    expect(response.status).toBe(403);
    expect(await t.db.selectFrom('price_books').select('id').where('name', '=', 'viewer-book').executeTakeFirst()).toBeUndefined();
  });
});
