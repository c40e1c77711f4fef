// OpenFile: the content and attributes of one file that is open for writing (shared by all its
// handles). Bytes written go to a spool file at once; the Extents say which bytes are local, and
// every other byte below `#baseLimit` is still the object the file was opened from (`#base`), read
// on demand. Invariant: [baseLimit, size) is wholly local, so no byte is ever undefined.
// sync() uploads: one PutObject for a small file, else a multipart upload whose parts were partly
// streamed while the file was written and whose unchanged ranges are copied server-side. It returns
// only once the object is complete in the bucket; on failure the spool file is kept and named.
// The spool record beside the data always says what a crash would leave to do: it is rewritten at
// the first write, at most a second after further changes, at each upload's start (and once its
// multipart upload id is known), after it, and durably by persist() (write-back). restore() rebuilds
// a file from a record an earlier run left.
// Over 400 lines on purpose: content, spool record and upload share one file's private state
// (extents, base, session, UploadState); split, each part would need the others' internals.

import type { MemoryBudget } from '../cache/memory-budget.js';
import type { ObjectStore, PutResult, WriteOptions } from '../s3/object-store.js';
import type { Logger } from '../log.js';
import { FsError } from './errno.js';
import { Extents } from './extents.js';
import {
  type PosixAttrs,
  contentTypeOf,
  decodeXattrs,
  MAX_METADATA_BYTES,
  metadataSizeBytes,
  metadataWithAttrs,
  metadataWithXattrs,
  msToNs,
  withoutAttrHeaders,
} from './metadata.js';
import { MultipartSession, STREAM_CHUNK_BYTES, STREAM_WINDOW_BYTES, type PartSource } from './multipart-session.js';
import { type FsPath, fileKey } from './names.js';
import { UploadState } from './upload-state.js';
import type { RemoteObject } from './nodes.js';
import { ObjectReader, type ReadContext } from './object-reader.js';
import type { PartLayout } from './part-layout.js';
import type { SpoolFile } from './spool-file.js';
import { SPOOL_RECORD_VERSION, type Spool, type SpoolRecord, type SpoolState } from './spool.js';

export interface OpenFileContext {
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly spool: Spool;
  readonly budget: MemoryBudget;
  readonly layout: PartLayout;
  readonly uploadConcurrency: number;
  readonly read: ReadContext;
  readonly log: Logger;
  readonly now: () => number;
}

export interface OpenFileInit {
  readonly path: FsPath;
  /** The object the file starts from; undefined for a new file. */
  readonly base: RemoteObject | undefined;
  /** True for create and O_TRUNC: the content starts empty. */
  readonly truncate: boolean;
  readonly attrs: PosixAttrs;
  /** Extended attributes of a new file (an ACL its directory's default ACL gives it). */
  readonly xattrs?: ReadonlyMap<string, Buffer>;
}

/** How far the upload running now has got, for `bucketfs status`. */
export interface UploadProgress {
  readonly sizeBytes: number;
  /** Bytes in the bucket (finished parts; a single PUT counts when it is done). */
  readonly doneBytes: number;
  /** Of doneBytes, those sent before this upload started (parts streamed while writing). */
  readonly doneAtStartBytes: number;
  readonly startedAtMs: number;
}

/** A record restored by recovery: the data file and what the record says of it. */
export interface RestoreInit {
  readonly path: FsPath;
  /** The object unchanged ranges come from (record.baseEtag's version); undefined when all bytes are local. */
  readonly base: RemoteObject | undefined;
  readonly record: SpoolRecord;
  readonly spoolFile: SpoolFile;
  readonly sizeBytes: number;
  readonly localRanges: readonly (readonly [number, number])[];
  readonly attrs: PosixAttrs;
}

/** Longest a change waits before the record lists it (a crash loses at most this much range bookkeeping). */
const RECORD_DELAY_MS = 1_000;

