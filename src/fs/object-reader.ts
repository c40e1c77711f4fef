// ObjectReader: reads byte ranges of one object version (key + ETag pinned at open) through the
// shared block cache. Every GET carries If-Match with that ETag, so a handle never mixes bytes of two
// versions: if the object is replaced, the read fails with ESTALE instead. A read fetches only the
// blocks it needs (a random reader pays for one block); the Prefetcher's advice for sequential
// readers is fetched as runs of many blocks, one streamed GET per run, each block handed out as it
// arrives. Read-ahead is optional work: it runs only while the memory budget lends it the bytes it
// has in flight, and its failures cost a reader that joined it a retry, never an error.

import type { ByteRange, ObjectStore } from '../s3/object-store.js';
import { RunFetchError, type BlockCache } from '../cache/block-cache.js';
import type { Lease, MemoryBudget } from '../cache/memory-budget.js';
import { Prefetcher, type BlockRun } from './prefetch.js';

export interface ReadContext {
  readonly store: ObjectStore;
  readonly blocks: BlockCache;
  readonly budget: MemoryBudget;
  readonly blockSizeBytes: number;
  readonly readAheadMaxBytes: number;
  /** Largest GET of read-ahead, bytes. Default: a quarter of the window, from 1 block up to 8 MiB. */
  readonly readRangeMaxBytes?: number;
  /** How far from the previous read's end a read may start and still be sequential, bytes. Default 1 MiB (at least a block). */
  readonly sequentialToleranceBytes?: number;
}

export interface PinnedObject {
  readonly key: string;
  readonly etag: string;
  readonly sizeBytes: number;
}

const MiB = 1024 * 1024;
/** Ranges of this size keep several GETs in flight in a 32 MiB window and each one long enough to amortise its latency. */
const DEFAULT_READ_RANGE_MAX_BYTES = 8 * MiB;
/**
 * How far out of order a sequential reader's requests may arrive: the kernel sends several 128 KiB
 * read-ahead requests at once and they reach us reordered by a few hundred KiB.
 */
const SEQUENTIAL_TOLERANCE_BYTES = 1 * MiB;

/**
 * The read-ahead window of one reader: the configured one, within half the block cache, since
 * blocks fetched ahead wait there and a larger window would have them evicted before they are read.
 */
export function readAheadWindowBytes(ctx: ReadContext): number {
  return Math.min(ctx.readAheadMaxBytes, Math.floor(ctx.blocks.capacityBytes / 2));
}

