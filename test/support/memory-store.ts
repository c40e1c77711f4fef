// MemoryStore: an in-memory ObjectStore that follows S3's rules where the fs core can tell the
// difference: UTF-8 byte-order listings with delimiter and pagination, md5 ETags (multipart style too),
// whole-second Last-Modified, conditional reads and copies, and multipart part-size checks.
// Test hooks count, fail and delay calls; the direct helpers act as another client of the bucket and
// take full bucket keys (the store's bucketPrefix is not added to them).

import { createHash } from 'node:crypto';
import {
  S3_LIMITS,
  type Body,
  type ByteRange,
  type CopyOptions,
  type DeleteManyResult,
  type ListedObject,
  type ListPage,
  type MultipartUpload,
  type ObjectInfo,
  type ObjectStore,
  type PartRef,
  type PutResult,
  type StoreLimits,
  type UserMetadata,
  type VersionPin,
  type WriteOptions,
} from '../../src/s3/object-store.js';
import { StoreError, type StoreErrorCode } from '../../src/s3/store-error.js';

export type StoreMethod =
  | 'head'
  | 'listPage'
  | 'getRange'
  | 'getStream'
  | 'put'
  | 'copy'
  | 'delete'
  | 'deleteMany'
  | 'createUpload'
  | 'uploadPart'
  | 'uploadPartCopy'
  | 'complete'
  | 'abort'
  | 'checkAccess';

const STORE_METHODS: readonly StoreMethod[] = [
  'head',
  'listPage',
  'getRange',
  'getStream',
  'put',
  'copy',
  'delete',
  'deleteMany',
  'createUpload',
  'uploadPart',
  'uploadPartCopy',
  'complete',
  'abort',
  'checkAccess',
];

export interface MemoryStoreOptions {
  /** Overrides of S3_LIMITS, e.g. a tiny minPartSizeBytes so multipart paths run on small data. */
  readonly limits?: Partial<StoreLimits>;
  /** Bucket key prefix the store is bound to, like S3Config.prefix. Default ''. */
  readonly bucketPrefix?: string;
  /** Wall clock for Last-Modified, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Size of the chunks getStream yields, bytes. Default 64 KiB. */
  readonly streamChunkBytes?: number;
}

/** An object as the bucket holds it, as another client would see it. */
export interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly metadata: UserMetadata;
}

interface StoredPart {
  readonly body: Buffer;
  readonly etag: string;
}

interface UploadState {
  readonly fullKey: string;
  readonly options: WriteOptions;
  /** S3 dates a multipart object by the start of its upload, not by its completion. */
  readonly initiated: Date;
  readonly parts: Map<number, StoredPart>;
}

/** Where the previous page stopped: a key, or a common prefix whose keys were all rolled up. */
interface ListMarker {
  readonly name: string;
  readonly isPrefix: boolean;
}

const MAX_KEY_BYTES = 1024;
const MAX_USER_METADATA_BYTES = 2048;
const MAX_LIST_KEYS = 1000;
/** What S3 answers for an object stored without a Content-Type. */
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

