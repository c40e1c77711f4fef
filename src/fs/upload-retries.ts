// When a failed upload is tried again: failures that may pass by themselves (network, timeouts,
// throttling, 5xx, an upload someone aborted) are retried with a backoff that doubles up to a ceiling; others (the object the
// file started from was replaced, access refused) are not, and the bytes stay in the spool.

import { isStoreError, type StoreErrorCode } from '../s3/store-error.js';

// NoSuchUpload: someone aborted the multipart upload (`bucketfs cleanup --all`, a lifecycle rule);
// the bytes are local, so the next round simply starts a new one.
const TRANSIENT: ReadonlySet<StoreErrorCode> = new Set(['Unreachable', 'Timeout', 'Throttled', 'ServerError', 'Unknown', 'NoSuchUpload']);

/** True when the first StoreError in `error`'s cause chain may pass by itself. */
export function isTransientFailure(error: unknown): boolean {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (isStoreError(e)) return TRANSIENT.has(e.code);
  }
  return false;
}

interface Retry {
  timer: NodeJS.Timeout | undefined;
  delayMs: number;
}

/** One pending retry per item; each failure of the same item doubles its delay. Timers never keep the process alive. */
export class UploadRetries<T> {
  readonly #firstDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #retries = new Map<T, Retry>();

  constructor(firstDelayMs: number, maxDelayMs: number) {
    this.#firstDelayMs = firstDelayMs;
    this.#maxDelayMs = maxDelayMs;
  }

  get size(): number {
    return this.#retries.size;
  }

  has(item: T): boolean {
    return this.#retries.has(item);
  }

  /** Runs `retry` after the item's next delay (the entry stays until cancel); returns the delay, ms. */
  schedule(item: T, retry: () => void): number {
    const previous = this.#retries.get(item);
    const delayMs = previous ? Math.min(previous.delayMs * 2, this.#maxDelayMs) : this.#firstDelayMs;
    if (previous?.timer) clearTimeout(previous.timer);
    const entry: Retry = { timer: undefined, delayMs };
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.#retries.get(item) === entry) retry();
    }, delayMs);
    entry.timer.unref();
    this.#retries.set(item, entry);
    return delayMs;
  }

  cancel(item: T): void {
    const entry = this.#retries.get(item);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.#retries.delete(item);
  }

  cancelAll(): void {
    for (const item of [...this.#retries.keys()]) this.cancel(item);
  }
}