export class OpenFile {
  readonly #ctx: OpenFileContext;
  #path: FsPath;
  #base: RemoteObject | undefined;
  #baseReader: ObjectReader | undefined;
  #baseLimit: number;
  #sizeBytes: number;
  readonly #local = new Extents();
  #spoolFile: SpoolFile | undefined;
  #reservedBytes = 0;
  #attrs: PosixAttrs;
  /** User metadata other than our attribute headers: foreign headers and x-amz-meta-xattr. */
  #otherMetadata: Record<string, string>;
  #contentType: string | undefined;
  /** What the bucket lacks of this file (and the versions uploads compare). */
  #changes: UploadState;
  /** Header changes when the multipart session started: later ones need a self-copy after it. */
  #sessionHeaderChanges = 0;
  #session: MultipartSession | undefined;
  #syncing: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #createdAt: string;
  /** The version the record on disk describes, and the one persist() made durable. */
  #recordedVersion = -1;
  #persistedVersion = -1;
  #recordTimer: NodeJS.Timeout | undefined;
  /** Wall-clock time of the last record write (a rate limit on disk writes, not file time). */
  #lastRecordAtMs = 0;
  #progress: { readonly sizeBytes: number; readonly startedAtMs: number; readonly doneAtStartBytes: number; done: () => number } | undefined;

  constructor(ctx: OpenFileContext, init: OpenFileInit) {
    this.#ctx = ctx;
    this.#path = init.path;
    this.#base = init.base;
    this.#sizeBytes = init.truncate ? 0 : (init.base?.sizeBytes ?? 0);
    this.#baseLimit = this.#sizeBytes;
    this.#attrs = init.attrs;
    this.#otherMetadata = init.base ? withoutAttrHeaders(init.base.metadata) : metadataWithXattrs({}, init.xattrs ?? new Map());
    this.#contentType = init.base?.contentType;
    // A new or truncated file must reach the bucket even if nothing is written to it.
    this.#changes = new UploadState(init.truncate || !init.base ? 'content' : undefined);
    this.#createdAt = new Date(ctx.now()).toISOString();
  }

