// The HTTP server: security headers, static assets and the Remix request handler.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';

export const buildPath = path.resolve('build', 'index.js');

export async function loadBuild(): Promise<ServerBuild> {
  if (!existsSync(buildPath)) throw new Error(`${buildPath} is missing: run \`npm run build\` first (npm start does it)`);
  return import(pathToFileURL(buildPath).href) as Promise<ServerBuild>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF: a request that may change something must come from this site's own pages. Browsers send Origin
 * on every POST; when a client sends neither Origin nor Referer, it is not a browser acting for a signed-in
 * person and is refused as well.
 */
function refuseCrossOrigin(req: Request, res: Response, next: NextFunction): void {
  if (SAFE_METHODS.has(req.method)) return next();
  const own = `${req.protocol}://${req.get('host')}`;
  const claimed = req.get('origin') ?? req.get('referer');
  let origin: string | undefined;
  try {
    origin = claimed ? new URL(claimed).origin : undefined;
  } catch {
    origin = undefined;
  }
  if (origin === own) return next();
  res.status(403).type('text/plain').send('Cross-origin request refused.\n');
}

export interface AppOptions {
  /** Told each request's path and server time, from arrival to the last byte written (benchmarks). */
  onRequestTime?: (path: string, ms: number) => void;
}

export function createApp(build: ServerBuild, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  const { onRequestTime } = options;
  if (onRequestTime) {
    app.use((req, res, next) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => onRequestTime(req.path, Number(process.hrtime.bigint() - started) / 1e6));
      next();
    });
  }
  // Behind a proxy, the client address and protocol come from X-Forwarded-*; only loopback proxies are trusted.
  app.set('trust proxy', 'loopback');

  app.use((req, res, next) => {
    const nonce = randomBytes(16).toString('base64');
    res.locals.cspNonce = nonce;
    res.setHeader(
      'Content-Security-Policy',
      [
        "default-src 'self'",
        `script-src 'self' 'nonce-${nonce}'`,
        // Charts set style attributes; scripts stay nonce-only.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join('; '),
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'strict-origin-when-cross-origin');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  });

  app.use(refuseCrossOrigin);

  app.use('/build', express.static('public/build', { immutable: true, maxAge: '1y' }));
  // Only a path with a file extension can be one of public's files (favicon.ico, styles.css): the pages' paths
  // skip the file-system lookup the static handler would make on every request.
  const publicFiles = express.static('public', { maxAge: '1h', index: false });
  app.use((req, res, next) => (/\.[A-Za-z0-9]+$/.test(req.path) ? publicFiles(req, res, next) : next()));
  app.all('*', createRequestHandler({ build, getLoadContext: (req, res) => ({ cspNonce: res.locals.cspNonce as string, clientAddress: req.ip ?? 'unknown' }) }));
  return app;
}
