// What --sse and --storage-class put on the wire, request by request, as the real S3 client of a
// store builds and signs it (a last middleware records the request and stops it: no server needed).
// Writes carry encryption and class (copies too, so renames keep both); with SSE-C every read, part
// upload and copy source carries the customer key and its MD5.
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type S3Config } from '../../src/config.js';
import { CapabilityTracker } from '../../src/s3/capabilities.js';
import { createS3Clients } from '../../src/s3/client.js';
import { useFakeAwsKeys } from '../support/fake-keys.js';

const KEY = randomBytes(32);
const KEY_MD5 = createHash('md5').update(KEY).digest('base64');

function config(overrides: Partial<S3Config>): S3Config {
  return { bucket: 'bucket', prefix: '', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', pathStyle: true, profile: undefined, ...DEFAULTS.s3, maxAttempts: 1, ...overrides };
}

class Captured extends Error {}

/** The headers `command` would be sent with (lower-case names), signed and ready. */
async function headersOf(client: S3Client, command: object): Promise<Record<string, string>> {
  let headers: Record<string, string> | undefined;
  const stack = client.middlewareStack.clone();
  stack.add(
    () => async (args) => {
      headers = Object.fromEntries(Object.entries((args.request as { headers: Record<string, string> }).headers).map(([k, v]) => [k.toLowerCase(), v]));
      throw new Captured();
    },
    { step: 'finalizeRequest', priority: 'low', name: 'capture' },
  );
  const handler = (command as unknown as { resolveMiddleware(stack: unknown, config: unknown, options: unknown): (args: { input: unknown }) => Promise<unknown> }).resolveMiddleware(stack, client.config, {});
  await expect(handler({ input: (command as unknown as { input: unknown }).input })).rejects.toBeInstanceOf(Captured);
  if (headers === undefined) throw new Error('no request was built');
  return headers;
}

const where = { Bucket: 'bucket', Key: 'a/b' };
const COMMANDS = {
  put: new PutObjectCommand({ ...where, Body: 'x' }),
  createUpload: new CreateMultipartUploadCommand(where),
  copy: new CopyObjectCommand({ ...where, CopySource: 'bucket/a/c', MetadataDirective: 'REPLACE' }),
  uploadPart: new UploadPartCommand({ ...where, UploadId: 'u', PartNumber: 1, Body: 'x' }),
  uploadPartCopy: new UploadPartCopyCommand({ ...where, UploadId: 'u', PartNumber: 2, CopySource: 'bucket/a/c', CopySourceRange: 'bytes=0-9' }),
  get: new GetObjectCommand(where),
  head: new HeadObjectCommand(where),
  complete: new CompleteMultipartUploadCommand({ ...where, UploadId: 'u', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"e"' }] } }),
  delete: new DeleteObjectCommand(where),
  list: new ListObjectsV2Command({ Bucket: 'bucket' }),
};

/** Every command's encryption and storage-class headers under `overrides`. */
async function wire(overrides: Partial<S3Config>): Promise<Record<keyof typeof COMMANDS, Record<string, string>>> {
  const c = config(overrides);
  const clients = createS3Clients(c, new CapabilityTracker(c));
  try {
    const out: Record<string, Record<string, string>> = {};
    for (const [name, command] of Object.entries(COMMANDS)) {
      const headers = await headersOf(name === 'put' || name === 'uploadPart' ? clients.upload : clients.main, command);
      out[name] = Object.fromEntries(Object.entries(headers).filter(([k]) => k.includes('server-side-encryption') || k === 'x-amz-storage-class'));
    }
    return out as Record<keyof typeof COMMANDS, Record<string, string>>;
  } finally {
    clients.destroy();
  }
}

const SSE_C = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': KEY.toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': KEY_MD5,
};
const SSE_C_SOURCE = {
  'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-copy-source-server-side-encryption-customer-key': KEY.toString('base64'),
  'x-amz-copy-source-server-side-encryption-customer-key-md5': KEY_MD5,
};

describe('encryption and storage class on the wire', () => {
  // Requests are signed before they are recorded: any keys will do, no server sees them.
  useFakeAwsKeys();

  it('none by default: not one header', async () => {
    for (const headers of Object.values(await wire({}))) expect(headers).toEqual({});
  });

  it('SSE-S3 and a storage class go with every write, copies included, and nowhere else', async () => {
    const sent = await wire({ encryption: { kind: 's3' }, storageClass: 'STANDARD_IA' });
    const write = { 'x-amz-server-side-encryption': 'AES256', 'x-amz-storage-class': 'STANDARD_IA' };
    expect(sent.put).toEqual(write);
    expect(sent.createUpload).toEqual(write);
    expect(sent.copy).toEqual(write);
    for (const name of ['uploadPart', 'uploadPartCopy', 'get', 'head', 'complete', 'delete', 'list'] as const) expect(sent[name], name).toEqual({});
  });

  it('SSE-KMS names its key', async () => {
    const sent = await wire({ encryption: { kind: 'kms', keyId: 'arn:aws:kms:us-east-1:1:key/k' } });
    const write = { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:1:key/k' };
    expect([sent.put, sent.createUpload, sent.copy]).toEqual([write, write, write]);
    expect(sent.get).toEqual({});
    expect((await wire({ encryption: { kind: 'kms', keyId: undefined } })).put).toEqual({ 'x-amz-server-side-encryption': 'aws:kms' });
  });

  it('SSE-C sends the key and its MD5 with every write, part, read and copy source', async () => {
    const sent = await wire({ encryption: { kind: 'c', key: KEY } });
    for (const name of ['put', 'createUpload', 'uploadPart', 'get', 'head'] as const) expect(sent[name], name).toEqual(SSE_C);
    expect(sent.copy).toEqual({ ...SSE_C, ...SSE_C_SOURCE });
    expect(sent.uploadPartCopy).toEqual({ ...SSE_C, ...SSE_C_SOURCE });
    for (const name of ['complete', 'delete', 'list'] as const) expect(sent[name], name).toEqual({});
  });
});
