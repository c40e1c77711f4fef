// One multipart upload in progress. Parts may run concurrently and be re-sent (the latest ref of a
// part number wins at complete()). Server dialects are handled per capability: UploadPartCopy that a
// server lacks becomes a pinned GET + UploadPart, copy conditions a server ignores are checked by a
// HEAD after the copy, and an empty ETag from CompleteMultipartUpload is read back with a HEAD.
// Each upload is in the journal (when the store has one) from its creation to its complete/abort.

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { UPLOAD_FLOOR_BYTES_PER_SECOND } from './client.js';
import type { S3Context } from './context.js';
import type { Readable } from 'node:stream';
import { type Body, bodySizeBytes, type ByteRange, type MultipartUpload, type ObjectInfo, type PartRef, type PutResult, type VersionPin, type WriteOptions } from './object-store.js';
import { sendStreamed } from './streamed-send.js';
import { StoreError, isStoreError } from './store-error.js';
import type { UploadJournal } from './upload-journal.js';
import { copySource, quoteEtag, rangeHeader, sameEtag } from './wire.js';

/** Slowest server-side copy rate still treated as working. */
export const COPY_FLOOR_BYTES_PER_SECOND = 8 * 1024 * 1024;

/** What an upload needs of its store beyond single requests. */
export interface UploadStore {
  head(key: string): Promise<ObjectInfo | undefined>;
  getRange(key: string, range: ByteRange, pin?: string | VersionPin): Promise<Buffer>;
  /** The ETag of an object just written, for servers that answer a write without one. */
  etagAfterWrite(key: string): Promise<string>;
}

interface JournalRecord {
  readonly journal: UploadJournal;
  readonly id: string;
}

