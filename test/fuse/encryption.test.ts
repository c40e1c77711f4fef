// --sse and --storage-class on a real mount of Ceph RGW, seen through a recording proxy: the storage
// class goes with every PUT, multipart upload and copy (a rename and a chmod keep it) and Ceph stores
// it; SSE-C's customer key goes with every read, write and copy source, and since Ceph 16 takes SSE
// only over https, its refusal of a write reaches the writer as EIO (its CopyObject, though, takes
// the headers and stores the copy unencrypted: a Ceph quirk the test records).
// `bucketfs doctor` says which of these the server supports.

import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putObject } from '../support/fixtures.js';
import { cliEnv, makeTestDir, mountBucket, removeTestDir, runCli, unmountAll } from '../support/mount-session.js';
import { startRecordingProxy, type RecordedRequest, type RecordingProxy } from '../support/recording-proxy.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const server = s3Server();
const client = makeClient(server);
let proxy: RecordingProxy;
let local: string;
const key = randomBytes(32);
let keyFile: string;

beforeAll(async () => {
  proxy = await startRecordingProxy(server.endpoint);
  local = await makeTestDir('encryption');
  keyFile = path.join(local, 'sse-c.key');
  await fsp.writeFile(keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await unmountAll();
  await proxy?.close();
  client.destroy();
  if (local) await removeTestDir(local);
});

/** What the mount sent for `objectKey` of `bucket` after request number `from`. */
function sentFor(bucket: string, objectKey: string, from = 0): RecordedRequest[] {
  return proxy.requests.slice(from).filter((r) => r.url.split('?')[0] === `/${bucket}/${objectKey}`);
}
const kind = (r: RecordedRequest): string => {
  const query = r.url.split('?')[1] ?? '';
  if (r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined) return /partNumber=/.test(query) ? 'UploadPartCopy' : 'CopyObject';
  if (r.method === 'PUT') return /partNumber=/.test(query) ? 'UploadPart' : 'PutObject';
  if (r.method === 'POST') return /(^|&)uploads(=|&|$)/.test(query) ? 'CreateMultipartUpload' : 'CompleteMultipartUpload';
  return r.method;
};
const header = (name: string) => (r: RecordedRequest) => r.headers[name];

const SSE_C = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': key.toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
};
const SSE_C_SOURCE = Object.fromEntries(Object.entries(SSE_C).map(([name, value]) => [name.replace('x-amz-', 'x-amz-copy-source-'), value]));

describe('--storage-class', () => {
  it('goes with every PUT, multipart upload and copy (a rename and a chmod keep it), and Ceph stores it', async () => {
    const bucket = await newBucket('storage-class');
    const session = await mountBucket({ bucket, s3: { ...server, endpoint: proxy.endpoint }, extraArgs: ['--storage-class', 'STANDARD', '--part-size', '5M'] });
    try {
      const from = proxy.requests.length;
      await fsp.writeFile(path.join(session.dir, 'small.txt'), 'small\n');
      await fsp.writeFile(path.join(session.dir, 'big.bin'), randomBytes(12 * MiB));
      await fsp.rename(path.join(session.dir, 'small.txt'), path.join(session.dir, 'renamed.txt'));
      await fsp.chmod(path.join(session.dir, 'renamed.txt'), 0o600);
      const writes = [...sentFor(bucket, 'small.txt', from), ...sentFor(bucket, 'big.bin', from), ...sentFor(bucket, 'renamed.txt', from)].filter((r) =>
        ['PutObject', 'CreateMultipartUpload', 'CopyObject'].includes(kind(r)),
      );
      expect(writes.map(kind).sort()).toEqual(['CopyObject', 'CopyObject', 'CreateMultipartUpload', 'PutObject']);
      expect(writes.map(header('x-amz-storage-class'))).toEqual(['STANDARD', 'STANDARD', 'STANDARD', 'STANDARD']);
      // Parts inherit the upload's class: nothing to send there.
      expect(sentFor(bucket, 'big.bin', from).filter((r) => kind(r) === 'UploadPart').map(header('x-amz-storage-class'))).toEqual([undefined, undefined, undefined]);
      for (const name of ['renamed.txt', 'big.bin']) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: name }));
        expect(head.StorageClass ?? 'STANDARD', name).toBe('STANDARD');
      }
    } finally {
      await session.unmount();
    }
  });
});

