// One bucket's view of a block cache shared by every bucket of a mount: the same capacity, LRU and
// disk tier, with each key prefixed by `BUCKET/` (bucket names hold no '/'), so equal keys with
// equal ETags in two buckets never share a block. It is a BlockCache (S3Filesystem takes one) that
// forwards every public method; its own, empty LRU is never used. A unit test fails when BlockCache
// gains a method this view does not forward.

import { BlockCache, type BlockCacheStats, type ObjectVersion } from './block-cache.js';

export class BucketBlockCache extends BlockCache {
  readonly #shared: BlockCache;
  readonly #scope: string;

  constructor(shared: BlockCache, bucket: string) {
    // Same numbers as the shared cache: readers size their read-ahead from capacityBytes.
    super({ capacityBytes: shared.capacityBytes, blockSizeBytes: shared.blockSizeBytes });
    this.#shared = shared;
    this.#scope = `${bucket}/`;
  }

  override get(key: string, etag: string, blockIndex: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    return this.#shared.get(this.#scope + key, etag, blockIndex, fetch);
  }

  override read(key: string, etag: string, blockIndex: number, startInBlock: number, endInBlock: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    return this.#shared.read(this.#scope + key, etag, blockIndex, startInBlock, endInBlock, fetch);
  }

  override peek(key: string, etag: string, blockIndex: number): Buffer | undefined {
    return this.#shared.peek(this.#scope + key, etag, blockIndex);
  }

  override has(key: string, etag: string, blockIndex: number): boolean {
    return this.#shared.has(this.#scope + key, etag, blockIndex);
  }

  override isAvailable(key: string, etag: string, blockIndex: number): boolean {
    return this.#shared.isAvailable(this.#scope + key, etag, blockIndex);
  }

  override fetchRun(
    object: ObjectVersion,
    firstBlock: number,
    endBlockExclusive: number,
    open: (startByte: number, endByteExclusive: number) => AsyncIterable<Uint8Array>,
  ): Promise<Buffer>[] {
    return this.#shared.fetchRun({ ...object, key: this.#scope + object.key }, firstBlock, endBlockExclusive, open);
  }

  override invalidate(key: string): void {
    this.#shared.invalidate(this.#scope + key);
  }

  /** The shared cache's numbers: one cache serves every bucket. */
  override stats(): BlockCacheStats {
    return this.#shared.stats();
  }
}
