// `bucketfs mount MOUNTPOINT` on the real local S3 server, driven with real tools: the root lists the
// buckets, mkdir and rmdir there create and delete buckets another S3 client sees, files in a bucket
// are that bucket's objects, mv between buckets gets EXDEV and copies, an unmount finishes the
// uploads of every bucket, and mount(8)'s helper takes `*` for every bucket. Buckets the tests make
// are deleted with the SDK afterwards.

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DeleteBucketCommand, DeleteObjectCommand, HeadBucketCommand, ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MountStatus } from '../../src/control/status.js';
import { putObject, sha256 } from '../support/fixtures.js';
import {
  cliEnv,
  EVERY_BUCKET,
  forgetDaemon,
  isMounted,
  makeTestDir,
  mustRun,
  pidsMentioning,
  registerDaemon,
  removeTestDir,
  REPO_ROOT,
  runCli,
  runTool,
  waitFor,
  type MountSession,
} from '../support/mount-session.js';
import { useProxiedMounts } from '../support/proxied-mounts.js';
import { headObject, listKeys, objectBytes, objectSha256 } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const server = s3Server();
const client = makeClient(server);
// 1 MiB/s per connection when throttled: an upload of a few MiB is still running at unmount.
const mounts = useProxiedMounts('all-buckets', MiB);
/** Buckets to delete when the file is done (some tests delete theirs through the mount). */
const made: string[] = [];

async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw e;
  }
}

