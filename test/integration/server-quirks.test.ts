// S3ObjectStore on two real servers with different dialects: the global test server (Ceph RGW in CI)
// and an s3rver started here (no UploadPartCopy, copy and read conditions ignored). A read pinned to
// a version fails with PreconditionFailed on both once the object is replaced, never returns the new
// bytes; each capability flag is detected (or proved at run time) as each server deserves, and the
// workaround it guards runs only where the flag is false (checked by the requests the store logs).

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { S3Config } from '../../src/config.js';
import { S3ObjectStore } from '../../src/s3/s3-object-store.js';
import { expectStoreError } from '../support/store-errors.js';
import { makeTestDir, removeTestDir } from '../support/mount-session.js';
import { extraProfile, s3Server, storeConfig, TEST_PROFILES, useTestProfiles } from '../support/s3-env.js';
import { createBucket, startS3Server, type S3ServerHandle, type S3ServerInfo } from '../support/s3-server.js';

const plain = { metadata: {}, contentType: undefined };

let restoreEnv: () => void;
let local: string;
let s3rver: S3ServerHandle;

beforeAll(async () => {
  local = await makeTestDir('server-quirks');
  s3rver = await startS3Server('s3rver', path.join(local, 's3rver'));
  restoreEnv = useTestProfiles({ s3rver });
});

afterAll(async () => {
  await s3rver?.stop();
  if (local) await removeTestDir(local);
  restoreEnv?.();
});

