// The demo: synthetic, deterministic data plus an admin account whose sign-in is printed, so a first
// `npm start` shows a working product with nothing to configure.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../db/client.js';
import { upsertUser } from '../../db/queries/users.js';
import { seedDemo, type SeedSummary } from '../../seeds/demo.js';
import { hashPassword } from './passwords.server.js';

export const DEMO_EMAIL = 'demo@breakeven.local';
const SIGN_IN_FILE = 'demo-sign-in.txt';

export interface DemoOptions {
  days: number;
  seed: number;
  /** Exclusive end of the data, an hour boundary; the start of today (UTC) by default. */
  end?: Date;
  onProgress?: (done: number, total: number) => void;
}

export function startOfTodayUtc(now: Date): Date {
  const day = new Date(now);
  day.setUTCHours(0, 0, 0, 0);
  return day;
}

export async function seedDemoWithSignIn(db: Db, dataDir: string, options: DemoOptions): Promise<SeedSummary & { email: string; password: string }> {
  const end = options.end ?? startOfTodayUtc(new Date());
  const summary = await seedDemo(db, { days: options.days, seed: options.seed, end, onProgress: options.onProgress });
  const password = randomBytes(9).toString('base64url');
  await upsertUser(db, DEMO_EMAIL, 'admin', await hashPassword(password));
  await mkdir(dataDir, { recursive: true });
  await writeFile(path.join(dataDir, SIGN_IN_FILE), `${DEMO_EMAIL} ${password}\n`, { mode: 0o600 });
  return { ...summary, email: DEMO_EMAIL, password };
}

/** The demo sign-in written at seed time, if this data folder has one. */
export async function readDemoSignIn(dataDir: string): Promise<{ email: string; password: string } | undefined> {
  const text = await readFile(path.join(dataDir, SIGN_IN_FILE), 'utf8').catch(() => undefined);
  const [email, password] = text?.trim().split(' ') ?? [];
  return email && password ? { email, password } : undefined;
}
