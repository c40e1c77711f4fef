// The optional features the probe (probe.ts) checks: each has a workaround in bucketfs (named in its
// Fix) or is not used by bucketfs. Each records what the server proved in the capability tracker, so
// the report's capabilities are the ones a mount would meet.

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CopyObjectCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand } from '@aws-sdk/client-s3';
import { setHeader } from './client.js';
import { S3Context } from './context.js';
import { errorFacts } from './errors.js';
import { abortUpload, completeUpload, failed, getBytes, MiB, NO_SUCH_ETAG, ok, refusedByCondition, sample, startUpload, type DataCheck } from './probe-checks.js';
import { isStoreError } from './store-error.js';
import { quoteEtag } from './wire.js';

export const copyIfMatch: DataCheck = {
  name: 'copy If-Match',
  required: false,
  needs: ['CopyObject'],
  call: 'CopyObject',
  async run(run) {
    const ctx = run.ctx;
    const copy = (header?: string) => {
      const command = new CopyObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'cond-copy'), CopySource: `${ctx.bucket}/${ctx.full(run.dir + 'a')}`, CopySourceIfMatch: NO_SUCH_ETAG });
      if (header !== undefined) {
        command.middlewareStack.add(
          (next) => async (args) => {
            setHeader(args.request, header, NO_SUCH_ETAG);
            return next(args);
          },
          { step: 'build' },
        );
      }
      run.written.add(run.dir + 'cond-copy');
      return ctx.request('COPY', run.dir + 'cond-copy', () => ctx.clients.main.send(command));
    };
    if (await refusedByCondition(() => copy())) {
      ctx.capabilities.learn('copyIfMatchHeaderName', 'x-amz-copy-source-if-match', 'CopyObject honoured x-amz-copy-source-if-match');
      return ok('x-amz-copy-source-if-match is honoured');
    }
    if (await refusedByCondition(() => copy('x-amz-copy-if-match'))) {
      ctx.capabilities.learn('copyIfMatchHeaderName', 'x-amz-copy-if-match', 'CopyObject honoured only x-amz-copy-if-match');
      return ok('honoured only under x-amz-copy-if-match (as Ceph RGW does); bucketfs sends both');
    }
    ctx.capabilities.learn('conditionalCopy', false, 'CopyObject ignored both copy-source If-Match headers');
    return failed('the server ignores If-Match on CopyObject (a copy pinned to a wrong ETag succeeded)', { kind: 'worked-around', how: 'bucketfs HEADs the source before each pinned copy' });
  },
};

export const uploadPartCopy: DataCheck = {
  name: 'UploadPartCopy',
  required: false,
  needs: ['multipart upload'],
  call: 'UploadPartCopy',
  async run(run) {
    const ctx = run.ctx;
    const source = sample(run, 'mp');
    const uploadId = await startUpload(run, 'upc');
    try {
      await ctx.request('UPLOAD-PART-COPY', run.dir + 'upc', () =>
        ctx.clients.main.send(
          new UploadPartCopyCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'upc'), UploadId: uploadId, PartNumber: 1, CopySource: `${ctx.bucket}/${ctx.full(run.dir + 'mp')}`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }),
        ),
      ).then(async (out) => {
        const end = await ctx.request('UPLOAD-PART', run.dir + 'upc', () =>
          ctx.clients.main.send(new UploadPartCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'upc'), UploadId: uploadId, PartNumber: 2, Body: Buffer.from('end'), ContentLength: 3 })),
        );
        await completeUpload(run, 'upc', uploadId, [quoteEtag(out.CopyPartResult?.ETag), quoteEtag(end.ETag)]);
      });
    } catch (e) {
      if (!isStoreError(e, 'NotImplemented')) throw e;
      ctx.capabilities.learn('uploadPartCopySupported', false, `UploadPartCopy answered HTTP ${e.httpStatus ?? '?'}`);
      return failed(`the server does not implement UploadPartCopy (HTTP ${e.httpStatus ?? '?'})`, { kind: 'worked-around', how: 'bucketfs copies such parts through the client (a pinned GET, then UploadPart)' });
    }
    const tail = await getBytes(ctx, run.dir + 'upc', `bytes=${5 * MiB - 8}-${5 * MiB + 2}`);
    if (!tail.body.equals(Buffer.concat([source.body.subarray(5 * MiB - 8, 5 * MiB), Buffer.from('end')]))) {
      return failed('the object built from a copied part has other bytes', { kind: 'use-s3-server', call: 'UploadPartCopy' });
    }
    return ok('a 5 MiB range copied into a part');
  },
};

