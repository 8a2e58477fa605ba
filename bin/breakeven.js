#!/usr/bin/env -S node --max-semi-space-size=8
// The `breakeven` command: runs the TypeScript sources through tsx (no separate compile step).
// The young generation is capped at 8 MB a semi-space: the commands are batch work (imports, exports, emails)
// whose garbage is short-lived, and V8's default (up to 16 MB) let an export's peak memory grow by ~30 MB for no
// measurable speed (docs/decisions/050-exports.md). `npm start` runs the server with its own setting.
import { register } from 'tsx/esm/api';

// A reader that stops early (`breakeven export costs … | head`) closes the pipe: that is the reader's choice,
// not a failure, so end quietly instead of printing a stack trace for EPIPE.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
