import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/client.js';
import { freshDatabase } from '../support/database.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';

let db: Db;
let app: TestApp;

const PUBLIC = new Set(['/login', '/healthz']);
const concrete = (path: string) => path.replace(/:[a-zA-Z]+/g, 'x').replace(/\*$/, 'x');

beforeAll(async () => {
  ({ db } = await freshDatabase());
  app = await startApp(db);
  await createUser(db, 'admin@example.com', 'admin');
  await createUser(db, 'viewer@example.com', 'viewer');
});

/** Rows of every table an action could change, to prove that a refused request changed nothing. */
async function snapshot(): Promise<string> {
  const tables = ['users', 'sessions', 'customers', 'pools', 'reservations', 'offers', 'price_books', 'ingestion_sources', 'email_recipients', 'audit_log'] as const;
  const parts = await Promise.all(tables.map((t) => db.selectFrom(t).selectAll().execute()));
  return JSON.stringify(parts);
}

describe('without a session', () => {
  it('the manifest has the routes this test walks', () => {
    expect(app.routes.map((r) => r.path)).toEqual(expect.arrayContaining(['/', '/login', '/healthz', '/users', '/audit']));
  });

  it('every page and resource route redirects to sign-in or answers 401', async () => {
    const anonymous = new Client(app.url);
    for (const route of app.routes.filter((r) => r.hasLoader && !PUBLIC.has(r.path))) {
      const path = concrete(route.path);
      const response = await anonymous.get(path);
      if (path.startsWith('/exports/') || path.startsWith('/api/')) {
        expect(response.status, path).toBe(401);
      } else {
        expect(response.status, path).toBe(302);
        expect(response.headers.get('location'), path).toMatch(/^\/login(\?redirectTo=.*)?$/);
      }
    }
  });

  it('every action refuses a post', async () => {
    const anonymous = new Client(app.url);
    const before = await snapshot();
    for (const route of app.routes.filter((r) => r.hasAction && !PUBLIC.has(r.path) && r.path !== '/logout')) {
      const response = await anonymous.post(concrete(route.path), { intent: 'save', email: 'x@example.com', role: 'admin', password: 'long enough password' });
      expect([302, 401], route.path).toContain(response.status);
    }
    expect(await snapshot()).toBe(before);
  });

  it('keeps the page asked for, same-site only', async () => {
    const response = await new Client(app.url).get('/users?tab=1');
    expect(response.headers.get('location')).toBe('/login?redirectTo=%2Fusers%3Ftab%3D1');
    const client = new Client(app.url);
    const signedIn = await client.post('/login', { email: 'viewer@example.com', password: 'correct horse battery', redirectTo: '//evil.example/x' });
    expect(signedIn.headers.get('location')).toBe('/');
  });

  it('healthz answers 200 without signing in', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
  });
});

describe('a viewer', () => {
  it('reads the pages', async () => {
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const response = await viewer.get('/');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('viewer@example.com');
  });

  it('gets 403 from every action, and nothing changes', async () => {
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    const before = await snapshot();
    const actions = app.routes.filter((r) => r.hasAction && !PUBLIC.has(r.path) && r.path !== '/logout');
    expect(actions.length).toBeGreaterThan(0);
    for (const route of actions) {
      for (const intent of ['save', 'remove', 'create', 'update', 'delete', 'end', 'run', 'upload']) {
        const response = await viewer.post(concrete(route.path), { intent, email: 'viewer@example.com', role: 'admin', password: 'long enough password' });
        expect(response.status, `${route.path} ${intent}`).toBe(403);
      }
    }
    // Signing in added a session; a snapshot taken after it must be unchanged by the refused posts.
    expect(await snapshot()).toBe(before);
  });

  it('cannot open admin pages', async () => {
    const viewer = new Client(app.url);
    await viewer.signIn('viewer@example.com');
    expect((await viewer.get('/users')).status).toBe(403);
    expect((await viewer.get('/audit')).status).toBe(403);
  });
});

describe('injection', () => {
  const nasty = ["' OR '1'='1", "1; DROP TABLE customers; --", '"); SELECT pg_sleep(5); --', '=HYPERLINK("http://x")', '<script>alert(1)</script>'];

  it('SQL metacharacters in every query parameter of every page are only text', async () => {
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const before = await snapshot();
    for (const route of app.routes.filter((r) => r.hasLoader && !PUBLIC.has(r.path))) {
      for (const value of nasty) {
        const query = new URLSearchParams({ from: value, to: value, q: value, sort: value, page: value, gpuType: value, pool: value, run: value });
        const response = await admin.get(`${concrete(route.path)}?${query}`);
        expect(response.status, `${route.path} ${value}`).toBeLessThan(500);
        const body = await response.text();
        expect(body, route.path).not.toContain('<script>alert(1)</script>');
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it('a name with markup or a formula is stored and shown as text', async () => {
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const email = 'x+<b>bold</b>@example.com';
    const response = await admin.post('/users', { intent: 'save', email, role: 'viewer', password: 'long enough password' });
    // Not an email by the form's rule: refused with a message, not an error page.
    expect(response.status).toBe(400);
    await db.insertInto('customers').values({ slug: 'formula', name: '=HYPERLINK("http://x")<script>alert(1)</script>' }).execute();
    const page = await (await admin.get('/')).text();
    expect(page).not.toContain('<script>alert(1)</script>');
  });
});

describe('cross-site requests', () => {
  it('a post from another origin is refused before it reaches the action', async () => {
    const admin = new Client(app.url);
    await admin.signIn('admin@example.com');
    const before = await snapshot();
    const forged = await admin.post('/users', { intent: 'save', email: 'mallory@example.com', role: 'admin', password: 'long enough password' }, { Origin: 'http://evil.example' });
    expect(forged.status).toBe(403);
    const noOrigin = await fetch(`${app.url}/users`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: admin.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'intent=save&email=mallory%40example.com&role=admin&password=long+enough+password',
    });
    expect(noOrigin.status).toBe(403);
    expect(await snapshot()).toBe(before);
  });
});

describe('security headers', () => {
  it('every response carries a strict policy', async () => {
    for (const path of ['/login', '/healthz', '/']) {
      const response = await fetch(app.url + path, { redirect: 'manual' });
      const csp = response.headers.get('content-security-policy') ?? '';
      const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? '';
      expect(scriptSrc, path).toMatch(/'nonce-[A-Za-z0-9+/=]+'/);
      expect(scriptSrc, path).not.toContain('unsafe-inline');
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('strict-origin-when-cross-origin');
    }
  });

  it('every inline script of a page carries the nonce', async () => {
    const response = await fetch(`${app.url}/login`);
    const nonce = /'nonce-([^']+)'/.exec(response.headers.get('content-security-policy') ?? '')?.[1];
    const html = await response.text();
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const attributes of scripts) expect(attributes).toContain(`nonce="${nonce}"`);
  });

  it('the session cookie is HttpOnly and SameSite=Lax, and Secure over https', async () => {
    const plain = await new Client(app.url).signIn('viewer@example.com');
    const cookie = plain.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    // Behind a TLS-terminating proxy on this machine, the proxy says so with X-Forwarded-Proto.
    const secure = await new Client(app.url).post(
      '/login',
      { email: 'viewer@example.com', password: 'correct horse battery' },
      { 'X-Forwarded-Proto': 'https', Origin: app.url.replace('http:', 'https:') },
    );
    expect(secure.status).toBe(302);
    expect(secure.headers.get('set-cookie')).toMatch(/Secure/);
  });
});
