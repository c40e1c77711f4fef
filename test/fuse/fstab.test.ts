// /etc/fstab and mount(8): `mount -t bucketfs` through /sbin/mount.bucketfs, `mount -t fuse.bucketfs`
// through mount.fuse, and a real fstab line read by `mount -T FILE`, each with keys from an s3fs-style
// passwd file and options as `-o key=value`. The helper is installed for the test and removed after.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMounted, makeTestDir, mustRun, pidsMentioning, registerDaemon, removeTestDir, REPO_ROOT, runTool, unmountAll, waitFor } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const server = s3Server();
const HELPER = '/sbin/mount.bucketfs';
/** mount(8) runs helpers without PATH: mount.fuse finds `bucketfs` on the shell's default path. */
const FUSE_PROGRAM = '/usr/local/sbin/bucketfs';

let bucket: string;
let root: string;
let passwd: string;
const installed: string[] = [];
/** The environment mount(8) runs with: no AWS keys (they come from the passwd file), a private state folder. */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  bucket = await newBucket('fstab');
  await makeClient(server).send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: 'hello from fstab\n' }));
  root = await makeTestDir('fstab');
  passwd = path.join(root, 'passwd-bucketfs');
  await fsp.writeFile(passwd, `${bucket}:${server.accessKeyId}:${server.secretAccessKey}\n`, { mode: 0o600 });
  const bin = path.join(root, 'bin');
  await fsp.mkdir(bin);
  await fsp.symlink(path.join(REPO_ROOT, 'bin', 'bucketfs'), path.join(bin, 'bucketfs'));
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  env.XDG_CACHE_HOME = path.join(root, 'cache');
  env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  for (const [link, target] of [
    [HELPER, 'mount.bucketfs'],
    [FUSE_PROGRAM, 'bucketfs'],
  ] as const) {
    if (await fsp.lstat(link).catch(() => undefined)) continue;
    await fsp.symlink(path.join(REPO_ROOT, 'bin', target), link);
    installed.push(link);
  }
});

afterAll(async () => {
  await unmountAll();
  for (const link of installed) await fsp.rm(link, { force: true });
  await removeTestDir(root);
});

function options(extra = ''): string {
  return `endpoint=${server.endpoint},region=${server.region},passwd_file=${passwd},stat_ttl=0,_netdev,nofail${extra}`;
}

/** Runs a mount command, registers whatever daemon it left, and checks the bucket shows through it. */
async function mountAndCheck(dir: string, command: string, args: readonly string[]): Promise<void> {
  const result = await runTool(command, args, { env, timeoutMs: 60_000 });
  for (const pid of await pidsMentioning(dir)) registerDaemon(pid, dir);
  if (await isMounted(dir)) registerDaemon(undefined, dir);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(await isMounted(dir)).toBe(true);
  expect(await fsp.readFile(path.join(dir, 'hello.txt'), 'utf8')).toBe('hello from fstab\n');
  const unmounted = await runTool(process.execPath, [path.join(REPO_ROOT, 'bin', 'bucketfs'), 'unmount', dir], { env });
  expect(unmounted.code).toBe(0);
  expect(await waitFor(async () => !(await isMounted(dir)), 10_000)).toBe(true);
}

describe('mounting from fstab', () => {
  it.skipIf(process.getuid?.() !== 0)('mount -t bucketfs calls /sbin/mount.bucketfs, which mounts in the background and returns when ready', async () => {
    const dir = path.join(root, 'mnt-helper');
    await fsp.mkdir(dir);
    await mountAndCheck(dir, 'mount', ['-t', 'bucketfs', bucket, dir, '-o', options()]);
  });

  it.skipIf(process.getuid?.() !== 0)('mount -t fuse.bucketfs goes through mount.fuse to bucketfs SOURCE MOUNTPOINT -o …', async () => {
    const dir = path.join(root, 'mnt-fuse');
    await fsp.mkdir(dir);
    await mountAndCheck(dir, 'mount', ['-t', 'fuse.bucketfs', bucket, dir, '-o', options(',ro')]);
  });

  it.skipIf(process.getuid?.() !== 0)('an fstab line mounts with mount -T FILE MOUNTPOINT', async () => {
    const dir = path.join(root, 'mnt-fstab');
    await fsp.mkdir(dir);
    const fstab = path.join(root, 'fstab');
    await fsp.writeFile(fstab, `# test fstab\n${bucket}  ${dir}  bucketfs  ${options(',x-systemd.automount')}  0 0\n`);
    await mountAndCheck(dir, 'mount', ['-T', fstab, dir]);
  });

  it('a bad option fails the mount with one line naming it, leaving nothing mounted', async () => {
    const dir = path.join(root, 'mnt-bad');
    await fsp.mkdir(dir);
    const result = await runTool(path.join(REPO_ROOT, 'bin', 'mount.bucketfs'), [bucket, dir, '-o', `${options()},no_such_option=1`], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no-such-option/);
    expect(await isMounted(dir)).toBe(false);
  });

  it('a passwd file others may read is refused, as s3fs does', async () => {
    const dir = path.join(root, 'mnt-open-passwd');
    await fsp.mkdir(dir);
    const open = path.join(root, 'passwd-open');
    await fsp.writeFile(open, `${server.accessKeyId}:${server.secretAccessKey}\n`, { mode: 0o644 });
    await fsp.chmod(open, 0o644);
    const result = await mustRun(path.join(REPO_ROOT, 'bin', 'mount.bucketfs'), [bucket, dir, '-o', `endpoint=${server.endpoint},passwd_file=${open}`], { env }).catch((e: Error) => e);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/chmod 600/);
    expect(await isMounted(dir)).toBe(false);
  });
});
