// Every setting, parsed once by one schema at start-up. A malformed one stops start-up with one line
// that names it (and never echoes a secret's value).
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

const schema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  BREAKEVEN_DATA_DIR: z.string().min(1).default('./.data'),
  PORT: z.coerce.number({ invalid_type_error: 'must be a port number' })
    .int('must be a whole number').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535')
    .default(3000),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  APP_URL: url(['http:', 'https:']).optional(),
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().regex(/^([^<>]*<)?[^@\s<>]+@[^@\s<>]+>?$/, 'must be an email address').optional(),
  BREAKEVEN_WEB_PROCESSES: z.coerce.number({ invalid_type_error: 'must be a number of processes' })
    .int('must be a whole number').min(1, 'must be between 1 and 64').max(64, 'must be between 1 and 64')
    .optional(),
});

export type Config = Omit<z.infer<typeof schema>, 'BREAKEVEN_DATA_DIR' | 'BREAKEVEN_WEB_PROCESSES'> & {
  dataDir: string;
  appUrl: string;
  /** Processes serving the dashboard (server/web-processes.ts). */
  webProcesses: number;
};

export class ConfigError extends Error {}

const SECRETS = new Set(['DATABASE_URL', 'SESSION_SECRET', 'SMTP_URL']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset, as in most tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    const shown = SECRETS.has(name) ? '' : ` (got ${JSON.stringify(present[name])})`;
    throw new ConfigError(`Invalid setting ${name}: ${issue.message}${shown}`);
  }
  const { BREAKEVEN_DATA_DIR, BREAKEVEN_WEB_PROCESSES, ...rest } = parsed.data;
  return {
    ...rest,
    // One per core, at most four: a page is one thread's work, and PostgreSQL needs the cores too.
    webProcesses: BREAKEVEN_WEB_PROCESSES ?? Math.min(availableParallelism(), 4),
    dataDir: path.resolve(BREAKEVEN_DATA_DIR),
    appUrl: (rest.APP_URL ?? `http://localhost:${rest.PORT}`).replace(/\/$/, ''),
  };
}
