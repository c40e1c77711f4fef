// DeleteBatcher: every delete() resolves only once the bucket has answered for its key, so unlink
// never returns before the object is gone. Batching comes from concurrency, not from answering
// early: while a request is in flight, keys that arrive queue up and leave together as one
// DeleteObjects of up to the server's batch size as soon as a slot frees. A lone key is sent at once
// as a plain DeleteObject. While a key is queued or in flight it is `pending`: the filesystem hides it.

import type { ObjectStore } from '../s3/object-store.js';
import { FsError } from './errno.js';

interface Waiter {
  readonly key: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class DeleteBatcher {
  readonly #store: ObjectStore;
  readonly #maxInFlight: number;
  #queue: Waiter[] = [];
  #inFlight = 0;
  /** How many waiters (queued or in flight) each key has. */
  readonly #pending = new Map<string, number>();
  readonly #idle = new Set<() => void>();

  /** `maxInFlight`: requests at once; more keys wait and go out together. */
  constructor(store: ObjectStore, maxInFlight = 2) {
    this.#store = store;
    this.#maxInFlight = maxInFlight;
  }

  isPending(key: string): boolean {
    return this.#pending.has(key);
  }

  /** True when a pending key lies below `prefix`. */
  hasPendingBelow(prefix: string): boolean {
    for (const key of this.#pending.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  /** Deletes `key`; resolves once the server agrees it is gone, rejects with EIO if it refused. */
  delete(key: string): Promise<void> {
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    const done = new Promise<void>((resolve, reject) => this.#queue.push({ key, resolve, reject }));
    this.#pump();
    return done.finally(() => {
      const left = (this.#pending.get(key) ?? 1) - 1;
      if (left > 0) this.#pending.set(key, left);
      else this.#pending.delete(key);
    });
  }

  /** Resolves once nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#queue.splice(0, this.#store.limits.maxDeleteBatch);
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
        if (this.#queue.length === 0 && this.#inFlight === 0) {
          for (const resolve of this.#idle) resolve();
          this.#idle.clear();
        }
      });
    }
  }

  async #send(batch: readonly Waiter[]): Promise<void> {
    const keys = [...new Set(batch.map((w) => w.key))];
    try {
      if (keys.length === 1) {
        await this.#store.delete(keys[0] as string);
        for (const w of batch) w.resolve();
        return;
      }
      const { failed } = await this.#store.deleteMany(keys);
      const refused = new Map(failed.map((f) => [f.key, f.message]));
      for (const w of batch) {
        const message = refused.get(w.key);
        if (message === undefined) w.resolve();
        else w.reject(new FsError('EIO', `deleting ${w.key} failed: ${message}`));
      }
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }
}
