// S3ObjectStore on two real servers with different dialects: the global test server (Ceph RGW in CI)
// and an s3rver started here, which ignores If-Match on GET. A read pinned to a version must fail with
// PreconditionFailed on both once the object is replaced, never return the new bytes.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
