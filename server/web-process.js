// A web process of `breakeven serve` (a node:cluster worker): runs the TypeScript sources through tsx, as
// bin/breakeven.js does, and serves with the settings the primary sends (server/web-processes.ts).
import { register } from 'tsx/esm/api';

register();
const { runWebProcess } = await import('./web-processes.ts');
runWebProcess();