/** The read-ahead GET size a context asks for: explicit, else a quarter of the window within [1 block, 8 MiB]. */
export function readRangeBytes(ctx: ReadContext): number {
  if (ctx.readRangeMaxBytes !== undefined) return Math.max(ctx.blockSizeBytes, ctx.readRangeMaxBytes);
  return Math.max(ctx.blockSizeBytes, Math.min(DEFAULT_READ_RANGE_MAX_BYTES, Math.floor(readAheadWindowBytes(ctx) / 4)));
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
      maxWindowBytes: readAheadWindowBytes(ctx),
      maxRunBytes: readRangeBytes(ctx),
      fileSizeBytes: object.sizeBytes,
      sequentialToleranceBytes: Math.max(ctx.blockSizeBytes, ctx.sequentialToleranceBytes ?? SEQUENTIAL_TOLERANCE_BYTES),
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
    const runs = this.#prefetcher.onRead(offset, end - offset).runs;
    this.#readAhead(first, last, runs);
    const pieces: Promise<Buffer>[] = [];
    for (let index = first; index <= last; index++) {
      const blockStart = index * size;
      pieces.push(this.#piece(index, Math.max(offset, blockStart) - blockStart, Math.min(end, blockStart + size) - blockStart));
    }
    if (pieces.length === 1) return pieces[0] as Promise<Buffer>;
    return Buffer.concat(await Promise.all(pieces));
  }

  /** Bytes [from, to) of one block; a reader that joined a failed read-ahead fetches the block itself once. */
  async #piece(index: number, from: number, to: number): Promise<Buffer> {
    try {
      return await this.#blockRead(index, from, to);
    } catch (error) {
      if (!(error instanceof RunFetchError)) throw error;
    }
    try {
      return await this.#blockRead(index, from, to);
    } catch (error) {
      // The errno table knows store errors, not how a read-ahead carried one.
      throw error instanceof RunFetchError && error.cause !== undefined ? error.cause : error;
    }
  }

  #blockRead(index: number, from: number, to: number): Promise<Buffer> {
    const { key, etag, sizeBytes } = this.#object;
    const size = this.#ctx.blockSizeBytes;
    return this.#ctx.blocks.read(key, etag, index, from, to, () =>
      this.#ctx.store.getRange(key, { startByte: index * size, endByteExclusive: Math.min((index + 1) * size, sizeBytes) }, { etag, sizeBytes }),
    );
  }

  /**
   * Starts the advised runs, minus blocks that are already cached, in flight or on disk. The blocks
   * the read itself needs join the first run when they are missing and adjacent to it, so a
   * sequential reader's demand and read-ahead share one GET.
   */
  #readAhead(first: number, last: number, runs: readonly BlockRun[]): void {
    if (runs.length === 0) return;
    const { key, etag } = this.#object;
    let demandFirst = last + 1;
    while (demandFirst > first && !this.#ctx.blocks.isAvailable(key, etag, demandFirst - 1)) demandFirst--;
    for (const [i, run] of runs.entries()) {
      const runFirst = i === 0 && (runs[0] as BlockRun).firstBlock === last + 1 ? demandFirst : run.firstBlock;
      if (!this.#fetchMissing(runFirst, run.firstBlock, run.endBlockExclusive)) {
        this.#prefetcher.unadvise(run.firstBlock);
        return;
      }
    }
  }

  /**
   * Fetches the missing blocks of [from, end) as runs of adjacent blocks. Blocks from `aheadFrom`
   * on are read-ahead and need a lease from the memory budget; false when the budget had no room.
   */
  #fetchMissing(from: number, aheadFrom: number, end: number): boolean {
    const { key, etag } = this.#object;
    let runStart = -1;
    for (let index = from; index <= end; index++) {
      const missing = index < end && !this.#ctx.blocks.isAvailable(key, etag, index);
      if (missing && runStart < 0) runStart = index;
      if (missing || runStart < 0) continue;
      if (!this.#fetchRun(runStart, index, aheadFrom)) return false;
      runStart = -1;
    }
    return true;
  }

  #fetchRun(firstBlock: number, endBlockExclusive: number, aheadFrom: number): boolean {
    const size = this.#ctx.blockSizeBytes;
    const leases: Lease[] = [];
    for (let index = Math.max(firstBlock, aheadFrom); index < endBlockExclusive; index++) {
      const lease = this.#ctx.budget.tryAcquire(Math.min(size, this.#object.sizeBytes - index * size));
      if (lease === undefined) {
        for (const held of leases) held.release();
        return false;
      }
      leases.push(lease);
    }
    const { key, etag } = this.#object;
    const blocks = this.#ctx.blocks.fetchRun(this.#object, firstBlock, endBlockExclusive, (startByte, endByteExclusive) =>
      this.#stream(key, { startByte, endByteExclusive }, etag),
    );
    // Each lease covers one block's bytes in flight: released as that block lands or fails.
    const aheadBlocks = blocks.slice(blocks.length - leases.length);
    aheadBlocks.forEach((block, i) => {
      const release = (): void => (leases[i] as Lease).release();
      block.then(release, release);
    });
    return true;
  }

  /** The run's bytes as they arrive: a streamed GET where the store has one, else one buffered GET. */
  #stream(key: string, range: ByteRange, etag: string): AsyncIterable<Uint8Array> {
    const store = this.#ctx.store;
    if (store.getStream !== undefined) return store.getStream(key, range, etag);
    return (async function* () {
      yield await store.getRange(key, range, etag);
    })();
  }
}
