// At most a few engine evaluations at once: they are CPU-bound, so more at once only makes every page slower,
// and each holds database connections while it reads its rollups.
import { concurrencyLimit } from '../../lib/limit.js';

const MAX = Math.max(1, Math.floor(Number(process.env.BREAKEVEN_DASHBOARD_EVALUATIONS ?? 2)) || 2);

export const withEvaluationSlot = concurrencyLimit(MAX);
