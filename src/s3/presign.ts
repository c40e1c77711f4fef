// Presigned URLs (`bucketfs url`): a GET or PUT of one object that anyone holding the URL may send
// until it expires, signed here with the store's credentials by the SDK's presigner. A PUT carries
// the mount's encryption and storage class: the storage class travels in the URL, while S3 wants the
// encryption headers on the request itself, so they come back as headers the PUT must send. SSE-C
// cannot work this way (the customer key would have to go with every request): refused.

import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Encryption } from '../config.js';
import type { S3Context } from './context.js';
import { StoreError } from './store-error.js';

/** S3's limit for a SigV4 presigned URL: 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface PresignedUrl {
  readonly url: string;
  readonly method: 'GET' | 'PUT';
  /** Headers the request must send as they are (they are signed): the mount's encryption, for a PUT. */
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: string;
}

/** The encryption headers a PUT under `encryption` is signed with. */
function encryptionHeaders(encryption: Encryption | undefined): Record<string, string> {
  if (encryption?.kind === 's3') return { 'x-amz-server-side-encryption': 'AES256' };
  if (encryption?.kind === 'kms') {
    return { 'x-amz-server-side-encryption': 'aws:kms', ...(encryption.keyId !== undefined ? { 'x-amz-server-side-encryption-aws-kms-key-id': encryption.keyId } : {}) };
  }
  return {};
}

export async function presign(ctx: S3Context, encryption: Encryption | undefined, key: string, method: 'GET' | 'PUT', expiresSeconds: number): Promise<PresignedUrl> {
  const where = `${method} ${ctx.where(key)}`;
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
    throw new StoreError('InvalidArgument', `${where}: a presigned URL lasts from 1 second to 7 days, not ${expiresSeconds} s`);
  }
  if (key === '' || key.endsWith('/')) throw new StoreError('InvalidArgument', `${where}: a directory has no object to presign`);
  if (encryption?.kind === 'c') {
    throw new StoreError('InvalidArgument', `${where}: objects encrypted with a customer key (SSE-C) need that key with every request, which a presigned URL cannot carry`);
  }
  const input = { Bucket: ctx.bucket, Key: ctx.full(key) };
  // The client's middlewares add the mount's encryption and storage class to the PUT, as to any write.
  const command = method === 'GET' ? new GetObjectCommand(input) : new PutObjectCommand(input);
  const url = await getSignedUrl(ctx.clients.main, command, { expiresIn: expiresSeconds });
  const signed = new Set((new URL(url).searchParams.get('X-Amz-SignedHeaders') ?? '').split(';'));
  const headers = Object.fromEntries(Object.entries(method === 'PUT' ? encryptionHeaders(encryption) : {}).filter(([name]) => signed.has(name)));
  return { url, method, headers, expiresAt: new Date(Date.now() + expiresSeconds * 1000).toISOString() };
}
