// The doctor's rows for server-side encryption and storage classes: a small object written with each
// kind of encryption (SSE-S3, SSE-KMS, SSE-C) and with a storage class, then read back (the probe's
// context has no --sse or --storage-class of its own: each request names what it sends). A
// row is required when the mount is configured to use that feature; otherwise the server lacking
// it costs nothing, since bucketfs then sends no such header.

import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Encryption, S3Config } from '../config.js';
import { S3Context } from './context.js';
import { customerKeyFields, encryptionFields } from './encryption.js';
import { errorFacts } from './errors.js';
import type { Fix } from './diagnosis.js';
import { failed, ok, type DataCheck, type Outcome } from './probe-checks.js';
import type { ProbeRun } from './probe.js';
import { isStoreError } from './store-error.js';

const BODY = Buffer.from('bucketfs doctor: encrypted sample\n');

/** PUT with `fields`, then HEAD with `readFields`; a refusal of either is the row's failure. */
async function writeAndHead(run: ProbeRun, ctx: S3Context, key: string, fields: Record<string, string>, readFields: Record<string, string>, refused: Fix): Promise<HeadObjectCommandOutput | Outcome> {
  const fullKey = ctx.full(run.dir + key);
  try {
    run.written.add(run.dir + key);
    await ctx.request('PUT', run.dir + key, () => ctx.clients.upload.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: fullKey, Body: BODY, ContentLength: BODY.length, ...fields })));
    return await ctx.request('HEAD', run.dir + key, () => ctx.clients.main.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: fullKey, ...readFields })));
  } catch (e) {
    if (!isStoreError(e) || e.code === 'Unreachable' || e.code === 'Timeout') throw e;
    const facts = errorFacts(e);
    return failed(`the server refused it (${facts.s3Code ?? e.code}, HTTP ${e.httpStatus ?? '?'})`, refused);
  }
}

const isOutcome = (v: HeadObjectCommandOutput | Outcome): v is Outcome => 'status' in v;

/** The fix of a refused encryption: say which way out, unless the mount does not ask for it. */
function encryptionFix(config: S3Config, kind: Encryption['kind']): Fix {
  if (config.encryption?.kind !== kind) return { kind: 'worked-around', how: `bucketfs sends no such header unless --sse ${kind} is given` };
  return { kind: 'encryption-refused', encryption: kind, overHttp: config.endpoint?.startsWith('http:') ?? false };
}

function sseCheck(kind: 's3' | 'kms', config: S3Config): DataCheck {
  const name = kind === 's3' ? 'SSE-S3' : 'SSE-KMS';
  const wanted = config.encryption?.kind === kind ? config.encryption : kind === 's3' ? ({ kind } as const) : ({ kind, keyId: undefined } as const);
  const header = kind === 's3' ? 'AES256' : 'aws:kms';
  return {
    name,
    required: config.encryption?.kind === kind,
    needs: ['PutObject'],
    call: 'PutObject',
    async run(run) {
      const head = await writeAndHead(run, run.ctx, `sse-${kind}`, encryptionFields(wanted), {}, encryptionFix(config, kind));
      if (isOutcome(head)) return head;
      if (head.ServerSideEncryption !== header) {
        return failed(`the server took x-amz-server-side-encryption: ${header} but reports the object ${head.ServerSideEncryption ?? 'unencrypted'}`, encryptionFix(config, kind));
      }
      return ok(`an object written with x-amz-server-side-encryption: ${header} is stored encrypted${kind === 'kms' ? ` (key ${head.SSEKMSKeyId ?? 'the default'})` : ''}`);
    },
  };
}

function sseCCheck(config: S3Config): DataCheck {
  return {
    name: 'SSE-C',
    required: config.encryption?.kind === 'c',
    needs: ['PutObject'],
    call: 'PutObject',
    async run(run) {
      const ctx = run.ctx;
      const key = config.encryption?.kind === 'c' ? config.encryption.key : randomBytes(32);
      const head = await writeAndHead(run, ctx, 'sse-c', customerKeyFields(key), customerKeyFields(key), encryptionFix(config, 'c'));
      if (isOutcome(head)) return head;
      const fullKey = ctx.full(run.dir + 'sse-c');
      const out = await ctx.request('GET', run.dir + 'sse-c', () => ctx.clients.main.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: fullKey, ...customerKeyFields(key) })));
      const body = Buffer.from(out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0));
      if (!body.equals(BODY)) return failed('an object written with a customer key reads back different bytes', encryptionFix(config, 'c'));
      const withoutKey = await ctx.request('HEAD', run.dir + 'sse-c', () => ctx.clients.main.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: fullKey }))).then(
        () => 'answered',
        (e: unknown) => (isStoreError(e) ? 'refused' : Promise.reject(e)),
      );
      if (withoutKey !== 'refused') return failed('the server took a customer key but serves the object without it (it is not encrypted with that key)', encryptionFix(config, 'c'));
      return ok('written and read back with a customer key; a read without the key is refused');
    },
  };
}

function storageClassCheck(config: S3Config): DataCheck {
  const storageClass = config.storageClass ?? 'STANDARD';
  return {
    name: 'storage class',
    required: config.storageClass !== undefined,
    needs: ['PutObject'],
    call: 'PutObject',
    async run(run) {
      const head = await writeAndHead(run, run.ctx, 'storage-class', { StorageClass: storageClass }, {}, { kind: 'storage-class-refused', storageClass });
      if (isOutcome(head)) return head;
      // AWS leaves the header out for STANDARD.
      const stored = head.StorageClass ?? 'STANDARD';
      if (stored !== storageClass) return failed(`the server took ${storageClass} but stored the object as ${stored}`, { kind: 'storage-class-refused', storageClass });
      return ok(`${storageClass} accepted and reported back`);
    },
  };
}

/** The rows, in the order they run: the configured features are required. */
export function encryptionChecks(config: S3Config): DataCheck[] {
  return [sseCheck('s3', config), sseCheck('kms', config), sseCCheck(config), storageClassCheck(config)];
}