/** A fresh bucket on `server` and an S3Config for it. */
async function bucketOn(server: S3ServerInfo, overrides: Partial<S3Config> = {}): Promise<S3Config> {
  const bucket = `quirks-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await createBucket(server, bucket);
  const profile = server === s3rver ? extraProfile('s3rver') : TEST_PROFILES.valid;
  return storeConfig(bucket, { endpoint: server.endpoint, region: server.region, profile, ...overrides });
}

const servers: readonly { name: string; server: () => S3ServerInfo }[] = [
  { name: 'the global test server', server: () => s3Server() },
  { name: 's3rver, which ignores If-Match', server: () => s3rver },
];

describe.each(servers)('reads pinned to a version on $name', ({ server }) => {
  let store: S3ObjectStore;
  beforeAll(async () => {
    store = new S3ObjectStore(await bucketOn(server()));
  });
  afterAll(() => store?.close());

  it('a read pinned to a replaced object fails with PreconditionFailed, never the new bytes cut to the old size', async () => {
    const old = await store.put('pin/replaced', Buffer.from('first version'), plain);
    await store.put('pin/replaced', Buffer.from('THE SECOND VERSION, LONGER'), plain);
    await expectStoreError(store.getRange('pin/replaced', { startByte: 0, endByteExclusive: 13 }, old.etag), 'PreconditionFailed');
    await expectStoreError(store.getRange('pin/replaced', { startByte: 6, endByteExclusive: 13 }, { etag: old.etag, sizeBytes: 13 }), 'PreconditionFailed');
  });

  it('a read pinned to the current version returns its bytes, with the ETag alone or with the size', async () => {
    const { etag } = await store.put('pin/current', Buffer.from('current bytes'), plain);
    expect((await store.getRange('pin/current', { startByte: 0, endByteExclusive: 7 }, etag)).toString()).toBe('current');
    expect((await store.getRange('pin/current', { startByte: 8, endByteExclusive: 13 }, { etag, sizeBytes: 13 })).toString()).toBe('bytes');
    // Quotes are how S3 writes an ETag, not part of it.
    expect((await store.getRange('pin/current', { startByte: 0, endByteExclusive: 7 }, etag.replace(/"/g, ''))).toString()).toBe('current');
  });

  it('a Content-Range total that differs from the pinned size is a mismatch', async () => {
    const { etag } = await store.put('pin/size', Buffer.from('twelve bytes'), plain);
    await expectStoreError(store.getRange('pin/size', { startByte: 0, endByteExclusive: 6 }, { etag, sizeBytes: 11 }), 'PreconditionFailed');
  });
});

const MiB = 1024 * 1024;

describe.each(servers)('capabilities detected on $name', ({ server }) => {
  const isCeph = (): boolean => server().kind === 'ceph';
  let config: S3Config;
  let store: S3ObjectStore;
  let log: string[];
  beforeAll(async () => {
    config = await bucketOn(server());
  });
  beforeEach(() => {
    log = [];
    store = new S3ObjectStore(config, { logger: (line) => log.push(line) });
  });
  afterEach(() => store?.close());

  /** The ops of the requests logged since `from`, e.g. ['HEAD', 'COPY']. */
  const ops = (from = 0): string[] => log.slice(from).map((line) => line.split(' ')[1] as string);
  const learned = (): Record<string, unknown> => Object.fromEntries(store.learnedCapabilities.map((l) => [l.name, l.value]));

  it('the kind comes from the first answer; path style from the config', async () => {
    expect(store.serverKind).toBe('unknown');
    await store.checkAccess();
    expect(store.serverKind).toBe(isCeph() ? 'ceph' : 'unknown');
    expect(store.capabilities.pathStyle).toBe(true);
    expect(store.capabilities.copyIfMatchHeaderName).toBe('x-amz-copy-if-match');
  });

  it('conditionalCopy: a copy pinned to a replaced source fails on both; a server that ignored it is then HEADed first', async () => {
    await store.checkAccess();
    const old = await store.put('cc/src', Buffer.from('old'), plain);
    await store.put('cc/src', Buffer.from('new!'), plain);
    await expectStoreError(store.copy('cc/src', 'cc/dst', { sourceSizeBytes: 3, ifMatch: old.etag }), 'PreconditionFailed');
    expect(store.capabilities.conditionalCopy).toBe(isCeph());
    expect(learned()).toEqual(isCeph() ? {} : { conditionalCopy: false });
    const mark = log.length;
    await expectStoreError(store.copy('cc/src', 'cc/dst2', { sourceSizeBytes: 3, ifMatch: old.etag }), 'PreconditionFailed');
    // Ceph refuses the copy itself; after the proof, s3rver gets a HEAD and no copy at all.
    expect(ops(mark)).toEqual(isCeph() ? ['COPY'] : ['HEAD']);
    const current = (await store.head('cc/src'))!.etag;
    await store.copy('cc/src', 'cc/dst3', { sourceSizeBytes: 4, ifMatch: current });
    expect((await store.getRange('cc/dst3', { startByte: 0, endByteExclusive: 4 })).toString()).toBe('new!');
  });

  it('uploadPartCopySupported / uploadPartCopyConditions: parts copy on both, pinned to the source version', async () => {
    await store.checkAccess();
    const source = randomBytes(6 * MiB);
    const { etag } = await store.put('upc/src', source, plain);
    const upload = await store.createUpload('upc/dst', plain);
    const mark = log.length;
    const part = await upload.uploadPartCopy(1, 'upc/src', { startByte: MiB, endByteExclusive: 6 * MiB }, etag);
    // Ceph ignores the copy's conditions: a HEAD checks the source. s3rver lacks UploadPartCopy
    // (501): the part is read with a pinned GET and uploaded.
    expect(ops(mark)).toEqual(isCeph() ? ['UPLOAD-PART-COPY', 'HEAD'] : ['UPLOAD-PART-COPY', 'GET', 'UPLOAD-PART']);
    expect(store.capabilities.uploadPartCopySupported).toBe(isCeph());
    expect(store.capabilities.uploadPartCopyConditions).toBe(false);
    const tail = await upload.uploadPart(2, Buffer.from('tail'));
    await upload.complete([part, tail]);
    const joined = Buffer.concat([source.subarray(MiB), Buffer.from('tail')]);
    expect((await store.getRange('upc/dst', { startByte: 0, endByteExclusive: joined.length })).equals(joined)).toBe(true);

    await store.put('upc/src', Buffer.from('replaced'), plain);
    const stale = await store.createUpload('upc/stale', plain);
    await expectStoreError(stale.uploadPartCopy(1, 'upc/src', { startByte: 0, endByteExclusive: 5 }, etag), 'PreconditionFailed');
    await stale.abort().catch(() => undefined);
  });

  it('completeReturnsEtag: an empty ETag from CompleteMultipartUpload is read back with a HEAD', async () => {
    await store.checkAccess();
    const upload = await store.createUpload('cre/file', plain);
    const part = await upload.uploadPart(1, Buffer.from('one part'));
    const mark = log.length;
    const { etag } = await upload.complete([part]);
    expect(etag).toBe((await store.head('cre/file'))!.etag);
    expect(ops(mark)).toEqual(isCeph() ? ['COMPLETE-UPLOAD', 'HEAD', 'HEAD'] : ['COMPLETE-UPLOAD', 'HEAD']);
    expect(store.capabilities.completeReturnsEtag).toBe(!isCeph());
    expect(learned()).toEqual(isCeph() ? { completeReturnsEtag: false } : {});
  });

  it('conditionalRead: a server that answered a stale If-Match with other bytes is known to ignore it', async () => {
    const old = await store.put('cr/file', Buffer.from('one'), plain);
    await store.put('cr/file', Buffer.from('two'), plain);
    await expectStoreError(store.getRange('cr/file', { startByte: 0, endByteExclusive: 3 }, old.etag), 'PreconditionFailed');
    expect(store.capabilities.conditionalRead).toBe(isCeph());
  });

  it('flexibleChecksums: on with --checksum when-supported, and writes of every kind still work', async () => {
    const s = new S3ObjectStore({ ...config, checksumMode: 'when-supported' });
    try {
      expect(s.capabilities.flexibleChecksums).toBe(true);
      const body = randomBytes(5 * MiB);
      const { etag } = await s.put('ck/file', body, plain);
      expect((await s.getRange('ck/file', { startByte: 0, endByteExclusive: body.length }, etag)).equals(body)).toBe(true);
      const upload = await s.createUpload('ck/multi', plain);
      const parts = [await upload.uploadPart(1, body), await upload.uploadPart(2, Buffer.from('end'))];
      await upload.complete(parts);
      expect((await s.head('ck/multi'))?.sizeBytes).toBe(body.length + 3);
      expect((await s.deleteMany(['ck/file', 'ck/multi'])).failed).toEqual([]);
    } finally {
      s.close();
    }
  });

  it('an override turns a workaround off: uploadPartCopyConditions=true sends no HEAD after UploadPartCopy', async () => {
    const trusting = new S3ObjectStore(config, { logger: (line) => log.push(line), capabilities: { uploadPartCopyConditions: true, uploadPartCopySupported: isCeph() } });
    try {
      const { etag } = await trusting.put('ov/src', randomBytes(MiB), plain);
      const upload = await trusting.createUpload('ov/dst', plain);
      const mark = log.length;
      await upload.uploadPartCopy(1, 'ov/src', { startByte: 0, endByteExclusive: MiB }, etag);
      expect(ops(mark)).toEqual(isCeph() ? ['UPLOAD-PART-COPY'] : ['GET', 'UPLOAD-PART']);
      // s3rver answers AbortMultipartUpload with 405.
      await upload.abort().catch(() => undefined);
    } finally {
      trusting.close();
    }
  });
});
