// The required data checks of the probe (probe.ts) — calls bucketfs cannot do without — and the
// helpers every check uses. Each check writes below the probe's own prefix and reads back what it
// wrote. The optional features are in probe-features.ts.

import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Context } from './context.js';
import type { Fix } from './diagnosis.js';
import type { ProbeRun } from './probe.js';
import { isStoreError } from './store-error.js';
import { quoteEtag } from './wire.js';

export const MiB = 1024 * 1024;
/** An ETag no object has: a condition on it must fail. */
export const NO_SUCH_ETAG = '"00000000000000000000000000000000"';
const md5hex = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

export type CheckStatus = 'ok' | 'failed' | 'skipped';

export interface ProbeCheck {
  /** A short name, as the table prints it (`UploadPartCopy`, `ranged GET`). */
  readonly name: string;
  /** Whether bucketfs needs it; optional features have a workaround or are not used. */
  readonly required: boolean;
  readonly status: CheckStatus;
  /** What was seen (ok, skipped) or went wrong (failed). */
  readonly detail: string;
  /** For a failure: why, in words. */
  readonly cause?: string;
  readonly fix?: Fix;
}

/** A check's result before the runner adds its name and whether it is required. */
export type Outcome = Pick<ProbeCheck, 'status' | 'detail' | 'cause' | 'fix'>;

export const ok = (detail: string): Outcome => ({ status: 'ok', detail });
export const failed = (cause: string, fix: Fix, detail = cause): Outcome => ({ status: 'failed', detail, cause, fix });

export interface DataCheck {
  readonly name: string;
  readonly required: boolean;
  /** Checks that must have passed first (besides the bucket being usable). */
  readonly needs: readonly string[];
  /** The S3 call a failure is diagnosed for (its permission, its name). */
  readonly call: string;
  run(run: ProbeRun): Promise<Outcome>;
}

export function sample(run: ProbeRun, key: string): { body: Buffer; etag: string } {
  const found = run.samples.get(key);
  if (found === undefined) throw new Error(`probe: ${key} was not written`);
  return found;
}

export async function putSample(run: ProbeRun, key: string, body: Buffer): Promise<string> {
  const ctx = run.ctx;
  const out = await ctx.request('PUT', run.dir + key, () => ctx.clients.upload.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + key), Body: body, ContentLength: body.length })));
  run.written.add(run.dir + key);
  const etag = quoteEtag(out.ETag);
  run.samples.set(key, { body, etag });
  return etag;
}

export async function getBytes(ctx: S3Context, fullKey: string, range?: string, ifMatch?: string): Promise<{ body: Buffer; status: number | undefined; contentRange: string | undefined }> {
  const out = await ctx.request('GET', fullKey, () => ctx.clients.main.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(fullKey), Range: range, IfMatch: ifMatch })));
  const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
  return { body: Buffer.from(bytes), status: out.$metadata.httpStatusCode, contentRange: out.ContentRange };
}

export async function startUpload(run: ProbeRun, key: string): Promise<string> {
  const ctx = run.ctx;
  const out = await ctx.request('CREATE-UPLOAD', run.dir + key, () => ctx.clients.main.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + key) })));
  const uploadId = out.UploadId ?? '';
  run.uploads.set(uploadId, run.dir + key);
  return uploadId;
}

export async function completeUpload(run: ProbeRun, key: string, uploadId: string, etags: readonly string[]): Promise<string> {
  const ctx = run.ctx;
  const out = await ctx.request('COMPLETE-UPLOAD', run.dir + key, () =>
    ctx.clients.main.send(
      new CompleteMultipartUploadCommand({
        Bucket: ctx.bucket,
        Key: ctx.full(run.dir + key),
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
      }),
    ),
  );
  run.uploads.delete(uploadId);
  run.written.add(run.dir + key);
  return quoteEtag(out.ETag);
}