describe('--sse', () => {
  it('c: the customer key and its MD5 go with every read, write and copy; Ceph refuses SSE-C over http and the writer gets EIO', async () => {
    const bucket = await newBucket('sse-c');
    await putObject(client, bucket, 'plain.txt', 'written without encryption\n');
    const session = await mountBucket({ bucket, s3: { ...server, endpoint: proxy.endpoint }, extraArgs: ['--sse', 'c', '--sse-c-key-file', keyFile] });
    try {
      const from = proxy.requests.length;
      // Ceph ignores the key on an object stored without one, so the read works and shows the headers.
      expect(await fsp.readFile(path.join(session.dir, 'plain.txt'), 'utf8')).toBe('written without encryption\n');
      const reads = sentFor(bucket, 'plain.txt', from);
      expect(reads.map(kind)).toEqual(expect.arrayContaining(['HEAD', 'GET']));
      for (const r of reads) expect(r.headers, kind(r)).toMatchObject(SSE_C);

      const file = await fsp.open(path.join(session.dir, 'new.txt'), 'w');
      await file.write('secret\n');
      await expect(file.close()).rejects.toMatchObject({ code: 'EIO' });
      const put = sentFor(bucket, 'new.txt', from).filter((r) => kind(r) === 'PutObject');
      expect(put.length).toBeGreaterThan(0);
      for (const r of put) expect(r).toMatchObject({ headers: SSE_C, status: 400 });

      await fsp.rename(path.join(session.dir, 'plain.txt'), path.join(session.dir, 'moved.txt'));
      const copies = sentFor(bucket, 'moved.txt', from).filter((r) => kind(r) === 'CopyObject');
      expect(copies).toHaveLength(1);
      expect(copies[0]?.headers).toMatchObject({ ...SSE_C, ...SSE_C_SOURCE });
      if (server.kind === 'ceph') {
        // Ceph 16 takes the SSE-C headers of CopyObject over http, yet stores the copy unencrypted.
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'moved.txt' }));
        expect(head.SSECustomerAlgorithm).toBeUndefined();
      }
    } finally {
      await session.unmount();
    }
  });

  it('s3: every write asks for AES256; Ceph refuses it over http and the writer gets EIO', async () => {
    const bucket = await newBucket('sse-s3');
    const session = await mountBucket({ bucket, s3: { ...server, endpoint: proxy.endpoint }, extraArgs: ['--sse', 's3'] });
    try {
      const from = proxy.requests.length;
      const file = await fsp.open(path.join(session.dir, 'a.txt'), 'w');
      await file.write('a\n');
      await expect(file.close()).rejects.toMatchObject({ code: 'EIO' });
      const put = sentFor(bucket, 'a.txt', from).filter((r) => kind(r) === 'PutObject');
      expect(put.length).toBeGreaterThan(0);
      for (const r of put) expect(r).toMatchObject({ headers: { 'x-amz-server-side-encryption': 'AES256' }, status: 400 });
      expect(session.log()).toMatch(/InvalidRequest|InvalidArgument/);
    } finally {
      await session.unmount();
    }
  });
});

describe('bucketfs doctor', () => {
  /** doctor's rows by check name: result and fix. */
  async function doctor(bucket: string, args: readonly string[]): Promise<{ code: number | null; rows: Map<string, { result: string; fix?: string }>; stdout: string }> {
    const r = await runCli(['doctor', bucket, '--endpoint', server.endpoint, ...args], cliEnv(server, local));
    const rows = new Map<string, { result: string; fix?: string }>();
    let last: { result: string; fix?: string } | undefined;
    for (const line of r.stdout.split('\n')) {
      const fix = /^\s+fix: (.*)$/.exec(line);
      if (fix && last) last.fix = fix[1];
      const row = /^(SSE-S3|SSE-KMS|SSE-C|storage class)\s+(\S+)/.exec(line);
      if (row) rows.set(row[1] as string, (last = { result: row[2] as string }));
      else if (!fix) last = undefined;
    }
    return { code: r.code, rows, stdout: r.stdout };
  }

  it.skipIf(server.kind !== 'ceph')('says what Ceph supports: STANDARD but no other class, no SSE over http; a configured one that fails is required', async () => {
    const bucket = await newBucket('doctor-sse');
    const plain = await doctor(bucket, []);
    expect(plain.code, plain.stdout).toBe(0);
    expect(plain.rows.get('storage class')).toEqual({ result: 'ok' });
    for (const name of ['SSE-S3', 'SSE-KMS', 'SSE-C']) {
      expect(plain.rows.get(name), name).toMatchObject({ result: 'no', fix: expect.stringMatching(/^none needed: bucketfs sends no such header unless --sse/) });
    }
    const configured = await doctor(bucket, ['--sse', 'c', '--sse-c-key-file', keyFile, '--storage-class', 'STANDARD_IA']);
    expect(configured.code, configured.stdout).toBe(1);
    expect(configured.rows.get('SSE-C')).toEqual({ result: 'FAILED', fix: expect.stringMatching(/SSE-C only over https .*: use an https endpoint, or mount without --sse c$/) });
    expect(configured.rows.get('storage class')).toEqual({ result: 'FAILED', fix: 'use a storage class the server defines (STANDARD always works), or leave out --storage-class STANDARD_IA' });
    expect(configured.stdout).toMatch(/: 2 required checks failed$/m);
  });
});
