import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { freshDatabase } from '../support/database.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';

let db: Db;
let app: TestApp;

beforeAll(async () => {
  ({ db } = await freshDatabase());
  app = await startApp(db);
  await createUser(db, 'ana@example.com', 'admin');
  await createUser(db, 'bo@example.com', 'viewer');
  await createUser(db, 'cy@example.com', 'viewer');
});

async function errorOf(response: Response): Promise<string> {
  return (/role="alert">([^<]*)</.exec(await response.text()) ?? [])[1] ?? '';
}

describe('sign-in', () => {
  it('one message for a wrong password and for an unknown email', async () => {
    const wrongPassword = await new Client(app.url, '10.0.1.1').post('/login', { email: 'bo@example.com', password: 'not the password' });
    const unknown = await new Client(app.url, '10.0.1.2').post('/login', { email: 'nobody@example.com', password: 'not the password' });
    expect(wrongPassword.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await errorOf(wrongPassword)).toBe('Wrong email or password.');
    expect(await errorOf(unknown)).toBe('Wrong email or password.');
  });

  it('the 20th wrong password in a minute is refused without being checked', async () => {
    const statuses: number[] = [];
    for (let attempt = 1; attempt <= 19; attempt++) {
      statuses.push((await new Client(app.url).post('/login', { email: 'ana@example.com', password: `guess ${attempt}` }, { 'X-Forwarded-For': '10.0.0.9' })).status);
    }
    // The first four failures are checked at once; after that each attempt must wait longer (1 s, 2 s, 4 s …).
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(14).fill(429));
    // The 20th carries the right password, and still is not checked.
    const twentieth = await new Client(app.url, '10.0.1.3').post('/login', { email: 'ana@example.com', password: 'correct horse battery' });
    expect(twentieth.status).toBe(429);
    expect(twentieth.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorOf(twentieth)).toMatch(/^Too many sign-in attempts\. Try again in \d+ s\.$/);
    expect(twentieth.headers.get('set-cookie')).toBeNull();
  });

  it('wrong passwords for many accounts from one address are throttled per address', async () => {
    const statuses: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      statuses.push((await new Client(app.url).post('/login', { email: `user${attempt}@example.com`, password: 'guess' }, { 'X-Forwarded-For': '10.0.0.77' })).status);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(6)).toEqual([429, 429]);
  });

  it('SQL metacharacters in the form are only text', async () => {
    for (const email of ["' OR '1'='1", "bo@example.com'--", 'bo@example.com"; DROP TABLE users; --']) {
      const response = await new Client(app.url, `10.0.2.${email.length}`).post('/login', { email, password: "' OR 1=1 --" });
      expect([400, 401]).toContain(response.status);
    }
    expect(await db.selectFrom('users').select('email').execute()).toHaveLength(3);
  });
});

describe('sessions end', () => {
  it('on sign-out: the old cookie no longer opens a page', async () => {
    const client = new Client(app.url);
    await client.signIn('bo@example.com');
    const cookie = client.cookie;
    expect((await client.get('/')).status).toBe(200);
    expect((await client.post('/logout', {})).headers.get('location')).toBe('/login');
    const replay = await fetch(`${app.url}/`, { redirect: 'manual', headers: { Cookie: cookie } });
    expect(replay.status).toBe(302);
  });

  it('when the user is removed', async () => {
    const cy = new Client(app.url);
    await cy.signIn('cy@example.com');
    expect((await cy.get('/')).status).toBe(200);
    const admin = new Client(app.url);
    // Not ana: the brute-force test above holds her account for a while.
    await createUser(db, 'root@example.com', 'admin');
    await admin.signIn('root@example.com');
    expect((await admin.post('/users', { intent: 'remove', email: 'cy@example.com' })).status).toBe(200);
    expect((await cy.get('/')).status).toBe(302);
  });

  it('a tampered cookie is ignored', async () => {
    const client = new Client(app.url);
    await client.signIn('bo@example.com');
    client.cookie = client.cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await client.get('/')).status).toBe(302);
  });
});

describe('the audit log', () => {
  it('records who changed a user, before and after, without the password', async () => {
    await createUser(db, 'auditor@example.com', 'admin');
    const admin = new Client(app.url);
    await admin.signIn('auditor@example.com');
    await admin.post('/users', { intent: 'save', email: 'dee@example.com', role: 'viewer', password: 'a long password' });
    await admin.post('/users', { intent: 'save', email: 'dee@example.com', role: 'admin', password: 'another long password' });
    const entries = await db.selectFrom('audit_log').selectAll().where('entity_id', '=', 'dee@example.com').orderBy('id').execute();
    expect(entries.map((e) => [e.actor, e.action, e.before, e.after])).toEqual([
      ['auditor@example.com', 'create', null, { email: 'dee@example.com', role: 'viewer', password: 'changed' }],
      ['auditor@example.com', 'update', { email: 'dee@example.com', role: 'viewer' }, { email: 'dee@example.com', role: 'admin', password: 'changed' }],
    ]);
    const page = await (await admin.get('/audit')).text();
    expect(page).toContain('dee@example.com');
    expect(page).not.toMatch(/scrypt\$/);
  });
});
