// MultipartSession: one multipart upload of one file, fed part by part while the file is written
// and finished at flush. A part is remembered only if no write touched its range while it was in
// flight (per-part versions), so a rewritten range is always uploaded again. Part buffers come out
// of the shared MemoryBudget; at most `concurrency` parts of this file are in flight. The upload id
// is announced as soon as S3 gives it (the spool record keeps it, so a crash can abort the upload),
// and the bytes of finished parts are counted for progress reports.

import type { MemoryBudget } from '../cache/memory-budget.js';
import type { ByteRange, MultipartUpload, ObjectStore, PartRef, PutResult, WriteOptions } from '../s3/object-store.js';
import { isStoreError } from '../s3/store-error.js';
import type { PartLayout, PartSpan } from './part-layout.js';

/** Bytes a part's body holds in memory at once while it streams (the rest stays on disk). */
export const STREAM_CHUNK_BYTES = 1024 * 1024;
/** Memory one streaming body may hold: a chunk being sent and the next one being read. */
export const STREAM_WINDOW_BYTES = 2 * STREAM_CHUNK_BYTES;

export interface PartSource {
  /** The bytes of [start, end) as they are now, in chunks of at most STREAM_CHUNK_BYTES. */
  chunks(start: number, end: number): AsyncIterable<Buffer>;
  /** When set, a part whose range is unchanged from this object is copied server-side. */
  readonly copySource: { readonly key: string; readonly etag: string } | undefined;
  /** True when [start, end) holds no local change, so it equals copySource's bytes. */
  unchanged(start: number, end: number): boolean;
}

export class MultipartSession {
  readonly #store: ObjectStore;
  readonly #budget: MemoryBudget;
  readonly #layout: PartLayout;
  readonly #concurrency: number;
  readonly key: string;
  /** The metadata the upload was created with: a later change needs a self-copy after complete. */
  readonly options: WriteOptions;
  #upload: Promise<MultipartUpload> | undefined;
  readonly #done = new Map<number, PartRef>();
  readonly #inFlight = new Map<number, Promise<void>>();
  readonly #versions = new Map<number, number>();
  /** Length of each part as last launched (the last part of a file is short). */
  readonly #partBytes = new Map<number, number>();
  #failure: unknown;
  /** False once the server said 501 to UploadPartCopy: copy by reading instead. */
  #copyWorks = true;
  #uploadId: string | undefined;
  readonly #onCreated: ((uploadId: string) => void) | undefined;

  constructor(
    store: ObjectStore,
    budget: MemoryBudget,
    layout: PartLayout,
    concurrency: number,
    key: string,
    options: WriteOptions,
    onCreated?: (uploadId: string) => void,
  ) {
    this.#store = store;
    this.#budget = budget;
    this.#layout = layout;
    this.#concurrency = concurrency;
    this.key = key;
    this.options = options;
    this.#onCreated = onCreated;
  }

  get started(): boolean {
    return this.#upload !== undefined;
  }

  /** The S3 upload id, once CreateMultipartUpload has answered. */
  get uploadId(): string | undefined {
    return this.#uploadId;
  }

  /** Bytes of the parts uploaded (or copied) and still valid. */
  get doneBytes(): number {
    let sum = 0;
    for (const n of this.#done.keys()) sum += this.#partBytes.get(n) ?? 0;
    return sum;
  }

  /** A write changed [start, end): parts there must be uploaded again. */
  touched(start: number, end: number): void {
    if (end <= start) return;
    const first = this.#layout.partAt(start).partNumber;
    const last = this.#layout.partAt(end - 1).partNumber;
    for (let n = first; n <= last; n++) {
      this.#versions.set(n, (this.#versions.get(n) ?? 0) + 1);
      this.#done.delete(n);
    }
  }

  isDone(partNumber: number): boolean {
    return this.#done.has(partNumber) || this.#inFlight.has(partNumber);
  }

  /** Starts uploading a full part in the background if there is a free slot; false otherwise. */
  offer(span: PartSpan, source: PartSource): boolean {
    if (this.#failure !== undefined || this.isDone(span.partNumber) || this.#inFlight.size >= this.#concurrency) return false;
    this.#launch(span, source);
    return true;
  }

  /** Uploads every part of a file of `sizeBytes` not yet uploaded, and completes. */
  async finish(sizeBytes: number, source: PartSource): Promise<PutResult> {
    const spans = this.#layout.partsFor(sizeBytes);
    let next = 0;
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      while (next < spans.length && this.#inFlight.size < this.#concurrency) {
        const span = spans[next++] as PartSpan;
        if (!this.#done.has(span.partNumber) && !this.#inFlight.has(span.partNumber)) this.#launch(span, source);
      }
      if (this.#inFlight.size === 0) {
        const missing = spans.filter((s) => !this.#done.has(s.partNumber));
        if (missing.length === 0) break;
        // A write landed on a finished part while we were working: go round again.
        next = spans.indexOf(missing[0] as PartSpan);
        continue;
      }
      await Promise.race(this.#inFlight.values());
    }
    if (this.#failure !== undefined) throw this.#failure;
    const parts = spans.map((s) => this.#done.get(s.partNumber) as PartRef);
    return (await this.#ensureUpload()).complete(parts);
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.#inFlight.values());
    if (!this.#upload) return;
    const upload = await this.#upload.catch(() => undefined);
    await upload?.abort().catch(() => undefined);
  }

  #ensureUpload(): Promise<MultipartUpload> {
    this.#upload ??= this.#store.createUpload(this.key, this.options).then((upload) => {
      this.#uploadId = upload.uploadId;
      this.#onCreated?.(upload.uploadId);
      return upload;
    });
    return this.#upload;
  }

  #launch(span: PartSpan, source: PartSource): void {
    const version = this.#versions.get(span.partNumber) ?? 0;
    this.#partBytes.set(span.partNumber, span.endByteExclusive - span.startByte);
    const work = this.#uploadPart(span, source)
      .then((ref) => {
        if ((this.#versions.get(span.partNumber) ?? 0) === version) this.#done.set(span.partNumber, ref);
      })
      .catch((e: unknown) => {
        this.#failure ??= e;
      })
      .finally(() => this.#inFlight.delete(span.partNumber));
    this.#inFlight.set(span.partNumber, work);
  }

  async #uploadPart(span: PartSpan, source: PartSource): Promise<PartRef> {
    const upload = await this.#ensureUpload();
    const range: ByteRange = { startByte: span.startByte, endByteExclusive: span.endByteExclusive };
    const copy = source.copySource;
    if (copy && this.#copyWorks && source.unchanged(span.startByte, span.endByteExclusive)) {
      try {
        return await upload.uploadPartCopy(span.partNumber, copy.key, range, copy.etag);
      } catch (e) {
        if (!isStoreError(e, 'NotImplemented')) throw e;
        this.#copyWorks = false;
      }
    }
    // The part streams from where its bytes are (spool file, cached blocks): a 5 GiB part needs
    // the memory of two chunks, not of the part.
    const sizeBytes = span.endByteExclusive - span.startByte;
    const lease = await this.#budget.acquire(Math.min(sizeBytes, STREAM_WINDOW_BYTES));
    try {
      return await upload.uploadPart(span.partNumber, { sizeBytes, chunks: () => source.chunks(span.startByte, span.endByteExclusive) });
    } finally {
      lease.release();
    }
  }
}
