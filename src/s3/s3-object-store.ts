// ObjectStore on @aws-sdk/client-s3, bound to one bucket and prefix: the plain calls. Client
// construction lives in client.ts, the request path in context.ts, multipart uploads in upload.ts,
// copies over 5 GiB in multipart-copy.ts, and server dialects in capabilities.ts. Every SDK call goes
// through S3Context.request, which converts errors with toStoreError, so no SDK error shape leaves.

import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import type { LearnedCapability, ServerCapabilities, ServerKind } from './capabilities.js';
import { setHeader, UPLOAD_FLOOR_BYTES_PER_SECOND } from './client.js';
import { S3Context, type RequestLogger, type RequestTrace } from './context.js';
import { toStoreError } from './errors.js';
import { multipartCopy } from './multipart-copy.js';
import { presign, type PresignedUrl } from './presign.js';
import { streamRange } from './get-stream.js';
import {
  S3_LIMITS,
  type Body,
  bodySizeBytes,
  type ByteRange,
  type CopyOptions,
  type DeleteManyResult,
  type ListPage,
  type MultipartUpload,
  type ObjectInfo,
  type ObjectStore,
  type PutResult,
  type StoreLimits,
  type VersionPin,
  type WriteOptions,
} from './object-store.js';
import { sendStreamed } from './streamed-send.js';
import { backoffDelayMs, type RetryPolicy } from './retry.js';
import { StoreError, isStoreError } from './store-error.js';
import { abortUploadById, COPY_FLOOR_BYTES_PER_SECOND, S3Upload, type UploadStore } from './upload.js';
import { UploadJournal } from './upload-journal.js';
import { copySource, decodeListedName, isMultipartEtag, lowerCaseKeys, parseContentRange, quoteEtag, rangeHeader, sameEtag } from './wire.js';

export { S3_REQUEST_CHANNEL, type S3RequestEvent } from './context.js';
export { copyPartSizeBytes } from './multipart-copy.js';
export { MAX_PRESIGN_SECONDS, type PresignedUrl } from './presign.js';

export interface S3ObjectStoreOptions {
  /** Receives one line per S3 request (op, key, status, ms); pass it only when debugging. */
  readonly logger?: RequestLogger;
  /**
   * Receives one line when the store learns something about the server (its kind, a capability a
   * server proved wrong, a journal it cannot write): worth an info line in the mount's log.
   */
  readonly notice?: (line: string) => void;
  /** Overrides of S3_LIMITS, for servers with other limits (and for tests of multipart copy). */
  readonly limits?: Partial<StoreLimits>;
  /** Capabilities the caller knows better than detection and run-time evidence. */
  readonly capabilities?: Partial<ServerCapabilities>;
}

/** The endpoint a config talks to, as logs and the upload journal name it. */
export function endpointLabel(config: Pick<S3Config, 'endpoint'>): string {
  return config.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'aws';
}

/** Failures of a GET body after its headers arrived, which the SDK does not retry. */
const BODY_RETRY_CODES = new Set(['Unreachable', 'Timeout', 'ServerError']);

export class S3ObjectStore implements ObjectStore {
  readonly limits: StoreLimits;
  readonly description: string;
  readonly #ctx: S3Context;
  readonly #retry: RetryPolicy;
  readonly #encryption: S3Config['encryption'];
  readonly #journal: UploadJournal | undefined;
  /** What uploads and multipart copies need of this store. */
  readonly #uploadStore: UploadStore;

