// The mount and unmount commands as a user runs them, in the background (the default) and with
// --foreground: a bad endpoint, bad keys, a missing bucket or an unusable mountpoint must end with a
// non-zero exit, ONE line on stderr that names the cause, no mount and no daemon left (checked by PID).

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putObject } from '../support/fixtures.js';
import {
  cliEnv,
  closedPort,
  forgetDaemon,
  isAlive,
  isMounted,
  makeTestDir,
  mountBucket,
  mustRun,
  pidsMentioning,
  registerDaemon,
  removeTestDir,
  runCli,
  runMountCommand,
  runTool,
  unmountAll,
  waitFor,
  type S3Access,
  type ToolResult,
} from '../support/mount-session.js';
import { installWithPrebuiltFuse } from '../support/install-copy.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const server = s3Server();
const client = makeClient(server);
let bucket: string;

beforeAll(async () => {
  bucket = await newBucket('mount-cli');
  await putObject(client, bucket, 'hello.txt', 'hello\n');
});

/** Every directory the tests made, deleted once nothing is mounted below them. */
const testDirs: string[] = [];

afterAll(async () => {
  await unmountAll();
  client.destroy();
  for (const dir of testDirs) await removeTestDir(dir);
});

type Mode = 'background' | 'foreground';

interface Attempt {
  readonly source?: string;
  readonly s3?: S3Access;
  /** The mountpoint; default a fresh empty directory. */
  readonly dir?: string;
}

/** A fresh state directory and an empty mountpoint inside it. */
async function freshMountpoint(): Promise<{ root: string; dir: string }> {
  const root = await makeTestDir('cli');
  testDirs.push(root);
  const dir = path.join(root, 'mnt');
  await fsp.mkdir(dir);
  return { root, dir };
}

/** Runs `bucketfs mount` the way a user would; the keys travel in the environment. */
async function mount(mode: Mode, attempt: Attempt): Promise<{ result: ToolResult; dir: string; root: string }> {
  const fresh = await freshMountpoint();
  const dir = attempt.dir ?? fresh.dir;
  const s3 = attempt.s3 ?? server;
  const args = ['mount', attempt.source ?? bucket, dir, '--endpoint', s3.endpoint, ...(mode === 'foreground' ? ['--foreground'] : [])];
  const result = await runMountCommand(args, cliEnv(s3, fresh.root), dir);
  return { result, dir, root: fresh.root };
}

/** The failure contract: exit ≠ 0, one stderr line naming the cause, nothing mounted, no daemon. */
async function expectCleanFailure(result: ToolResult, dir: string, cause: RegExp): Promise<void> {
  expect(result.code, `stdout: ${result.stdout}\nstderr: ${result.stderr}`).not.toBe(0);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, 'exactly one line on stderr').toHaveLength(1);
  expect(lines[0]).toMatch(/^bucketfs: /);
  expect(lines[0]).toMatch(cause);
  expect(await isMounted(dir)).toBe(false);
  // The CLI may exit a moment before the daemon it started has finished exiting.
  expect(await waitFor(async () => (await pidsMentioning(dir)).length === 0, 10_000)).toBe(true);
}

