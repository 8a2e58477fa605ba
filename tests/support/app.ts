// The real HTTP server (the compiled Remix build behind the Express app) on a loopback port, against a
// test database, and a small client that signs in and keeps its cookie.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { setDb, type Db } from '../../db/client.js';
import { upsertUser } from '../../db/queries/users.js';
import type { Role } from '../../db/schema.js';
import { setRuntime } from '../../app/lib/runtime.server.js';
import { hashPassword } from '../../app/services/passwords.server.js';
import { createApp, loadBuild } from '../../server/http.js';

export interface TestApp {
  url: string;
  routes: { id: string; path: string; hasAction: boolean; hasLoader: boolean }[];
}

export async function startApp(db: Db): Promise<TestApp> {
  setDb(db);
  setRuntime({ sessionSecret: 'test-session-secret-that-is-long-enough-0123', appUrl: 'http://localhost', dataDir: '/nonexistent' });
  const build = await loadBuild();
  const server: Server = await new Promise((resolve) => {
    const s = createApp(build).listen(0, '127.0.0.1', () => resolve(s));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  // Full paths of the route manifest: a new route is tested without anyone listing it.
  const fullPath = (id: string): string => {
    const route = build.routes[id];
    const parent = route.parentId && route.parentId !== 'root' ? fullPath(route.parentId) : '';
    return route.index ? parent || '/' : `${parent}/${route.path ?? ''}`.replace(/\/+/g, '/');
  };
  const routes = Object.keys(build.routes)
    .filter((id) => id !== 'root')
    .map((id) => ({ id, path: fullPath(id), hasAction: Boolean(build.routes[id].module.action), hasLoader: Boolean(build.routes[id].module.loader) }));
  return { url: `http://127.0.0.1:${port}`, routes };
}

export async function createUser(db: Db, email: string, role: Role, password = 'correct horse battery'): Promise<void> {
  await upsertUser(db, email, role, await hashPassword(password));
}

/** A browser-like client: same-origin Origin header on posts, a cookie kept across requests, no redirects followed. */
export class Client {
  cookie = '';
  private readonly forwardedFor: Record<string, string>;
  /** `address`: the client address a trusted local proxy reports, so throttling tests stay apart. */
  constructor(readonly base: string, address?: string) {
    this.forwardedFor = address ? { 'X-Forwarded-For': address } : {};
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.keep(await fetch(this.base + path, { redirect: 'manual', headers: { Cookie: this.cookie, ...this.forwardedFor, ...headers } }));
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.keep(
      await fetch(this.base + path, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams(form),
        headers: { Cookie: this.cookie, Origin: this.base, 'Content-Type': 'application/x-www-form-urlencoded', ...this.forwardedFor, ...headers },
      }),
    );
  }

  async signIn(email: string, password = 'correct horse battery'): Promise<Response> {
    const response = await this.post('/login', { email, password, redirectTo: '/' });
    if (response.status !== 302) throw new Error(`sign-in of ${email} answered ${response.status}`);
    return response;
  }

  private keep(response: Response): Response {
    const set = response.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return response;
  }
}
