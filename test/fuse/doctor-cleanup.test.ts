// `bucketfs doctor` and `bucketfs cleanup`, run as the real CLI in a child process. doctor: against
// the global test server every required check passes (exit 0); against an s3rver started here the
// UploadPartCopy and If-Match rows fail with their cause and bucketfs's workaround; bad keys and a
// closed port fail it (exit 1) with the fix; it leaves nothing in the bucket. cleanup: aborts the
// upload a SIGKILLed mount left, keeps another client's upload unless --all, lists only with --dry-run.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, cliEnv, makeTestDir, mountBucket, removeTestDir, runCli, unmountAll, waitFor, type ToolResult } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { createBucket, makeClient, startS3Server, type S3ServerHandle, type S3ServerInfo } from '../support/s3-server.js';

const server = s3Server();

let local: string;
let s3rver: S3ServerHandle;
let client: S3Client;

beforeAll(async () => {
  local = await makeTestDir('doctor-cleanup');
  s3rver = await startS3Server('s3rver', path.join(local, 's3rver'));
  client = makeClient(server);
});

afterAll(async () => {
  await unmountAll();
  client?.destroy();
  await s3rver?.stop();
  if (local) await removeTestDir(local);
});

/** `bucketfs ARGS --endpoint …` with the server's keys in the environment and a private cache. */
function cli(s3: S3ServerInfo, args: readonly string[], extra: Record<string, string> = {}): Promise<ToolResult> {
  return runCli([...args, '--endpoint', s3.endpoint], cliEnv(s3, local, extra));
}

/** The table rows of doctor's output, by check name: [result, detail, fix line or undefined]. */
function rows(stdout: string): Map<string, { result: string; detail: string; fix: string | undefined }> {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => l.startsWith('CHECK'));
  const resultAt = lines[header]!.indexOf('RESULT');
  const detailAt = lines[header]!.indexOf('DETAIL');
  const out = new Map<string, { result: string; detail: string; fix: string | undefined }>();
  let last: { result: string; detail: string; fix: string | undefined } | undefined;
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === '') break;
    if (line.slice(0, resultAt).trim() === '') {
      if (last !== undefined) last.fix = line.trim().replace(/^fix: /, '');
      continue;
    }
    last = { result: line.slice(resultAt, detailAt).trim(), detail: line.slice(detailAt).trim(), fix: undefined };
    out.set(line.slice(0, resultAt).trim(), last);
  }
  return out;
}

const REQUIRED = ['reachability', 'credentials', 'bucket', 'region', 'PutObject', 'ListObjectsV2', 'ranged GET', 'multipart upload', 'CopyObject', 'DeleteObjects'];

