// S3ObjectStore.getStream (src/s3/get-stream.ts) against the real local S3 server of global-setup.ts,
// and against tiny local HTTP servers that misbehave on purpose: one that breaks a body off
// half-way (resumed, pinned to the same ETag), one that ignores If-Match (refused), one that sends
// a short body every time (an error after the resumes, never a short result).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/s3/s3-object-store.js';
import { isStoreError } from '../../src/s3/store-error.js';
import { pseudoRandomBytes } from '../support/fixtures.js';
import { newBucket, storeConfig, useTestProfiles } from '../support/s3-env.js';
import { makeClient, type S3ServerInfo } from '../support/s3-server.js';
import { s3Server } from '../support/s3-env.js';

const MiB = 1024 * 1024;
let restoreEnv: () => void;
let bucket: string;
let store: S3ObjectStore;
let raw: S3Client;
const data = pseudoRandomBytes('get-stream', 5 * MiB + 77);
let etag: string;

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: Buffer; count: number }> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return { bytes: Buffer.concat(parts), count: parts.length };
}

async function failure(chunks: AsyncIterable<Uint8Array>): Promise<unknown> {
  try {
    await collect(chunks);
  } catch (error) {
    return error;
  }
  throw new Error('the stream did not fail');
}

beforeAll(async () => {
  restoreEnv = useTestProfiles();
  bucket = await newBucket('get-stream');
  store = new S3ObjectStore(storeConfig(bucket));
  raw = makeClient(s3Server() as S3ServerInfo);
  etag = (await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: data }))).ETag ?? '';
});

afterAll(() => {
  store?.close();
  raw?.destroy();
  restoreEnv?.();
});

describe('getStream on the real server', () => {
  it('yields exactly the bytes of the range, in several chunks, clamped to the object', async () => {
    const got = await collect(store.getStream('obj', { startByte: 1000, endByteExclusive: 1000 + 3 * MiB }, etag));
    expect(got.bytes.equals(data.subarray(1000, 1000 + 3 * MiB))).toBe(true);
    expect(got.count).toBeGreaterThan(1);
    const tail = await collect(store.getStream('obj', { startByte: 5 * MiB, endByteExclusive: 6 * MiB }, etag));
    expect(tail.bytes.equals(data.subarray(5 * MiB))).toBe(true);
    expect((await collect(store.getStream('obj', { startByte: 9, endByteExclusive: 9 }))).count).toBe(0);
  });

  it('refuses another version with PreconditionFailed, and a missing key with NotFound', async () => {
    const stale = await failure(store.getStream('obj', { startByte: 0, endByteExclusive: 10 }, '"0123456789abcdef0123456789abcdef"'));
    expect(isStoreError(stale, 'PreconditionFailed')).toBe(true);
    const missing = await failure(store.getStream('no-such-key', { startByte: 0, endByteExclusive: 10 }));
    expect(isStoreError(missing, 'NotFound')).toBe(true);
  });

  it('can be abandoned half-way without harming the next request', async () => {
    for (let i = 0; i < 3; i++) {
      for await (const chunk of store.getStream('obj', { startByte: 0, endByteExclusive: 5 * MiB }, etag)) {
        expect(chunk.byteLength).toBeGreaterThan(0);
        break;
      }
    }
    const got = await collect(store.getStream('obj', { startByte: 0, endByteExclusive: data.length }, etag));
    expect(got.bytes.equals(data)).toBe(true);
  });
});

/** A fake S3 endpoint answering GETs of one object by `answer`; records each request's headers. */
async function fakeServer(
  answer: (req: http.IncomingMessage, res: http.ServerResponse, attempt: number) => void,
): Promise<{ store: S3ObjectStore; requests: http.IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const requests: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    answer(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake = new S3ObjectStore(storeConfig('fake-bucket', { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 }));
  return {
    store: fake,
    requests,
    close: async () => {
      fake.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const OBJECT = pseudoRandomBytes('fake object', 300_000);
const FAKE_ETAG = '"fake-etag"';

/** Sends bytes [start, end] of OBJECT as a 206, or only `sendBytes` of them before breaking the connection. */
function sendRange(req: http.IncomingMessage, res: http.ServerResponse, options: { etag?: string; sendBytes?: number } = {}): void {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '') as RegExpExecArray;
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), OBJECT.length - 1);
  res.writeHead(206, {
    'Content-Length': String(end - start + 1),
    'Content-Range': `bytes ${start}-${end}/${OBJECT.length}`,
    ETag: options.etag ?? FAKE_ETAG,
  });
  const body = OBJECT.subarray(start, end + 1);
  if (options.sendBytes === undefined) {
    res.end(body);
    return;
  }
  res.write(body.subarray(0, options.sendBytes), () => res.socket?.destroy());
}

describe('getStream against servers that misbehave', () => {
  it('resumes a body that broke off, from where it stopped, pinned to the same ETag', async () => {
    const fake = await fakeServer((req, res, attempt) => sendRange(req, res, attempt === 1 ? { sendBytes: 100_000 } : {}));
    try {
      const got = await collect(fake.store.getStream('k', { startByte: 10, endByteExclusive: 250_010 }, FAKE_ETAG));
      expect(got.bytes.equals(OBJECT.subarray(10, 250_010))).toBe(true);
      expect(fake.requests.map((h) => h.range)).toEqual(['bytes=10-250009', 'bytes=100010-250009']);
      expect(fake.requests.map((h) => h['if-match'])).toEqual([FAKE_ETAG, FAKE_ETAG]);
    } finally {
      await fake.close();
    }
  });

  it('fails after two resumes rather than return fewer bytes', async () => {
    const fake = await fakeServer((req, res) => sendRange(req, res, { sendBytes: 1000 }));
    try {
      const error = await failure(fake.store.getStream('k', { startByte: 0, endByteExclusive: 200_000 }, FAKE_ETAG));
      expect(isStoreError(error)).toBe(true);
      expect(fake.requests).toHaveLength(3);
    } finally {
      await fake.close();
    }
  });

  it('refuses the answer of a server that ignored If-Match and sent another version', async () => {
    const fake = await fakeServer((req, res) => sendRange(req, res, { etag: '"another-version"' }));
    try {
      const error = await failure(fake.store.getStream('k', { startByte: 0, endByteExclusive: 1000 }, FAKE_ETAG));
      expect(isStoreError(error, 'PreconditionFailed')).toBe(true);
      expect(String((error as Error).message)).toMatch(/did not honour If-Match/);
    } finally {
      await fake.close();
    }
  });

  it('takes the range out of a whole object sent by a server that ignores Range', async () => {
    const fake = await fakeServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(OBJECT.length), ETag: FAKE_ETAG });
      res.end(OBJECT);
    });
    try {
      const got = await collect(fake.store.getStream('k', { startByte: 70_000, endByteExclusive: 90_000 }, FAKE_ETAG));
      expect(got.bytes.equals(OBJECT.subarray(70_000, 90_000))).toBe(true);
    } finally {
      await fake.close();
    }
  });
});
