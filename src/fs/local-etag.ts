// Does an object's ETag say it holds exactly these local bytes? S3's ETag of a single PUT is the MD5
// of the body; of a multipart upload it is the MD5 of the parts' MD5s, a dash and the part count, so
// it can be recomputed only with the part layout the upload used (the spool record keeps its first
// part size). Any other form (SSE-KMS, servers with their own scheme) answers false: not provable.

import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { StoreLimits } from '../s3/object-store.js';
import { PartLayout } from './part-layout.js';

const CHUNK_BYTES = 1024 * 1024;

/** Feeds [start, end) of the file to `hash`; bytes past the file's end are zeros (sparse tails). */
async function hashRange(handle: fsp.FileHandle, start: number, end: number, hash: Hash): Promise<void> {
  const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, Math.max(end - start, 0)));
  for (let at = start; at < end; ) {
    const want = Math.min(chunk.length, end - at);
    const { bytesRead } = await handle.read(chunk, 0, want, at);
    if (bytesRead < want) chunk.fill(0, bytesRead, want);
    hash.update(chunk.subarray(0, want));
    at += want;
  }
}

/**
 * True when `etag` is the ETag S3 gives the first `sizeBytes` bytes of `dataPath` uploaded in one
 * PUT, or in parts of the layout that starts at `partSizeBytes`.
 */
export async function etagMatchesFile(etag: string, dataPath: string, sizeBytes: number, partSizeBytes: number, limits: StoreLimits): Promise<boolean> {
  const plain = etag.replace(/^(W\/)?"|"$/g, '').toLowerCase();
  const single = /^[0-9a-f]{32}$/.test(plain);
  const multi = /^([0-9a-f]{32})-(\d+)$/.exec(plain);
  if (!single && !multi) return false;
  let layout: PartLayout | undefined;
  if (multi) {
    try {
      layout = new PartLayout(partSizeBytes, limits);
    } catch {
      return false;
    }
    if (layout.partsFor(sizeBytes).length !== Number(multi[2])) return false;
  }
  const handle = await fsp.open(dataPath, 'r');
  try {
    if (!layout) {
      const hash = createHash('md5');
      await hashRange(handle, 0, sizeBytes, hash);
      return hash.digest('hex') === plain;
    }
    const ofParts = createHash('md5');
    for (const span of layout.partsFor(sizeBytes)) {
      const part = createHash('md5');
      await hashRange(handle, span.startByte, span.endByteExclusive, part);
      ofParts.update(part.digest());
    }
    return `${ofParts.digest('hex')}-${multi?.[2]}` === plain;
  } finally {
    await handle.close();
  }
}
