// Sign-in, sessions and roles. The cookie carries a random session id, signed with the session secret;
// the database keeps only its SHA-256, so signing out or removing a user ends the session at once.
import { createHash, randomBytes } from 'node:crypto';
import { createCookie, redirect } from '@remix-run/node';
import { findUserByEmail } from '../../db/queries/users.js';
import { deleteSession, findSessionUser, insertSession, type SessionUser } from '../../db/queries/sessions.js';
import { recentFailures, recordLoginAttempt } from '../../db/queries/login-attempts.js';
import { secondsUntilAllowed, WINDOW_SECONDS } from '../domain/throttle.js';
import { db } from '../lib/db.server';
import { runtime } from '../lib/runtime.server';
import { decoyHash, verifyPassword } from './passwords.server.js';

const SESSION_DAYS = 7;

export type { SessionUser };

function sessionCookie() {
  return createCookie('breakeven_session', {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: SESSION_DAYS * 24 * 3600,
    secrets: [runtime().sessionSecret],
  });
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === 'https:';
}

async function sessionId(request: Request): Promise<string | undefined> {
  const value = await sessionCookie().parse(request.headers.get('Cookie'));
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
}

async function readUser(request: Request): Promise<SessionUser | undefined> {
  const id = await sessionId(request);
  return id ? findSessionUser(db(), sha256(id), new Date()) : undefined;
}

// A page request runs the root's loader and the page's side by side, each asking for the user: the request's
// load context (one object per request) carries the answer from the first to the second. Only for reads: after
// an action changed users or sessions, the loaders that follow must see the change.
const usersByRequest = new WeakMap<object, Promise<SessionUser | undefined>>();

/** The signed-in user, if any; pass the loader's `context` to read the session once per request. */
export function getUser(request: Request, context?: object): Promise<SessionUser | undefined> {
  if (!context || request.method !== 'GET') return readUser(request);
  let user = usersByRequest.get(context);
  if (!user) usersByRequest.set(context, (user = readUser(request)));
  return user;
}

/** A same-site path to return to after signing in; anything else becomes "/". */
export function safeRedirectPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  return value;
}

function wantsData(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path.startsWith('/exports/') || path.startsWith('/api/');
}

/** The signed-in user; otherwise a redirect to the sign-in page (pages) or 401 (exports and APIs). */
export async function requireUser(request: Request, context?: object): Promise<SessionUser> {
  const user = await getUser(request, context);
  if (user) return user;
  if (wantsData(request)) throw new Response('Sign in first.\n', { status: 401, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  const url = new URL(request.url);
  const back = `${url.pathname.replace(/\.data$/, '')}${url.search}`;
  throw redirect(back === '/' ? '/login' : `/login?${new URLSearchParams({ redirectTo: back })}`);
}

/** The signed-in admin; a viewer gets 403 and nothing changes. */
export async function requireAdmin(request: Request, context?: object): Promise<SessionUser> {
  const user = await requireUser(request, context);
  if (user.role !== 'admin') throw new Response('Only an admin can change this.', { status: 403 });
  return user;
}

export type SignInResult = { ok: true; user: SessionUser } | { ok: false; message: string; retryAfterSeconds?: number };

export const WRONG_CREDENTIALS = 'Wrong email or password.';

/** Checks a sign-in, throttled per account and per address; the message never says which part was wrong. */
export async function signIn(emailInput: string, password: string, address: string, now = new Date()): Promise<SignInResult> {
  const email = emailInput.trim().toLowerCase();
  const since = new Date(now.getTime() - WINDOW_SECONDS * 1000);
  const [byEmail, byAddress] = await Promise.all([
    recentFailures(db(), 'email', email, since),
    recentFailures(db(), 'address', address, since),
  ]);
  const wait = Math.max(
    secondsUntilAllowed(byEmail.failures, byEmail.lastFailureAt?.getTime() ?? null, now.getTime()),
    secondsUntilAllowed(byAddress.failures, byAddress.lastFailureAt?.getTime() ?? null, now.getTime()),
  );
  if (wait > 0) {
    // Refused unchecked, and counted: hammering only lengthens the wait.
    await recordLoginAttempt(db(), email, address, false);
    return { ok: false, message: `Too many sign-in attempts. Try again in ${wait} s.`, retryAfterSeconds: wait };
  }
  const user = await findUserByEmail(db(), email);
  // An unknown email costs the same hash as a known one, so timing does not tell them apart.
  const valid = await verifyPassword(password, user?.password_hash ?? (await decoyHash));
  await recordLoginAttempt(db(), email, address, Boolean(user && valid));
  if (!user || !valid) return { ok: false, message: WRONG_CREDENTIALS };
  return { ok: true, user: { id: user.id, email: user.email, role: user.role } };
}

/** Starts a session and returns the Set-Cookie header value. */
export async function createSession(request: Request, userId: number): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  await insertSession(db(), sha256(id), userId, new Date(Date.now() + SESSION_DAYS * 24 * 3600 * 1000));
  return sessionCookie().serialize(id, { secure: isHttps(request) });
}

/** Ends the request's session and returns the Set-Cookie header value that clears the cookie. */
export async function destroySession(request: Request): Promise<string> {
  const id = await sessionId(request);
  if (id) await deleteSession(db(), sha256(id));
  return sessionCookie().serialize('', { maxAge: 0, secure: isHttps(request) });
}
