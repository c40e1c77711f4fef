// MemoryBuckets: a fake BucketAdmin over one MemoryStore per bucket, for unit tests of a mount of
// every bucket. It follows S3 where the core can tell: names in byte order, BucketExists for a name
// taken, BucketNotEmpty while a key or an incomplete upload remains, NoSuchBucket for a name that is
// gone. Counts calls and fails the next one on request, as MemoryStore does.

import type { BucketAdmin, BucketInfo } from '../../src/s3/bucket-admin.js';
import { StoreError, type StoreErrorCode } from '../../src/s3/store-error.js';
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js';

export type AdminMethod = 'listBuckets' | 'createBucket' | 'deleteBucket';

export class MemoryBuckets implements BucketAdmin {
  readonly description = 'every bucket at memory://';
  readonly #buckets = new Map<string, { readonly store: MemoryStore; readonly createdAt: Date }>();
  readonly #storeOptions: MemoryStoreOptions;
  readonly #now: () => number;
  readonly #calls: Record<AdminMethod, number> = { listBuckets: 0, createBucket: 0, deleteBucket: 0 };
  readonly #failures = new Map<AdminMethod, StoreErrorCode[]>();

  constructor(storeOptions: MemoryStoreOptions = {}) {
    this.#storeOptions = storeOptions;
    this.#now = storeOptions.now ?? Date.now;
  }

  // ---- test hooks: another client of the server ----

  get calls(): Readonly<Record<AdminMethod, number>> {
    return { ...this.#calls };
  }

  failNext(method: AdminMethod, code: StoreErrorCode): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), code]);
  }

  /** Creates a bucket as another client would; returns its store. */
  add(name: string): MemoryStore {
    const store = new MemoryStore(this.#storeOptions);
    this.#buckets.set(name, { store, createdAt: new Date(this.#now()) });
    return store;
  }

  /** The store of an existing bucket. */
  store(name: string): MemoryStore {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw new Error(`no bucket ${name} in this test`);
    return bucket.store;
  }

  /** Deletes a bucket as another client would, whatever it holds. */
  remove(name: string): void {
    this.#buckets.delete(name);
  }

  has(name: string): boolean {
    return this.#buckets.has(name);
  }

  // ---- BucketAdmin ----

  async listBuckets(): Promise<BucketInfo[]> {
    this.#enter('listBuckets');
    const names = [...this.#buckets.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return names.map((name) => ({ name, createdAt: this.#buckets.get(name)?.createdAt, region: undefined }));
  }

  async createBucket(name: string): Promise<void> {
    this.#enter('createBucket');
    if (this.#buckets.has(name)) throw new StoreError('BucketExists', `CREATE-BUCKET ${name}: BucketAlreadyOwnedByYou`, { httpStatus: 409 });
    this.add(name);
  }

  async deleteBucket(name: string): Promise<void> {
    this.#enter('deleteBucket');
    const bucket = this.#buckets.get(name);
    if (!bucket) throw new StoreError('NoSuchBucket', `DELETE-BUCKET ${name}: NoSuchBucket`, { httpStatus: 404 });
    if (bucket.store.keys().length > 0 || bucket.store.pendingUploads().length > 0) {
      throw new StoreError('BucketNotEmpty', `DELETE-BUCKET ${name}: BucketNotEmpty`, { httpStatus: 409 });
    }
    this.#buckets.delete(name);
  }

  close(): void {}

  #enter(method: AdminMethod): void {
    this.#calls[method]++;
    const code = this.#failures.get(method)?.shift();
    if (code !== undefined) throw new StoreError(code, `injected ${code} on ${method}`);
  }
}
