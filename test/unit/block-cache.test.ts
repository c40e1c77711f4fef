import { describe, expect, it, vi } from 'vitest';
import { BlockCache, RunFetchError, type BlockTier } from '../../src/cache/block-cache.js';
import { deferred } from '../support/deferred.js';

const bytes = (length: number, fill = 1): Buffer => Buffer.alloc(length, fill);
/** Bytes whose value is their offset (mod 251), so a misplaced byte shows. */
const pattern = (length: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => i % 251));

/** A byte stream the test feeds by hand, as a streamed GET body. */
class Pipe implements AsyncIterable<Uint8Array> {
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #failure: unknown;
  #wake: (() => void) | undefined;
  opened = 0;

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  fail(error: unknown): void {
    this.#failure = error;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    this.opened++;
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        yield chunk;
        continue;
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/** Lets pending promise reactions and stream steps run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A disk tier in memory that records what it was asked. */
class FakeTier implements BlockTier {
  readonly blocks = new Map<string, Buffer>();
  readonly reads: string[] = [];
  lose = false;
  has(key: string, etag: string, blockIndex: number): boolean {
    return this.blocks.has(`${key}|${etag}|${blockIndex}`);
  }
  async read(key: string, etag: string, blockIndex: number, start = 0, end?: number): Promise<Buffer | undefined> {
    const id = `${key}|${etag}|${blockIndex}`;
    this.reads.push(`${id}|${start}-${end ?? 'end'}`);
    if (this.lose) return undefined;
    return this.blocks.get(id)?.subarray(start, end);
  }
  write(key: string, etag: string, blockIndex: number, block: Buffer): void {
    this.blocks.set(`${key}|${etag}|${blockIndex}`, block);
  }
}

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

  describe('fetchRun', () => {
    const object = { key: 'k', etag: 'e', sizeBytes: 35 };

    it('fetches a run with one stream and hands each block out as soon as its bytes arrived', async () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const pipe = new Pipe();
      const opened: [number, number][] = [];
      const blocks = cache.fetchRun(object, 1, 4, (start, end) => {
        opened.push([start, end]);
        return pipe;
      });
      expect(opened).toEqual([[10, 35]]);
      expect(cache.stats().inFlight).toBe(3);
      // Every block of the run is in flight: a get joins it instead of fetching.
      const fetch = vi.fn(async () => bytes(10));
      const joined = cache.read('k', 'e', 2, 3, 7, fetch);
      const data = pattern(35);
      let firstDone = false;
      void blocks[0]?.then(() => (firstDone = true));
      pipe.push(data.subarray(10, 16));
      await settle();
      expect(firstDone).toBe(false);
      pipe.push(data.subarray(16, 27)); // ends block 1 and starts block 2
      await settle();
      expect(firstDone).toBe(true);
      expect(cache.has('k', 'e', 1)).toBe(true);
      expect(cache.stats().inFlight).toBe(2);
      pipe.push(data.subarray(27, 35));
      pipe.end();
      const got = await Promise.all(blocks);
      expect(got.map((b) => [...b])).toEqual([[...data.subarray(10, 20)], [...data.subarray(20, 30)], [...data.subarray(30, 35)]]);
      expect([...(await joined)]).toEqual([...data.subarray(23, 27)]);
      expect(fetch).not.toHaveBeenCalled();
      expect(cache.stats()).toMatchObject({ inFlight: 0, entries: 3, sizeBytes: 25 });
    });

    it('leaves blocks already cached or in flight to what has them, skipping their bytes', async () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const data = pattern(35);
      await cache.get('k', 'e', 1, async () => data.subarray(10, 20));
      const gate = deferred<Buffer>();
      const other = cache.get('k', 'e', 2, () => gate.promise);
      const pipe = new Pipe();
      const blocks = cache.fetchRun(object, 0, 4, () => pipe);
      expect(cache.stats().inFlight).toBe(3); // 0 and 3 by the run, 2 by the get
      pipe.push(data);
      pipe.end();
      await Promise.all([blocks[0], blocks[1], blocks[3]]);
      expect(cache.peek('k', 'e', 3)).toEqual(data.subarray(30, 35));
      // Block 2 still belongs to its own fetch.
      expect(cache.stats().inFlight).toBe(1);
      gate.resolve(data.subarray(20, 30));
      expect(await blocks[2]).toEqual(data.subarray(20, 30));
      await other;
    });

    it('fails the blocks a broken stream had not finished, keeps the ones it had, and lets them be fetched again', async () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const pipe = new Pipe();
      const blocks = cache.fetchRun(object, 0, 3, () => pipe);
      const data = pattern(35);
      pipe.push(data.subarray(0, 15));
      await settle();
      const boom = new Error('connection reset');
      pipe.fail(boom);
      expect(await blocks[0]).toEqual(data.subarray(0, 10));
      for (const failed of [blocks[1], blocks[2]]) {
        const error = await (failed as Promise<Buffer>).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RunFetchError);
        expect((error as RunFetchError).cause).toBe(boom);
      }
      expect(cache.stats().inFlight).toBe(0);
      const fetch = vi.fn(async () => data.subarray(10, 20));
      expect(await cache.get('k', 'e', 1, fetch)).toEqual(data.subarray(10, 20));
      expect(fetch).toHaveBeenCalledTimes(1);
    });

    it('fails a stream that sends too few or too many bytes, and one that cannot open', async () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const short = new Pipe();
      const shortBlocks = cache.fetchRun(object, 0, 2, () => short);
      short.push(bytes(15));
      short.end();
      await expect(shortBlocks[1]).rejects.toThrow(/ended after 15 of 20 bytes/);
      const long = new Pipe();
      const longBlocks = cache.fetchRun({ ...object, key: 'long' }, 3, 4, () => long);
      long.push(bytes(6));
      long.end();
      await expect(longBlocks[0]).rejects.toThrow(/more than the 5 bytes/);
      const broken = cache.fetchRun({ ...object, key: 'broken' }, 0, 1, () => {
        throw new Error('no socket');
      });
      await expect(broken[0]).rejects.toThrow(/no socket/);
      expect(cache.stats().inFlight).toBe(0);
    });

    it('sends no request for a run whose blocks are all cached or in flight', async () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const first = new Pipe();
      const blocks = cache.fetchRun(object, 0, 2, () => first);
      let opened = 0;
      const again = cache.fetchRun(object, 0, 2, () => {
        opened++;
        return new Pipe();
      });
      first.push(pattern(20));
      first.end();
      expect(await Promise.all(again)).toEqual(await Promise.all(blocks));
      expect(opened).toBe(0);
    });

    it('refuses a run outside the object', () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const open = () => new Pipe();
      expect(() => cache.fetchRun(object, 2, 5, open)).toThrow(RangeError);
      expect(() => cache.fetchRun(object, 2, 2, open)).toThrow(RangeError);
      expect(() => cache.fetchRun(object, -1, 1, open)).toThrow(RangeError);
    });

    it('keeps a run that lands after invalidate out of the cache but answers its waiters', async () => {
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10 });
      const pipe = new Pipe();
      const blocks = cache.fetchRun(object, 0, 2, () => pipe);
      cache.invalidate('k');
      pipe.push(pattern(20));
      pipe.end();
      expect((await Promise.all(blocks)).map((b) => b.length)).toEqual([10, 10]);
      expect(cache.stats().entries).toBe(0);
    });
  });

  describe('with a disk tier', () => {
    it('reads a memory miss from disk, only the bytes asked for, and counts it', async () => {
      const disk = new FakeTier();
      disk.write('k', 'e', 4, pattern(10));
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10, disk });
      const fetch = vi.fn(async () => bytes(10));
      expect(cache.isAvailable('k', 'e', 4)).toBe(true);
      expect(cache.isAvailable('k', 'e', 5)).toBe(false);
      expect([...(await cache.read('k', 'e', 4, 2, 5, fetch))]).toEqual([2, 3, 4]);
      expect(disk.reads).toEqual(['k|e|4|2-5']);
      expect(fetch).not.toHaveBeenCalled();
      expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, diskHits: 1, entries: 0 });
      expect(await cache.get('k', 'e', 4, fetch)).toEqual(pattern(10));
      expect(disk.reads[1]).toBe('k|e|4|0-end');
    });

    it('gives every fetched block to the disk, and never one invalidated while in flight', async () => {
      const disk = new FakeTier();
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10, disk });
      await cache.get('k', 'e', 0, async () => bytes(10, 7));
      const pipe = new Pipe();
      const run = cache.fetchRun({ key: 'k', etag: 'e', sizeBytes: 30 }, 1, 3, () => pipe);
      pipe.push(bytes(20, 8));
      pipe.end();
      await Promise.all(run);
      expect([...disk.blocks.keys()].sort()).toEqual(['k|e|0', 'k|e|1', 'k|e|2']);
      const gate = deferred<Buffer>();
      const stale = cache.get('gone', 'e', 0, () => gate.promise);
      cache.invalidate('gone');
      gate.resolve(bytes(10));
      await stale;
      expect(disk.has('gone', 'e', 0)).toBe(false);
    });

    it('fetches a block the disk lost after saying it had it', async () => {
      const disk = new FakeTier();
      disk.write('k', 'e', 0, bytes(10, 1));
      disk.lose = true;
      const cache = new BlockCache({ capacityBytes: 100, blockSizeBytes: 10, disk });
      const fetch = vi.fn(async () => bytes(10, 2));
      expect([...(await cache.read('k', 'e', 0, 0, 2, fetch))]).toEqual([2, 2]);
      expect(fetch).toHaveBeenCalledTimes(1);
      expect(cache.stats().diskHits).toBe(0);
    });
  });
});
