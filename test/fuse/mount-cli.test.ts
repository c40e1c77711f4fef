// The mount and unmount commands as a user runs them, in the background (the default) and with
// --foreground: a bad endpoint, bad keys, a missing bucket or an unusable mountpoint must end with a
// non-zero exit, ONE line on stderr that names the cause, no mount and no daemon left (checked by PID).
// The daemon's life: a dead mountpoint (daemon SIGKILLed) is healed by the next mount and cleaned by
// unmount; a pid file whose pid now belongs to another process never gets it signalled; SIGTERM
// and SIGINT finish uploads, unmount and exit 0.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, putObject, sha256 } from '../support/fixtures.js';
import {
  BUCKETFS_BIN,
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
import { objectBytes } from '../support/s3-objects.js';
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

/** Has `pid` exited? Gone, or a zombie its parent has not reaped yet (kill(pid, 0) still works). */
async function hasExited(pid: number): Promise<boolean> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

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
    expect(await hasExited(pid)).toBe(true);
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

describe('bucketfs unmount of a daemon nobody reaps', () => {
  it('returns once the daemon has exited, though it stays a zombie', async () => {
    const { root, dir } = await freshMountpoint();
    const env = cliEnv(server, root);
    // The daemon's parent is a `sleep` that never waits for it: once it exits it stays a zombie,
    // and kill(pid, 0) still succeeds on a zombie.
    const daemon = `"${process.execPath}" "${BUCKETFS_BIN}" mount ${bucket} "${dir}" --endpoint ${server.endpoint} --foreground`;
    const parent = spawn('sh', ['-c', `${daemon} >/dev/null 2>&1 & exec sleep 600`], { env: { ...process.env, ...env }, stdio: 'ignore' });
    sleepers.push(parent);
    expect(await waitFor(() => isMounted(dir), 30_000)).toBe(true);
    const [pid] = await pidsMentioning(dir);
    registerDaemon(pid, dir);

    const startedMs = Date.now();
    const result = await runCli(['unmount', dir], env, 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(`unmounted ${dir}`);
    expect(Date.now() - startedMs).toBeLessThan(30_000);
    expect(await isMounted(dir)).toBe(false);
    expect(await hasExited(pid as number)).toBe(true);
    expect(isAlive(pid as number)).toBe(true); // a zombie: exited, not reaped
    forgetDaemon(dir);
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

/** The pid file the CLI keeps for `dir` under the state directory `root` (only one per fresh root). */
async function pidFileOf(root: string): Promise<string> {
  const runDir = path.join(root, 'cache', 'bucketfs', 'run');
  const files = (await fsp.readdir(runDir)).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return path.join(runDir, files[0] as string);
}

/** Mounts in the background and SIGKILLs the daemon: the mountpoint is left dead (ENOTCONN). */
async function deadMount(): Promise<{ dir: string; root: string }> {
  const { result, dir, root } = await mount('background', {});
  expect(result.code, result.stderr).toBe(0);
  const pid = Number(/daemon pid (\d+)/.exec(result.stdout)?.[1]);
  process.kill(pid, 'SIGKILL');
  expect(await waitFor(() => hasExited(pid), 10_000)).toBe(true);
  // Requests caught in flight by the kernel's abort of the connection answer ECONNABORTED; every
  // later one ENOTCONN, the state a user finds.
  const code = async () => (await fsp.stat(dir).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code)) as string;
  expect(await waitFor(async () => (await code()) === 'ENOTCONN', 10_000), await code()).toBe(true);
  expect(await isMounted(dir)).toBe(true);
  return { dir, root };
}

/** A `sleep` that stands for whatever process got a dead daemon's pid; ended by its PID after the test. */
function unrelatedProcess(): ChildProcess {
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  sleepers.push(sleeper);
  return sleeper;
}

const sleepers: ChildProcess[] = [];
afterAll(() => {
  for (const sleeper of sleepers) if (sleeper.exitCode === null && sleeper.signalCode === null) sleeper.kill('SIGKILL');
});

describe('a daemon that died', () => {
  it('bucketfs mount heals the dead mountpoint, says so in one line, then mounts', async () => {
    const { dir, root } = await deadMount();
    const again = await runMountCommand(['mount', bucket, dir, '--endpoint', server.endpoint], cliEnv(server, root), dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    const lines = again.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`healed ${dir}: its daemon had died and left a dead mount (Transport endpoint is not connected); detached it`);
    expect(lines[1]).toContain(`mounted s3://${bucket}/ on ${dir}`);
    expect((await mustRun('cat', [path.join(dir, 'hello.txt')])).stdout).toBe('hello\n');
    // One mount on the directory, not a live one stacked on a dead one.
    const mountinfo = await fsp.readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo.split('\n').filter((line) => line.split(' ')[4] === dir)).toHaveLength(1);
    const unmounted = await runCli(['unmount', dir], cliEnv(server, root));
    expect(unmounted.stdout.trim(), unmounted.stderr).toBe(`unmounted ${dir}`);
    expect(await isMounted(dir)).toBe(false);
    forgetDaemon(dir);
  });

  it('bucketfs unmount cleans the dead mountpoint and never signals the process that now has the pid', async () => {
    const { dir, root } = await deadMount();
    // The crashed daemon's pid now belongs to an unrelated process, started at the recorded time:
    // only its command line can tell it apart.
    const sleeper = unrelatedProcess();
    const record = JSON.parse(await fsp.readFile(await pidFileOf(root), 'utf8')) as Record<string, unknown>;
    const stat = await fsp.readFile(`/proc/${sleeper.pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    await fsp.writeFile(await pidFileOf(root), JSON.stringify({ ...record, pid: sleeper.pid, startTicks }));

    const result = await runCli(['unmount', dir], cliEnv(server, root));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(`unmounted ${dir} (no daemon was running for it)`);
    expect(await isMounted(dir)).toBe(false);
    expect((await fsp.readdir(dir))).toEqual([]);
    expect(isAlive(sleeper.pid as number)).toBe(true);
    await expect(fsp.readdir(path.join(root, 'cache', 'bucketfs', 'run'))).resolves.toEqual([]);
    forgetDaemon(dir);
  });

  it('a stale pid file on a directory no longer mounted: the process lives, the file goes, one line', async () => {
    const { dir, root } = await deadMount();
    await mustRun('fusermount', ['-uz', dir]); // the user cleaned up by hand, the pid file stayed
    forgetDaemon(dir);
    const file = await pidFileOf(root);
    const record = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    const other = await mountBucket({ bucket, s3: server });
    const sleeper = unrelatedProcess();
    try {
      // Neither an unrelated process nor a live bucketfs daemon of ANOTHER mountpoint is this
      // directory's daemon.
      for (const pid of [sleeper.pid as number, other.pid]) {
        await fsp.writeFile(file, JSON.stringify({ ...record, pid, startTicks: undefined }));
        const result = await runCli(['unmount', dir], cliEnv(server, root));
        expect(result.code).not.toBe(0);
        expect(result.stderr.trimEnd().split('\n')).toEqual([`bucketfs: ${dir} is not mounted`]);
        await expect(fsp.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      }
      expect(isAlive(sleeper.pid as number)).toBe(true);
      expect(isAlive(other.pid)).toBe(true);
      expect((await mustRun('cat', [path.join(other.dir, 'hello.txt')])).stdout).toBe('hello\n');
    } finally {
      await other.unmount();
    }
  });
});

/** Opens argv[1], writes stdin's bytes to it, says so, and holds it open until stdin says more. */
const HOLDER = [
  'import os, sys',
  'data = sys.stdin.buffer.read(int(sys.argv[2]))',
  'fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
  'done = 0',
  'while done < len(data):',
  '    done += os.write(fd, data[done:])',
  'print("written", done, flush=True)',
  'sys.stdin.readline()',
  'try:',
  '    os.close(fd)',
  'except OSError:',
  '    pass',
].join('\n');

describe.each(['SIGTERM', 'SIGINT'] as const)('%s to the daemon', (signal) => {
  it('finishes the uploads, unmounts and exits 0', async () => {
    const session = await mountBucket({ bucket, s3: server });
    const data = pseudoRandomBytes(`held-${signal}`, 3 * 1024 * 1024 + 17);
    await fsp.writeFile(path.join(session.dir, `closed-${signal}.txt`), 'closed before the signal\n');
    // A writer still holding its file open when the signal comes: its bytes are written, not closed.
    const holder = spawn('python3', ['-c', HOLDER, path.join(session.dir, `held-${signal}.bin`), String(data.length)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const said = once(createInterface({ input: holder.stdout }), 'line');
      holder.stdin.write(data);
      expect(await said).toEqual([`written ${data.length}`]);

      process.kill(session.pid, signal);
      await Promise.race([session.ended, new Promise((r) => setTimeout(r, 60_000))]);
      expect(session.exitStatus(), session.log()).toBe('code 0');
      expect(await isMounted(session.dir)).toBe(false);
      expect((await objectBytes(client, bucket, `closed-${signal}.txt`)).toString()).toBe('closed before the signal\n');
      expect(sha256(await objectBytes(client, bucket, `held-${signal}.bin`))).toBe(sha256(data));
    } finally {
      holder.stdin.end('\n');
      await session.unmount();
    }
  });
});