export class MemoryStore implements ObjectStore {
  readonly limits: StoreLimits;
  readonly description: string;
  readonly bucketPrefix: string;
  readonly #now: () => number;
  readonly #objects = new Map<string, StoredObject>();
  /** Keys in UTF-8 byte order, rebuilt lazily after a change. */
  #sortedKeys: string[] | undefined;
  readonly #uploads = new Map<string, UploadState>();
  #nextUploadNumber = 1;
  readonly #calls = Object.fromEntries(STORE_METHODS.map((m) => [m, 0])) as Record<StoreMethod, number>;
  readonly #failures = new Map<StoreMethod, StoreError[]>();
  readonly #delays = new Map<StoreMethod, (number | Promise<unknown>)[]>();
  readonly #callWaiters = new Map<StoreMethod, (() => void)[]>();
  readonly #streamChunkBytes: number;
  /** Byte counts after which the next streams break off, in order. */
  readonly #streamBreaks: number[] = [];
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.limits = { ...S3_LIMITS, ...options.limits };
    this.bucketPrefix = options.bucketPrefix ?? '';
    this.#now = options.now ?? Date.now;
    this.#streamChunkBytes = options.streamChunkBytes ?? 64 * 1024;
    this.description = `memory://bucket/${this.bucketPrefix}`;
  }

  // ---- test hooks ----

  /** How many times each method was called, failed calls included. */
  get calls(): Readonly<Record<StoreMethod, number>> {
    return { ...this.#calls };
  }

  /** Makes the next `times` calls of `method` fail with `error` (after any delay, before touching state). */
  failNext(method: StoreMethod, error: StoreError | StoreErrorCode, times = 1): void {
    const failure = typeof error === 'string' ? new StoreError(error, `injected ${error} on ${method}`) : error;
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** Holds the next call of `method` for `ms` milliseconds, or until `gate` settles, before it runs. */
  delayNext(method: StoreMethod, delay: number | Promise<unknown>): void {
    const queue = this.#delays.get(method) ?? [];
    queue.push(delay);
    this.#delays.set(method, queue);
  }

  /** Resolves when the next call of `method` starts (before any delay or failure set for it). */
  nextCall(method: StoreMethod): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.#callWaiters.get(method) ?? [];
      waiting.push(resolve);
      this.#callWaiters.set(method, waiting);
    });
  }

  /** Makes the next getStream break off with a ServerError after yielding `afterBytes` bytes. */
  breakNextStream(afterBytes: number): void {
    this.#streamBreaks.push(afterBytes);
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- direct helpers: another client of the bucket, full bucket keys, no hooks ----

  putObject(bucketKey: string, data: string | Uint8Array, metadata: Record<string, string> = {}, contentType?: string): string {
    const body = Buffer.from(data);
    const etag = quote(md5(body).toString('hex'));
    this.#store(bucketKey, { body, etag, lastModified: this.#date(), contentType: contentType ?? DEFAULT_CONTENT_TYPE, metadata: lowerCaseNames(metadata) });
    return etag;
  }

  getObject(bucketKey: string): StoredObject | undefined {
    const object = this.#objects.get(bucketKey);
    return object && { ...object, body: Buffer.from(object.body) };
  }

  deleteObject(bucketKey: string): boolean {
    this.#sortedKeys = undefined;
    return this.#objects.delete(bucketKey);
  }

  /** Every key in the bucket, in S3's order. */
  keys(): string[] {
    return [...this.#sorted()];
  }

  /** Bucket keys of multipart uploads started and neither completed nor aborted. */
  pendingUploads(): string[] {
    return [...this.#uploads.values()].map((u) => u.fullKey);
  }

  // ---- ObjectStore ----

  async head(key: string): Promise<ObjectInfo | undefined> {
    await this.#enter('head');
    const object = this.#objects.get(this.#full(key));
    if (object === undefined) return undefined;
    return {
      key,
      sizeBytes: object.body.length,
      etag: object.etag,
      lastModified: object.lastModified,
      contentType: object.contentType,
      metadata: object.metadata,
    };
  }

  async listPage(prefix: string, delimiter: '/' | undefined, token?: string, maxKeys = MAX_LIST_KEYS): Promise<ListPage> {
    await this.#enter('listPage');
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 0) throw invalid(`maxKeys must be a non-negative integer, got ${maxKeys}`);
    const limit = Math.min(maxKeys, MAX_LIST_KEYS);
    const fullPrefix = this.#full(prefix);
    const marker = token === undefined ? undefined : decodeToken(token);
    const objects: ListedObject[] = [];
    const prefixes: string[] = [];
    let last: ListMarker | undefined;
    let truncated = false;
    for (const fullKey of this.#sorted()) {
      if (!fullKey.startsWith(fullPrefix) || (marker !== undefined && !isAfter(fullKey, marker))) continue;
      const cut = delimiter === undefined ? -1 : fullKey.indexOf(delimiter, fullPrefix.length);
      const entry: ListMarker = cut < 0 ? { name: fullKey, isPrefix: false } : { name: fullKey.slice(0, cut + 1), isPrefix: true };
      // Keys sharing a common prefix are adjacent in byte order, so one comparison rolls them up.
      if (entry.isPrefix && last?.isPrefix && last.name === entry.name) continue;
      if (objects.length + prefixes.length >= limit) {
        truncated = limit > 0;
        break;
      }
      if (entry.isPrefix) {
        prefixes.push(this.#relative(entry.name));
      } else {
        const object = this.#objects.get(fullKey) as StoredObject;
        objects.push({ key: this.#relative(fullKey), sizeBytes: object.body.length, etag: object.etag, lastModified: object.lastModified });
      }
      last = entry;
    }
    return { objects, prefixes, nextToken: truncated && last !== undefined ? encodeToken(last) : undefined };
  }

  async getRange(key: string, range: ByteRange, pin?: string | VersionPin): Promise<Buffer> {
    await this.#enter('getRange');
    // HTTP cannot express an empty range: the real store answers one without asking the server.
    if (Number.isSafeInteger(range.startByte) && range.startByte >= 0 && range.endByteExclusive === range.startByte) return Buffer.alloc(0);
    checkRange(range);
    const object = this.#existing(key);
    const pinned = typeof pin === 'string' ? { etag: pin } : pin;
    checkIfMatch(object, pinned?.etag);
    if (pinned?.sizeBytes !== undefined && pinned.sizeBytes !== object.body.length) {
      throw new StoreError('PreconditionFailed', `${key} has ${object.body.length} bytes, not the pinned ${pinned.sizeBytes}`, { httpStatus: 412 });
    }
    const size = object.body.length;
    if (range.startByte >= size) {
      // S3 answers a range on an empty object with the (empty) object instead of 416.
      if (size === 0 && range.startByte === 0) return Buffer.alloc(0);
      throw new StoreError('InvalidRange', `range starts at ${range.startByte} of ${key}, which has ${size} bytes`, { httpStatus: 416 });
    }
    return Buffer.from(object.body.subarray(range.startByte, Math.min(range.endByteExclusive, size)));
  }

  /** Like getRange, in chunks of streamChunkBytes, each after a turn of the event loop; the version is the one at the call. */
  async *getStream(key: string, range: ByteRange, ifMatch?: string): AsyncGenerator<Uint8Array, void, undefined> {
    await this.#enter('getStream');
    if (range.startByte === range.endByteExclusive && Number.isSafeInteger(range.startByte) && range.startByte >= 0) return;
    checkRange(range);
    const object = this.#existing(key);
    checkIfMatch(object, ifMatch);
    const size = object.body.length;
    if (range.startByte >= size) {
      if (size === 0 && range.startByte === 0) return;
      throw new StoreError('InvalidRange', `range starts at ${range.startByte} of ${key}, which has ${size} bytes`, { httpStatus: 416 });
    }
    const breakAfter = this.#streamBreaks.shift();
    const end = Math.min(range.endByteExclusive, size);
    for (let at = range.startByte; at < end; at += this.#streamChunkBytes) {
      await new Promise((resolve) => setImmediate(resolve));
      const chunkEnd = Math.min(at + this.#streamChunkBytes, end);
      if (breakAfter !== undefined && chunkEnd - range.startByte > breakAfter) {
        if (breakAfter > at - range.startByte) yield Buffer.from(object.body.subarray(at, range.startByte + breakAfter));
        throw new StoreError('ServerError', `injected break of the stream of ${key} after ${breakAfter} bytes`);
      }
      yield Buffer.from(object.body.subarray(at, chunkEnd));
    }
  }

  async put(key: string, body: Body, options: WriteOptions): Promise<PutResult> {
    await this.#enter('put');
    const fullKey = this.#checkedKey(key);
    const metadata = checkedMetadata(options.metadata);
    const copy = await bodyBytes(body);
    if (copy.length > this.limits.maxPartSizeBytes) throw tooLarge(`a single PUT of ${copy.length} bytes`);
    const etag = quote(md5(copy).toString('hex'));
    this.#store(fullKey, { body: copy, etag, lastModified: this.#date(), contentType: options.contentType ?? DEFAULT_CONTENT_TYPE, metadata });
    return { etag };
  }

  async copy(sourceKey: string, destinationKey: string, options: CopyOptions): Promise<PutResult> {
    await this.#enter('copy');
    const fullDestination = this.#checkedKey(destinationKey);
    const source = this.#existing(sourceKey);
    checkIfMatch(source, options.ifMatch);
    const metadata = options.replace ? checkedMetadata(options.replace.metadata) : source.metadata;
    const contentType = options.replace ? (options.replace.contentType ?? DEFAULT_CONTENT_TYPE) : source.contentType;
    const body = Buffer.from(source.body);
    let etag: string;
    if (options.sourceSizeBytes > this.limits.maxSingleCopyBytes) {
      // The real store copies large objects part by part, which gives a multipart ETag.
      etag = multipartEtag(this.#copyParts(body).map((part) => md5(part)));
    } else {
      if (body.length > this.limits.maxSingleCopyBytes) {
        throw invalid(`the copy source ${sourceKey} is larger than the maximum allowable size for a copy source`);
      }
      if (fullDestination === this.#full(sourceKey) && !options.replace) {
        throw invalid(`this copy request is illegal because it is trying to copy ${sourceKey} to itself without changing its metadata`);
      }
      etag = quote(md5(body).toString('hex'));
    }
    this.#store(fullDestination, { body, etag, lastModified: this.#date(), contentType, metadata });
    return { etag };
  }

  async delete(key: string): Promise<void> {
    await this.#enter('delete');
    this.deleteObject(this.#full(key));
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteManyResult> {
    await this.#enter('deleteMany');
    // The real store sends nothing for no keys; S3 itself refuses an empty or oversized batch.
    if (keys.length > this.limits.maxDeleteBatch) {
      throw invalid(`MalformedXML: a delete batch holds 1 to ${this.limits.maxDeleteBatch} keys, got ${keys.length}`);
    }
    for (const key of keys) this.deleteObject(this.#full(key));
    return { failed: [] };
  }

  async createUpload(key: string, options: WriteOptions): Promise<MultipartUpload> {
    await this.#enter('createUpload');
    const fullKey = this.#checkedKey(key);
    const state: UploadState = {
      fullKey,
      options: { metadata: checkedMetadata(options.metadata), contentType: options.contentType },
      initiated: this.#date(),
      parts: new Map(),
    };
    const uploadId = `memory-upload-${this.#nextUploadNumber++}`;
    this.#uploads.set(uploadId, state);
    return {
      key,
      uploadId,
      uploadPart: async (partNumber, body) => {
        await this.#enter('uploadPart');
        const parts = this.#openUpload(uploadId, partNumber);
        const bytes = await bodyBytes(body);
        if (bytes.length > this.limits.maxPartSizeBytes) throw tooLarge(`part ${partNumber} of ${bytes.length} bytes`);
        return this.#storePart(parts, partNumber, bytes);
      },
      uploadPartCopy: async (partNumber, sourceKey, range, ifMatch) => {
        await this.#enter('uploadPartCopy');
        const parts = this.#openUpload(uploadId, partNumber);
        checkRange(range);
        const source = this.#existing(sourceKey);
        checkIfMatch(source, ifMatch);
        if (range.endByteExclusive > source.body.length) {
          throw invalid(`range specified is not valid for source object ${sourceKey} of size ${source.body.length}`);
        }
        const length = range.endByteExclusive - range.startByte;
        if (length > this.limits.maxPartSizeBytes) throw tooLarge(`part ${partNumber} of ${length} bytes`);
        return this.#storePart(parts, partNumber, Buffer.from(source.body.subarray(range.startByte, range.endByteExclusive)));
      },
      complete: async (parts) => {
        await this.#enter('complete');
        return this.#complete(uploadId, parts);
      },
      abort: async () => {
        await this.#enter('abort');
        // Already aborted or completed: nothing is left to clean up (as the real store answers).
        this.#uploads.delete(uploadId);
      },
    };
  }

  async abortUpload(_key: string, uploadId: string): Promise<void> {
    await this.#enter('abort');
    this.#uploads.delete(uploadId);
  }

  async checkAccess(): Promise<void> {
    await this.#enter('checkAccess');
  }

  close(): void {
    this.#closed = true;
  }

  // ---- internals ----

  async #enter(method: StoreMethod): Promise<void> {
    this.#calls[method]++;
    for (const resolve of this.#callWaiters.get(method)?.splice(0) ?? []) resolve();
    const delay = this.#delays.get(method)?.shift();
    if (typeof delay === 'number') await new Promise((resolve) => setTimeout(resolve, delay));
    else if (delay !== undefined) await delay;
    const failure = this.#failures.get(method)?.shift();
    if (failure !== undefined) throw failure;
  }

  #complete(uploadId: string, parts: readonly PartRef[]): PutResult {
    const state = this.#uploads.get(uploadId);
    if (state === undefined) throw noSuchUpload(uploadId);
    if (parts.length === 0) throw invalid('MalformedXML: a multipart upload completes with at least one part');
    // The real store sorts the refs and keeps the latest of each part number before sending them.
    const latest = new Map<number, PartRef>();
    for (const p of parts) latest.set(p.partNumber, p);
    const refs = [...latest.values()].sort((a, b) => a.partNumber - b.partNumber);
    const chosen: StoredPart[] = [];
    for (const ref of refs) {
      const part = state.parts.get(ref.partNumber);
      if (part === undefined || unquote(part.etag) !== unquote(ref.etag)) {
        throw invalid(`InvalidPart: part ${ref.partNumber} was not uploaded or its ETag does not match`);
      }
      chosen.push(part);
    }
    // Only the last part may be small.
    for (let i = 0; i < chosen.length - 1; i++) {
      const size = chosen[i]?.body.length ?? 0;
      if (size < this.limits.minPartSizeBytes) {
        throw invalid(`EntityTooSmall: part ${refs[i]?.partNumber} has ${size} bytes, under the ${this.limits.minPartSizeBytes}-byte minimum`);
      }
    }
    const etag = multipartEtag(chosen.map((part) => md5(part.body)));
    this.#uploads.delete(uploadId);
    this.#store(state.fullKey, {
      body: Buffer.concat(chosen.map((part) => part.body)),
      etag,
      lastModified: state.initiated,
      contentType: state.options.contentType ?? DEFAULT_CONTENT_TYPE,
      metadata: state.options.metadata,
    });
    return { etag };
  }

  #openUpload(uploadId: string, partNumber: number): Map<number, StoredPart> {
    const state = this.#uploads.get(uploadId);
    if (state === undefined) throw noSuchUpload(uploadId);
    if (!Number.isSafeInteger(partNumber) || partNumber < 1 || partNumber > this.limits.maxPartCount) {
      throw invalid(`part number must be an integer between 1 and ${this.limits.maxPartCount}, got ${partNumber}`);
    }
    return state.parts;
  }

  #storePart(parts: Map<number, StoredPart>, partNumber: number, body: Buffer): PartRef {
    const etag = quote(md5(body).toString('hex'));
    parts.set(partNumber, { body, etag });
    return { partNumber, etag };
  }

  /** How the real store splits a copy too large for CopyObject. */
  #copyParts(body: Buffer): Buffer[] {
    const { minPartSizeBytes, maxPartSizeBytes, maxPartCount, maxSingleCopyBytes } = this.limits;
    const partSize = Math.max(
      Math.min(Math.max(maxSingleCopyBytes, minPartSizeBytes), maxPartSizeBytes),
      Math.ceil(body.length / maxPartCount),
    );
    const parts: Buffer[] = [];
    for (let start = 0; start < body.length; start += partSize) parts.push(body.subarray(start, start + partSize));
    return parts;
  }

  #existing(key: string): StoredObject {
    const object = this.#objects.get(this.#full(key));
    if (object === undefined) throw new StoreError('NotFound', `NoSuchKey: ${key}`, { httpStatus: 404 });
    return object;
  }

  #store(fullKey: string, object: StoredObject): void {
    if (!this.#objects.has(fullKey)) this.#sortedKeys = undefined;
    this.#objects.set(fullKey, object);
  }

  #sorted(): readonly string[] {
    this.#sortedKeys ??= [...this.#objects.keys()].sort(compareUtf8);
    return this.#sortedKeys;
  }

  #checkedKey(key: string): string {
    const fullKey = this.#full(key);
    const bytes = Buffer.byteLength(fullKey);
    if (bytes === 0 || bytes > MAX_KEY_BYTES) throw invalid(`KeyTooLongError: a key has 1 to ${MAX_KEY_BYTES} bytes, got ${bytes}`);
    return fullKey;
  }

  #full(key: string): string {
    return this.bucketPrefix + key;
  }

  #relative(fullKey: string): string {
    return fullKey.slice(this.bucketPrefix.length);
  }

  /** Last-Modified has whole seconds on S3, so the store drops the milliseconds too. */
  #date(): Date {
    return new Date(Math.floor(this.#now() / 1000) * 1000);
  }
}

