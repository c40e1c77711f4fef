import { describe, expect, it, vi } from 'vitest';
import { BlockCache } from '../../src/cache/block-cache.js';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const bytes = (length: number, fill = 1): Buffer => Buffer.alloc(length, fill);

describe('BlockCache', () => {
  it('fetches a block once and serves later gets from the cache', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    const fetch = vi.fn(async () => bytes(10, 7));
    const first = await cache.get('k', '"e1"', 0, fetch);
    const second = await cache.get('k', '"e1"', 0, fetch);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, diskHits: 0, inFlight: 0, sizeBytes: 10, entries: 1 });
  });

  it('keys blocks by ETag so a rewritten object never serves old bytes', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    await cache.get('k', '"old"', 0, async () => bytes(10, 1));
    const fresh = await cache.get('k', '"new"', 0, async () => bytes(10, 2));
    expect(fresh[0]).toBe(2);
    expect(cache.peek('k', '"old"', 0)?.[0]).toBe(1);
    expect(cache.peek('k', '"new"', 0)?.[0]).toBe(2);
  });

  it('keeps keys apart whatever characters they hold', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    await cache.get('a","b', 'c', 0, async () => bytes(1, 1));
    expect(cache.has('a', 'b","c', 0)).toBe(false);
    expect(cache.has('a","b', 'c', 0)).toBe(true);
  });

  it('shares one fetch among concurrent gets of a block', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    const gate = deferred<Buffer>();
    const fetch = vi.fn(() => gate.promise);
    const gets = [cache.get('k', 'e', 3, fetch), cache.get('k', 'e', 3, fetch), cache.get('k', 'e', 3, fetch)];
    expect(cache.stats().inFlight).toBe(1);
    gate.resolve(bytes(4));
    const blocks = await Promise.all(gets);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(blocks[1]).toBe(blocks[0]);
    expect(blocks[2]).toBe(blocks[0]);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 3, inFlight: 0, entries: 1 });
  });

  it('gives a failed fetch to every waiter and does not cache it', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    const gate = deferred<Buffer>();
    const failing = vi.fn(() => gate.promise);
    const gets = [cache.get('k', 'e', 0, failing), cache.get('k', 'e', 0, failing)];
    const boom = new Error('boom');
    gate.reject(boom);
    for (const get of gets) await expect(get).rejects.toBe(boom);
    expect(cache.has('k', 'e', 0)).toBe(false);
    expect(cache.stats().inFlight).toBe(0);

    const retry = vi.fn(async () => bytes(5));
    await expect(cache.get('k', 'e', 0, retry)).resolves.toHaveLength(5);
    expect(retry).toHaveBeenCalledTimes(1);
  });

  it('turns a fetch that throws synchronously into a rejection', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    const get = cache.get('k', 'e', 0, () => {
      throw new Error('sync');
    });
    await expect(get).rejects.toThrow('sync');
    expect(cache.stats().inFlight).toBe(0);
  });

  it('refuses a fetched block longer than the block size', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    await expect(cache.get('k', 'e', 0, async () => bytes(11))).rejects.toThrow(RangeError);
    expect(cache.has('k', 'e', 0)).toBe(false);
  });

  it('evicts the least recently used blocks to stay within its byte capacity', async () => {
    const cache = new BlockCache({ capacityBytes: 25, blockSizeBytes: 10 });
    await cache.get('k', 'e', 0, async () => bytes(10));
    await cache.get('k', 'e', 1, async () => bytes(10));
    await cache.get('k', 'e', 0, async () => bytes(10)); // touch 0: block 1 becomes the oldest
    await cache.get('k', 'e', 2, async () => bytes(10));
    expect(cache.has('k', 'e', 0)).toBe(true);
    expect(cache.has('k', 'e', 1)).toBe(false);
    expect(cache.has('k', 'e', 2)).toBe(true);
    expect(cache.stats().sizeBytes).toBe(20);
  });

  it('returns a block larger than its capacity without caching it', async () => {
    const cache = new BlockCache({ capacityBytes: 8, blockSizeBytes: 10 });
    await cache.get('small', 'e', 0, async () => bytes(4));
    const big = await cache.get('big', 'e', 0, async () => bytes(10));
    expect(big).toHaveLength(10);
    expect(cache.has('big', 'e', 0)).toBe(false);
    expect(cache.has('small', 'e', 0)).toBe(true);
    expect(cache.stats()).toMatchObject({ sizeBytes: 4, entries: 1 });
  });

  it('caches an empty block', async () => {
    const cache = new BlockCache({ capacityBytes: 8, blockSizeBytes: 10 });
    await cache.get('empty', 'e', 0, async () => Buffer.alloc(0));
    expect(cache.peek('empty', 'e', 0)).toEqual(Buffer.alloc(0));
  });

  it('invalidates every block of a key under every ETag and leaves other keys alone', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    await cache.get('k', 'e1', 0, async () => bytes(10));
    await cache.get('k', 'e1', 1, async () => bytes(10));
    await cache.get('k', 'e2', 0, async () => bytes(10));
    await cache.get('other', 'e1', 0, async () => bytes(10));
    cache.invalidate('k');
    expect(cache.has('k', 'e1', 0)).toBe(false);
    expect(cache.has('k', 'e1', 1)).toBe(false);
    expect(cache.has('k', 'e2', 0)).toBe(false);
    expect(cache.has('other', 'e1', 0)).toBe(true);
    expect(cache.stats()).toMatchObject({ sizeBytes: 10, entries: 1 });
  });

  it('invalidates blocks cached again after an eviction', async () => {
    const cache = new BlockCache({ capacityBytes: 10, blockSizeBytes: 10 });
    await cache.get('k', 'e', 0, async () => bytes(10));
    await cache.get('other', 'e', 0, async () => bytes(10)); // evicts k
    await cache.get('k', 'e', 0, async () => bytes(10)); // evicts other, caches k again
    cache.invalidate('k');
    expect(cache.stats().entries).toBe(0);
  });

  it('keeps a fetch that lands after invalidate out of the cache but still answers its waiters', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    const gate = deferred<Buffer>();
    const stale = cache.get('k', 'e', 0, () => gate.promise);
    cache.invalidate('k');
    expect(cache.stats().inFlight).toBe(0);

    // A get after the invalidation starts its own fetch instead of joining the stale one.
    const freshFetch = vi.fn(async () => bytes(10, 2));
    const fresh = cache.get('k', 'e', 0, freshFetch);
    expect(freshFetch).toHaveBeenCalledTimes(1);

    gate.resolve(bytes(10, 1));
    expect((await stale)[0]).toBe(1);
    expect((await fresh)[0]).toBe(2);
    expect(cache.peek('k', 'e', 0)?.[0]).toBe(2);
  });

  it('does not let a stale fetch overwrite or drop the fresh one when it lands last', async () => {
    const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
    const staleGate = deferred<Buffer>();
    const stale = cache.get('k', 'e', 0, () => staleGate.promise);
    cache.invalidate('k');
    const freshGate = deferred<Buffer>();
    const fresh = cache.get('k', 'e', 0, () => freshGate.promise);
    staleGate.resolve(bytes(10, 1));
    await stale;
    expect(cache.stats().inFlight).toBe(1);
    freshGate.resolve(bytes(10, 2));
    await fresh;
    expect(cache.peek('k', 'e', 0)?.[0]).toBe(2);
  });

  it('peek neither counts nor refreshes recency', async () => {
    const cache = new BlockCache({ capacityBytes: 20, blockSizeBytes: 10 });
    await cache.get('k', 'e', 0, async () => bytes(10));
    await cache.get('k', 'e', 1, async () => bytes(10));
    expect(cache.peek('k', 'e', 0)).toBeDefined();
    await cache.get('k', 'e', 2, async () => bytes(10));
    expect(cache.has('k', 'e', 0)).toBe(false);
    expect(cache.peek('k', 'e', 9)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 3 });
  });

  it('rejects a nonsensical configuration or block index', async () => {
    expect(() => new BlockCache({ capacityBytes: 0, blockSizeBytes: 10 })).toThrow(RangeError);
    expect(() => new BlockCache({ capacityBytes: 10, blockSizeBytes: 1.5 })).toThrow(RangeError);
    const cache = new BlockCache({ capacityBytes: 10, blockSizeBytes: 10 });
    expect(() => cache.has('k', 'e', -1)).toThrow(RangeError);
    const fetch = vi.fn(async () => bytes(1));
    await expect(cache.get('k', 'e', 0.5, fetch)).rejects.toThrow(RangeError);
    expect(fetch).not.toHaveBeenCalled();
  });
});