  /**
   * A file an earlier run left in the spool, dirty: its upload (through OpenFiles) finishes the
   * record. The spool accounts its local bytes again.
   */
  static restore(ctx: OpenFileContext, init: RestoreInit): OpenFile {
    const { record } = init;
    const file = new OpenFile(ctx, { path: init.path, base: init.base, truncate: false, attrs: init.attrs });
    file.#sizeBytes = init.sizeBytes;
    file.#baseLimit = init.base ? Math.min(record.baseLimitBytes, init.base.sizeBytes, init.sizeBytes) : 0;
    for (const [start, end] of init.localRanges) file.#local.add(start, Math.min(end, init.sizeBytes));
    // Past the base's end every byte is local: what no range covers there was a hole (zeros).
    if (file.#baseLimit < init.sizeBytes) file.#local.add(file.#baseLimit, init.sizeBytes);
    file.#spoolFile = init.spoolFile;
    file.#reservedBytes = file.#local.totalBytes;
    ctx.spool.reserveAnyway(file.#reservedBytes);
    const { mode: _m, uid: _u, gid: _g, mtime: _t, ...other } = record.metadata;
    file.#otherMetadata = other;
    file.#contentType = record.contentType;
    file.#changes = new UploadState(record.contentChanged || !init.base ? 'content' : 'headers', 1);
    file.#createdAt = record.createdAt;
    return file;
  }

  get path(): FsPath {
    return this.#path;
  }

  get key(): string {
    return fileKey(this.#path);
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  get attrs(): PosixAttrs {
    return this.#attrs;
  }

  /** Changed since the bucket's version, and still named (an unlinked file never uploads). */
  get dirty(): boolean {
    return this.#changes.dirty;
  }

  /** Created here and never written, truncated or uploaded: an empty new file. */
  get untouchedNewFile(): boolean {
    return this.#base === undefined && this.#changes.version === 0;
  }

  /** Content (not only attributes) differs from the bucket. */
  get contentDirty(): boolean {
    return this.#changes.contentDirty;
  }

  get unlinked(): boolean {
    return this.#changes.unlinked;
  }

  get base(): RemoteObject | undefined {
    return this.#base;
  }

  get xattrs(): Map<string, Buffer> {
    return decodeXattrs(this.#otherMetadata);
  }

  /** The name is gone (unlink, or replaced by a rename): keep serving handles, never upload. */
  markUnlinked(): void {
    this.#changes.markUnlinked();
    // A crash now must not bring the bytes back.
    void this.#saveRecord();
  }

  /** The file now lives at `path` as `object` (after a rename moved the uploaded object). */
  moved(path: FsPath, object: RemoteObject | undefined): void {
    this.#path = path;
    if (object) {
      this.#setBase(object);
      this.#contentType = object.contentType;
    }
    void this.#saveRecord();
  }

  /** The upload running now, if any. */
  uploadProgress(): UploadProgress | undefined {
    const p = this.#progress;
    if (!p) return undefined;
    return { sizeBytes: p.sizeBytes, doneBytes: Math.min(p.done(), p.sizeBytes), doneAtStartBytes: p.doneAtStartBytes, startedAtMs: p.startedAtMs };
  }

  /**
   * Write-back: makes the current content durable in the spool — data fsync'd, then the record
   * (state 'queued') written, fsync'd and renamed into place, and its folder fsync'd — so a crash or
   * a power cut leaves the next mount everything it needs to upload it.
   */
  async persist(): Promise<void> {
    if (!this.dirty || this.#persistedVersion === this.#changes.version) return;
    const version = this.#changes.version;
    const spool = await this.#spoolFileForWrite();
    try {
      await spool.sync();
      await spool.writeRecord(this.#record('queued'), true);
    } catch (e) {
      throw new FsError('EIO', `saving ${this.#path} in the spool ${spool.dataPath} failed: ${(e as Error).message}`, { cause: e });
    }
    this.#persistedVersion = version;
    if (this.#recordedVersion < version) this.#recordedVersion = version;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.#sizeBytes);
    if (offset >= end) return Buffer.alloc(0);
    return this.#readRange(offset, end);
  }

  async write(offset: number, data: Uint8Array): Promise<number> {
    if (data.length === 0) return 0;
    const end = offset + data.length;
    const spool = await this.#spoolFileForWrite();
    // Reserve what this write adds to the spool (new bytes and a gap before it), settle after:
    // overwriting bytes already held locally needs no room.
    const maxGrowth = this.#newLocalBytes(Math.min(offset, this.#sizeBytes), end);
    this.#ctx.spool.reserve(maxGrowth);
    try {
      await spool.write(offset, data);
    } catch (e) {
      this.#ctx.spool.unreserve(maxGrowth);
      throw new FsError('EIO', `writing the spool file ${spool.dataPath} failed: ${(e as Error).message}`, { cause: e });
    }
    const before = this.#local.totalBytes;
    // Bytes between the old end and this write read as zeros: the spool file has a hole there.
    if (offset > this.#sizeBytes) this.#local.add(this.#sizeBytes, offset);
    this.#local.add(offset, end);
    const growth = this.#local.totalBytes - before;
    // A concurrent write may have claimed some of these bytes first, or a truncate freed them.
    if (growth <= maxGrowth) this.#ctx.spool.unreserve(maxGrowth - growth);
    else this.#ctx.spool.reserveAnyway(growth - maxGrowth);
    this.#reservedBytes += growth;
    this.#sizeBytes = Math.max(this.#sizeBytes, end);
    this.#changed(offset, end);
    this.#touchContent();
    this.#streamFullParts(end);
    return data.length;
  }

  async truncate(sizeBytes: number): Promise<void> {
    if (sizeBytes === this.#sizeBytes) return;
    let shrunk = false;
    const grow = Math.max(0, sizeBytes - this.#sizeBytes);
    this.#ctx.spool.reserve(grow);
    const spool = await this.#spoolFileForWrite().catch((e: unknown) => {
      this.#ctx.spool.unreserve(grow);
      throw e;
    });
    // The spool file never extends past the old size, so growing it leaves zeros in the new range.
    await spool.truncate(sizeBytes);
    if (sizeBytes < this.#sizeBytes) {
      const before = this.#local.totalBytes;
      this.#local.clip(sizeBytes);
      this.#release(before - this.#local.totalBytes);
      this.#baseLimit = Math.min(this.#baseLimit, sizeBytes);
      // Parts streamed so far may now lie past the end: start the multipart upload over at sync.
      await this.#dropSession();
      shrunk = true;
    } else {
      const before = this.#local.totalBytes;
      this.#local.add(this.#sizeBytes, sizeBytes);
      const growth = this.#local.totalBytes - before;
      this.#ctx.spool.unreserve(grow - growth);
      this.#reservedBytes += growth;
    }
    const from = Math.min(sizeBytes, this.#sizeBytes);
    const to = Math.max(sizeBytes, this.#sizeBytes);
    this.#sizeBytes = sizeBytes;
    this.#changed(from, to);
    this.#touchContent();
    // The data file is shorter now: a record still listing the old ranges would read zeros there.
    if (shrunk) await this.#saveRecord();
  }

  /** A content change moves mtime and ctime (POSIX). */
  #touchContent(): void {
    const now = msToNs(this.#ctx.now());
    this.#attrs = { ...this.#attrs, mtimeNs: now, ctimeNs: now };
  }

  /** chmod/chown/utimens on the open file: folded into the next upload. */
  setAttrs(attrs: Partial<PosixAttrs>): void {
    this.#attrs = { ...this.#attrs, ...attrs };
    this.#changes.headersChanged();
  }

  setXattrs(xattrs: ReadonlyMap<string, Buffer>): void {
    const other = metadataWithXattrs(this.#otherMetadata, xattrs);
    if (metadataSizeBytes(metadataWithAttrs(other, this.#attrs)) > MAX_METADATA_BYTES) {
      throw new FsError('ENOSPC', `${this.#path}: S3 keeps at most 2 KiB of metadata per object`);
    }
    this.#otherMetadata = other;
    this.#changes.headersChanged();
  }

  /**
   * Uploads the current content if anything changed, and returns once it is in the bucket.
   * Concurrent callers share one upload; a change made meanwhile is uploaded by a second round.
   */
  async sync(): Promise<void> {
    while (this.dirty) {
      this.#syncing ??= this.#upload().finally(() => (this.#syncing = undefined));
      await this.#syncing;
    }
  }

  /** Waits for an upload in progress, whatever its outcome. */
  async settled(): Promise<void> {
    await this.#syncing?.catch(() => undefined);
  }

  /** The last user is gone: free the spool (only once the content is safe in the bucket). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#recordTimer) clearTimeout(this.#recordTimer);
    this.#recordTimer = undefined;
    await this.#session?.abort();
    this.#session = undefined;
    if (!this.#spoolFile) return;
    if (this.dirty) {
      await this.#spoolFile.keep(this.#reservedBytes);
    } else {
      await this.#spoolFile.discard(this.#reservedBytes);
    }
    this.#reservedBytes = 0;
    this.#spoolFile = undefined;
  }

  writeOptions(): WriteOptions {
    const metadata = metadataWithAttrs(this.#otherMetadata, this.#attrs);
    return { metadata, contentType: this.#contentType ?? contentTypeOf(this.key) };
  }

  // ---- internals ----

  #changed(start: number, end: number): void {
    this.#changes.contentChanged();
    this.#session?.touched(start, end);
    this.#recordSoon();
  }

  /**
   * Lists the latest ranges and size in the record, in the background: at once if the last record
   * is older than RECORD_DELAY_MS, else when that much time has passed (one record a second at most).
   */
  #recordSoon(): void {
    if (this.#recordTimer || !this.#spoolFile) return;
    const waitMs = this.#lastRecordAtMs + RECORD_DELAY_MS - Date.now();
    if (waitMs <= 0) {
      void this.#saveRecord();
      return;
    }
    this.#recordTimer = setTimeout(() => {
      this.#recordTimer = undefined;
      if (this.#recordedVersion !== this.#changes.version) void this.#saveRecord();
    }, waitMs);
    this.#recordTimer.unref();
  }

  #state(): SpoolState {
    if (this.#changes.unlinked) return 'unlinked';
    if (!this.dirty) return 'uploaded';
    if (this.#progress) return 'uploading';
    return this.#persistedVersion === this.#changes.version ? 'queued' : 'writing';
  }

  /** Rewrites the record with the current state; a failure is logged (the data stays in any case). */
  async #saveRecord(state: SpoolState = this.#state()): Promise<void> {
    const spool = this.#spoolFile;
    if (!spool) return;
    const version = this.#changes.version;
    this.#lastRecordAtMs = Date.now();
    try {
      // A write-back file's records are all durable: replacing a durable record by one a power cut
      // could leave empty would lose what close() promised.
      await spool.writeRecord(this.#record(state), this.#persistedVersion >= 0);
      if (this.#recordedVersion < version) this.#recordedVersion = version;
    } catch (e) {
      this.#ctx.log.warn(`could not update the spool record ${spool.metaPath}: ${(e as Error).message}`);
    }
  }

  #release(bytes: number): void {
    this.#reservedBytes -= bytes;
    this.#ctx.spool.unreserve(bytes);
  }

  async #spoolFileForWrite(): Promise<SpoolFile> {
    if (!this.#spoolFile) {
      const file = await this.#ctx.spool.create();
      this.#spoolFile ??= file;
      if (this.#spoolFile !== file) {
        await file.discard(0);
      } else {
        // Name the key next to the data at once, so even a crash leaves a record of whose bytes these are.
        await file.writeRecord(this.#record('writing'));
      }
    }
    return this.#spoolFile;
  }

  #record(state: SpoolState, error?: unknown): SpoolRecord {
    const { metadata, contentType } = this.writeOptions();
    const base = this.#base;
    const uploadId = this.#session?.uploadId;
    return {
      version: SPOOL_RECORD_VERSION,
      bucket: this.#ctx.bucket,
      key: this.key,
      ...(base ? { baseEtag: base.etag, baseSizeBytes: base.sizeBytes } : {}),
      baseLimitBytes: base ? this.#baseLimit : 0,
      sizeBytes: this.#sizeBytes,
      localRanges: this.#local.ranges.map((r) => [r.startByte, r.endByteExclusive] as const),
      contentChanged: this.#changes.contentDirty,
      metadata,
      contentType,
      partSizeBytes: this.#ctx.layout.firstPartBytes,
      ...(uploadId === undefined ? {} : { uploadId }),
      ...(state === 'uploaded' && base ? { uploadedEtag: base.etag } : {}),
      state,
      createdAt: this.#createdAt,
      updatedAt: new Date(this.#ctx.now()).toISOString(),
      ...(error === undefined ? {} : { error: (error as Error).message }),
    };
  }

  /** Bytes of [start, end) not held locally yet. */
  #newLocalBytes(start: number, end: number): number {
    return this.#local.split(start, end).reduce((sum, p) => sum + (p.local ? 0 : p.end - p.start), 0);
  }

  #setBase(object: RemoteObject): void {
    this.#base = object;
    this.#baseReader = undefined;
    this.#baseLimit = object.sizeBytes;
  }

  #reader(): ObjectReader {
    const base = this.#base;
    if (!base) throw new FsError('EIO', `${this.#path}: no object to read unwritten bytes from`);
    this.#baseReader ??= new ObjectReader(this.#ctx.read, { key: base.key, etag: base.etag, sizeBytes: base.sizeBytes });
    return this.#baseReader;
  }

  async #readRange(start: number, end: number): Promise<Buffer> {
    const pieces = this.#local.split(start, end);
    const buffers = await Promise.all(
      pieces.map((p) => {
        if (p.local) return this.#spoolFile ? this.#spoolFile.read(p.start, p.end - p.start) : Buffer.alloc(p.end - p.start);
        if (p.start >= this.#baseLimit) return Buffer.alloc(p.end - p.start);
        const remoteEnd = Math.min(p.end, this.#baseLimit);
        return this.#reader()
          .read(p.start, remoteEnd - p.start)
          .then((b) => (remoteEnd < p.end ? Buffer.concat([b, Buffer.alloc(p.end - remoteEnd)]) : b));
      }),
    );
    return buffers.length === 1 ? (buffers[0] as Buffer) : Buffer.concat(buffers);
  }

  /** [start, end) in chunks, each read when the uploader asks for it. */
  async *#chunks(start: number, end: number): AsyncGenerator<Buffer> {
    for (let at = start; at < end; at += STREAM_CHUNK_BYTES) yield await this.#readRange(at, Math.min(end, at + STREAM_CHUNK_BYTES));
  }

  #partSource(): PartSource {
    const base = this.#base;
    return {
      chunks: (start, end) => this.#chunks(start, end),
      copySource: base ? { key: base.key, etag: base.etag } : undefined,
      unchanged: (start, end) => end <= this.#baseLimit && !this.#local.overlaps(start, end),
    };
  }

  /**
   * Streams parts that are complete and behind the writer while a big file is being written, so
   * close() only has the tail left to send. Only for files written from empty (the backup case).
   */
  #streamFullParts(writtenEnd: number): void {
    if (this.#base && this.#baseLimit > 0) return;
    const layout = this.#ctx.layout;
    if (writtenEnd < layout.firstPartBytes) return;
    const session = this.#session ?? this.#startSession(this.key, this.writeOptions());
    const last = layout.partAt(writtenEnd - 1);
    // Only parts that end at or before the write: the writer has moved past them.
    const lastFull = last.endByteExclusive <= writtenEnd ? last.partNumber : last.partNumber - 1;
    for (let n = Math.max(1, lastFull - this.#ctx.uploadConcurrency); n <= lastFull; n++) {
      const span = layout.span(n);
      if (session.isDone(n) || !this.#local.covers(span.startByte, span.endByteExclusive)) continue;
      if (!session.offer(span, this.#partSource())) break;
    }
  }

  #startSession(key: string, options: WriteOptions): MultipartSession {
    // The record names the upload at once, so a crash can abort it.
    const onCreated = (): void => void this.#saveRecord();
    this.#session = new MultipartSession(this.#ctx.store, this.#ctx.budget, this.#ctx.layout, this.#ctx.uploadConcurrency, key, options, onCreated);
    this.#sessionHeaderChanges = this.#changes.headerChanges;
    return this.#session;
  }

  async #dropSession(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.abort();
  }

  /** One upload round. Long on purpose: the three ways (header copy, PUT, multipart) and the one failure path side by side. */
  async #upload(): Promise<void> {
    const snapshot = this.#changes.snapshot();
    const key = this.key;
    let options = this.writeOptions();
    const size = this.#sizeBytes;
    let result: PutResult;
    let done = (): number => 0;
    const doneAtStartBytes = this.#session?.key === key ? this.#session.doneBytes : 0;
    this.#progress = { sizeBytes: size, startedAtMs: this.#ctx.now(), doneAtStartBytes, done: () => done() };
    try {
      // Exactly this content is on its way: a crash from here on leaves a record that says so.
      await this.#saveRecord('uploading');
      if (snapshot.pending === 'headers' && this.#base && this.#base.key === key) {
        result = await this.#ctx.store.copy(key, key, { replace: options, ifMatch: this.#base.etag, sourceSizeBytes: this.#base.sizeBytes });
      } else if (size < this.#ctx.layout.firstPartBytes) {
        await this.#dropSession();
        const lease = await this.#ctx.budget.acquire(Math.max(Math.min(size, STREAM_WINDOW_BYTES), 1));
        try {
          const body = size <= STREAM_CHUNK_BYTES ? await this.#readRange(0, size) : { sizeBytes: size, chunks: () => this.#chunks(0, size) };
          result = await this.#ctx.store.put(key, body, options);
        } finally {
          lease.release();
        }
      } else {
        let active = this.#session?.key === key ? this.#session : undefined;
        if (!active) {
          await this.#dropSession();
          active = this.#startSession(key, options);
        }
        const session = active;
        done = () => session.doneBytes;
        result = await active.finish(size, this.#partSource());
        this.#session = undefined;
        if (this.#sessionHeaderChanges !== this.#changes.headerChanges) {
          // chmod/utimens came after the upload was created (cp -a sets times last): rewrite them.
          // The mtime of plain writes is the one of the upload's start: not worth a copy.
          result = await this.#ctx.store.copy(key, key, { replace: options, ifMatch: result.etag || undefined, sourceSizeBytes: size });
        } else {
          options = active.options;
        }
      }
    } catch (e) {
      this.#progress = undefined;
      await this.#dropSession();
      await this.#keepForRecovery(e);
      const where = this.#spoolFile ? `; the data stays in ${this.#spoolFile.dataPath}` : '';
      this.#ctx.log.error(`upload of ${key} failed: ${(e as Error).message}${where}`);
      throw new FsError('EIO', `upload of ${key} failed${where}`, { cause: e });
    }
    this.#setBase({
      key,
      sizeBytes: size,
      etag: result.etag,
      lastModified: new Date(this.#ctx.now()),
      metadata: options.metadata,
      contentType: options.contentType,
    });
    this.#baseLimit = Math.min(size, this.#sizeBytes);
    this.#progress = undefined;
    this.#changes.uploaded(snapshot);
    // 'uploaded' (this ETag) unless a write came meanwhile: a crash must not call our own upload a conflict.
    await this.#saveRecord();
  }

  async #keepForRecovery(error: unknown): Promise<void> {
    if (!this.#spoolFile) return;
    try {
      await this.#spoolFile.sync();
      await this.#spoolFile.writeRecord(this.#record('upload-failed', error));
    } catch (e) {
      this.#ctx.log.error(`could not record ${this.#spoolFile.dataPath} for recovery: ${(e as Error).message}`);
    }
  }
}
