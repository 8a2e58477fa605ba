#!/usr/bin/env node
// The `breakeven` command: runs the TypeScript sources through tsx (no separate compile step).
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
