/** A gate that lets at most `max` calls run at once; the rest wait their turn in arrival order. */
export function concurrencyLimit(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`a concurrency limit must be a whole number ≥ 1, not ${max}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