export const uploadPartCopyIfMatch: DataCheck = {
  name: 'UploadPartCopy If-Match',
  required: false,
  needs: ['UploadPartCopy'],
  call: 'UploadPartCopy',
  async run(run) {
    const ctx = run.ctx;
    const uploadId = await startUpload(run, 'upc-cond');
    const copy = () =>
      ctx.request('UPLOAD-PART-COPY', run.dir + 'upc-cond', () =>
        ctx.clients.main.send(
          new UploadPartCopyCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'upc-cond'), UploadId: uploadId, PartNumber: 1, CopySource: `${ctx.bucket}/${ctx.full(run.dir + 'a')}`, CopySourceIfMatch: NO_SUCH_ETAG }),
        ),
      );
    const refused = await refusedByCondition(copy);
    await abortUpload(ctx, run.dir + 'upc-cond', uploadId).then(() => run.uploads.delete(uploadId)).catch(() => undefined);
    ctx.capabilities.learn('uploadPartCopyConditions', refused, refused ? 'UploadPartCopy honoured If-Match' : 'UploadPartCopy ignored If-Match');
    if (refused) return ok('x-amz-copy-source-if-match is honoured');
    return failed('the server ignores If-Match on UploadPartCopy (a part pinned to a wrong ETag was copied)', { kind: 'worked-around', how: 'bucketfs checks the source with a HEAD after each part copy' });
  },
};

export const getIfMatch: DataCheck = {
  name: 'GET If-Match',
  required: false,
  needs: ['PutObject'],
  call: 'GetObject',
  async run(run) {
    if (await refusedByCondition(() => getBytes(run.ctx, run.dir + 'a', 'bytes=0-9', NO_SUCH_ETAG))) return ok('a read pinned to a wrong ETag is refused (412)');
    run.ctx.capabilities.learn('conditionalRead', false, 'a GET with a wrong If-Match answered the object');
    return failed('the server ignores If-Match on GET (a read pinned to a wrong ETag got the object)', { kind: 'worked-around', how: 'bucketfs checks the ETag and size of every answer itself' });
  },
};

export const putIfNoneMatch: DataCheck = {
  name: 'PUT If-None-Match',
  required: false,
  needs: ['PutObject'],
  call: 'PutObject',
  async run(run) {
    const ctx = run.ctx;
    const { body } = sample(run, 'a');
    const put = () => ctx.request('PUT', run.dir + 'a', () => ctx.clients.upload.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(run.dir + 'a'), Body: body, ContentLength: body.length, IfNoneMatch: '*' })));
    if (await refusedByCondition(put)) return ok('a create-only PUT of an existing key is refused (412)');
    return failed('the server ignores If-None-Match on PUT (a create-only PUT replaced an object)', { kind: 'worked-around', how: 'bucketfs does not rely on conditional writes' });
  },
};

export const checksums: DataCheck = {
  name: 'checksums (CRC32)',
  required: false,
  needs: ['PutObject'],
  call: 'PutObject',
  async run(run) {
    const chunked = S3Context.create(run.config, { capabilities: { flexibleChecksums: true } });
    const body = randomBytes(32 * 1024);
    const key = run.dir + 'checksummed';
    const ctx = run.ctx;
    try {
      run.written.add(key);
      // A stream body: the SDK then sends aws-chunked encoding with a trailing x-amz-checksum-crc32.
      await ctx.request('PUT', key, () => chunked.clients.upload.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: ctx.full(key), Body: Readable.from([body]), ContentLength: body.length })));
    } catch (e) {
      if (!isStoreError(e)) throw e;
      ctx.capabilities.learn('flexibleChecksums', false, `an aws-chunked CRC32 upload failed (${e.code})`);
      return failed(`the server refuses the SDK's aws-chunked uploads with a CRC32 trailer (${errorFacts(e).s3Code ?? e.code}, HTTP ${e.httpStatus ?? '?'})`, { kind: 'use-required-checksums' });
    } finally {
      chunked.clients.destroy();
    }
    const stored = await getBytes(ctx, key);
    if (!stored.body.equals(body)) {
      ctx.capabilities.learn('flexibleChecksums', false, 'an aws-chunked CRC32 upload was stored with its framing');
      return failed(`the server stored the aws-chunked framing as data (${stored.body.length} bytes for ${body.length})`, { kind: 'use-required-checksums' });
    }
    ctx.capabilities.learn('flexibleChecksums', true, 'an aws-chunked CRC32 upload was stored intact');
    return ok('aws-chunked uploads with a CRC32 trailer are stored intact (--checksum when-supported works)');
  },
};
