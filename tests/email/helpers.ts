// Shared by the email tests: the demo seeded to end on Monday 30 November 2026 (so ISO weeks 2026-W44 … W48
// are complete in every zone used here), settings, and a fast retry policy.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { Db } from '../../db/client.js';
import type { RetryPolicy, SendSettings } from '../../app/services/email/send.server.js';
import { seedDemo } from '../../seeds/demo.js';

export const APP_URL = 'https://breakeven.example.com';
export const SEED_END = new Date('2026-11-30T00:00:00Z');
/** Monday 30 November 2026, 09:00 UTC: W48 is due in UTC and Europe/Berlin (08:00 local has passed). */
export const MONDAY_AFTER_W48 = new Date('2026-11-30T09:00:00Z');
export const FAST_RETRY: RetryPolicy = { maxAttempts: 5, backoffMs: () => 20 };

export async function seedEmailDemo(db: Db): Promise<void> {
  await seedDemo(db, { days: 42, seed: 1, end: SEED_END });
}

export async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'breakeven-email-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function settings(dataDir: string, smtpUrl?: string): SendSettings {
  return { smtpUrl, dataDir, appUrl: APP_URL, mailFrom: 'Breakeven <reports@breakeven.example.com>' };
}

/** Every href of an HTML document. */
export function hrefsOf(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replaceAll('&amp;', '&'));
}
