// Shared by the dashboard tests: a demo database with a fixed end, the real server, signed-in clients, and
// calling a route's loader as Remix would (same Request, same cookie).
import { expect } from 'vitest';
import type { Db } from '../../db/client.js';
import { seedDemo } from '../../seeds/demo.js';
import { Client, createUser, startApp, type TestApp } from '../support/app.js';
import { freshDatabase } from '../support/database.js';

export const END = new Date('2026-11-28T00:00:00Z');
/** 30 days of the 35 seeded: every page is asked about this period. */
export const FROM_PARAM = '2026-10-29';
export const TO_PARAM = '2026-11-28';
export const PERIOD = `from=${FROM_PARAM}&to=${TO_PARAM}`;
export const WINDOW = { from: new Date(`${FROM_PARAM}T00:00:00Z`), to: new Date(`${TO_PARAM}T00:00:00Z`) };

export interface DemoApp {
  db: Db;
  url: string;
  app: TestApp;
  admin: Client;
  viewer: Client;
}

export async function demoApp(): Promise<DemoApp> {
  const fresh = await freshDatabase();
  await seedDemo(fresh.db, { days: 35, seed: 1, end: END });
  await createUser(fresh.db, 'admin@example.com', 'admin');
  await createUser(fresh.db, 'viewer@example.com', 'viewer');
  const app = await startApp(fresh.db);
  const admin = new Client(app.url);
  await admin.signIn('admin@example.com');
  const viewer = new Client(app.url);
  await viewer.signIn('viewer@example.com');
  return { db: fresh.db, url: fresh.url, app, admin, viewer };
}

type Loader = (args: { request: Request; params: Record<string, string>; context: Record<string, unknown> }) => Promise<unknown>;

/** Calls a route module's loader with the client's session, as the server would. */
export async function callLoader<T = any>(loader: unknown, client: Client, path: string, params: Record<string, string> = {}): Promise<T> {
  const request = new Request(`${client.base}${path}`, { headers: { Cookie: client.cookie } });
  return (await (loader as Loader)({ request, params, context: {} })) as T;
}

/** The Response a loader threw (a 404, a redirect), or fails. */
export async function loaderThrows(loader: unknown, client: Client, path: string, params: Record<string, string> = {}): Promise<Response> {
  try {
    await callLoader(loader, client, path, params);
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
  throw new Error(`${path}: the loader did not throw`);
}

/** Equal to the cent after the same float arithmetic: a relative 1e-9. */
export function expectUsd(actual: number | null | undefined, expected: number | null | undefined, what: string): void {
  if (expected === null || expected === undefined) {
    expect(actual ?? null, what).toBeNull();
    return;
  }
  expect(actual, what).not.toBeNull();
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}
