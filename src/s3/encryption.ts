// Server-side encryption and storage class, added to every request that needs them by one SDK
// middleware, so no call site (and nothing above src/s3) has to remember: writes (PutObject,
// CreateMultipartUpload, CopyObject) carry the encryption and storage class, so a rename or a
// metadata rewrite keeps both; with SSE-C the customer key also goes with every UploadPart, GET and
// HEAD, and as the copy-source key of CopyObject and UploadPartCopy. A field a call sets itself is
// left alone. The SDK's own ssec middleware then adds the key's MD5.

import type { S3Client } from '@aws-sdk/client-s3';
import type { Encryption, S3Config } from '../config.js';

/** SDK input fields, by name, that a command gets. */
type Fields = Record<string, string>;

/** What every object written gets: encryption (S3/KMS, or the SSE-C key) and storage class. */
export function writeFields(config: Pick<S3Config, 'encryption' | 'storageClass'>): Fields {
  return { ...encryptionFields(config.encryption), ...(config.storageClass !== undefined ? { StorageClass: config.storageClass } : {}) };
}

export function encryptionFields(encryption: Encryption | undefined): Fields {
  switch (encryption?.kind) {
    case undefined:
      return {};
    case 's3':
      return { ServerSideEncryption: 'AES256' };
    case 'kms':
      return { ServerSideEncryption: 'aws:kms', ...(encryption.keyId !== undefined ? { SSEKMSKeyId: encryption.keyId } : {}) };
    case 'c':
      return customerKeyFields(encryption.key);
  }
}

/** The SSE-C key as the SDK takes it (base64; its middleware adds the MD5). */
export function customerKeyFields(key: Uint8Array, prefix: '' | 'CopySource' = ''): Fields {
  return { [`${prefix}SSECustomerAlgorithm`]: 'AES256', [`${prefix}SSECustomerKey`]: Buffer.from(key).toString('base64') };
}

/** The fields each command gets under `config`. */
export function fieldsByCommand(config: Pick<S3Config, 'encryption' | 'storageClass'>): ReadonlyMap<string, Fields> {
  const write = writeFields(config);
  const key = config.encryption?.kind === 'c' ? config.encryption.key : undefined;
  const read = key !== undefined ? customerKeyFields(key) : {};
  const copySource = key !== undefined ? customerKeyFields(key, 'CopySource') : {};
  return new Map<string, Fields>([
    ['PutObjectCommand', write],
    ['CreateMultipartUploadCommand', write],
    ['CopyObjectCommand', { ...write, ...copySource }],
    ['UploadPartCommand', read],
    ['UploadPartCopyCommand', { ...read, ...copySource }],
    ['GetObjectCommand', read],
    ['HeadObjectCommand', read],
  ]);
}

/** Adds the fields of `config` to every command `client` sends (nothing when neither is set). */
export function addEncryption(client: S3Client, config: Pick<S3Config, 'encryption' | 'storageClass'>): void {
  if (config.encryption === undefined && config.storageClass === undefined) return;
  const byCommand = fieldsByCommand(config);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const fields = byCommand.get(context.commandName ?? '');
      if (fields === undefined) return next(args);
      const input = { ...(args.input as Record<string, unknown>) };
      for (const [name, value] of Object.entries(fields)) input[name] ??= value;
      return next({ ...args, input });
    },
    // Before the SDK's ssec middleware (initialize, normal priority), which encodes the key's MD5.
    { step: 'initialize', priority: 'high', name: 'bucketfsEncryption' },
  );
}
