// ObjectReader: reads byte ranges of one object version (key + ETag pinned at open) through the
// shared block cache. Every GET carries If-Match with that ETag, so a handle never mixes bytes of two
// versions: if the object is replaced, the read fails with ESTALE instead. Read-ahead is optional
// work: it runs only when the memory budget has room, and its failures are dropped.

import type { ObjectStore } from '../s3/object-store.js';
import type { BlockCache } from '../cache/block-cache.js';
import type { MemoryBudget } from '../cache/memory-budget.js';
import { Prefetcher } from './prefetch.js';

export interface ReadContext {
  readonly store: ObjectStore;
  readonly blocks: BlockCache;
  readonly budget: MemoryBudget;
  readonly blockSizeBytes: number;
  readonly readAheadMaxBytes: number;
}

export interface PinnedObject {
  readonly key: string;
  readonly etag: string;
  readonly sizeBytes: number;
}

export class ObjectReader {
  readonly #ctx: ReadContext;
  readonly #object: PinnedObject;
  readonly #prefetcher: Prefetcher;

  constructor(ctx: ReadContext, object: PinnedObject) {
    this.#ctx = ctx;
    this.#object = object;
    this.#prefetcher = new Prefetcher({
      blockSizeBytes: ctx.blockSizeBytes,
      maxWindowBytes: ctx.readAheadMaxBytes,
      fileSizeBytes: object.sizeBytes,
    });
  }

  get object(): PinnedObject {
    return this.#object;
  }

  /** Bytes [offset, offset+length) clamped to the object's size; empty at or past the end. */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.#object.sizeBytes);
    if (length <= 0 || offset >= end) return Buffer.alloc(0);
    const size = this.#ctx.blockSizeBytes;
    const first = Math.floor(offset / size);
    const last = Math.floor((end - 1) / size);
    for (const index of this.#prefetcher.onRead(offset, end - offset).blocks) this.#prefetch(index);
    const wanted: Promise<Buffer>[] = [];
    for (let index = first; index <= last; index++) wanted.push(this.#block(index));
    const blocks = await Promise.all(wanted);
    if (blocks.length === 1) {
      const start = offset - first * size;
      return (blocks[0] as Buffer).subarray(start, start + (end - offset));
    }
    const out = Buffer.allocUnsafe(end - offset);
    let written = 0;
    blocks.forEach((block, i) => {
      const blockStart = (first + i) * size;
      const from = Math.max(offset, blockStart) - blockStart;
      const to = Math.min(end, blockStart + block.length) - blockStart;
      written += block.copy(out, written, from, to);
    });
    return out.subarray(0, written);
  }

  #block(index: number): Promise<Buffer> {
    const { key, etag, sizeBytes } = this.#object;
    const size = this.#ctx.blockSizeBytes;
    return this.#ctx.blocks.get(key, etag, index, () =>
      this.#ctx.store.getRange(
        key,
        { startByte: index * size, endByteExclusive: Math.min((index + 1) * size, sizeBytes) },
        etag,
      ),
    );
  }

  #prefetch(index: number): void {
    const { key, etag } = this.#object;
    if (this.#ctx.blocks.has(key, etag, index)) return;
    const lease = this.#ctx.budget.tryAcquire(this.#ctx.blockSizeBytes);
    if (!lease) return;
    this.#block(index).then(
      () => lease.release(),
      () => lease.release(),
    );
  }
}
