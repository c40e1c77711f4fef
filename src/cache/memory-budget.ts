// MemoryBudget: one byte budget shared by read-ahead and upload buffers. Waiters are served strictly
// in arrival order, so a large request is never starved by a stream of small ones; a request larger
// than the whole budget is clamped to it, so it waits for an idle budget instead of forever.

export interface Lease {
  /** Bytes this lease holds (the request, clamped to the capacity). */
  readonly bytes: number;
  /** Returns the bytes to the budget; later calls do nothing. */
  release(): void;
}

interface Waiter {
  readonly bytes: number;
  readonly grant: (lease: Lease) => void;
  /** Detaches the abort listener once the waiter leaves the queue either way. */
  readonly cleanup: () => void;
}

export class MemoryBudget {
  readonly capacityBytes: number;
  #usedBytes = 0;
  readonly #queue: Waiter[] = [];

  /** `capacityBytes`: bytes that leases may hold at once. */
  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) {
      throw new RangeError(`capacityBytes must be a positive integer, got ${capacityBytes}`);
    }
    this.capacityBytes = capacityBytes;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get availableBytes(): number {
    return this.capacityBytes - this.#usedBytes;
  }

  /** Requests queued behind the budget. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves once `bytes` (clamped to the capacity) are free and every earlier request has been served.
   * Aborting `signal` while waiting removes the request and rejects with the signal's reason.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<Lease> {
    try {
      checkBytes(bytes);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const clamped = Math.min(bytes, this.capacityBytes);
    if (this.#queue.length === 0 && clamped <= this.availableBytes) return Promise.resolve(this.#grant(clamped));
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#queue.indexOf(waiter);
        if (index < 0) return;
        this.#queue.splice(index, 1);
        waiter.cleanup();
        reject(signal?.reason);
        // The aborted request may have been the head that held everyone else back.
        this.#serveQueue();
      };
      const waiter: Waiter = {
        bytes: clamped,
        grant: resolve,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** A lease now, or undefined when `bytes` are not free or others are waiting: for optional work such as prefetch. */
  tryAcquire(bytes: number): Lease | undefined {
    checkBytes(bytes);
    if (this.#queue.length > 0 || bytes > this.availableBytes) return undefined;
    return this.#grant(bytes);
  }

  #grant(bytes: number): Lease {
    this.#usedBytes += bytes;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.#usedBytes -= bytes;
        this.#serveQueue();
      },
    };
  }

  #serveQueue(): void {
    for (let head = this.#queue[0]; head !== undefined && head.bytes <= this.availableBytes; head = this.#queue[0]) {
      this.#queue.shift();
      head.cleanup();
      head.grant(this.#grant(head.bytes));
    }
  }
}

function checkBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative integer, got ${bytes}`);
}
