// TTL caches for what HEAD and LIST told us (TtlCache) and for keys known to be missing
// (NegativeCache). Both are bounded in entries (least recently used go first) and read time from an
// injectable clock, so an entry is never trusted past its ttlMs and tests need not sleep.

import { LRUCache } from 'lru-cache';

export interface TtlCacheOptions<V = unknown> {
  /** Entries held at most; with `weightOf`, the total weight held at most. */
  readonly maxEntries: number;
  /** Weight of one entry (e.g. the names a listing holds), at least 1; default 1 each. */
  readonly weightOf?: (value: V) => number;
  /** Default lifetime of an entry, ms; 0 means entries are not kept at all. */
  readonly ttlMs: number;
  /** Milliseconds on a monotonic scale; defaults to performance.now. */
  readonly now?: () => number;
}

export class TtlCache<V extends NonNullable<unknown>> {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #lru: LRUCache<string, V>;

  constructor(options: TtlCacheOptions<V>) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries <= 0) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.maxEntries = options.maxEntries;
    this.ttlMs = checkTtl(options.ttlMs);
    const now = options.now ?? (() => performance.now());
    const { weightOf } = options;
    this.#lru = new LRUCache<string, V>({
      ...(weightOf ? { maxSize: options.maxEntries, sizeCalculation: (value: V) => Math.max(1, weightOf(value)) } : { max: options.maxEntries }),
      // lru-cache reads a start time of 0 as "no TTL", which a test clock at 0 would hit.
      perf: { now: () => now() + 1 },
      // Resolution 0 reads the clock on every check instead of caching it behind a timer.
      ttlResolution: 0,
    });
  }

  /** The value if present and younger than its TTL. */
  get(key: string): V | undefined {
    return this.#lru.get(key);
  }

  /** Stores `value` for `ttlMs` (default: the cache's ttlMs); a TTL of 0 drops the key instead. */
  set(key: string, value: V, ttlMs: number = this.ttlMs): void {
    if (checkTtl(ttlMs) === 0) {
      this.#lru.delete(key);
      return;
    }
    this.#lru.set(key, value, { ttl: ttlMs });
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  /** Drops every key that starts with `prefix`, for renames and deletes of a whole directory; returns how many. */
  deleteByPrefix(prefix: string): number {
    // Collected first: deleting while lru-cache iterates would skip entries.
    const doomed = [...this.#lru.keys()].filter((key) => key.startsWith(prefix));
    for (const key of doomed) this.#lru.delete(key);
    return doomed.length;
  }

  clear(): void {
    this.#lru.clear();
  }

  /** Live entries; expired ones are purged first so the count means what it says. */
  get size(): number {
    this.#lru.purgeStale();
    return this.#lru.size;
  }
}

/** Keys known to be missing, each trusted for its own ttlMs, so repeated lookups of a missing path skip HEAD. */
export class NegativeCache {
  readonly #entries: TtlCache<true>;

  constructor(options: TtlCacheOptions<true>) {
    this.#entries = new TtlCache<true>(options);
  }

  get maxEntries(): number {
    return this.#entries.maxEntries;
  }

  get ttlMs(): number {
    return this.#entries.ttlMs;
  }

  /** True while `key` is known to be missing. */
  has(key: string): boolean {
    return this.#entries.get(key) === true;
  }

  /** Records `key` as missing for `ttlMs` (default: the cache's ttlMs). */
  set(key: string, ttlMs?: number): void {
    this.#entries.set(key, true, ttlMs);
  }

  /** Call whenever `key` may have been created. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  deleteByPrefix(prefix: string): number {
    return this.#entries.deleteByPrefix(prefix);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new RangeError(`ttlMs must be a non-negative integer, got ${ttlMs}`);
  return ttlMs;
}
