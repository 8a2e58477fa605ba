#!/usr/bin/env -S node --max-semi-space-size=8 --single-threaded-gc
// The `breakeven` command: the compiled command line (build/cli/main.js, made by `npm run build`) while it is
// current, else the TypeScript sources through tsx — so an edited source is never run stale, and a built
// checkout starts fast and without tsx's loader thread (docs/decisions/052-compiled-command.md).
// The young generation is capped at 8 MB a semi-space: the commands are batch work (imports, exports, emails)
// whose garbage is short-lived, and V8's default (up to 16 MB) let an export's peak memory grow by ~30 MB for no
// measurable speed (docs/decisions/050-exports.md). Garbage is collected on the main thread alone: with V8's
// helper threads (parallel scavenges, concurrent marking) a year's FOCUS export peaked 10–20 MB higher and an
// import ~9 MB higher, for no measurable time saved on a 2-core machine, where PostgreSQL had the other core.
// `npm start` runs the server with its own settings.
import { readFileSync, statSync } from 'node:fs';

// A reader that stops early (`breakeven export costs … | head`) closes the pipe: that is the reader's choice,
// not a failure, so end quietly instead of printing a stack trace for EPIPE.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const root = new URL('../', import.meta.url);
const compiled = new URL('build/cli/main.js', root);

/** Whether build/cli/main.js was built after the last change to every source it was built from. */
function compiledIsCurrent() {
  try {
    const builtAt = statSync(compiled).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(new URL('build/cli/inputs.json', root), 'utf8'));
    return inputs.every((file) => statSync(new URL(file, root)).mtimeMs <= builtAt);
  } catch {
    return false; // not built, or a source it was built from is gone
  }
}

let main;
if (compiledIsCurrent()) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
