// Sign-in throttling: after a few failures, each further attempt must wait longer (doubling), and an
// attempt that comes too soon is refused without checking the password.

export const FREE_FAILURES = 4;
export const MAX_WAIT_SECONDS = 15 * 60;
export const WINDOW_SECONDS = 15 * 60;

/** Seconds to wait after the latest failure: 0 for the first FREE_FAILURES, then 1, 2, 4, … up to 15 min. */
export function requiredWaitSeconds(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(2 ** (failures - FREE_FAILURES), MAX_WAIT_SECONDS);
}

/** Seconds still to wait before another attempt is checked (0: check it now). */
export function secondsUntilAllowed(failures: number, lastFailureAt: number | null, now: number): number {
  if (lastFailureAt === null) return 0;
  const remaining = lastFailureAt + requiredWaitSeconds(failures) * 1000 - now;
  return remaining > 0 ? Math.ceil(remaining / 1000) : 0;
}
