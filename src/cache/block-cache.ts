// BlockCache: fixed-size blocks of object data, LRU-evicted within a byte capacity. The ETag is part
// of every entry's identity, so a rewritten object can never serve old bytes; at most one fetch per
// block is in flight, and a fetch that lands after invalidate(key) is handed to its waiters only.

import { LRUCache } from 'lru-cache';

export interface BlockCacheOptions {
  /** Bytes of block data held at most; a block larger than this is served but never cached. */
  readonly capacityBytes: number;
  /** The block size callers fetch in; a fetched block longer than this is a caller bug. */
  readonly blockSizeBytes: number;
}

export interface BlockCacheStats {
  /** Gets served from the cache. */
  readonly hits: number;
  /** Gets that found no cached block, whether they started a fetch or joined one in flight. */
  readonly misses: number;
  /** Fetches running now. */
  readonly inFlight: number;
  readonly sizeBytes: number;
  readonly entries: number;
}

interface BlockId {
  readonly key: string;
  readonly etag: string;
  readonly blockIndex: number;
}

interface Fetch {
  readonly id: BlockId;
  readonly promise: Promise<Buffer>;
  /** Cleared by invalidate(): the bytes may belong to a version the caller has just replaced. */
  populate: boolean;
}

export class BlockCache {
  readonly capacityBytes: number;
  readonly blockSizeBytes: number;
  readonly #lru: LRUCache<string, Buffer>;
  /** Cache keys of the cached blocks of each object key, so invalidate() need not scan the cache. */
  readonly #cachedByKey = new Map<string, Set<string>>();
  readonly #inFlight = new Map<string, Fetch>();
  #hits = 0;
  #misses = 0;

  constructor(options: BlockCacheOptions) {
    requirePositiveInteger('capacityBytes', options.capacityBytes);
    requirePositiveInteger('blockSizeBytes', options.blockSizeBytes);
    this.capacityBytes = options.capacityBytes;
    this.blockSizeBytes = options.blockSizeBytes;
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
   * The block, from the cache or from `fetch`. Concurrent gets of one block share one fetch; a failed
   * fetch is not cached and its error reaches every waiter. The returned Buffer is shared: do not
   * write to it.
   */
  get(key: string, etag: string, blockIndex: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    let cacheKey: string;
    try {
      cacheKey = this.#cacheKey(key, etag, blockIndex);
    } catch (error) {
      return Promise.reject(error);
    }
    const cached = this.#lru.get(cacheKey);
    if (cached !== undefined) {
      this.#hits++;
      return Promise.resolve(cached);
    }
    this.#misses++;
    const running = this.#inFlight.get(cacheKey);
    if (running !== undefined) return running.promise;
    return this.#start(cacheKey, { key, etag, blockIndex }, fetch);
  }

  /** The cached block without fetching, counting or refreshing its recency. */
  peek(key: string, etag: string, blockIndex: number): Buffer | undefined {
    return this.#lru.peek(this.#cacheKey(key, etag, blockIndex));
  }

  has(key: string, etag: string, blockIndex: number): boolean {
    return this.#lru.has(this.#cacheKey(key, etag, blockIndex));
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
      inFlight: this.#inFlight.size,
      sizeBytes: this.#lru.calculatedSize,
      entries: this.#lru.size,
    };
  }

  #start(cacheKey: string, id: BlockId, fetch: () => Promise<Buffer>): Promise<Buffer> {
    // The executor turns a synchronous throw of `fetch` into a rejection like any other failure.
    const fetched = new Promise<Buffer>((resolve) => resolve(fetch()));
    const running: Fetch = {
      id,
      populate: true,
      promise: fetched.then(
        (block) => {
          this.#settle(cacheKey, running);
          if (block.byteLength > this.blockSizeBytes) {
            throw new RangeError(
              `block ${id.blockIndex} of ${id.key} is ${block.byteLength} bytes, more than the ${this.blockSizeBytes}-byte block size`,
            );
          }
          if (running.populate) this.#insert(cacheKey, id.key, block);
          return block;
        },
        (error: unknown) => {
          this.#settle(cacheKey, running);
          throw error;
        },
      ),
    };
    this.#inFlight.set(cacheKey, running);
    return running.promise;
  }

  #settle(cacheKey: string, running: Fetch): void {
    if (this.#inFlight.get(cacheKey) === running) this.#inFlight.delete(cacheKey);
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

function parseCacheKey(cacheKey: string): BlockId {
  const [key, etag, blockIndex] = JSON.parse(cacheKey) as [string, string, number];
  return { key, etag, blockIndex };
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
