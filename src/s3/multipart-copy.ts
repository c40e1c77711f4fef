// CopyObject stops at 5 GiB: larger objects are copied in parts with UploadPartCopy, each pinned to
// the source's ETag so the parts agree. The first part goes alone and small: a server without
// UploadPartCopy says so there, and the rest is then planned in parts a client-side copy (GET +
// UploadPart, see upload.ts) can hold in memory. A failed part stops new ones; the parts in flight
// settle before the upload is aborted.

import { mapLimited } from '../concurrency.js';
import type { ByteRange, CopyOptions, MultipartUpload, ObjectInfo, PutResult, StoreLimits, WriteOptions } from './object-store.js';
import { StoreError } from './store-error.js';
import { sameEtag } from './wire.js';

/** Server-side copies per part are slow on some servers; parts of this size keep each call short. */
const PREFERRED_COPY_PART_BYTES = 512 * 1024 * 1024;
/** Parts copied through the client sit in memory whole: keep them small. */
const CLIENT_COPY_PART_BYTES = 16 * 1024 * 1024;
const COPY_CONCURRENCY = 4;

/** Part size for copying `sizeBytes` with UploadPartCopy: ≤ maxPartSizeBytes, ≤ maxPartCount parts. */
export function copyPartSizeBytes(sizeBytes: number, limits: StoreLimits): number {
  const floor = Math.max(limits.minPartSizeBytes, Math.min(PREFERRED_COPY_PART_BYTES, limits.maxSingleCopyBytes));
  return boundedPartSize(sizeBytes, floor, limits);
}

/** Part size for copying `sizeBytes` through the client (GET + UploadPart). */
export function clientCopyPartSizeBytes(sizeBytes: number, limits: StoreLimits): number {
  return boundedPartSize(sizeBytes, Math.max(limits.minPartSizeBytes, CLIENT_COPY_PART_BYTES), limits);
}

function boundedPartSize(sizeBytes: number, floor: number, limits: StoreLimits): number {
  return Math.min(limits.maxPartSizeBytes, Math.max(floor, Math.ceil(sizeBytes / limits.maxPartCount)));
}

/** What a multipart copy needs of its store. */
export interface CopyStore {
  readonly limits: StoreLimits;
  head(key: string): Promise<ObjectInfo | undefined>;
  createUpload(key: string, options: WriteOptions): Promise<MultipartUpload>;
  /** Whether UploadPartCopy works here, as far as the store knows now. */
  uploadPartCopySupported(): boolean;
}

/** Consecutive ranges of `partSizeBytes` from `fromByte` to `sizeBytes`, numbered from `firstPart`. */
function ranges(fromByte: number, sizeBytes: number, partSizeBytes: number, firstPart: number): { partNumber: number; range: ByteRange }[] {
  const out: { partNumber: number; range: ByteRange }[] = [];
  for (let start = fromByte, n = firstPart; start < sizeBytes; start += partSizeBytes, n++) {
    out.push({ partNumber: n, range: { startByte: start, endByteExclusive: Math.min(sizeBytes, start + partSizeBytes) } });
  }
  return out;
}

export async function multipartCopy(store: CopyStore, sourceKey: string, destinationKey: string, options: CopyOptions, where: (key: string) => string): Promise<PutResult> {
  const source = await store.head(sourceKey);
  if (source === undefined) throw new StoreError('NotFound', `COPY ${where(sourceKey)}: the source does not exist`);
  if (options.ifMatch !== undefined && !sameEtag(source.etag, options.ifMatch)) {
    throw new StoreError('PreconditionFailed', `COPY ${where(sourceKey)}: the source changed`);
  }
  const size = source.sizeBytes;
  const limits = store.limits;
  const rest = { ...limits, maxPartCount: limits.maxPartCount - 1 };
  const firstBytes = Math.min(size, clientCopyPartSizeBytes(size, limits), copyPartSizeBytes(size, limits));
  // Both part sizes hold the rest in maxPartCount - 1 parts unless maxPartSizeBytes caps them.
  if (1 + Math.ceil((size - firstBytes) / copyPartSizeBytes(size - firstBytes, rest)) > limits.maxPartCount) {
    throw new StoreError('EntityTooLarge', `COPY ${where(sourceKey)}: ${size} bytes need more than ${limits.maxPartCount} parts`);
  }
  const upload = await store.createUpload(destinationKey, options.replace ?? { metadata: source.metadata, contentType: source.contentType });
  try {
    const first = await upload.uploadPartCopy(1, sourceKey, { startByte: 0, endByteExclusive: firstBytes }, source.etag);
    const partSize = store.uploadPartCopySupported() ? copyPartSizeBytes(size - firstBytes, rest) : clientCopyPartSizeBytes(size - firstBytes, rest);
    const others = ranges(firstBytes, size, partSize, 2);
    const parts = await mapLimited(others, COPY_CONCURRENCY, ({ partNumber, range }) => upload.uploadPartCopy(partNumber, sourceKey, range, source.etag));
    return await upload.complete([first, ...parts]);
  } catch (e) {
    await upload.abort().catch(() => undefined);
    throw e;
  }
}
