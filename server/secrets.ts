// The session secret: SESSION_SECRET when set; otherwise one generated once and kept in the data folder,
// with a warning, so a first run needs no setting and sessions survive a restart.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config.js';

export async function resolveSessionSecret(config: Config, warn: (line: string) => void): Promise<string> {
  if (config.SESSION_SECRET) return config.SESSION_SECRET;
  const file = path.join(config.dataDir, 'session-secret');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing && existing.trim().length >= 32) {
    warn(`SESSION_SECRET is not set: using the one generated in ${file}; set SESSION_SECRET in production`);
    return existing.trim();
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  warn(`SESSION_SECRET is not set: generated one in ${file}; set SESSION_SECRET in production`);
  return secret;
}