describe.each<Mode>(['background', 'foreground'])('bucketfs mount (%s): bad input fails cleanly', (mode) => {
  it('an unreachable endpoint (a closed port on 127.0.0.1)', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const { result, dir } = await mount(mode, { s3: { ...server, endpoint } });
    await expectCleanFailure(result, dir, /cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  // s3rver checks the access key but not the signature, so only a real server can refuse a bad secret.
  it.skipIf(server.kind === 's3rver')('a wrong secret key', async () => {
    const { result, dir } = await mount(mode, { s3: { ...server, secretAccessKey: `${server.secretAccessKey}-wrong` } });
    await expectCleanFailure(result, dir, /SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY/);
  });

  it('an unknown access key', async () => {
    const { result, dir } = await mount(mode, { s3: { ...server, accessKeyId: 'BUCKETFSNOSUCHKEY000' } });
    await expectCleanFailure(result, dir, /InvalidAccessKeyId.*AWS_ACCESS_KEY_ID/);
  });

  it('a bucket that does not exist', async () => {
    const missing = `missing-${Date.now().toString(36)}`;
    const { result, dir } = await mount(mode, { source: missing });
    await expectCleanFailure(result, dir, new RegExp(`bucket '${missing}' does not exist`));
  });

  it('a mountpoint that does not exist', async () => {
    const { root } = await freshMountpoint();
    const dir = path.join(root, 'no-such-dir');
    const { result } = await mount(mode, { dir });
    await expectCleanFailure(result, dir, /does not exist: create it first/);
    await expect(fsp.stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('a mountpoint that is not empty', async () => {
    const { dir } = await freshMountpoint();
    await fsp.writeFile(path.join(dir, 'precious.txt'), 'keep me\n');
    const { result } = await mount(mode, { dir });
    await expectCleanFailure(result, dir, /is not empty/);
    expect(await fsp.readFile(path.join(dir, 'precious.txt'), 'utf8')).toBe('keep me\n');
  });

  it('a mountpoint that is already mounted, which stays mounted and working', async () => {
    const first = await mountBucket({ bucket, s3: server });
    try {
      const { result } = await mount(mode, { dir: first.dir });
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^bucketfs: .*is already a mount point/);
      // Only the first daemon serves the directory.
      expect(await waitFor(async () => (await pidsMentioning(first.dir)).every((pid) => pid === first.pid), 10_000)).toBe(true);
      expect(await isMounted(first.dir)).toBe(true);
      expect((await mustRun('cat', [path.join(first.dir, 'hello.txt')])).stdout).toBe('hello\n');
    } finally {
      await first.unmount();
    }
  });
});

describe('bucketfs mount in the background', () => {
  it('reports the daemon pid, serves the bucket, and bucketfs unmount ends the daemon', async () => {
    const { result, dir, root } = await mount('background', {});
    expect(result.code, result.stderr).toBe(0);
    const pid = Number(/daemon pid (\d+)/.exec(result.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    // registered by runMountCommand already; the pid it reports must be the one serving the mount
    expect(await pidsMentioning(dir)).toEqual([pid]);
    expect(result.stdout).toContain(`mounted s3://${bucket}/ on ${dir}`);
    expect(await isMounted(dir)).toBe(true);
    expect(isAlive(pid)).toBe(true);
    expect((await mustRun('cat', [path.join(dir, 'hello.txt')])).stdout).toBe('hello\n');

    const unmounted = await runCli(['unmount', dir], cliEnv(server, root));
    expect(unmounted.code, unmounted.stderr).toBe(0);
    expect(unmounted.stdout.trim()).toBe(`unmounted ${dir}`);
    expect(await isMounted(dir)).toBe(false);
    // `bucketfs unmount` returns only once the daemon has exited.
    expect(isAlive(pid)).toBe(false);
    forgetDaemon(dir);
  });
});

describe('an install whose fuse-native rebuild did not run', () => {
  it.each<Mode>(['background', 'foreground'])('%s: exit ≠ 0 with one line naming the command to run, nothing mounted', async (mode) => {
    const { root, dir } = await freshMountpoint();
    const bin = await installWithPrebuiltFuse(path.join(root, 'install'));
    const args = [bin, 'mount', bucket, dir, '--endpoint', server.endpoint, ...(mode === 'foreground' ? ['--foreground'] : [])];
    let result: ToolResult;
    try {
      result = await runTool(process.execPath, args, { env: { ...process.env, ...cliEnv(server, root) }, timeoutMs: 60_000 });
    } finally {
      // Should the check let the mount through, the clean-up must still find what it left.
      for (const pid of await pidsMentioning(dir)) registerDaemon(pid, dir);
      if (await isMounted(dir)) registerDaemon(undefined, dir);
    }
    const script = path.join(root, 'install', 'scripts', 'build-fuse-native.mjs');
    await expectCleanFailure(result, dir, new RegExp(`fuse-native in .* is not the patched build bucketfs needs: it loaded the unpatched prebuilt addon .*; run node ${script}$`));
  });
});

describe('bucketfs unmount of something not mounted', () => {
  it('an empty directory: exit ≠ 0 and one line saying it is not mounted', async () => {
    const { root, dir } = await freshMountpoint();
    const result = await runCli(['unmount', dir], cliEnv(server, root));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trimEnd().split('\n')).toEqual([`bucketfs: ${dir} is not mounted`]);
  });

  it('a directory that does not exist: exit ≠ 0 and one line', async () => {
    const { root } = await freshMountpoint();
    const dir = path.join(root, 'gone');
    const result = await runCli(['unmount', dir], cliEnv(server, root));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trimEnd().split('\n')).toEqual([`bucketfs: ${dir} is not mounted`]);
  });
});
