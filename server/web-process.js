// A web process of `breakeven serve` run from the TypeScript sources: through tsx, as bin/breakeven.js runs them
// when the compiled command is missing or out of date.
import { register } from 'tsx/esm/api';

register();
await import('./web-process-entry.ts');
