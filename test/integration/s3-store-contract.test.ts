// S3ObjectStore on the global test server against the ObjectStore contract MemoryStore also passes.

import { afterAll, beforeAll } from 'vitest';
import { S3ObjectStore } from '../../src/s3/s3-object-store.js';
import { newBucket, s3Server, storeConfig, useTestProfiles } from '../support/s3-env.js';
import { storeContract } from '../support/store-contract.js';

const onS3rver = s3Server().kind === 's3rver';
let restoreEnv: () => void;
let bucket: string;
let next = 0;

beforeAll(async () => {
  restoreEnv = useTestProfiles();
  bucket = await newBucket('contract');
});

afterAll(() => restoreEnv?.());

storeContract({
  name: `S3ObjectStore on ${s3Server().kind}`,
  async open() {
    const store = new S3ObjectStore(storeConfig(bucket, { prefix: `contract-${next++}/` }));
    return { store, close: () => store.close() };
  },
  quirks: onS3rver
    ? { looseListings: true, otherMultipartEtags: true, noAbort: true, lenientComplete: true, unpinnedCopyWrites: true }
    : {},
});
