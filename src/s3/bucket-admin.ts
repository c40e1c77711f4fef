// The bucket-level calls a mount of every bucket needs — ListBuckets, CreateBucket, DeleteBucket —
// behind a seam as narrow as ObjectStore's, so the fs core can list, make and remove buckets
// without the SDK (unit tests use a fake). Failures are StoreErrors: BucketNotEmpty, BucketExists,
// TooManyBuckets, InvalidArgument (a bad name) and AccessDenied carry their POSIX meaning.

import { type BucketLocationConstraint, CreateBucketCommand, DeleteBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import type { ServerCapabilities } from './capabilities.js';
import { S3Context, type RequestLogger } from './context.js';
import { endpointLabel } from './s3-object-store.js';

/** One bucket as ListBuckets shows it. */
export interface BucketInfo {
  readonly name: string;
  /** CreationDate; undefined when the server sent none. */
  readonly createdAt: Date | undefined;
  /** The bucket's region when the server says (AWS does, in BucketRegion); undefined otherwise. */
  readonly region: string | undefined;
}

export interface BucketAdmin {
  /** `every bucket at ENDPOINT`, for logs. */
  readonly description: string;
  /** Every bucket these credentials may list, in the server's order (by name). */
  listBuckets(): Promise<BucketInfo[]>;
  /** Creates a bucket in the configured region; BucketExists when the name is taken. */
  createBucket(name: string): Promise<void>;
  /** Deletes an empty bucket; BucketNotEmpty when it holds objects. */
  deleteBucket(name: string): Promise<void>;
  close(): void;
}

/** The region CreateBucket must not name: S3's default, where a LocationConstraint is refused. */
const DEFAULT_REGION = 'us-east-1';

export class S3BucketAdmin implements BucketAdmin {
  readonly description: string;
  readonly #ctx: S3Context;
  readonly #requestTimeoutMs: number;
  readonly #logger: RequestLogger | undefined;

  constructor(config: S3Config, options: { logger?: RequestLogger; capabilities?: Partial<ServerCapabilities> } = {}) {
    this.description = `every bucket at ${endpointLabel(config)}`;
    this.#ctx = S3Context.create({ ...config, bucket: '', prefix: '' }, options);
    this.#requestTimeoutMs = config.requestTimeoutMs;
    this.#logger = options.logger;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const ctx = this.#ctx;
    const buckets: BucketInfo[] = [];
    const tokens = new Set<string>();
    let token: string | undefined;
    do {
      const out = await ctx.request('LIST-BUCKETS', '', () => ctx.clients.main.send(new ListBucketsCommand({ ContinuationToken: token })));
      for (const b of out.Buckets ?? []) {
        if (b.Name) buckets.push({ name: b.Name, createdAt: b.CreationDate, region: b.BucketRegion || undefined });
      }
      token = out.ContinuationToken || undefined;
      // A server that repeats a token would page forever.
      if (token !== undefined && tokens.has(token)) break;
      if (token !== undefined) tokens.add(token);
    } while (token !== undefined);
    return buckets;
  }

  async createBucket(name: string): Promise<void> {
    const ctx = this.#for(name);
    // The region the client signs for (configured, or the AWS chain's): a bucket elsewhere would
    // need a client of its own. S3 refuses us-east-1 as an explicit constraint. The SDK's type lists
    // AWS's regions only; S3-compatible servers name their own.
    const region = await ctx.clients.main.config.region();
    const constraint = region as BucketLocationConstraint;
    const configuration = region !== DEFAULT_REGION ? { CreateBucketConfiguration: { LocationConstraint: constraint } } : {};
    await ctx.request('CREATE-BUCKET', '', () => ctx.clients.main.send(new CreateBucketCommand({ Bucket: name, ...configuration })));
  }

  async deleteBucket(name: string): Promise<void> {
    const ctx = this.#for(name);
    await ctx.request('DELETE-BUCKET', '', () => ctx.clients.main.send(new DeleteBucketCommand({ Bucket: name })));
  }

  close(): void {
    this.#ctx.clients.destroy();
  }

  /** A context naming `bucket` in its messages, on the shared clients. */
  #for(bucket: string): S3Context {
    const { clients, capabilities, retry } = this.#ctx;
    return new S3Context({ bucket, prefix: '', clients, capabilities, retry, requestTimeoutMs: this.#requestTimeoutMs, logger: this.#logger });
  }
}