export async function abortUpload(ctx: S3Context, fullKey: string, uploadId: string): Promise<void> {
  await ctx.request('ABORT-UPLOAD', fullKey, () => ctx.clients.main.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: ctx.full(fullKey), UploadId: uploadId })));
}

/** Was it refused by a failed precondition (412)? Other errors propagate. */
export async function refusedByCondition(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (e) {
    if (isStoreError(e, 'PreconditionFailed')) return true;
    throw e;
  }
}

export const putObject: DataCheck = {
  name: 'PutObject',
  required: true,
  needs: [],
  call: 'PutObject',
  async run(run) {
    const body = randomBytes(64 * 1024);
    const etag = await putSample(run, 'a', body);
    return ok(etag === `"${md5hex(body)}"` ? '64 KiB written; its ETag is its MD5' : `64 KiB written; ETag ${etag} (not the MD5)`);
  },
};

export const listObjects: DataCheck = {
  name: 'ListObjectsV2',
  required: true,
  needs: ['PutObject'],
  call: 'ListObjectsV2',
  async run(run) {
    await putSample(run, 'b', Buffer.from('b'));
    await putSample(run, 'sub/c', Buffer.from('c'));
    const ctx = run.ctx;
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await ctx.request('LIST', run.dir, () =>
        ctx.clients.main.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.full(run.dir), Delimiter: '/', MaxKeys: 2, ContinuationToken: token })),
      );
      keys.push(...(out.Contents ?? []).map((o) => o.Key ?? ''));
      prefixes.push(...(out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''));
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined && ++pages < 10);
    const seen = [...keys, ...prefixes].map((k) => k.slice(ctx.full(run.dir).length)).sort();
    if (seen.join() !== 'a,b,sub/') {
      return failed(`a listing by '/' two entries a page returned [${seen.join(', ')}], not [a, b, sub/]`, { kind: 'use-s3-server', call: 'ListObjectsV2' });
    }
    return ok(`delimiter and continuation tokens work (${pages + 1} page${pages === 0 ? '' : 's'} of 2)`);
  },
};

export const rangedGet: DataCheck = {
  name: 'ranged GET',
  required: true,
  needs: ['PutObject'],
  call: 'GetObject',
  async run(run) {
    const { body } = sample(run, 'a');
    const got = await getBytes(run.ctx, run.dir + 'a', 'bytes=1000-1999');
    if (got.status !== 206 || !got.body.equals(body.subarray(1000, 2000))) {
      return failed(`bytes=1000-1999 answered HTTP ${got.status} with ${got.body.length} bytes${got.body.equals(body.subarray(1000, 2000)) ? '' : ' that differ'}`, { kind: 'use-s3-server', call: 'GetObject with Range' });
    }
    return ok(`bytes=1000-1999 answered 206 (${got.contentRange ?? 'no Content-Range'})`);
  },
};

export const multipartUpload: DataCheck = {
  name: 'multipart upload',
  required: true,
  needs: ['PutObject'],
  call: 'CreateMultipartUpload',
  async run(run) {
    const ctx = run.ctx;
    const parts = [randomBytes(5 * MiB), randomBytes(1024)];
    const uploadId = await startUpload(run, 'mp');
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const out = await ctx.request('UPLOAD-PART', run.dir + 'mp', () =>
        ctx.clients.upload.send(new UploadPartCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'mp'), UploadId: uploadId, PartNumber: i + 1, Body: body, ContentLength: body.length })),
      );
      etags.push(quoteEtag(out.ETag));
    }
    const etag = await completeUpload(run, 'mp', uploadId, etags);
    const whole = Buffer.concat(parts);
    const head = await getBytes(ctx, run.dir + 'mp', `bytes=${whole.length - 16}-${whole.length - 1}`);
    if (!head.body.equals(whole.subarray(whole.length - 16))) return failed('the completed object does not end with the last part', { kind: 'use-s3-server', call: 'CompleteMultipartUpload' });
    run.samples.set('mp', { body: whole, etag });
    if (etag === '') {
      run.ctx.capabilities.learn('completeReturnsEtag', false, 'CompleteMultipartUpload answered an empty ETag');
      return ok('2 parts completed; the server answers without an ETag (bucketfs reads it with a HEAD)');
    }
    return ok('2 parts (5 MiB + 1 KiB) completed');
  },
};

