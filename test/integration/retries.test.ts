// Retries as the MinIO client does them: throttling (503 SlowDown), 500/502/503/504 and connection
// resets are retried with backoff up to --max-attempts, other answers are not, and the last error
// says how often it was tried. Throttling comes from a tiny fake endpoint (no real server throttles
// on cue); resets and cut-off bodies from a TCP proxy in front of the real test server.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/s3/s3-object-store.js';
import { answering, brokenServer, emptyListingAnswer, s3ErrorAnswer } from '../support/broken-server.js';
import { startFlakyProxy, type FlakyProxy } from '../support/flaky-proxy.js';
import { newBucket, storeConfig, useTestProfiles } from '../support/s3-env.js';
import { expectStoreError } from '../support/store-errors.js';

const plain = { metadata: {}, contentType: undefined };
/** Short backoffs keep the test quick; the doubling is what is checked. */
const quick = { retryBaseDelayMs: 40, retryMaxDelayMs: 1_000 };

let restoreEnv: () => void;
let bucket: string;

beforeAll(async () => {
  restoreEnv = useTestProfiles();
  bucket = await newBucket('retries');
});

afterAll(() => restoreEnv?.());

/** A fake endpoint that answers request n (from 1) with `answer(n)`, and counts them. */
async function scripted(answer: (n: number) => string) {
  let requests = 0;
  const server = await brokenServer(
    answering(() => {
      requests++;
      return answer(requests);
    }),
  );
  return { ...server, requests: () => requests };
}

describe('answers that are retried', () => {
  it('503 SlowDown is retried with growing backoff until the server lets the request through', async () => {
    const fake = await scripted((n) => (n <= 3 ? s3ErrorAnswer(503, 'SlowDown') : emptyListingAnswer(bucket)));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: fake.endpoint, maxAttempts: 6, ...quick }));
    try {
      const started = Date.now();
      await s.checkAccess();
      expect(fake.requests()).toBe(4);
      // At least half of 40 + 80 + 160 ms: the backoff doubles.
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      s.close();
      await fake.close();
    }
  });

  it.each([500, 502, 503, 504])('%i is retried', async (status) => {
    const fake = await scripted((n) => (n === 1 ? s3ErrorAnswer(status, 'InternalError') : emptyListingAnswer(bucket)));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: fake.endpoint, ...quick }));
    try {
      await s.checkAccess();
      expect(fake.requests()).toBe(2);
    } finally {
      s.close();
      await fake.close();
    }
  });

  it('after the last attempt the error names the cause and the number of attempts', async () => {
    const fake = await scripted(() => s3ErrorAnswer(503, 'SlowDown'));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: fake.endpoint, maxAttempts: 3, ...quick }));
    try {
      const e = await expectStoreError(s.checkAccess(), 'Throttled');
      expect(fake.requests()).toBe(3);
      expect(e.message).toMatch(/^CHECK s3:\/\/.+: Throttled \(SlowDown, HTTP 503, .*\), after 3 attempts$/);
    } finally {
      s.close();
      await fake.close();
    }
  });
});

describe('answers that are not retried', () => {
  it.each([
    [501, 'NotImplemented', 'NotImplemented'],
    [403, 'AccessDenied', 'AccessDenied'],
    [400, 'InvalidArgument', 'InvalidArgument'],
  ] as const)('%i %s is final at once', async (status, code, expected) => {
    const fake = await scripted(() => s3ErrorAnswer(status, code));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: fake.endpoint, ...quick }));
    try {
      const e = await expectStoreError(s.checkAccess(), expected);
      expect(fake.requests()).toBe(1);
      expect(e.message).not.toMatch(/attempts/);
    } finally {
      s.close();
      await fake.close();
    }
  });
});

describe('connection failures in front of the real server', () => {
  let proxy: FlakyProxy;
  beforeAll(async () => {
    proxy = await startFlakyProxy(storeConfig(bucket).endpoint as string);
  });
  afterAll(() => proxy?.close());

  it('connections reset before an answer are retried, and the request succeeds', async () => {
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: proxy.endpoint, ...quick }));
    try {
      const before = proxy.connections;
      proxy.plan([{ kind: 'reset' }, { kind: 'reset' }]);
      const { etag } = await s.put('reset/file', Buffer.from('through resets'), plain);
      expect(proxy.connections - before).toBe(3);
      expect((await s.getRange('reset/file', { startByte: 0, endByteExclusive: 7 }, etag)).toString()).toBe('through');
    } finally {
      s.close();
    }
  });

  it('a streamed PUT and part whose connection is reset are sent again from their first byte', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const streamed = () => ({
      sizeBytes: body.length,
      async *chunks() {
        for (let at = 0; at < body.length; at += 256 * 1024) yield body.subarray(at, Math.min(body.length, at + 256 * 1024));
      },
    });
    const direct = new S3ObjectStore(storeConfig(bucket));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: proxy.endpoint, ...quick }));
    try {
      const before = proxy.connections;
      proxy.plan([{ kind: 'reset' }]);
      await s.put('stream/put', streamed(), plain);
      expect(proxy.connections - before).toBeGreaterThanOrEqual(2);
      const fetched = await direct.getRange('stream/put', { startByte: 0, endByteExclusive: body.length });
      expect(fetched.equals(body)).toBe(true);

      const upload = await s.createUpload('stream/part', plain);
      proxy.plan([{ kind: 'reset' }]);
      const part = await upload.uploadPart(1, streamed());
      await upload.complete([part]);
      expect((await direct.getRange('stream/part', { startByte: 0, endByteExclusive: body.length })).equals(body)).toBe(true);
    } finally {
      direct.close();
      s.close();
    }
  });

  it('a GET body cut off half-way is fetched again, whole', async () => {
    const body = randomBytes(512 * 1024);
    const direct = new S3ObjectStore(storeConfig(bucket));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: proxy.endpoint, ...quick }));
    try {
      const { etag } = await direct.put('cut/file', body, plain);
      proxy.plan([{ kind: 'cut', afterBytes: 64 * 1024 }]);
      const got = await s.getRange('cut/file', { startByte: 0, endByteExclusive: body.length }, { etag, sizeBytes: body.length });
      expect(got.equals(body)).toBe(true);
    } finally {
      direct.close();
      s.close();
    }
  });

  it('a body cut off on every attempt ends in one clear error, not a short read', async () => {
    const body = randomBytes(256 * 1024);
    const direct = new S3ObjectStore(storeConfig(bucket));
    const s = new S3ObjectStore(storeConfig(bucket, { endpoint: proxy.endpoint, maxAttempts: 3, ...quick }));
    try {
      await direct.put('cut/always', body, plain);
      proxy.plan(Array.from({ length: 3 }, () => ({ kind: 'cut' as const, afterBytes: 32 * 1024 })));
      const e = await s.getRange('cut/always', { startByte: 0, endByteExclusive: body.length }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(e?.message).toMatch(/^GET s3:\/\/.+cut\/always: (Unreachable|ServerError) \(.*\), after 3 attempts$/);
    } finally {
      direct.close();
      s.close();
    }
  });
});