/** S3's listing order: the UTF-8 bytes, which differs from JavaScript's UTF-16 order above U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isAfter(fullKey: string, marker: ListMarker): boolean {
  if (marker.isPrefix && fullKey.startsWith(marker.name)) return false;
  return compareUtf8(fullKey, marker.name) > 0;
}

function encodeToken(marker: ListMarker): string {
  return Buffer.from(JSON.stringify([marker.isPrefix ? 'p' : 'k', marker.name])).toString('base64url');
}

function decodeToken(token: string): ListMarker {
  try {
    const [kind, name] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if ((kind === 'p' || kind === 'k') && typeof name === 'string') return { name, isPrefix: kind === 'p' };
  } catch {
    // Falls through to the same answer as a well-formed token of the wrong shape.
  }
  throw invalid('the continuation token provided is incorrect');
}

function checkRange(range: ByteRange): void {
  const { startByte, endByteExclusive } = range;
  if (!Number.isSafeInteger(startByte) || !Number.isSafeInteger(endByteExclusive) || startByte < 0 || endByteExclusive <= startByte) {
    throw invalid(`malformed byte range [${startByte}, ${endByteExclusive})`);
  }
}

function checkIfMatch(object: StoredObject, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch === '*' || unquote(ifMatch) === unquote(object.etag)) return;
  throw new StoreError('PreconditionFailed', `the object's ETag is ${object.etag}, not ${ifMatch}`, { httpStatus: 412 });
}

function checkedMetadata(metadata: UserMetadata): UserMetadata {
  const lowered = lowerCaseNames(metadata);
  const bytes = Object.entries(lowered).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  if (bytes > MAX_USER_METADATA_BYTES) {
    throw invalid(`MetadataTooLarge: user metadata has ${bytes} bytes, over the ${MAX_USER_METADATA_BYTES}-byte limit`);
  }
  return lowered;
}

function lowerCaseNames(metadata: UserMetadata): UserMetadata {
  return Object.freeze(Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name.toLowerCase(), value])));
}

function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** S3's multipart ETag: the md5 of the parts' binary md5s, then the part count. */
function multipartEtag(partDigests: readonly Buffer[]): string {
  return quote(`${md5(Buffer.concat(partDigests)).toString('hex')}-${partDigests.length}`);
}

function quote(etag: string): string {
  return `"${etag}"`;
}

function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

function invalid(message: string): StoreError {
  return new StoreError('InvalidArgument', message, { httpStatus: 400 });
}

function tooLarge(what: string): StoreError {
  return new StoreError('EntityTooLarge', `${what} is over the size limit`, { httpStatus: 400 });
}

function noSuchUpload(uploadId: string): StoreError {
  return new StoreError('NoSuchUpload', `NoSuchUpload: ${uploadId}`, { httpStatus: 404 });
}

/** The bytes of a body; a streamed one must yield exactly the size it declares, as S3 insists. */
async function bodyBytes(body: Body): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body.chunks()) chunks.push(Buffer.from(chunk));
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== body.sizeBytes) throw new StoreError('InvalidArgument', `a body declared ${body.sizeBytes} bytes and sent ${bytes.length}`);
  return bytes;
}