  constructor(config: S3Config, options: S3ObjectStoreOptions = {}) {
    if (config.prefix !== '' && !config.prefix.endsWith('/')) {
      throw new StoreError('InvalidArgument', `prefix '${config.prefix}' must be empty or end in '/'`);
    }
    this.limits = { ...S3_LIMITS, ...options.limits };
    this.description = `s3://${config.bucket}/${config.prefix} at ${endpointLabel(config)}`;
    this.#retry = config;
    this.#encryption = config.encryption;
    this.#ctx = S3Context.create(config, options);
    this.#journal = config.uploadJournalDir !== undefined ? new UploadJournal(config.uploadJournalDir, endpointLabel(config), options.notice) : undefined;
    this.#uploadStore = {
      head: (key) => this.head(key),
      getRange: (key, range, pin) => this.getRange(key, range, pin),
      etagAfterWrite: (key) => this.#etagAfterWrite(key),
    };
  }

  /** What the server can do, as known now (defaults, then detection and evidence, then overrides). */
  get capabilities(): ServerCapabilities {
    return this.#ctx.capabilities.current;
  }

  get serverKind(): ServerKind {
    return this.#ctx.capabilities.kind;
  }

  get learnedCapabilities(): readonly LearnedCapability[] {
    return this.#ctx.capabilities.learned;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const ctx = this.#ctx;
    let out;
    try {
      out = await ctx.request('HEAD', key, () => ctx.clients.main.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(key) })));
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
    const ctx = this.#ctx;
    const out = await ctx.request('LIST', prefix, () =>
      ctx.clients.main.send(
        new ListObjectsV2Command({
          Bucket: ctx.bucket,
          Prefix: ctx.full(prefix),
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
        key: ctx.relative(decode(o.Key ?? '')),
        sizeBytes: o.Size ?? 0,
        etag: quoteEtag(o.ETag),
        lastModified: o.LastModified ?? new Date(0),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => ctx.relative(decode(p.Prefix ?? ''))),
      nextToken: out.IsTruncated === true ? out.NextContinuationToken : undefined,
    };
  }

  async getRange(key: string, range: ByteRange, pin?: string | VersionPin): Promise<Buffer> {
    const { startByte, endByteExclusive } = range;
    if (!Number.isSafeInteger(startByte) || !Number.isSafeInteger(endByteExclusive) || startByte < 0 || endByteExclusive < startByte) {
      throw new StoreError('InvalidArgument', `GET ${this.#ctx.where(key)}: bad range ${startByte}-${endByteExclusive}`);
    }
    // HTTP cannot express an empty range.
    if (endByteExclusive === startByte) return Buffer.alloc(0);
    const pinned: VersionPin | undefined = typeof pin === 'string' ? { etag: pin } : pin;
    return this.#ctx.request('GET', key, async (trace) => {
      // The SDK retries until the headers arrive; a body cut off later is retried here.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#getOnce(key, range, pinned, trace);
        } catch (e) {
          const err = toStoreError(e, `GET ${this.#ctx.where(key)}`);
          // A failure before the headers was already retried by the SDK (trace.status unset).
          if (!BODY_RETRY_CODES.has(err.code) || trace.status === undefined) throw err;
          if (attempt >= this.#retry.maxAttempts) {
            if (attempt === 1) throw err;
            throw new StoreError(err.code, `${err.message}, after ${attempt} attempts`, { cause: err.cause, httpStatus: err.httpStatus, requestId: err.requestId });
          }
          await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, this.#retry)));
        }
      }
    });
  }

  async #getOnce(key: string, range: ByteRange, pinned: VersionPin | undefined, trace: RequestTrace): Promise<Buffer> {
    const ctx = this.#ctx;
    const { startByte, endByteExclusive } = range;
    trace.status = undefined;
    const out = await ctx.clients.main.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(key), Range: rangeHeader(range), IfMatch: pinned?.etag }));
    trace.status = out.$metadata.httpStatusCode;
    trace.requestId = out.$metadata.requestId;
    const contentRange = parseContentRange(out.ContentRange);
    // A server that ignores Range sends the whole object with 200.
    const total = contentRange !== undefined ? contentRange.total : out.ContentLength;
    // Checked before the body is read: a server that ignores If-Match sends another version.
    this.#checkPin(key, pinned, out.ETag, total, trace);
    const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    let body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let expected: number;
    if (contentRange !== undefined) {
      if (contentRange.start !== startByte) {
        throw new StoreError('ServerError', `GET ${ctx.where(key)}: asked for byte ${startByte}, got ${out.ContentRange}`, {
          httpStatus: trace.status,
          requestId: trace.requestId,
        });
      }
      expected = Math.min(endByteExclusive, contentRange.total ?? startByte + body.length) - startByte;
    } else {
      const whole = out.ContentLength ?? body.length;
      expected = Math.max(0, Math.min(endByteExclusive, whole) - startByte);
      if (body.length === whole) body = body.subarray(Math.min(startByte, whole), Math.min(endByteExclusive, whole));
    }
    if (body.length !== expected) {
      throw new StoreError('ServerError', `GET ${ctx.where(key)}: the server sent ${body.length} bytes for a ${expected}-byte range at ${startByte}`, {
        httpStatus: trace.status,
        requestId: trace.requestId,
      });
    }
    return body;
  }

  /**
   * The answer to a pinned GET must come from the pinned version: same ETag and, when the caller
   * gave one, same total size. A missing ETag proves nothing either way, so only the size decides.
   */
  #checkPin(key: string, pin: VersionPin | undefined, etag: string | undefined, totalBytes: number | undefined, trace: RequestTrace): void {
    if (pin === undefined) return;
    const changedEtag = etag !== undefined && etag !== '' && !sameEtag(etag, pin.etag);
    const changedSize = pin.sizeBytes !== undefined && totalBytes !== undefined && totalBytes !== pin.sizeBytes;
    if (!changedEtag && !changedSize) return;
    if (changedEtag) this.#ctx.capabilities.learn('conditionalRead', false, `a GET with If-Match ${pin.etag} answered ETag ${quoteEtag(etag)}`);
    const now = changedEtag ? `ETag ${quoteEtag(etag)}` : `${totalBytes} bytes`;
    const then = changedEtag ? pin.etag : `${pin.sizeBytes} bytes`;
    throw new StoreError('PreconditionFailed', `GET ${this.#ctx.where(key)}: the object changed (${now}, expected ${then})`, {
      httpStatus: trace.status,
      requestId: trace.requestId,
    });
  }

  getStream(key: string, range: ByteRange, ifMatch?: string): AsyncIterable<Uint8Array> {
    const ctx = this.#ctx;
    const request = <T>(call: (trace: RequestTrace) => Promise<T>): Promise<T> => ctx.request('GET', key, call);
    return streamRange({ client: ctx.clients.main, bucket: ctx.bucket, fullKey: ctx.full(key), where: ctx.where(key), request }, range, ifMatch);
  }

  async put(key: string, body: Body, options: WriteOptions): Promise<PutResult> {
    const ctx = this.#ctx;
    const sizeBytes = bodySizeBytes(body);
    const command = (payload: Uint8Array | Readable) =>
      new PutObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(key), Body: payload, ContentLength: sizeBytes, Metadata: { ...options.metadata }, ContentType: options.contentType });
    const timeout = ctx.timeoutFor(sizeBytes, UPLOAD_FLOOR_BYTES_PER_SECOND);
    const out =
      body instanceof Uint8Array
        ? await ctx.request('PUT', key, (trace) => {
            trace.bytesSent = sizeBytes;
            return ctx.clients.upload.send(command(body), timeout);
          })
        : await sendStreamed(ctx, body, (stream) =>
            ctx.request('PUT', key, (trace) => {
              trace.bytesSent = sizeBytes;
              return ctx.clients.uploadOnce.send(command(stream), timeout);
            }),
          );
    return { etag: quoteEtag(out.ETag) || (await this.#etagAfterWrite(key)) };
  }

  async copy(sourceKey: string, destinationKey: string, options: CopyOptions): Promise<PutResult> {
    if (options.sourceSizeBytes > this.limits.maxSingleCopyBytes) {
      const store = {
        limits: this.limits,
        head: this.#uploadStore.head,
        createUpload: (key: string, write: WriteOptions) => this.createUpload(key, write),
        uploadPartCopySupported: () => this.capabilities.uploadPartCopySupported,
      };
      return multipartCopy(store, sourceKey, destinationKey, options, (key) => this.#ctx.where(key));
    }
    const ctx = this.#ctx;
    const caps = ctx.capabilities.current;
    const { ifMatch, replace } = options;
    if (ifMatch !== undefined && !caps.conditionalCopy) await this.#expectSourceVersion(sourceKey, ifMatch);
    const command = new CopyObjectCommand({
      Bucket: ctx.bucket,
      Key: ctx.full(destinationKey),
      CopySource: copySource(ctx.bucket, ctx.full(sourceKey)),
      CopySourceIfMatch: ifMatch,
      MetadataDirective: replace ? 'REPLACE' : 'COPY',
      Metadata: replace ? { ...replace.metadata } : undefined,
      ContentType: replace?.contentType,
    });
    if (ifMatch !== undefined && caps.copyIfMatchHeaderName !== 'x-amz-copy-source-if-match') {
      const header = caps.copyIfMatchHeaderName;
      command.middlewareStack.add(
        (next) => async (args) => {
          setHeader(args.request, header, ifMatch);
          return next(args);
        },
        { step: 'build', name: 'bucketfsCopyIfMatch' },
      );
    }
    const out = await ctx.request('COPY', destinationKey, () => ctx.clients.main.send(command, ctx.timeoutFor(options.sourceSizeBytes, COPY_FLOOR_BYTES_PER_SECOND)));
    const etag = quoteEtag(out.CopyObjectResult?.ETag);
    if (ifMatch !== undefined && caps.conditionalCopy && ctx.capabilities.kind === 'unknown') await this.#checkCopiedVersion(sourceKey, ifMatch, etag);
    return { etag: etag || (await this.#etagAfterWrite(destinationKey)) };
  }

  /** For servers that ignore copy conditions: the HEAD narrows the race to the copy's own time. */
  async #expectSourceVersion(sourceKey: string, ifMatch: string): Promise<void> {
    const now = await this.head(sourceKey);
    if (now === undefined) throw new StoreError('NotFound', `COPY ${this.#ctx.where(sourceKey)}: the source does not exist`);
    if (!sameEtag(now.etag, ifMatch)) {
      throw new StoreError('PreconditionFailed', `COPY ${this.#ctx.where(sourceKey)}: the source changed (ETag ${now.etag}, expected ${ifMatch})`);
    }
  }

  /**
   * A server nobody vouches for may have ignored the copy condition. A single-part copy of the
   * pinned version has the pinned ETag; when it has another one and the source no longer has the
   * pinned ETag either, the copy was not pinned: the server proved it ignores the condition.
   */
  async #checkCopiedVersion(sourceKey: string, ifMatch: string, copiedEtag: string): Promise<void> {
    if (copiedEtag === '' || isMultipartEtag(ifMatch) || sameEtag(copiedEtag, ifMatch)) return;
    const now = await this.head(sourceKey);
    if (now !== undefined && sameEtag(now.etag, ifMatch)) return;
    this.#ctx.capabilities.learn('conditionalCopy', false, `a CopyObject with If-Match ${ifMatch} copied ETag ${copiedEtag}`);
    throw new StoreError('PreconditionFailed', `COPY ${this.#ctx.where(sourceKey)}: the source changed (ETag ${now?.etag ?? 'gone'}, expected ${ifMatch})`);
  }

  async delete(key: string): Promise<void> {
    const ctx = this.#ctx;
    try {
      await ctx.request('DELETE', key, () => ctx.clients.main.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(key) })));
    } catch (e) {
      if (!isStoreError(e, 'NotFound')) throw e;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteManyResult> {
    const ctx = this.#ctx;
    const failed: { key: string; message: string }[] = [];
    for (let i = 0; i < keys.length; i += this.limits.maxDeleteBatch) {
      const batch = keys.slice(i, i + this.limits.maxDeleteBatch);
      const out = await ctx.request('DELETE-MANY', `${batch[0] ?? ''} (+${batch.length - 1})`, () =>
        ctx.clients.main.send(new DeleteObjectsCommand({ Bucket: ctx.bucket, Delete: { Objects: batch.map((k) => ({ Key: ctx.full(k) })), Quiet: true } })),
      );
      for (const err of out.Errors ?? []) {
        if (err.Code === 'NoSuchKey') continue;
        const key = err.Key !== undefined && err.Key.startsWith(ctx.prefix) ? err.Key.slice(ctx.prefix.length) : (err.Key ?? '');
        failed.push({ key, message: [err.Code, err.Message].filter(Boolean).join(': ') || 'refused' });
      }
    }
    return { failed };
  }

  async createUpload(key: string, options: WriteOptions): Promise<MultipartUpload> {
    return S3Upload.start(this.#ctx, this.#uploadStore, this.#journal, key, options);
  }

  /** Aborts an upload by id: one a crashed mount left (its id is in the spool record). */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    await abortUploadById(this.#ctx, key, uploadId);
  }

  /** A presigned GET or PUT of `key` (see presign.ts); no request is sent. */
  presign(key: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl> {
    return presign(this.#ctx, this.#encryption, key, method, expiresSeconds);
  }

  async checkAccess(): Promise<void> {
    const ctx = this.#ctx;
    await ctx.request('CHECK', '', () => ctx.clients.main.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.prefix, MaxKeys: 1 })));
  }

  close(): void {
    this.#ctx.clients.destroy();
  }

  /** For servers that answer a write without an ETag. */
  async #etagAfterWrite(key: string): Promise<string> {
    const info = await this.head(key);
    if (info === undefined || info.etag === '') {
      throw new StoreError('ServerError', `HEAD ${this.#ctx.where(key)}: no ETag for an object just written`);
    }
    return info.etag;
  }
}
