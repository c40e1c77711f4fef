// FileHandlePool: open read-only handles of recently read files, so a small random read costs one
// pread instead of open + pread + close. Bounded in handles; a handle is closed only once no read
// is using it, so evicting or discarding a file never breaks a read in progress.

import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

interface Slot {
  readonly handle: Promise<FileHandle>;
  users: number;
  /** Evicted or discarded: close when the last user is done. */
  retired: boolean;
}

export class FileHandlePool {
  readonly maxHandles: number;
  /** Path → slot, least recently used first. */
  readonly #slots = new Map<string, Slot>();

  constructor(maxHandles: number) {
    if (!Number.isSafeInteger(maxHandles) || maxHandles <= 0) throw new RangeError(`maxHandles must be a positive integer, got ${maxHandles}`);
    this.maxHandles = maxHandles;
  }

  /** Handles open now, in use or not. */
  get size(): number {
    return this.#slots.size;
  }

  /** Runs `read` with an open handle of `file`; an open failure rejects like the read would. */
  async use<T>(file: string, read: (handle: FileHandle) => Promise<T>): Promise<T> {
    let slot = this.#slots.get(file);
    if (slot !== undefined) {
      this.#slots.delete(file);
    } else {
      const handle = fsp.open(file, 'r');
      slot = { handle, users: 0, retired: false };
      // A failed open must not stay pooled.
      handle.catch(() => {
        if (this.#slots.get(file) === slot) this.#slots.delete(file);
      });
    }
    this.#slots.set(file, slot);
    this.#evictOverflow();
    slot.users++;
    try {
      return await read(await slot.handle);
    } finally {
      slot.users--;
      if (slot.retired && slot.users === 0) closeQuietly(slot.handle);
    }
  }

  /** Forgets `file` (it was deleted or replaced): its handle closes once idle. */
  discard(file: string): void {
    const slot = this.#slots.get(file);
    if (slot === undefined) return;
    this.#slots.delete(file);
    this.#retire(slot);
  }

  async closeAll(): Promise<void> {
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    for (const slot of slots) this.#retire(slot);
    await Promise.all(slots.map((slot) => slot.handle.then(() => undefined, () => undefined)));
  }

  #evictOverflow(): void {
    for (const [file, slot] of this.#slots) {
      if (this.#slots.size <= this.maxHandles) return;
      this.#slots.delete(file);
      this.#retire(slot);
    }
  }

  #retire(slot: Slot): void {
    slot.retired = true;
    if (slot.users === 0) closeQuietly(slot.handle);
  }
}

function closeQuietly(handle: Promise<FileHandle>): void {
  handle.then(
    (h) => h.close().catch(() => undefined),
    () => undefined,
  );
}
