// --sse, --sse-kms-key-id, --sse-c-key-file and --storage-class into S3Config fields. The SSE-C key
// file holds 32 raw bytes or their base64, and like a passwd file it must be private to its owner
// (mode 600): whoever reads it reads every object written with it.

import { readFileSync, statSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { Encryption } from '../config.js';
import { UsageError } from './usage-error.js';

export const SSE_KINDS = ['s3', 'kms', 'c'] as const;
const KEY_BYTES = 32;

export function encryptionOptions<T>(y: Argv<T>) {
  return y
    .group(['sse', 'sse-kms-key-id', 'sse-c-key-file', 'storage-class'], 'Encryption and storage class:')
    .option('sse', {
      choices: SSE_KINDS,
      describe: 'server-side encryption of every object written: s3 (the server\'s keys, SSE-S3), kms (SSE-KMS) or c (your own key, SSE-C, also sent with every read)',
    })
    .option('sse-kms-key-id', { type: 'string', describe: 'with --sse kms: the KMS key (default: the bucket\'s default KMS key)' })
    .option('sse-c-key-file', { type: 'string', describe: 'with --sse c: a file of mode 600 holding the 32-byte key, raw or base64 (openssl rand -base64 32 > key)' })
    .option('storage-class', { type: 'string', describe: 'storage class of every object written, copies and renames included: STANDARD, STANDARD_IA, GLACIER_IR... (any the server takes)' });
}

/** The SSE-C key in `file`: 32 raw bytes, or base64 of 32 bytes (surrounding whitespace ignored). */
export function readCustomerKey(file: string): Uint8Array {
  let mode: number;
  let bytes: Buffer;
  try {
    mode = statSync(file).mode;
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--sse-c-key-file ${file}: ${code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
  }
  if ((mode & 0o077) !== 0) throw new UsageError(`--sse-c-key-file ${file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}`);
  if (bytes.length === KEY_BYTES) return new Uint8Array(bytes);
  const text = bytes.toString('latin1').trim();
  const decoded = Buffer.from(text, 'base64');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && decoded.length === KEY_BYTES) return new Uint8Array(decoded);
  throw new UsageError(`--sse-c-key-file ${file} must hold a 32-byte key, raw or base64 (it holds ${bytes.length} bytes): make one with openssl rand -base64 32`);
}

interface EncryptionArgs {
  readonly sse?: (typeof SSE_KINDS)[number];
  readonly 'sse-kms-key-id'?: string;
  readonly 'sse-c-key-file'?: string;
  readonly 'storage-class'?: string;
}

export function encryptionOption(args: EncryptionArgs): Encryption | undefined {
  const keyId = args['sse-kms-key-id'];
  const keyFile = args['sse-c-key-file'];
  if (keyId !== undefined && args.sse !== 'kms') throw new UsageError('--sse-kms-key-id needs --sse kms');
  if (keyFile !== undefined && args.sse !== 'c') throw new UsageError('--sse-c-key-file needs --sse c');
  switch (args.sse) {
    case undefined:
      return undefined;
    case 's3':
      return { kind: 's3' };
    case 'kms':
      if (keyId !== undefined && keyId.trim() === '') throw new UsageError('--sse-kms-key-id is empty: name a KMS key id or ARN, or leave it out for the bucket\'s default key');
      return { kind: 'kms', keyId };
    case 'c':
      if (keyFile === undefined) throw new UsageError('--sse c needs --sse-c-key-file FILE: a file of mode 600 with a 32-byte key (openssl rand -base64 32 > FILE)');
      return { kind: 'c', key: readCustomerKey(keyFile) };
  }
}

export function storageClassOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new UsageError(`--storage-class '${value}' is not a storage class name: use e.g. STANDARD, STANDARD_IA or GLACIER_IR`);
  return value;
}
