// HandleTable: file handle number → open state. Numbers start at 1 (FUSE treats fh 0 as "none")
// and are not reused while the mount lives, so a stale number from a confused caller is EBADF
// rather than someone else's file.

import { FsError } from './errno.js';

export class HandleTable<H> {
  #next = 1;
  readonly #open = new Map<number, H>();

  add(handle: H): number {
    const fh = this.#next++;
    this.#open.set(fh, handle);
    return fh;
  }

  get(fh: number): H {
    const handle = this.#open.get(fh);
    if (handle === undefined) throw new FsError('EBADF', `no open handle ${fh}`);
    return handle;
  }

  /** The handle, or undefined for a number that is not open (FUSE sends 0 when it has none). */
  find(fh: number): H | undefined {
    return this.#open.get(fh);
  }

  take(fh: number): H {
    const handle = this.get(fh);
    this.#open.delete(fh);
    return handle;
  }

  values(): IterableIterator<H> {
    return this.#open.values();
  }
}
