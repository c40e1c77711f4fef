// DeleteBatcher: unlink queues its key here and returns; queued keys go out as one DeleteObjects
// request per batch (up to the server's 1,000, or after `lingerMs`), so `rm -rf` of a big tree costs
// a request per thousand files instead of one per file. While a key is queued or in flight it is
// `pending`: the filesystem hides it. Anything that writes a pending key, lists below a pending
// key (rmdir) or promises durability (fsyncdir, unmount) calls settle()/drain() first.

import type { ObjectStore } from '../s3/object-store.js';
import type { Logger } from '../log.js';

interface Batch {
  readonly keys: string[];
  readonly done: Promise<void>;
}

export class DeleteBatcher {
  readonly #store: ObjectStore;
  readonly #log: Logger;
  readonly #lingerMs: number;
  readonly #onDeleted: (keys: readonly string[]) => Promise<void>;
  #queue: string[] = [];
  #queueDone: { promise: Promise<void>; resolve: () => void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<Batch>();

  constructor(store: ObjectStore, log: Logger, onDeleted: (keys: readonly string[]) => Promise<void>, lingerMs = 10) {
    this.#store = store;
    this.#log = log;
    this.#onDeleted = onDeleted;
    this.#lingerMs = lingerMs;
  }

  isPending(key: string): boolean {
    return this.#pending.has(key);
  }

  /** True when a pending key lies below `prefix`. */
  hasPendingBelow(prefix: string): boolean {
    for (const key of this.#pending.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  enqueue(key: string): void {
    if (this.#pending.has(key)) return;
    if (!this.#queueDone) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#queueDone = { promise, resolve };
    }
    this.#queue.push(key);
    this.#pending.set(key, this.#queueDone.promise);
    if (this.#queue.length >= this.#store.limits.maxDeleteBatch) this.#send();
    else this.#timer ??= setTimeout(() => this.#send(), this.#lingerMs);
  }

  /** Returns once `key` is no longer pending (its delete sent now if it was still queued). */
  async settle(key: string): Promise<void> {
    const waiting = this.#pending.get(key);
    if (!waiting) return;
    if (this.#queue.includes(key)) this.#send();
    await waiting;
  }

  /** Returns once everything queued before the call has been sent and answered. */
  async drain(): Promise<void> {
    if (this.#queue.length > 0) this.#send();
    await Promise.all([...this.#inFlight].map((b) => b.done));
  }

  #send(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const keys = this.#queue;
    const finished = this.#queueDone;
    this.#queue = [];
    this.#queueDone = undefined;
    if (keys.length === 0 || !finished) return;
    const batch: Batch = {
      keys,
      done: this.#delete(keys).finally(() => {
        for (const key of keys) this.#pending.delete(key);
        this.#inFlight.delete(batch);
        finished.resolve();
      }),
    };
    this.#inFlight.add(batch);
  }

  async #delete(keys: string[]): Promise<void> {
    try {
      const { failed } = await this.#store.deleteMany(keys);
      for (const f of failed) this.#log.error(`deleting ${f.key} failed (${f.message}): the file is back`);
    } catch (e) {
      this.#log.error(`deleting ${keys.length} objects (${keys[0]}...) failed: ${(e as Error).message}: the files are back`);
    }
    await this.#onDeleted(keys).catch((e: unknown) => this.#log.warn(`after deleting ${keys.length} objects: ${(e as Error).message}`));
  }
}