export const copyObject: DataCheck = {
  name: 'CopyObject',
  required: true,
  needs: ['PutObject'],
  call: 'CopyObject',
  async run(run) {
    const ctx = run.ctx;
    await ctx.request('COPY', run.dir + 'copy', () =>
      ctx.clients.main.send(
        new CopyObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'copy'), CopySource: `${ctx.bucket}/${ctx.full(run.dir + 'a')}`, MetadataDirective: 'REPLACE', Metadata: { mode: '33188' } }),
      ),
    );
    run.written.add(run.dir + 'copy');
    const got = await getBytes(ctx, run.dir + 'copy');
    if (!got.body.equals(sample(run, 'a').body)) return failed('the copy differs from its source', { kind: 'use-s3-server', call: 'CopyObject' });
    return ok('copied with new metadata');
  },
};

/** Deletes everything below the probe's prefix and aborts the uploads it left; reports leftovers. */
export async function removeLeftovers(run: ProbeRun): Promise<Outcome> {
  const ctx = run.ctx;
  const keys = new Set(run.written);
  const listed = await ctx.request('LIST', run.dir, () => ctx.clients.main.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.full(run.dir) })));
  for (const o of listed.Contents ?? []) keys.add((o.Key ?? '').slice(ctx.prefix.length));
  for (const key of keys) {
    await ctx.request('DELETE', key, () => ctx.clients.main.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(key) })));
    run.written.delete(key);
  }
  const refused: string[] = [];
  for (const [uploadId, key] of run.uploads) {
    try {
      await abortUpload(ctx, key, uploadId);
    } catch (e) {
      if (!isStoreError(e)) throw e;
      if (e.code !== 'NotFound') refused.push(`${key} (${e.code}, HTTP ${e.httpStatus ?? '?'})`);
    }
  }
  run.uploads.clear();
  const removed = keys.size > 0 ? `${keys.size} object${keys.size === 1 ? '' : 's'} removed from ${ctx.prefix}${run.dir}` : `nothing left below ${ctx.prefix}${run.dir}`;
  if (refused.length > 0) {
    return failed(`${removed}; the server refused to abort ${refused.length} upload${refused.length === 1 ? '' : 's'}: ${refused.join(', ')}`, { kind: 'none' });
  }
  return ok(removed);
}

export const deleteObjects: DataCheck = {
  name: 'DeleteObjects',
  required: true,
  needs: ['PutObject'],
  call: 'DeleteObjects',
  async run(run) {
    const ctx = run.ctx;
    const keys = [...run.written];
    const out = await ctx.request('DELETE-MANY', run.dir, () =>
      ctx.clients.main.send(new DeleteObjectsCommand({ Bucket: ctx.bucket, Delete: { Objects: [...keys, `${run.dir}never-written`].map((k) => ({ Key: ctx.full(k) })), Quiet: true } })),
    );
    const errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (errors.length > 0) return failed(`DeleteObjects refused ${errors.length} keys (${errors[0]?.Code ?? '?'})`, { kind: 'grant-permission', permission: 's3:DeleteObject', prefix: run.config.prefix });
    const left = await ctx.request('LIST', run.dir, () => ctx.clients.main.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.full(run.dir) })));
    if ((left.KeyCount ?? left.Contents?.length ?? 0) > 0) return failed(`${left.Contents?.length ?? '?'} objects were still listed after DeleteObjects`, { kind: 'use-s3-server', call: 'DeleteObjects' });
    for (const key of keys) run.written.delete(key);
    return ok(`${keys.length} objects (and one missing key) deleted in one request`);
  },
};

