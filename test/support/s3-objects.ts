// What the bucket holds, read with the raw AWS SDK (never through bucketfs), so mounted write tests
// check the objects another S3 client sees: bytes, ETag, s3fs-style x-amz-meta-* headers, keys.
// Bodies are streamed and hashed, so a 1 GiB object never sits in memory.

import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export interface ObjectHead {
  readonly sizeBytes: number;
  readonly etag: string;
  readonly contentType: string | undefined;
  /** User metadata, lower-case names without x-amz-meta-. */
  readonly metadata: Record<string, string>;
}

/** HEAD of `key`; undefined when it does not exist. */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<ObjectHead | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { sizeBytes: head.ContentLength ?? -1, etag: head.ETag ?? '', contentType: head.ContentType, metadata: head.Metadata ?? {} };
  } catch (e) {
    if ((e as { name?: string }).name === 'NotFound') return undefined;
    throw e;
  }
}

async function* bodyChunks(client: S3Client, bucket: string, key: string): AsyncGenerator<Buffer> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  for await (const chunk of got.Body as Readable) yield chunk as Buffer;
}

export async function objectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bodyChunks(client, bucket, key)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Hex sha256 of the object's body, streamed. */
export async function objectSha256(client: S3Client, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of bodyChunks(client, bucket, key)) hash.update(chunk);
  return hash.digest('hex');
}

/** Every key below `prefix` (recursive, all pages), in the server's order. */
export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key as string);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Every object below `prefix` with its ETag (recursive, all pages), in the server's order. */
export async function listEtags(client: S3Client, bucket: string, prefix = ''): Promise<Map<string, string>> {
  const etags = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) etags.set(o.Key as string, o.ETag ?? '');
    token = page.NextContinuationToken;
  } while (token);
  return etags;
}

/** The s3fs headers bucketfs promises (docs/SEMANTICS.md), as decimal strings. */
export interface S3fsAttrs {
  /** Full st_mode, type bits included. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The s3fs attribute headers of `head`, parsed: mode/uid/gid as numbers and mtime in whole
 * milliseconds (truncated). Throws when one is missing or not in s3fs's format (decimal; seconds
 * with an optional fraction), so a test fails with the header that is wrong.
 */
export function s3fsAttrs(head: ObjectHead): S3fsAttrs & { readonly mtimeMs: number } {
  const { mode, uid, gid, mtime } = head.metadata;
  for (const [name, value] of Object.entries({ mode, uid, gid })) {
    if (value === undefined || !/^\d+$/.test(value)) throw new Error(`x-amz-meta-${name} is ${JSON.stringify(value)}, not a decimal number`);
  }
  if (mtime === undefined || !/^\d+(\.\d{1,9})?$/.test(mtime)) throw new Error(`x-amz-meta-mtime is ${JSON.stringify(mtime)}, not seconds`);
  // Whole milliseconds, truncated as stat's nanoseconds are (a float of 9 fraction digits would round).
  const [seconds, fraction = ''] = mtime.split('.');
  return { mode: Number(mode), uid: Number(uid), gid: Number(gid), mtimeMs: Number(seconds) * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0')) };
}

/** The part count of a multipart ETag (`"<md5 of part md5s>-N"`); undefined for any other form. */
export function etagPartCount(etag: string): number | undefined {
  const m = /^"[0-9a-f]{32}-(\d+)"$/.exec(etag);
  return m ? Number(m[1]) : undefined;
}

/** Keys of the multipart uploads started in `bucket` and neither completed nor aborted. */
export async function incompleteUploads(client: S3Client, bucket: string): Promise<string[]> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => u.Key as string);
}
