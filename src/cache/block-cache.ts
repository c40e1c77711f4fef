// BlockCache: fixed-size blocks of object data, LRU-evicted within a byte capacity, optionally in
// front of a disk tier (memory first, then disk, then the fetch). The ETag is part of every entry's
// identity, so a rewritten object can never serve old bytes. At most one fetch per block is in
// flight: a coalesced fetch of a run of blocks registers every block it covers, hands each one out
// as soon as its bytes have arrived, and a get of any of them joins it. A fetch that lands after
// invalidate(key) is handed to its waiters only.

import { LRUCache } from 'lru-cache';

export interface BlockCacheOptions {
  /** Bytes of block data held at most; a block larger than this is served but never cached. */
  readonly capacityBytes: number;
  /** The block size callers fetch in; a fetched block longer than this is a caller bug. */
  readonly blockSizeBytes: number;
  /** The next tier: consulted on a memory miss, and given every block fetched. */
  readonly disk?: BlockTier;
}

/** A slower cache behind the memory one (the disk cache), keyed the same way. */
export interface BlockTier {
  /** Whether the tier holds the block now (it may still lose it before a read). */
  has(key: string, etag: string, blockIndex: number): boolean;
  /** Bytes [startInBlock, endInBlock) of the block, the whole block without a range; undefined when it is gone or unusable. */
  read(key: string, etag: string, blockIndex: number, startInBlock?: number, endInBlock?: number): Promise<Buffer | undefined>;
  /** Keeps a copy of a block in the background, unless it has one or is writing it; never fails the caller. */
  write(key: string, etag: string, blockIndex: number, block: Buffer): void;
}

/**
 * How a block of a coalesced run fails: the run's stream broke (its `cause` says why). A reader that
 * joined the run may fetch the block on its own instead of failing.
 */
export class RunFetchError extends Error {
  override readonly name = 'RunFetchError';
}

/** One version of an object, as the blocks of a run are cut from it. */
export interface ObjectVersion {
  readonly key: string;
  readonly etag: string;
  readonly sizeBytes: number;
}

export interface BlockCacheStats {
  /** Gets served from memory. */
  readonly hits: number;
  /** Gets that found no block in memory, whether they joined a fetch, read the disk or fetched. */
  readonly misses: number;
  /** Misses served by the disk tier. */
  readonly diskHits: number;
  /** Blocks being fetched now. */
  readonly inFlight: number;
  readonly sizeBytes: number;
  readonly entries: number;
}

interface BlockId {
  readonly key: string;
  readonly etag: string;
  readonly blockIndex: number;
}

interface Pending {
  readonly id: BlockId;
  readonly promise: Promise<Buffer>;
  /** Cleared by invalidate(): the bytes may belong to a version the caller has just replaced. */
  populate: boolean;
}

interface Settler {
  readonly resolve: (block: Buffer) => void;
  readonly reject: (error: unknown) => void;
}

export class BlockCache {
  readonly capacityBytes: number;
  readonly blockSizeBytes: number;
  readonly #disk: BlockTier | undefined;
  readonly #lru: LRUCache<string, Buffer>;
  /** Cache keys of the cached blocks of each object key, so invalidate() need not scan the cache. */
  readonly #cachedByKey = new Map<string, Set<string>>();
  readonly #inFlight = new Map<string, Pending>();
  #hits = 0;
  #misses = 0;
  #diskHits = 0;