describe('bucketfs doctor', () => {
  it('the global test server: every required check passes, exit 0, and nothing is left in the bucket', async () => {
    const bucket = await newBucket('doctor');
    const result = await cli(server, ['doctor', bucket]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const table = rows(result.stdout);
    for (const name of REQUIRED) expect(table.get(name)?.result, `${name}: ${table.get(name)?.detail}`).toBe('ok');
    expect(result.stdout).toMatch(new RegExp(`^bucketfs can use s3://${bucket}`, 'm'));
    if (server.kind === 'ceph') {
      expect(result.stdout).toMatch(/^server: .* \(ceph\)$/m);
      expect(table.get('copy If-Match')).toMatchObject({ result: 'ok', detail: expect.stringMatching(/x-amz-copy-if-match/) });
      expect(table.get('UploadPartCopy')?.result).toBe('ok');
      expect(table.get('UploadPartCopy If-Match')).toMatchObject({ result: 'no', fix: 'none needed: bucketfs checks the source with a HEAD after each part copy' });
      expect(table.get('checksums (CRC32)')).toMatchObject({ result: 'no', detail: expect.stringMatching(/MissingContentLength, HTTP 411/), fix: 'keep --checksum when-required (the default)' });
      expect(table.get('GET If-Match')?.result).toBe('ok');
    }
    expect(table.get('cleanup')?.result).toBe('ok');
    const left = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(left.Contents ?? []).toEqual([]);
    expect((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
  });

  it('s3rver: exit 0, with UploadPartCopy and the If-Match rows failing for the right cause', async () => {
    await createBucket(s3rver, 'doctor');
    const result = await cli(s3rver, ['doctor', 'doctor']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const table = rows(result.stdout);
    for (const name of REQUIRED) expect(table.get(name)?.result, `${name}: ${table.get(name)?.detail}`).toBe('ok');
    expect(table.get('UploadPartCopy')).toEqual({
      result: 'no',
      detail: 'the server does not implement UploadPartCopy (HTTP 501)',
      fix: 'none needed: bucketfs copies such parts through the client (a pinned GET, then UploadPart)',
    });
    expect(table.get('UploadPartCopy If-Match')).toMatchObject({ result: 'skipped', detail: 'needs UploadPartCopy' });
    expect(table.get('GET If-Match')).toMatchObject({ result: 'no', detail: expect.stringMatching(/^the server ignores If-Match on GET/), fix: 'none needed: bucketfs checks the ETag and size of every answer itself' });
    expect(table.get('copy If-Match')).toMatchObject({ result: 'no', detail: expect.stringMatching(/^the server ignores If-Match on CopyObject/) });
    expect(table.get('checksums (CRC32)')).toMatchObject({ result: 'no', detail: expect.stringMatching(/stored the aws-chunked framing as data/) });
    expect(result.stdout).toMatch(/^capabilities: .*conditionalRead=false conditionalCopy=false .*uploadPartCopySupported=false/m);
  });

  it.skipIf(server.kind === 's3rver')('a wrong secret: credentials FAILED with the fix, the rest skipped, exit 1', async () => {
    const bucket = await newBucket('doctor-keys');
    const result = await cli({ ...server, secretAccessKey: `${server.secretAccessKey}-wrong` }, ['doctor', bucket, '--max-attempts', '1']);
    expect(result.code).toBe(1);
    const table = rows(result.stdout);
    expect(table.get('reachability')?.result).toBe('ok');
    expect(table.get('credentials')).toEqual({
      result: 'FAILED',
      detail: 'signature mismatch (SignatureDoesNotMatch)',
      fix: 'check AWS_SECRET_ACCESS_KEY (and that the server accepts AWS Signature Version 4)',
    });
    expect(table.get('PutObject')?.result).toBe('skipped');
    expect(result.stdout).toMatch(/^bucketfs cannot use s3:\/\/.+: 1 required check failed$/m);
  });

  it('a closed port: reachability FAILED with the fix, exit 1', async () => {
    const result = await cli({ ...server, endpoint: `http://127.0.0.1:${await closedPort()}` }, ['doctor', 'any-bucket', '--max-attempts', '1']);
    expect(result.code).toBe(1);
    expect(rows(result.stdout).get('reachability')).toEqual({
      result: 'FAILED',
      detail: expect.stringMatching(/^cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection refused\)$/),
      fix: 'check --endpoint and that the server is running',
    });
  });
});

/** Incomplete uploads in `bucket`, as key → upload ids. */
async function pendingUploads(bucket: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const u of (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []) {
    out.set(u.Key ?? '', [...(out.get(u.Key ?? '') ?? []), u.UploadId ?? '']);
  }
  return out;
}

/** Writes 12 MiB to `file`, then waits (without closing) until its stdin closes. */
const SLOW_WRITER = [
  'import os, sys',
  'fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
  'data = bytes(range(256)) * 4096',
  'for _ in range(12):',
  '    os.write(fd, data)',
  'print("written", flush=True)',
  'sys.stdin.read()',
].join('\n');

describe('bucketfs cleanup', () => {
  it.skipIf(server.kind === 's3rver')('aborts the upload of a SIGKILLed mount, keeps a foreign one until --all', async () => {
    const bucket = await newBucket('cleanup');
    const cache = path.join(local, 'cleanup-cache');
    const foreign = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'foreign/upload.bin' }));
    const session = await mountBucket({ bucket, s3: server, extraArgs: ['--part-size', '5M'], env: { XDG_CACHE_HOME: cache } });
    const writer = spawn('python3', ['-c', SLOW_WRITER, path.join(session.dir, 'big.bin')], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      expect(await waitFor(async () => (await pendingUploads(bucket)).has('big.bin'), 60_000), 'the mount started an upload of big.bin').toBe(true);
      process.kill(session.pid, 'SIGKILL');
      await session.ended;
    } finally {
      writer.kill('SIGKILL');
      await session.unmount();
    }
    expect([...(await pendingUploads(bucket)).keys()].sort()).toEqual(['big.bin', 'foreign/upload.bin']);

    const dry = await cli(server, ['cleanup', bucket, '--dry-run'], { XDG_CACHE_HOME: cache });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^big\\.bin +\\S+ \\S+ +bucketfs \\(pid ${session.pid}\\) +would abort \\(started by bucketfs\\)$`, 'm'));
    expect(dry.stdout).toMatch(/^foreign\/upload\.bin .* another client +kept: not started by bucketfs here \(--all aborts it\)$/m);
    expect(dry.stdout).toMatch(/^1 of 2 incomplete uploads would be aborted \(dry run\)$/m);
    expect((await pendingUploads(bucket)).size).toBe(2);

    const run = await cli(server, ['cleanup', bucket], { XDG_CACHE_HOME: cache });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^big\.bin .* aborted$/m);
    expect(run.stdout).toMatch(new RegExp(`^aborted 1 of 2 incomplete uploads in s3://${bucket}/$`, 'm'));
    expect([...(await pendingUploads(bucket)).entries()]).toEqual([['foreign/upload.bin', [foreign.UploadId]]]);

    const young = await cli(server, ['cleanup', bucket, '--all', '--older-than', '1h'], { XDG_CACHE_HOME: cache });
    expect(young.stdout).toMatch(/^foreign\/upload\.bin .* kept: newer than --older-than$/m);
    expect((await pendingUploads(bucket)).size).toBe(1);

    const all = await cli(server, ['cleanup', bucket, '--all'], { XDG_CACHE_HOME: cache });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^foreign\/upload\.bin .* another client +aborted$/m);
    expect((await pendingUploads(bucket)).size).toBe(0);

    const none = await cli(server, ['cleanup', bucket], { XDG_CACHE_HOME: cache });
    expect(none.stdout).toBe(`no incomplete uploads in s3://${bucket}/\n`);
  });

  it('refuses a bad --older-than with one line and exit 2', async () => {
    const result = await cli(server, ['cleanup', 'any-bucket', '--older-than', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("bucketfs: --older-than 'soon' is not a duration: use e.g. 90s, 30m, 24h or 7d\n");
  });
});
