#!/usr/bin/env node
// The `breakeven` command: runs the TypeScript sources through tsx (no separate compile step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
