// The bounded-concurrency helpers (one pool, two policies on failure). Its promise settles only after every task it started has
// settled, so a caller that cleans up on failure (aborts an upload, deletes copies) races nothing.

/**
 * Runs `task` on every item with at most `limit` in flight and returns the results in item order.
 * On the first failure no new task starts; the tasks already running are awaited (their outcome is
 * dropped) and then the first error is thrown.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`mapLimited: limit must be a whole number ≥ 1, got ${limit}`);
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * Runs `task` on every item with at most `limit` in flight, all of them whatever happens: each task
 * deals with its own failure (a task that throws stops nothing, and its error is dropped).
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  await mapLimited(items, limit, (item) => task(item).catch(() => undefined));
}