async function removeBucket(s3: S3Client, bucket: string): Promise<void> {
  if (!(await bucketExists(s3, bucket))) return;
  for (const key of await listKeys(s3, bucket)) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

async function bucket(label: string): Promise<string> {
  const name = await newBucket(label);
  made.push(name);
  return name;
}

afterAll(async () => {
  for (const name of made) await removeBucket(client, name);
  client.destroy();
});

/** The errno a syscall on the mount fails with (0 when it succeeds), from a separate process. */
async function errnoOf(call: 'rename' | 'rmdir' | 'mkdir', ...paths: string[]): Promise<number> {
  const script = `import os, sys\ntry:\n    os.${call}(*sys.argv[1:])\n    print(0)\nexcept OSError as e:\n    print(e.errno)`;
  return Number((await mustRun('python3', ['-c', script, ...paths], { timeoutMs: 60_000 })).stdout.trim());
}

const ENOTEMPTY = 39;
const EEXIST = 17;
const EINVAL = 22;
const EXDEV = 18;

describe('a mount of every bucket', () => {
  let session: MountSession;
  let first: string;
  let second: string;
  const at = (...names: string[]): string => path.join(session.dir, ...names);

  beforeAll(async () => {
    first = await bucket('every-first');
    second = await bucket('every-second');
    await putObject(client, first, 'hello.txt', 'hello from the first bucket');
    session = await mounts.mount(EVERY_BUCKET);
  });

  it('ls of the root shows existing buckets', async () => {
    const names = (await mustRun('ls', ['-1', session.dir])).stdout.split('\n');
    expect(names).toContain(first);
    expect(names).toContain(second);
    const long = (await mustRun('ls', ['-l', session.dir])).stdout.split('\n').filter((l) => l.endsWith(` ${first}`));
    expect(long).toHaveLength(1);
    expect(long[0]).toMatch(/^drwxr-xr-x/);
    expect((await mustRun('cat', [at(first, 'hello.txt')])).stdout).toBe('hello from the first bucket');
  });

  it('mkdir at the root creates a bucket another S3 client sees', async () => {
    const name = `every-new-${randomBytes(4).toString('hex')}`;
    made.push(name);
    await mustRun('mkdir', [at(name)]);
    expect(await bucketExists(client, name)).toBe(true);
    const listed = await client.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toContain(name);
    expect((await mustRun('ls', ['-1', session.dir])).stdout.split('\n')).toContain(name);
    expect(await errnoOf('mkdir', at(name))).toBe(EEXIST);
    expect(await errnoOf('mkdir', at('Not_A_Bucket'))).toBe(EINVAL);
    expect(await bucketExists(client, 'Not_A_Bucket')).toBe(false);
  });

  it('writes and reads a file in a bucket through the mount', async () => {
    const big = await mounts.source('big.bin', 12 * MiB);
    await mustRun('mkdir', [at(second, 'dir')]);
    await mustRun('cp', [big.file, at(second, 'dir', 'big.bin')]);
    expect(await objectSha256(client, second, 'dir/big.bin')).toBe(sha256(big.data));
    const read = await mustRun('sha256sum', [at(second, 'dir', 'big.bin')]);
    expect(read.stdout.split(' ')[0]).toBe(sha256(big.data));
    expect(await listKeys(client, second)).toEqual(['dir/', 'dir/big.bin']);
  });

  it('rmdir of a non-empty bucket fails with ENOTEMPTY, of an empty one removes it', async () => {
    const name = await bucket('every-rmdir');
    await putObject(client, name, 'keep.txt', 'still here');
    expect(await errnoOf('rmdir', at(name))).toBe(ENOTEMPTY);
    expect(await bucketExists(client, name)).toBe(true);
    await mustRun('rm', [at(name, 'keep.txt')]);
    expect(await errnoOf('rmdir', at(name))).toBe(0);
    expect(await bucketExists(client, name)).toBe(false);
    expect((await mustRun('ls', ['-1', session.dir])).stdout.split('\n')).not.toContain(name);
  });

  it('mv across buckets fails with EXDEV, and mv then copies and deletes', async () => {
    await fsp.writeFile(at(first, 'move-me.txt'), 'moving between buckets');
    expect(await errnoOf('rename', at(first, 'move-me.txt'), at(second, 'moved.txt'))).toBe(EXDEV);
    expect(await headObject(client, first, 'move-me.txt')).toBeDefined();
    await mustRun('mv', [at(first, 'move-me.txt'), at(second, 'moved.txt')]);
    expect(await headObject(client, first, 'move-me.txt')).toBeUndefined();
    expect((await objectBytes(client, second, 'moved.txt')).toString()).toBe('moving between buckets');

    await mustRun('mkdir', ['-p', at(first, 'tree', 'sub')]);
    await fsp.writeFile(at(first, 'tree', 'sub', 'leaf.txt'), 'leaf');
    await mustRun('mv', [at(first, 'tree'), at(second, 'tree')]);
    expect(await listKeys(client, first, 'tree/')).toEqual([]);
    expect((await objectBytes(client, second, 'tree/sub/leaf.txt')).toString()).toBe('leaf');
  });
});

describe('unmount of a mount of every bucket', () => {
  it('finishes the uploads of every bucket, and status shows each bucket meanwhile', async () => {
    const buckets = [await bucket('every-wb-one'), await bucket('every-wb-two')];
    const session = await mounts.mount(EVERY_BUCKET, ['--write-back']);
    const data = await mounts.source('pending.bin', 3 * MiB);
    mounts.proxy.setMode('throttle');
    try {
      // Under --write-back cp returns once the bytes are in the local spool.
      for (const name of buckets) await mustRun('cp', [data.file, path.join(session.dir, name, 'pending.bin')], { timeoutMs: 30_000 });
      for (const name of buckets) expect(await headObject(client, name, 'pending.bin')).toBeUndefined();
      const env = cliEnv(server, path.dirname(session.dir));
      const json = await runCli(['status', session.dir, '--json'], env, 30_000);
      expect(json.code, json.stderr).toBe(0);
      const status = (JSON.parse(json.stdout) as { mounts: MountStatus[] }).mounts[0];
      expect(status?.bucket).toBe('*');
      expect(status?.buckets?.map((b) => b.bucket).sort()).toEqual([...buckets].sort());
      const waiting = [...(status?.uploads.inFlight ?? []), ...(status?.uploads.pending ?? [])].map((u) => u.path).sort();
      expect(waiting).toEqual(buckets.map((name) => `/${name}/pending.bin`).sort());
      const text = await runCli(['status', session.dir], env, 30_000);
      for (const name of buckets) expect(text.stdout).toMatch(new RegExp(`in ${name} +`));
      await session.unmount();
    } finally {
      mounts.proxy.setMode('pass');
    }
    expect(session.exitDescription()).toBe('code 0');
    for (const name of buckets) expect(await objectSha256(client, name, 'pending.bin')).toBe(sha256(data.data));
  });
});

describe('mount(8) and fstab', () => {
  it("mount.bucketfs with the source * mounts every bucket, with the keys of the passwd file's default line", async () => {
    const name = await bucket('every-fstab');
    await putObject(client, name, 'hello.txt', 'hello from fstab');
    const root = await makeTestDir('every-fstab');
    const dir = path.join(root, 'mnt');
    await fsp.mkdir(dir);
    const passwd = path.join(root, 'passwd-bucketfs');
    await fsp.writeFile(passwd, `other-bucket:AKNOTTHESE:secret\n${server.accessKeyId}:${server.secretAccessKey}\n`, { mode: 0o600 });
    // As mount(8) runs it: no AWS keys in the environment, a private state folder.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))), XDG_CACHE_HOME: path.join(root, 'cache') };
    const options = `endpoint=${server.endpoint},region=${server.region},passwd_file=${passwd},stat_ttl=0,_netdev,nofail`;
    const mounted = await runTool(path.join(REPO_ROOT, 'bin', 'mount.bucketfs'), ['*', dir, '-o', options], { env, timeoutMs: 60_000 });
    for (const pid of await pidsMentioning(dir)) registerDaemon(pid, dir);
    if (await isMounted(dir)) registerDaemon(undefined, dir);
    expect(mounted.stderr).toBe('');
    expect(mounted.code).toBe(0);
    expect(mounted.stdout).toMatch(/^mounted every bucket at /);
    expect((await mustRun('ls', ['-1', dir])).stdout.split('\n')).toContain(name);
    expect(await fsp.readFile(path.join(dir, name, 'hello.txt'), 'utf8')).toBe('hello from fstab');
    const unmounted = await runCli(['unmount', dir], env, 60_000);
    expect(unmounted.code, unmounted.stderr).toBe(0);
    expect(await waitFor(async () => !(await isMounted(dir)), 10_000)).toBe(true);
    forgetDaemon(dir);
    await removeTestDir(root);
  });
});
