// A web process of `breakeven serve` (a node:cluster worker, server/web-processes.ts): from the sources through
// server/web-process.js, or compiled as build/cli/web-process.js (scripts/build-cli.mjs).
import { runWebProcess } from './web-processes.js';

runWebProcess();
