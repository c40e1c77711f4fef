// ObjectStore on @aws-sdk/client-s3, bound to one bucket and prefix: the only place that joins the
// mount prefix to keys (and strips it from what S3 returns). Every SDK call goes through #request,
// which converts errors with toStoreError, so no SDK error shape ever leaves this module.

import { createHash } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import { toStoreError } from './errors.js';
import { streamRange } from './get-stream.js';
import {
  S3_LIMITS,
  type ByteRange,
  type CopyOptions,
  type DeleteManyResult,
  type ListPage,
  type MultipartUpload,
  type ObjectInfo,
  type ObjectStore,
  type PartRef,
  type PutResult,
  type StoreLimits,
  type UserMetadata,
  type WriteOptions,
} from './object-store.js';
import { StoreError, isStoreError } from './store-error.js';

/** One finished S3 request, published on S3_REQUEST_CHANNEL for counters and tracing. */
export interface S3RequestEvent {
  readonly op: string;
  readonly key: string | undefined;
  readonly durationMs: number;
  /** HTTP status, when a server answered. */
  readonly status: number | undefined;
  /** The StoreError code when the request failed. */
  readonly errorCode: string | undefined;
  readonly requestId: string | undefined;
}

/** diagnostics_channel name of S3RequestEvent. */
export const S3_REQUEST_CHANNEL = 'bucketfs:s3:request';
const requestChannel = diagnosticsChannel.channel(S3_REQUEST_CHANNEL);

export interface S3ObjectStoreOptions {
  /** Receives one line per S3 request (op, key, status, ms); pass it only when debugging. */
  readonly logger?: (line: string) => void;
  /** Overrides of S3_LIMITS, for servers with other limits (and for tests of multipart copy). */
  readonly limits?: Partial<StoreLimits>;
}

/** Server-side copies per part are slow on some servers; parts of this size keep each call short. */
const PREFERRED_COPY_PART_BYTES = 512 * 1024 * 1024;
/** Slowest upload rate still treated as working when timing a request with a body. */
const UPLOAD_FLOOR_BYTES_PER_SECOND = 256 * 1024;
/** What the kernel's send buffers may hold of a body once Node has handed it over. */
const SEND_BUFFER_ALLOWANCE_BYTES = 8 * 1024 * 1024;
/** Slowest server-side copy rate still treated as working. */
const COPY_FLOOR_BYTES_PER_SECOND = 8 * 1024 * 1024;
const COPY_CONCURRENCY = 4;

/** Part size for copying `sizeBytes` with UploadPartCopy: ≤ maxPartSizeBytes, ≤ maxPartCount parts. */
export function copyPartSizeBytes(sizeBytes: number, limits: StoreLimits): number {
  const floor = Math.max(limits.minPartSizeBytes, Math.min(PREFERRED_COPY_PART_BYTES, limits.maxSingleCopyBytes));
  const needed = Math.ceil(sizeBytes / limits.maxPartCount);
  return Math.min(limits.maxPartSizeBytes, Math.max(floor, needed));
}

/** A percent-encoded bucket/key for x-amz-copy-source: each path segment encoded on its own. */
function copySource(bucket: string, fullKey: string): string {
  return `${encodeURIComponent(bucket)}/${fullKey.split('/').map(encodeURIComponent).join('/')}`;
}

/** ListObjectsV2 with encoding-type=url: AWS writes a space as '+', Ceph as %20; '+' is %2B in both. */
function decodeListedName(name: string): string {
  return decodeURIComponent(name.replace(/\+/g, ' '));
}

/** S3 quotes ETags, and If-Match needs them verbatim; Ceph RGW's copy results come unquoted. */
function quoteEtag(etag: string | undefined): string {
  if (etag === undefined || etag === '') return '';
  return /^(W\/)?".*"$/.test(etag) ? etag : `"${etag}"`;
}

