// The dashboard's cache (docs/decisions/030-dashboard.md): computed figures are kept in process, keyed by what
// they answer (period, scope…) and stamped with the data version they were computed from. The data version is
// a fingerprint of what the engine reads (db/queries/data-version.ts), read at most once a second. When it
// moves, the next request recomputes in the background and waits for it a little; if the recompute takes longer,
// the previous figures are served, marked as not fresh, and replaced as soon as the recompute ends.
import cluster from 'node:cluster';
import type { Db } from '../../../db/client.js';
import { dataFingerprint } from '../../../db/queries/data-version.js';

/** How often the fingerprint is read, at most. */
const VERSION_TTL_MS = Number(process.env.BREAKEVEN_DASHBOARD_VERSION_TTL_MS ?? 1000);
/** How long a request waits for a recompute before being served the previous figures. */
const WAIT_FOR_REFRESH_MS = Number(process.env.BREAKEVEN_DASHBOARD_WAIT_MS ?? 2000);

interface VersionState {
  value: string;
  /** When the read that gave `value` started (performance.now()). */
  readAt: number;
  pending?: { startedAt: number; promise: Promise<string> };
}

const versions = new WeakMap<Db, VersionState>();

/** When this process last learnt that figures changed: a fingerprint read that started earlier is stale. */
let invalidatedAt = -Infinity;

export const INVALIDATE_DASHBOARD = 'breakeven:invalidate-dashboard';

// With several web processes (server/web-processes.ts), a change made through another one arrives as a message.
if (cluster.isWorker) {
  process.on('message', (m: unknown) => {
    if ((m as { type?: unknown })?.type === INVALIDATE_DASHBOARD) invalidatedAt = performance.now();
  });
}

/** The data version: the fingerprint, re-read when older than a second (one read in flight at a time). */
export async function dataVersion(db: Db): Promise<string> {
  let state = versions.get(db);
  if (!state) versions.set(db, (state = { value: '', readAt: -Infinity }));
  const now = performance.now();
  if (now - state.readAt < VERSION_TTL_MS && state.readAt > invalidatedAt) return state.value;
  let pending = state.pending;
  if (pending === undefined || pending.startedAt <= invalidatedAt) {
    const s = state;
    const promise = dataFingerprint(db)
      .then((value) => {
        if (now >= s.readAt) {
          s.value = value;
          s.readAt = now;
        }
        return value;
      })
      .finally(() => {
        if (s.pending?.promise === promise) s.pending = undefined;
      });
    s.pending = pending = { startedAt: now, promise };
  }
  return pending.promise;
}

/**
 * After a change made here (a reservation, a price book): the next request re-reads the fingerprint at once, in
 * this process and — told through the primary — in the other web processes.
 */
export function invalidateDashboard(): void {
  invalidatedAt = performance.now();
  if (cluster.isWorker) process.send?.({ type: INVALIDATE_DASHBOARD });
}

export interface Cached<T> {
  value: T;
  /** When the figures were computed. */
  computedAt: Date;
  /** false: newer data exist and the figures are being recomputed. */
  fresh: boolean;
}

interface Entry<T> {
  version: string;
  value: T;
  computedAt: Date;
  refreshing?: { version: string; promise: Promise<Entry<T>> };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** An LRU of computed values per database, keyed by a string, each valid for one data version. */
export class VersionedCache<T> {
  private readonly stores = new WeakMap<Db, Map<string, Entry<T>>>();
  private readonly cold = new WeakMap<Db, Map<string, Promise<Entry<T>>>>();

  constructor(
    readonly name: string,
    private readonly maxEntries: number,
  ) {}

  private store(db: Db): Map<string, Entry<T>> {
    let s = this.stores.get(db);
    if (!s) this.stores.set(db, (s = new Map()));
    return s;
  }

  private put(db: Db, key: string, entry: Entry<T>): void {
    const s = this.store(db);
    const existing = s.get(key);
    // A slower, older recompute never replaces a newer one.
    if (existing && existing.computedAt > entry.computedAt && existing.version !== entry.version) return;
    s.delete(key);
    s.set(key, entry);
    while (s.size > this.maxEntries) s.delete(s.keys().next().value!);
  }

  private compute(db: Db, key: string, version: string, fn: () => Promise<T>): Promise<Entry<T>> {
    return fn().then((value) => {
      const entry: Entry<T> = { version, value, computedAt: new Date() };
      this.put(db, key, entry);
      return entry;
    });
  }

  /** The value already computed for this key, whatever its version (undefined when none). */
  peek(db: Db, key: string): T | undefined {
    return this.store(db).get(key)?.value;
  }

  async get(db: Db, key: string, fn: () => Promise<T>): Promise<Cached<T>> {
    const version = await dataVersion(db);
    const s = this.store(db);
    const entry = s.get(key);
    if (entry && entry.version === version) {
      s.delete(key);
      s.set(key, entry);
      return { value: entry.value, computedAt: entry.computedAt, fresh: true };
    }
    if (entry) {
      if (!entry.refreshing || entry.refreshing.version !== version) {
        const promise = this.compute(db, key, version, fn);
        entry.refreshing = { version, promise };
        promise.catch((error: unknown) => {
          console.error(`dashboard: recomputing ${this.name} ${key} failed; the previous figures stay`, error);
          if (entry.refreshing?.promise === promise) entry.refreshing = undefined;
        });
      }
      const refreshed = await Promise.race([entry.refreshing.promise.catch(() => undefined), sleep(WAIT_FOR_REFRESH_MS).then(() => undefined)]);
      if (refreshed) return { value: refreshed.value, computedAt: refreshed.computedAt, fresh: true };
      return { value: entry.value, computedAt: entry.computedAt, fresh: false };
    }
    // Nothing computed yet for this key: every request waits for the same computation.
    let pending = this.cold.get(db);
    if (!pending) this.cold.set(db, (pending = new Map()));
    const coldKey = `${key}\u0000${version}`;
    let promise = pending.get(coldKey);
    if (!promise) {
      const started = this.compute(db, key, version, fn);
      promise = started.finally(() => pending.delete(coldKey));
      pending.set(coldKey, promise);
    }
    const computed = await promise;
    return { value: computed.value, computedAt: computed.computedAt, fresh: true };
  }

  /** Forgets one value (a view built from figures that were not fresh: it must not outlive them). */
  delete(db: Db, key: string): void {
    this.store(db).delete(key);
  }

  /** Forgets every value of a database (tests). */
  clear(db: Db): void {
    this.store(db).clear();
  }
}
