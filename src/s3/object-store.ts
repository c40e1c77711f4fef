// The seam between the filesystem core and S3: a narrow, S3-shaped interface bound to one bucket and
// one key prefix. Keys passed in and returned are relative to that prefix; the implementation joins
// and strips it. Results are readonly plain data; every failure is a StoreError (./errors.ts).

/** User metadata as S3 returns it: lower-case names without the `x-amz-meta-` prefix. */
export type UserMetadata = Readonly<Record<string, string>>;

/** What HEAD tells about one object. */
export interface ObjectInfo {
  readonly key: string;
  readonly sizeBytes: number;
  /** The ETag as the server sent it, quotes included: it is passed back verbatim in If-Match. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string | undefined;
  readonly metadata: UserMetadata;
}

/** One object of a listing page: no user metadata (ListObjectsV2 does not return it). */
export interface ListedObject {
  readonly key: string;
  readonly sizeBytes: number;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface ListPage {
  readonly objects: readonly ListedObject[];
  /** Common prefixes, each ending in the delimiter. */
  readonly prefixes: readonly string[];
  /** Present when there is another page. */
  readonly nextToken: string | undefined;
}

/** A byte range [startByte, endByteExclusive). */
export interface ByteRange {
  readonly startByte: number;
  readonly endByteExclusive: number;
}

/**
 * The version a read is pinned to: its ETag and, when the caller knows it, its size. A server that
 * ignores If-Match answers with another version; the store checks the answer against the pin.
 */
export interface VersionPin {
  readonly etag: string;
  readonly sizeBytes?: number;
}

/**
 * The bytes of a PUT or a part produced chunk by chunk, so a 5 GiB part never sits in memory.
 * `chunks()` starts over from the first byte each time it is called (a retry sends the body again).
 */
export interface StreamedBody {
  readonly sizeBytes: number;
  chunks(): AsyncIterable<Uint8Array>;
}

/** What a PUT or a part carries: bytes in memory, or a body streamed from where they are kept. */
export type Body = Uint8Array | StreamedBody;

export function bodySizeBytes(body: Body): number {
  return body instanceof Uint8Array ? body.byteLength : body.sizeBytes;
}

export interface WriteOptions {
  readonly metadata: UserMetadata;
  readonly contentType: string | undefined;
}

export interface PutResult {
  readonly etag: string;
}

export interface CopyOptions {
  /** Replace the metadata (MetadataDirective REPLACE) instead of copying the source's. */
  readonly replace?: WriteOptions;
  /** Copy only if the source still has this ETag. */
  readonly ifMatch?: string;
  /** Needed to choose between CopyObject and a multipart copy (objects over 5 GiB). */
  readonly sourceSizeBytes: number;
}

export interface PartRef {
  readonly partNumber: number;
  readonly etag: string;
}

/** One multipart upload in progress. Parts may be uploaded concurrently and re-uploaded (last wins). */
export interface MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  uploadPart(partNumber: number, body: Body): Promise<PartRef>;
  uploadPartCopy(partNumber: number, sourceKey: string, range: ByteRange, ifMatch?: string): Promise<PartRef>;
  complete(parts: readonly PartRef[]): Promise<PutResult>;
  abort(): Promise<void>;
}

export interface DeleteManyResult {
  /** Keys the server refused to delete, with its reason. Missing keys count as deleted. */
  readonly failed: readonly { readonly key: string; readonly message: string }[];
}

/** Limits of the server, so callers can plan parts and batches. */
export interface StoreLimits {
  readonly maxPartCount: number;
  readonly minPartSizeBytes: number;
  readonly maxPartSizeBytes: number;
  readonly maxSingleCopyBytes: number;
  readonly maxDeleteBatch: number;
}

export interface ObjectStore {
  readonly limits: StoreLimits;
  /** A short human description such as `s3://bucket/prefix/ at http://host:port`, for logs. */
  readonly description: string;
  /** HEAD; undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** One ListObjectsV2 page. Pass delimiter '/' for a directory listing, undefined for a recursive one. */
  listPage(prefix: string, delimiter: '/' | undefined, token?: string, maxKeys?: number): Promise<ListPage>;
  /**
   * Ranged GET. Pinned (by an ETag, or a VersionPin), fails with code 'PreconditionFailed' if the
   * object changed: never returns bytes of another version, even from a server that ignores If-Match.
   */
  getRange(key: string, range: ByteRange, pin?: string | VersionPin): Promise<Buffer>;
  /**
   * Ranged GET whose body is yielded in chunks as it arrives, so a caller can use the first bytes of
   * a large range before the last ones come. Yields exactly the range's bytes (clamped to the
   * object's end) or throws a StoreError, like getRange; ending the iteration early stops the
   * transfer. Optional: callers fall back to getRange.
   */
  getStream?(key: string, range: ByteRange, ifMatch?: string): AsyncIterable<Uint8Array>;
  put(key: string, body: Body, options: WriteOptions): Promise<PutResult>;
  copy(sourceKey: string, destinationKey: string, options: CopyOptions): Promise<PutResult>;
  /** Succeeds when the key does not exist. */
  delete(key: string): Promise<void>;
  /** At most limits.maxDeleteBatch keys per call. */
  deleteMany(keys: readonly string[]): Promise<DeleteManyResult>;
  createUpload(key: string, options: WriteOptions): Promise<MultipartUpload>;
  /** Aborts a multipart upload an earlier run started (crash recovery); succeeds when it is gone already. */
  abortUpload?(key: string, uploadId: string): Promise<void>;
  /** Checks that the bucket is reachable with these credentials; throws a StoreError that says why not. */
  checkAccess(): Promise<void>;
  /** Frees sockets. */
  close(): void;
}

/** The limits of AWS S3, which S3-compatible servers follow. */
export const S3_LIMITS: StoreLimits = {
  maxPartCount: 10_000,
  minPartSizeBytes: 5 * 1024 * 1024,
  maxPartSizeBytes: 5 * 1024 * 1024 * 1024,
  maxSingleCopyBytes: 5 * 1024 * 1024 * 1024,
  maxDeleteBatch: 1000,
};