function lowerCaseKeys(metadata: Record<string, string> | undefined): UserMetadata {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** Parses `bytes start-end/total` (total may be `*`). */
function parseContentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

function statusOf(out: unknown): number | undefined {
  const meta = (out as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return typeof out === 'object' && out !== null ? meta?.httpStatusCode : undefined;
}

function requestIdOf(out: unknown): string | undefined {
  const meta = (out as { $metadata?: { requestId?: string } } | undefined)?.$metadata;
  return typeof out === 'object' && out !== null ? meta?.requestId : undefined;
}

/** Runs `task` on every item with at most `limit` in flight; stops at, and throws, the first failure. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Every task in flight has settled before this returns, so an abort afterwards races nothing.
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/** The SDK's own region chain (AWS_REGION, the profile's region), else us-east-1. */
async function regionFromChain(profile: string | undefined): Promise<string> {
  const probe = new S3Client(profile !== undefined ? { profile } : {});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}

export class S3ObjectStore implements ObjectStore {
  readonly limits: StoreLimits;
  readonly description: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #logger: ((line: string) => void) | undefined;
  readonly #requestTimeoutMs: number;
  /** PutObject and UploadPart only: a longer silence allowance while a body drains. */
  readonly #uploadClient: S3Client;
  /** True for a custom endpoint: a server that may speak dialects AWS does not. */
  readonly #compatServer: boolean;

  constructor(config: S3Config, options: S3ObjectStoreOptions = {}) {
    if (config.prefix !== '' && !config.prefix.endsWith('/')) {
      throw new StoreError('InvalidArgument', `prefix '${config.prefix}' must be empty or end in '/'`);
    }
    this.#bucket = config.bucket;
    this.#prefix = config.prefix;
    this.#logger = options.logger;
    this.#requestTimeoutMs = config.requestTimeoutMs;
    this.#compatServer = config.endpoint !== undefined;
    this.limits = { ...S3_LIMITS, ...options.limits };
    const where = config.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'aws';
    this.description = `s3://${config.bucket}/${config.prefix} at ${where}`;
    const checksums = config.checksumMode === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    // The SDK asks a region provider on every request.
    let chainRegion: Promise<string> | undefined;
    const client = (socketTimeoutMs: number) =>
      new S3Client({
        // A custom endpoint accepts any region name; AWS itself needs the bucket's real one.
        region: config.region ?? (config.endpoint !== undefined ? 'us-east-1' : () => (chainRegion ??= regionFromChain(config.profile))),
        ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
        ...(config.profile !== undefined ? { profile: config.profile } : {}),
        forcePathStyle: config.pathStyle,
        requestChecksumCalculation: checksums,
        responseChecksumValidation: checksums,
        maxAttempts: config.maxAttempts,
        retryMode: 'standard',
        requestHandler: {
          httpAgent: { keepAlive: true, maxSockets: config.maxSockets },
          httpsAgent: { keepAlive: true, maxSockets: config.maxSockets },
          connectionTimeout: config.connectTimeoutMs,
          // requestTimeout bounds an attempt up to the response headers (requests with a body get
          // more, see #timeoutFor); socketTimeout bounds silence on the socket, which also covers
          // a body that stops arriving half-way.
          requestTimeout: config.requestTimeoutMs,
          throwOnRequestTimeout: true,
          socketTimeout: socketTimeoutMs,
        },
      });
    this.#client = client(config.requestTimeoutMs);
    // A body handed to the kernel drains without Node seeing any activity: on a thin link the
    // socket looks silent for as long as its buffers take to empty, so uploads tolerate that.
    this.#uploadClient = client(config.requestTimeoutMs + Math.ceil((SEND_BUFFER_ALLOWANCE_BYTES / UPLOAD_FLOOR_BYTES_PER_SECOND) * 1000));
    // DeleteObjects is the one call S3 requires an integrity header on. With WHEN_REQUIRED the SDK
    // sends only x-amz-checksum-crc32, and servers that predate flexible checksums want Content-MD5.
    this.#client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        if (context.commandName === 'DeleteObjectsCommand' && request.headers !== undefined) {
          const has = Object.keys(request.headers).some((h) => h.toLowerCase() === 'content-md5');
          const body = request.body;
          if (!has && (typeof body === 'string' || body instanceof Uint8Array)) {
            request.headers['content-md5'] = createHash('md5').update(body).digest('base64');
          }
        }
        return next(args);
      },
      { step: 'build', name: 'bucketfsDeleteObjectsContentMd5', priority: 'low' },
    );
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    let out;
    try {
      out = await this.#request('HEAD', key, () =>
        this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) })),
      );
    } catch (e) {
      if (isStoreError(e, 'NotFound')) return undefined;
      throw e;
    }
    return {
      key,
      sizeBytes: out.ContentLength ?? 0,
      etag: quoteEtag(out.ETag),
      lastModified: out.LastModified ?? new Date(0),
      contentType: out.ContentType,
      metadata: lowerCaseKeys(out.Metadata),
    };
  }

  async listPage(prefix: string, delimiter: '/' | undefined, token?: string, maxKeys = 1000): Promise<ListPage> {
    const out = await this.#request('LIST', prefix, () =>
      this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#full(prefix),
          Delimiter: delimiter,
          ContinuationToken: token,
          MaxKeys: maxKeys,
          // Keys may hold characters XML 1.0 cannot carry; servers that ignore this do not echo it.
          EncodingType: 'url',
        }),
      ),
    );
    const decode = out.EncodingType === 'url' ? decodeListedName : (name: string) => name;
    return {
      objects: (out.Contents ?? []).map((o) => ({
        key: this.#relative(decode(o.Key ?? '')),
        sizeBytes: o.Size ?? 0,
        etag: quoteEtag(o.ETag),
        lastModified: o.LastModified ?? new Date(0),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => this.#relative(decode(p.Prefix ?? ''))),
      nextToken: out.IsTruncated === true ? out.NextContinuationToken : undefined,
    };
  }

  async getRange(key: string, range: ByteRange, ifMatch?: string): Promise<Buffer> {
    const { startByte, endByteExclusive } = range;
    if (!Number.isSafeInteger(startByte) || !Number.isSafeInteger(endByteExclusive) || startByte < 0 || endByteExclusive < startByte) {
      throw new StoreError('InvalidArgument', `GET ${this.#where(key)}: bad range ${startByte}-${endByteExclusive}`);
    }
    // HTTP cannot express an empty range.
    if (endByteExclusive === startByte) return Buffer.alloc(0);
    return this.#request('GET', key, async (trace) => {
      const out = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#full(key),
          Range: `bytes=${startByte}-${endByteExclusive - 1}`,
          IfMatch: ifMatch,
        }),
      );
      trace.status = out.$metadata.httpStatusCode;
      trace.requestId = out.$metadata.requestId;
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      let body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const contentRange = parseContentRange(out.ContentRange);
      let expected: number;
      if (contentRange !== undefined) {
        if (contentRange.start !== startByte) {
          throw new StoreError('ServerError', `GET ${this.#where(key)}: asked for byte ${startByte}, got ${out.ContentRange}`, {
            httpStatus: trace.status,
            requestId: trace.requestId,
          });
        }
        const total = contentRange.total ?? startByte + body.length;
        expected = Math.min(endByteExclusive, total) - startByte;
      } else {
        // A server that ignores Range sends the whole object with 200.
        const total = out.ContentLength ?? body.length;
        expected = Math.max(0, Math.min(endByteExclusive, total) - startByte);
        if (body.length === total) body = body.subarray(Math.min(startByte, total), Math.min(endByteExclusive, total));
      }
      if (body.length !== expected) {
        throw new StoreError(
          'ServerError',
          `GET ${this.#where(key)}: the server sent ${body.length} bytes for a ${expected}-byte range at ${startByte}`,
          { httpStatus: trace.status, requestId: trace.requestId },
        );
      }
      return body;
    });
  }

  getStream(key: string, range: ByteRange, ifMatch?: string): AsyncIterable<Uint8Array> {
    const request = <T>(call: (trace: { status?: number; requestId?: string }) => Promise<T>): Promise<T> => this.#request('GET', key, call);
    return streamRange({ client: this.#client, bucket: this.#bucket, fullKey: this.#full(key), where: this.#where(key), request }, range, ifMatch);
  }

  async put(key: string, body: Uint8Array, options: WriteOptions): Promise<PutResult> {
    const out = await this.#request('PUT', key, () =>
      this.#uploadClient.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#full(key),
          Body: body,
          ContentLength: body.byteLength,
          Metadata: { ...options.metadata },
          ContentType: options.contentType,
        }),
        this.#timeoutFor(body.byteLength, UPLOAD_FLOOR_BYTES_PER_SECOND),
      ),
    );
    return { etag: quoteEtag(out.ETag) || (await this.#etagAfterWrite(key)) };
  }

  async copy(sourceKey: string, destinationKey: string, options: CopyOptions): Promise<PutResult> {
    if (options.sourceSizeBytes > this.limits.maxSingleCopyBytes) {
      return this.#multipartCopy(sourceKey, destinationKey, options);
    }
    const replace = options.replace;
    const command = new CopyObjectCommand({
      Bucket: this.#bucket,
      Key: this.#full(destinationKey),
      CopySource: copySource(this.#bucket, this.#full(sourceKey)),
      CopySourceIfMatch: options.ifMatch,
      MetadataDirective: replace ? 'REPLACE' : 'COPY',
      Metadata: replace ? { ...replace.metadata } : undefined,
      ContentType: replace?.contentType,
    });
    const ifMatch = options.ifMatch;
    if (ifMatch !== undefined && this.#compatServer) {
      // Ceph RGW reads the condition from x-amz-copy-if-match and ignores the standard
      // x-amz-copy-source-if-match. Only custom endpoints get it: AWS needs no second name.
      command.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers !== undefined) request.headers['x-amz-copy-if-match'] = ifMatch;
          return next(args);
        },
        { step: 'build', name: 'bucketfsRgwCopyIfMatch' },
      );
    }
    const out = await this.#request('COPY', destinationKey, () =>
      this.#client.send(command, this.#timeoutFor(options.sourceSizeBytes, COPY_FLOOR_BYTES_PER_SECOND)),
    );
    return { etag: quoteEtag(out.CopyObjectResult?.ETag) || (await this.#etagAfterWrite(destinationKey)) };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#request('DELETE', key, () =>
        this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) })),
      );
    } catch (e) {
      if (!isStoreError(e, 'NotFound')) throw e;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteManyResult> {
    const failed: { key: string; message: string }[] = [];
    for (let i = 0; i < keys.length; i += this.limits.maxDeleteBatch) {
      const batch = keys.slice(i, i + this.limits.maxDeleteBatch);
      const out = await this.#request('DELETE-MANY', `${batch[0] ?? ''} (+${batch.length - 1})`, () =>
        this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.#bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.#full(k) })), Quiet: true },
          }),
        ),
      );
      for (const err of out.Errors ?? []) {
        if (err.Code === 'NoSuchKey') continue;
        const key = err.Key !== undefined && err.Key.startsWith(this.#prefix) ? err.Key.slice(this.#prefix.length) : (err.Key ?? '');
        failed.push({ key, message: [err.Code, err.Message].filter(Boolean).join(': ') || 'refused' });
      }
    }
    return { failed };
  }

  async createUpload(key: string, options: WriteOptions): Promise<MultipartUpload> {
    const fullKey = this.#full(key);
    const out = await this.#request('CREATE-UPLOAD', key, () =>
      this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: fullKey,
          Metadata: { ...options.metadata },
          ContentType: options.contentType,
        }),
      ),
    );
    const uploadId = out.UploadId;
    if (uploadId === undefined || uploadId === '') {
      throw new StoreError('ServerError', `CREATE-UPLOAD ${this.#where(key)}: the server returned no upload id`);
    }
    const Bucket = this.#bucket;
    const missingEtag = (op: string, partNumber: number): StoreError =>
      new StoreError('ServerError', `${op} ${this.#where(key)} part ${partNumber}: the server returned no ETag`);
    return {
      key,
      uploadId,
      uploadPart: async (partNumber, body) => {
        const res = await this.#request('UPLOAD-PART', key, () =>
          this.#uploadClient.send(
            new UploadPartCommand({ Bucket, Key: fullKey, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength }),
            this.#timeoutFor(body.byteLength, UPLOAD_FLOOR_BYTES_PER_SECOND),
          ),
        );
        if (!res.ETag) throw missingEtag('UPLOAD-PART', partNumber);
        return { partNumber, etag: quoteEtag(res.ETag) };
      },
      uploadPartCopy: async (partNumber, sourceKey, range, ifMatch) => {
        const res = await this.#request('UPLOAD-PART-COPY', key, () =>
          this.#client.send(
            new UploadPartCopyCommand({
              Bucket,
              Key: fullKey,
              UploadId: uploadId,
              PartNumber: partNumber,
              CopySource: copySource(Bucket, this.#full(sourceKey)),
              CopySourceRange: `bytes=${range.startByte}-${range.endByteExclusive - 1}`,
              CopySourceIfMatch: ifMatch,
            }),
            this.#timeoutFor(range.endByteExclusive - range.startByte, COPY_FLOOR_BYTES_PER_SECOND),
          ),
        );
        const etag = res.CopyPartResult?.ETag;
        if (!etag) throw missingEtag('UPLOAD-PART-COPY', partNumber);
        if (ifMatch !== undefined) {
          // Ceph RGW ignores every copy condition on UploadPartCopy. The source still having the
          // ETag after the copy means the part came from that version (a write that changed it
          // and changed it back would need the same content).
          const now = await this.head(sourceKey);
          if (now?.etag !== ifMatch) {
            throw new StoreError('PreconditionFailed', `UPLOAD-PART-COPY ${this.#where(sourceKey)}: the source changed (ETag ${now?.etag ?? 'gone'}, expected ${ifMatch})`);
          }
        }
        return { partNumber, etag: quoteEtag(etag) };
      },
      complete: async (parts) => {
        // S3 wants ascending, unique part numbers; a re-uploaded part's latest ref wins.
        const latest = new Map<number, PartRef>();
        for (const p of parts) latest.set(p.partNumber, p);
        const sorted = [...latest.values()].sort((a, b) => a.partNumber - b.partNumber);
        const res = await this.#request('COMPLETE-UPLOAD', key, () =>
          this.#client.send(
            new CompleteMultipartUploadCommand({
              Bucket,
              Key: fullKey,
              UploadId: uploadId,
              MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
            }),
          ),
        );
        // Ceph RGW answers CompleteMultipartUpload with an empty ETag; its HEAD has the real one.
        return { etag: quoteEtag(res.ETag) || (await this.#etagAfterWrite(key)) };
      },
      abort: async () => {
        try {
          await this.#request('ABORT-UPLOAD', key, () =>
            this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key: fullKey, UploadId: uploadId })),
          );
        } catch (e) {
          // Already aborted or completed: nothing is left to clean up.
          if (!isStoreError(e, 'NotFound')) throw e;
        }
      },
    };
  }

  async checkAccess(): Promise<void> {
    await this.#request('CHECK', '', () =>
      this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix, MaxKeys: 1 })),
    );
  }

  close(): void {
    this.#client.destroy();
    this.#uploadClient.destroy();
  }

  /** CopyObject stops at 5 GiB: copy in parts, each pinned to one ETag so the parts agree. */
  async #multipartCopy(sourceKey: string, destinationKey: string, options: CopyOptions): Promise<PutResult> {
    const source = await this.head(sourceKey);
    if (source === undefined) {
      throw new StoreError('NotFound', `COPY ${this.#where(sourceKey)}: the source does not exist`);
    }
    if (options.ifMatch !== undefined && source.etag !== options.ifMatch) {
      throw new StoreError('PreconditionFailed', `COPY ${this.#where(sourceKey)}: the source changed`);
    }
    const size = source.sizeBytes;
    const partSize = copyPartSizeBytes(size, this.limits);
    const partCount = Math.max(1, Math.ceil(size / partSize));
    if (partCount > this.limits.maxPartCount) {
      throw new StoreError('EntityTooLarge', `COPY ${this.#where(sourceKey)}: ${size} bytes need more than ${this.limits.maxPartCount} parts`);
    }
    const write = options.replace ?? { metadata: source.metadata, contentType: source.contentType };
    const upload = await this.createUpload(destinationKey, write);
    try {
      const ranges = Array.from({ length: partCount }, (_, i) => ({
        partNumber: i + 1,
        range: { startByte: i * partSize, endByteExclusive: Math.min(size, (i + 1) * partSize) },
      }));
      const parts = await mapLimited(ranges, COPY_CONCURRENCY, ({ partNumber, range }) =>
        upload.uploadPartCopy(partNumber, sourceKey, range, source.etag),
      );
      return await upload.complete(parts);
    } catch (e) {
      await upload.abort().catch(() => undefined);
      throw e;
    }
  }

  /** For servers that answer a write without an ETag. */
  async #etagAfterWrite(key: string): Promise<string> {
    const info = await this.head(key);
    if (info === undefined || info.etag === '') {
      throw new StoreError('ServerError', `HEAD ${this.#where(key)}: no ETag for an object just written`);
    }
    return info.etag;
  }

  #full(key: string): string {
    return this.#prefix + key;
  }

  #relative(fullKey: string): string {
    if (!fullKey.startsWith(this.#prefix)) {
      throw new StoreError('ServerError', `LIST s3://${this.#bucket}/${this.#prefix}: the server returned '${fullKey}', outside the prefix`);
    }
    return fullKey.slice(this.#prefix.length);
  }

  #where(key: string): string {
    return `s3://${this.#bucket}/${this.#prefix}${key}`;
  }

  /** The single path of every SDK call: error conversion, debug log line, diagnostics event. */
  /**
   * The time one attempt may take up to the response headers: the configured timeout, plus what a
   * body (or a server-side copy) of this size needs at a slow but working rate. A stalled transfer
   * is still caught sooner by the socket's silence timeout.
   */
  #timeoutFor(bytes: number, floorBytesPerSecond: number): { requestTimeout: number } {
    return { requestTimeout: this.#requestTimeoutMs + Math.ceil((bytes / floorBytesPerSecond) * 1000) };
  }

  async #request<T>(
    op: string,
    key: string,
    call: (trace: { status?: number; requestId?: string }) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const trace: { status?: number; requestId?: string } = {};
    let errorCode: string | undefined;
    try {
      const out = await call(trace);
      trace.status ??= statusOf(out);
      trace.requestId ??= requestIdOf(out);
      return out;
    } catch (e) {
      const err = toStoreError(e, `${op} ${this.#where(key)}`);
      trace.status = err.httpStatus ?? trace.status;
      trace.requestId = err.requestId ?? trace.requestId;
      errorCode = err.code;
      throw err;
    } finally {
      const durationMs = Math.round(performance.now() - started);
      this.#logger?.(
        `s3 ${op} ${JSON.stringify(this.#prefix + key)} ${trace.status ?? '-'} ${durationMs}ms` +
          (errorCode !== undefined ? ` ${errorCode}` : '') +
          (trace.requestId !== undefined && errorCode !== undefined ? ` request-id=${trace.requestId}` : ''),
      );
      if (requestChannel.hasSubscribers) {
        const event: S3RequestEvent = { op, key, durationMs, status: trace.status, errorCode, requestId: trace.requestId };
        requestChannel.publish(event);
      }
    }
  }
}