  constructor(options: BlockCacheOptions) {
    requirePositiveInteger('capacityBytes', options.capacityBytes);
    requirePositiveInteger('blockSizeBytes', options.blockSizeBytes);
    this.capacityBytes = options.capacityBytes;
    this.blockSizeBytes = options.blockSizeBytes;
    this.#disk = options.disk;
    this.#lru = new LRUCache<string, Buffer>({
      maxSize: options.capacityBytes,
      // lru-cache refuses a size of 0; an empty block (an empty object) still costs an entry.
      sizeCalculation: (block) => Math.max(1, block.byteLength),
      // 'set' means the same entry was replaced: it stays in the index.
      dispose: (_block, cacheKey, reason) => {
        if (reason !== 'set') this.#unindex(cacheKey);
      },
    });
  }

  /**
   * The whole block: from memory, a fetch in flight, the disk tier or `fetch`. Concurrent gets of
   * one block share one fetch; a failed fetch is not cached and its error reaches every waiter.
   * The returned Buffer is shared: do not write to it.
   */
  get(key: string, etag: string, blockIndex: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    return this.read(key, etag, blockIndex, 0, Infinity, fetch);
  }

  /**
   * Bytes [startInBlock, endInBlock) of a block (clamped to its length), from the same tiers as
   * get(). A disk hit reads only those bytes, so a small random read costs a small disk read.
   */
  read(key: string, etag: string, blockIndex: number, startInBlock: number, endInBlock: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    let cacheKey: string;
    try {
      cacheKey = this.#cacheKey(key, etag, blockIndex);
    } catch (error) {
      return Promise.reject(error);
    }
    const cached = this.#lru.get(cacheKey);
    if (cached !== undefined) {
      this.#hits++;
      // A block the disk tier could not take when it was fetched (its queue was full) gets another chance.
      this.#disk?.write(key, etag, blockIndex, cached);
      return Promise.resolve(slice(cached, startInBlock, endInBlock));
    }
    this.#misses++;
    const running = this.#inFlight.get(cacheKey);
    if (running !== undefined) return running.promise.then((block) => slice(block, startInBlock, endInBlock));
    const id = { key, etag, blockIndex };
    if (this.#disk?.has(key, etag, blockIndex)) return this.#readDisk(cacheKey, id, startInBlock, endInBlock, fetch);
    return this.#fetchOne(cacheKey, id, fetch).then((block) => slice(block, startInBlock, endInBlock));
  }

  /** The cached block without fetching, counting or refreshing its recency (memory only). */
  peek(key: string, etag: string, blockIndex: number): Buffer | undefined {
    return this.#lru.peek(this.#cacheKey(key, etag, blockIndex));
  }

  /** Whether the block is in memory. */
  has(key: string, etag: string, blockIndex: number): boolean {
    return this.#lru.has(this.#cacheKey(key, etag, blockIndex));
  }

  /** Whether a get of the block would need no new fetch: it is in memory, in flight or on disk. */
  isAvailable(key: string, etag: string, blockIndex: number): boolean {
    const cacheKey = this.#cacheKey(key, etag, blockIndex);
    return this.#lru.has(cacheKey) || this.#inFlight.has(cacheKey) || this.#disk?.has(key, etag, blockIndex) === true;
  }

  /**
   * Fetches blocks [firstBlock, endBlockExclusive) of `object` with one streamed request: `open`
   * yields the bytes of the run's byte range in order. Every block not already in memory or in
   * flight is registered as in flight first, so concurrent gets join this fetch; each is handed out
   * (and cached) as soon as its last byte has arrived. Returns one promise per block of the run, in
   * order, each settled when that block is (a block that was already there settles at once). A
   * stream that fails or ends early fails the blocks it had not finished.
   */
  fetchRun(
    object: ObjectVersion,
    firstBlock: number,
    endBlockExclusive: number,
    open: (startByte: number, endByteExclusive: number) => AsyncIterable<Uint8Array>,
  ): Promise<Buffer>[] {
    const { key, etag, sizeBytes } = object;
    const lastBlock = Math.ceil(sizeBytes / this.blockSizeBytes) - 1;
    if (!Number.isSafeInteger(firstBlock) || !Number.isSafeInteger(endBlockExclusive) || firstBlock < 0 || endBlockExclusive <= firstBlock || endBlockExclusive - 1 > lastBlock) {
      throw new RangeError(`blocks [${firstBlock}, ${endBlockExclusive}) are not a run of the ${lastBlock + 1} blocks of ${key}`);
    }
    const results: Promise<Buffer>[] = [];
    const settlers: (Settler | undefined)[] = [];
    for (let index = firstBlock; index < endBlockExclusive; index++) {
      const cacheKey = this.#cacheKey(key, etag, index);
      const cached = this.#lru.peek(cacheKey);
      const running = this.#inFlight.get(cacheKey);
      if (cached !== undefined) {
        results.push(Promise.resolve(cached));
        settlers.push(undefined);
      } else if (running !== undefined) {
        results.push(running.promise);
        settlers.push(undefined);
      } else {
        const { promise, settler } = this.#register(cacheKey, { key, etag, blockIndex: index }, true);
        results.push(promise);
        settlers.push(settler);
      }
    }
    // Nothing left to fetch: every block was cached or in flight already.
    if (settlers.every((settler) => settler === undefined)) return results;
    const startByte = firstBlock * this.blockSizeBytes;
    const endByte = Math.min(endBlockExclusive * this.blockSizeBytes, sizeBytes);
    void this.#stream(() => open(startByte, endByte), firstBlock, startByte, endByte, settlers, key);
    return results;
  }

  /** Drops every block of `key` under any ETag, and keeps fetches in flight for it out of the cache. */
  invalidate(key: string): void {
    const cacheKeys = this.#cachedByKey.get(key);
    if (cacheKeys !== undefined) {
      for (const cacheKey of [...cacheKeys]) this.#lru.delete(cacheKey);
    }
    for (const [cacheKey, running] of this.#inFlight) {
      if (running.id.key !== key) continue;
      running.populate = false;
      // A get after the invalidation must not join a fetch that started before it.
      this.#inFlight.delete(cacheKey);
    }
  }

  stats(): BlockCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      diskHits: this.#diskHits,
      inFlight: this.#inFlight.size,
      sizeBytes: this.#lru.calculatedSize,
      entries: this.#lru.size,
    };
  }

  async #readDisk(cacheKey: string, id: BlockId, start: number, end: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    const bytes = await (this.#disk as BlockTier).read(id.key, id.etag, id.blockIndex, start, Number.isFinite(end) ? end : undefined);
    if (bytes !== undefined) {
      this.#diskHits++;
      return bytes;
    }
    // Gone or unusable since has(): fetch it, joining whoever started that in the meantime.
    const running = this.#inFlight.get(cacheKey);
    const block = await (running !== undefined ? running.promise : this.#fetchOne(cacheKey, id, fetch));
    return slice(block, start, end);
  }

  #fetchOne(cacheKey: string, id: BlockId, fetch: () => Promise<Buffer>): Promise<Buffer> {
    const { promise, settler } = this.#register(cacheKey, id, false);
    // The executor turns a synchronous throw of `fetch` into a rejection like any other failure.
    new Promise<Buffer>((resolve) => resolve(fetch())).then(settler.resolve, settler.reject);
    return promise;
  }

  /**
   * Registers a block as in flight; the settler hands the fetched bytes (or the failure) to every
   * waiter and caches them unless invalidate() came in between. `silentFailure`: the promise is
   * also handled here, for read-ahead whose blocks nobody may be waiting for.
   */
  #register(cacheKey: string, id: BlockId, silentFailure: boolean): { promise: Promise<Buffer>; settler: Settler } {
    let resolveBlock!: (block: Buffer) => void;
    let rejectBlock!: (error: unknown) => void;
    const promise = new Promise<Buffer>((resolve, reject) => {
      resolveBlock = resolve;
      rejectBlock = reject;
    });
    if (silentFailure) promise.catch(() => undefined);
    const pending: Pending = { id, populate: true, promise };
    this.#inFlight.set(cacheKey, pending);
    const settle = (): void => {
      if (this.#inFlight.get(cacheKey) === pending) this.#inFlight.delete(cacheKey);
    };
    return {
      promise,
      settler: {
        resolve: (block) => {
          settle();
          if (block.byteLength > this.blockSizeBytes) {
            rejectBlock(
              new RangeError(`block ${id.blockIndex} of ${id.key} is ${block.byteLength} bytes, more than the ${this.blockSizeBytes}-byte block size`),
            );
            return;
          }
          if (pending.populate) {
            this.#insert(cacheKey, id.key, block);
            this.#disk?.write(id.key, id.etag, id.blockIndex, block);
          }
          resolveBlock(block);
        },
        reject: (error) => {
          settle();
          rejectBlock(error);
        },
      },
    };
  }

  /** Cuts a run's byte stream into blocks, settling each as soon as it is complete. */
  async #stream(
    open: () => AsyncIterable<Uint8Array>,
    firstBlock: number,
    startByte: number,
    endByte: number,
    settlers: readonly (Settler | undefined)[],
    key: string,
  ): Promise<void> {
    const size = this.blockSizeBytes;
    let index = firstBlock;
    let position = startByte;
    let block: Buffer | undefined;
    let filled = 0;
    const newBlock = (): Buffer | undefined =>
      // Bytes of a block that is already cached or in flight elsewhere are skipped, not copied.
      settlers[index - firstBlock] === undefined ? undefined : Buffer.allocUnsafe(Math.min(size, endByte - index * size));
    try {
      block = newBlock();
      for await (const chunk of open()) {
        if (position + chunk.byteLength > endByte) throw new RangeError(`the stream of ${key} sent more than the ${endByte - startByte} bytes asked for`);
        let offset = 0;
        while (offset < chunk.byteLength) {
          const blockEnd = Math.min((index + 1) * size, endByte);
          const n = Math.min(chunk.byteLength - offset, blockEnd - position);
          if (block !== undefined) block.set(n === chunk.byteLength ? chunk : chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          position += n;
          if (position === blockEnd) {
            if (block !== undefined) settlers[index - firstBlock]?.resolve(block);
            index++;
            filled = 0;
            block = position < endByte ? newBlock() : undefined;
          }
        }
      }
      if (position < endByte) throw new RangeError(`the stream of ${key} ended after ${position - startByte} of ${endByte - startByte} bytes`);
    } catch (error) {
      const failure = new RunFetchError(`fetching blocks ${firstBlock}-${firstBlock + settlers.length - 1} of ${key} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      for (let i = index - firstBlock; i < settlers.length; i++) settlers[i]?.reject(failure);
    }
  }

  #insert(cacheKey: string, key: string, block: Buffer): void {
    // lru-cache silently skips an entry larger than maxSize; only index what it really kept.
    this.#lru.set(cacheKey, block);
    if (!this.#lru.has(cacheKey)) {
      this.#unindex(cacheKey);
      return;
    }
    let cacheKeys = this.#cachedByKey.get(key);
    if (cacheKeys === undefined) {
      cacheKeys = new Set();
      this.#cachedByKey.set(key, cacheKeys);
    }
    cacheKeys.add(cacheKey);
  }

  #unindex(cacheKey: string): void {
    const { key } = parseCacheKey(cacheKey);
    const cacheKeys = this.#cachedByKey.get(key);
    if (cacheKeys === undefined) return;
    cacheKeys.delete(cacheKey);
    if (cacheKeys.size === 0) this.#cachedByKey.delete(key);
  }

  #cacheKey(key: string, etag: string, blockIndex: number): string {
    if (!Number.isSafeInteger(blockIndex) || blockIndex < 0) {
      throw new RangeError(`blockIndex must be a non-negative integer, got ${blockIndex}`);
    }
    // JSON keeps the three parts apart whatever characters a key or ETag holds.
    return JSON.stringify([key, etag, blockIndex]);
  }
}

/** Bytes [start, end) of a block: the block itself when that is all of it, so gets of a whole block share one Buffer. */
function slice(block: Buffer, start: number, end: number): Buffer {
  return start <= 0 && end >= block.byteLength ? block : block.subarray(start, end);
}

function parseCacheKey(cacheKey: string): BlockId {
  const [key, etag, blockIndex] = JSON.parse(cacheKey) as [string, string, number];
  return { key, etag, blockIndex };
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