export class S3Upload implements MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly #ctx: S3Context;
  readonly #store: UploadStore;
  /** The upload's journal record, forgotten once it completes or aborts. */
  readonly #journal: JournalRecord | undefined;

  private constructor(ctx: S3Context, store: UploadStore, journal: JournalRecord | undefined, key: string, uploadId: string) {
    this.#ctx = ctx;
    this.#store = store;
    this.#journal = journal;
    this.key = key;
    this.uploadId = uploadId;
  }

  static async start(ctx: S3Context, store: UploadStore, journal: UploadJournal | undefined, key: string, options: WriteOptions): Promise<S3Upload> {
    const fullKey = ctx.full(key);
    const id = await journal?.begin(ctx.bucket, fullKey);
    let uploadId: string | undefined;
    try {
      const out = await ctx.request('CREATE-UPLOAD', key, () =>
        ctx.clients.main.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: fullKey, Metadata: { ...options.metadata }, ContentType: options.contentType })),
      );
      uploadId = out.UploadId;
      if (uploadId === undefined || uploadId === '') throw new StoreError('ServerError', `CREATE-UPLOAD ${ctx.where(key)}: the server returned no upload id`);
    } catch (e) {
      if (id !== undefined) await journal?.forget(id);
      throw e;
    }
    if (id !== undefined) await journal?.started(id, ctx.bucket, fullKey, uploadId);
    return new S3Upload(ctx, store, journal !== undefined && id !== undefined ? { journal, id } : undefined, key, uploadId);
  }

  async uploadPart(partNumber: number, body: Body): Promise<PartRef> {
    const ctx = this.#ctx;
    const sizeBytes = bodySizeBytes(body);
    const command = (payload: Uint8Array | Readable) =>
      new UploadPartCommand({ Bucket: ctx.bucket, Key: ctx.full(this.key), UploadId: this.uploadId, PartNumber: partNumber, Body: payload, ContentLength: sizeBytes });
    const timeout = ctx.timeoutFor(sizeBytes, UPLOAD_FLOOR_BYTES_PER_SECOND);
    const res =
      body instanceof Uint8Array
        ? await ctx.request('UPLOAD-PART', this.key, (trace) => {
            trace.bytesSent = sizeBytes;
            return ctx.clients.upload.send(command(body), timeout);
          })
        : await sendStreamed(ctx, body, (stream) =>
            ctx.request('UPLOAD-PART', this.key, (trace) => {
              trace.bytesSent = sizeBytes;
              return ctx.clients.uploadOnce.send(command(stream), timeout);
            }),
          );
    if (!res.ETag) throw this.#missingEtag('UPLOAD-PART', partNumber);
    return { partNumber, etag: quoteEtag(res.ETag) };
  }

  async uploadPartCopy(partNumber: number, sourceKey: string, range: ByteRange, ifMatch?: string): Promise<PartRef> {
    const ctx = this.#ctx;
    if (!ctx.capabilities.current.uploadPartCopySupported) return this.#copyThroughClient(partNumber, sourceKey, range, ifMatch);
    let etag: string | undefined;
    try {
      const res = await ctx.request('UPLOAD-PART-COPY', this.key, () =>
        ctx.clients.main.send(
          new UploadPartCopyCommand({
            Bucket: ctx.bucket,
            Key: ctx.full(this.key),
            UploadId: this.uploadId,
            PartNumber: partNumber,
            CopySource: copySource(ctx.bucket, ctx.full(sourceKey)),
            CopySourceRange: rangeHeader(range),
            CopySourceIfMatch: ifMatch,
          }),
          ctx.timeoutFor(range.endByteExclusive - range.startByte, COPY_FLOOR_BYTES_PER_SECOND),
        ),
      );
      etag = res.CopyPartResult?.ETag;
    } catch (e) {
      if (!isStoreError(e, 'NotImplemented')) throw e;
      ctx.capabilities.learn('uploadPartCopySupported', false, `UploadPartCopy answered HTTP ${e.httpStatus ?? '?'}`);
      return this.#copyThroughClient(partNumber, sourceKey, range, ifMatch);
    }
    if (!etag) throw this.#missingEtag('UPLOAD-PART-COPY', partNumber);
    if (ifMatch !== undefined && !ctx.capabilities.current.uploadPartCopyConditions) {
      // The server ignores copy conditions on UploadPartCopy. The source still having the ETag
      // after the copy means the part came from that version (a write that changed it and changed
      // it back would need the same content).
      const now = await this.#store.head(sourceKey);
      if (now === undefined || !sameEtag(now.etag, ifMatch)) {
        throw new StoreError(
          'PreconditionFailed',
          `UPLOAD-PART-COPY ${ctx.where(sourceKey)}: the source changed (ETag ${now?.etag ?? 'gone'}, expected ${ifMatch})`,
        );
      }
    }
    return { partNumber, etag: quoteEtag(etag) };
  }

  async complete(parts: readonly PartRef[]): Promise<PutResult> {
    const ctx = this.#ctx;
    // S3 wants ascending, unique part numbers; a re-uploaded part's latest ref wins.
    const latest = new Map<number, PartRef>();
    for (const p of parts) latest.set(p.partNumber, p);
    const sorted = [...latest.values()].sort((a, b) => a.partNumber - b.partNumber);
    const res = await ctx.request('COMPLETE-UPLOAD', this.key, () =>
      ctx.clients.main.send(
        new CompleteMultipartUploadCommand({
          Bucket: ctx.bucket,
          Key: ctx.full(this.key),
          UploadId: this.uploadId,
          MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      ),
    );
    await this.#journal?.journal.forget(this.#journal.id);
    const etag = quoteEtag(res.ETag);
    if (etag !== '') return { etag };
    ctx.capabilities.learn('completeReturnsEtag', false, 'CompleteMultipartUpload answered an empty ETag');
    return { etag: await this.#store.etagAfterWrite(this.key) };
  }

  async abort(): Promise<void> {
    await abortUploadById(this.#ctx, this.key, this.uploadId);
    await this.#journal?.journal.forget(this.#journal.id);
  }

  /** The part read with a pinned GET (which checks the answer's ETag) and uploaded. */
  async #copyThroughClient(partNumber: number, sourceKey: string, range: ByteRange, ifMatch: string | undefined): Promise<PartRef> {
    const body = await this.#store.getRange(sourceKey, range, ifMatch);
    // UploadPartCopy refuses a range past the end of the source; a GET would just return less.
    if (body.length !== range.endByteExclusive - range.startByte) {
      throw new StoreError('InvalidArgument', `UPLOAD-PART-COPY ${this.#ctx.where(sourceKey)}: range ${rangeHeader(range)} is past the end of the source`);
    }
    return this.uploadPart(partNumber, body);
  }

  #missingEtag(op: string, partNumber: number): StoreError {
    return new StoreError('ServerError', `${op} ${this.#ctx.where(this.key)} part ${partNumber}: the server returned no ETag`);
  }
}

/** Aborts the upload `uploadId` of `key`; one already completed or aborted is no error. */
export async function abortUploadById(ctx: S3Context, key: string, uploadId: string): Promise<void> {
  try {
    await ctx.request('ABORT-UPLOAD', key, () => ctx.clients.main.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: ctx.full(key), UploadId: uploadId })));
  } catch (e) {
    // Already aborted or completed: nothing is left to clean up.
    if (!isStoreError(e, 'NoSuchUpload') && !isStoreError(e, 'NotFound')) throw e;
  }
}
