// Fixture objects for mounted tests and the demo, written with the raw AWS SDK (never through
// bucketfs), so what the mount shows is checked against what another S3 client stored.
// Pseudo-random data is AES-CTR of zeros under a key derived from a seed: deterministic and fast.

import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const CHUNK_BYTES = 1024 * 1024;

/** `sizeBytes` deterministic pseudo-random bytes for `seed`, in chunks of at most 1 MiB. */
export function* pseudoRandomChunks(seed: string, sizeBytes: number): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK_BYTES);
  for (let done = 0; done < sizeBytes; done += CHUNK_BYTES) {
    yield cipher.update(zeros.subarray(0, Math.min(CHUNK_BYTES, sizeBytes - done)));
  }
}

export function pseudoRandomBytes(seed: string, sizeBytes: number): Buffer {
  return Buffer.concat([...pseudoRandomChunks(seed, sizeBytes)]);
}

/** Hex sha256 of the pseudo-random data, computed without holding it in memory. */
export function pseudoRandomSha256(seed: string, sizeBytes: number): string {
  const hash = createHash('sha256');
  for (const chunk of pseudoRandomChunks(seed, sizeBytes)) hash.update(chunk);
  return hash.digest('hex');
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer | string,
  metadata?: Record<string, string>,
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
}

/** Streams the pseudo-random data to `key` as a multipart upload (lib-storage), never all in memory. */
export async function uploadPseudoRandom(client: S3Client, bucket: string, key: string, seed: string, sizeBytes: number): Promise<void> {
  const upload = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: Readable.from(pseudoRandomChunks(seed, sizeBytes)) },
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
  });
  await upload.done();
}

/** Runs `work` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** LastModified of `key` as the server reports it, in whole seconds (what stat shows). */
export async function lastModifiedSeconds(client: S3Client, bucket: string, key: string): Promise<number> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (!head.LastModified) throw new Error(`HEAD ${key} has no LastModified`);
  return Math.floor(head.LastModified.getTime() / 1000);
}
