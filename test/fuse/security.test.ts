// Security hygiene of a mount: the keys (which travel in the environment) never reach the log —
// not with --debug, not in an error — nor the spool records, the pid file or the daemon's command
// line; what the daemon writes is private to the mounting user (0600 files, 0700 folders); and the
// mount itself is private: without --allow-other the kernel refuses every other user (EACCES).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../support/fault-proxy.js';
import { putObject } from '../support/fixtures.js';
import {
  cliEnv,
  forgetDaemon,
  isMounted,
  makeTestDir,
  mountBucket,
  mustRun,
  removeTestDir,
  runCli,
  runMountCommand,
  runTool,
  unmountAll,
  withMount,
} from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const server = s3Server();
const client = makeClient(server);
let bucket: string;
const testDirs: string[] = [];

beforeAll(async () => {
  bucket = await newBucket('security');
  await putObject(client, bucket, 'hello.txt', 'hello\n');
});

afterAll(async () => {
  await unmountAll();
  client.destroy();
  for (const dir of testDirs) await removeTestDir(dir);
});

/** Every file and folder below `dir` with its permission bits. */
async function modesBelow(dir: string): Promise<{ file: string; mode: number; isDir: boolean }[]> {
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries.map(async (e) => {
      const file = path.join(e.parentPath, e.name);
      return { file, mode: (await fsp.stat(file)).mode & 0o777, isDir: e.isDirectory() };
    }),
  );
}

/** Asserts no file below `dir` contains `secret`; returns how many files were read. */
async function expectNoSecretBelow(dir: string, secret: string): Promise<number> {
  const files = (await modesBelow(dir)).filter((e) => !e.isDir);
  for (const { file } of files) expect((await fsp.readFile(file)).includes(secret), `${file} holds the secret key`).toBe(false);
  return files.length;
}

/** Opens argv[1], writes a line, says so, and holds it open until stdin closes. */
const HOLDER = 'import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)\nos.write(fd, b"held\\n")\nprint("written", flush=True)\nsys.stdin.read()\nos.close(fd)';

/** A fresh state folder (the daemon's XDG cache) with an empty mountpoint, and the CLI's env for it. */
async function freshRoot(label: string): Promise<{ root: string; dir: string; state: string; env: Record<string, string> }> {
  const root = await makeTestDir(label);
  testDirs.push(root);
  const dir = path.join(root, 'mnt');
  await fsp.mkdir(dir);
  return { root, dir, state: path.join(root, 'cache', 'bucketfs'), env: cliEnv(server, root) };
}

/** Starts a HOLDER on `file` and resolves once its bytes are written (the file stays open). */
async function holdOpen(file: string): Promise<ChildProcessWithoutNullStreams> {
  const holder = spawn('python3', ['-c', HOLDER, file]);
  expect(await once(createInterface({ input: holder.stdout }), 'line')).toEqual(['written']);
  return holder;
}

async function release(holder: ChildProcessWithoutNullStreams): Promise<void> {
  holder.stdin.end();
  if (holder.exitCode === null) await once(holder, 'close');
}

describe('the keys stay out of logs, errors, spool records and ps', () => {
  it('a --debug mount in the background, with operations that fail, writes them nowhere', async () => {
    const { dir, state, env } = await freshRoot('security');
    const secret = server.secretAccessKey;

    // A mount that fails on its keys (a real server checks the signature): the error names the
    // variable, never its value.
    if (server.kind !== 's3rver') {
      const refused = await runMountCommand(['mount', bucket, dir, '--endpoint', server.endpoint], { ...env, AWS_SECRET_ACCESS_KEY: `${secret}-wrong` }, dir);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/AWS_SECRET_ACCESS_KEY/);
      expect(refused.stderr + refused.stdout).not.toContain(secret);
    }

    // Through a proxy that can refuse connections: a request that fails, logged as an error.
    const proxy = await startFaultProxy(server.endpoint);
    const mounted = await runMountCommand(['mount', bucket, dir, '--endpoint', proxy.endpoint, '--debug', '--max-attempts', '2'], env, dir);
    expect(mounted.code, mounted.stderr).toBe(0);
    const pid = Number(/daemon pid (\d+)/.exec(mounted.stdout)?.[1]);
    const holder = await holdOpen(path.join(dir, 'held.txt'));
    try {
      // What `ps` shows: the command line only.
      const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8');
      expect(cmdline).toContain(dir);
      expect(cmdline).not.toContain(secret);

      await fsp.writeFile(path.join(dir, 'a.txt'), 'some data\n');
      expect(await fsp.readFile(path.join(dir, 'hello.txt'), 'utf8')).toBe('hello\n');
      await fsp.mkdir(path.join(dir, 'sub'));
      await fsp.rename(path.join(dir, 'a.txt'), path.join(dir, 'sub', 'b.txt'));
      await expect(fsp.readFile(path.join(dir, 'missing.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(fsp.link(path.join(dir, 'hello.txt'), path.join(dir, 'hard'))).rejects.toMatchObject({ code: 'EPERM' });
      await expect(fsp.rmdir(path.join(dir, 'sub'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
      // A request that fails (keys too long for S3 are refused before any request now).
      proxy.setMode('refuse');
      await expect(fsp.readFile(path.join(dir, 'unreachable.txt'))).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
      proxy.setMode('pass');
      // While a file is open its bytes and record wait in the spool.
      const spoolFiles = await expectNoSecretBelow(path.join(state, 'spool'), secret);
      expect(spoolFiles).toBeGreaterThan(0);
    } finally {
      proxy.setMode('pass');
      await release(holder);
    }
    const logFile = path.join(state, 'logs', `${bucket}.log`);
    const unmounted = await runCli(['unmount', dir], env).catch((e: Error) => ({ code: -1, stderr: e.message }));
    const log = await fsp.readFile(logFile, 'utf8');
    expect(unmounted.code, `${unmounted.stderr}\n${log.slice(-4000)}`).toBe(0);
    expect(await isMounted(dir)).toBe(false);
    forgetDaemon(dir);
    await proxy.close();

    expect(log).toMatch(/DEBUG/); // --debug was on: every S3 request is in there
    expect(log).toMatch(/ERROR/);
    expect(log).not.toContain(secret);
    expect(await expectNoSecretBelow(state, secret)).toBeGreaterThan(0);
  });
});

describe('what the daemon writes is private to the mounting user', () => {
  it('log, pid file, spool files and records: 0600 files in 0700 folders', async () => {
    const { dir, state, env } = await freshRoot('private');
    const mounted = await runMountCommand(['mount', bucket, dir, '--endpoint', server.endpoint], env, dir);
    expect(mounted.code, mounted.stderr).toBe(0);
    const holder = await holdOpen(path.join(dir, 'held.txt'));
    try {
      const entries = await modesBelow(state);
      expect(entries.filter((e) => !e.isDir).map((e) => path.relative(state, e.file))).toEqual(
        expect.arrayContaining([`logs/${bucket}.log`, expect.stringMatching(/^run\/.*\.json$/), expect.stringMatching(/^spool\/.*\.data$/)]),
      );
      for (const e of entries) expect(`${path.relative(state, e.file)} ${e.mode.toString(8)}`).toBe(`${path.relative(state, e.file)} ${e.isDir ? '700' : '600'}`);
    } finally {
      await release(holder);
      await runCli(['unmount', dir], env);
      forgetDaemon(dir);
    }
  });
});

describe('the mount is private to the mounting user unless --allow-other', () => {
  /** `ls DIR` as the user nobody (65534). */
  const lsAsNobody = (dir: string) => runTool('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ls', dir], { timeoutMs: 30_000 });

  it('another user gets EACCES on the default mount; with --allow-other the stored modes decide', async () => {
    const session = await mountBucket({ bucket, s3: server });
    try {
      expect((await mustRun('ls', [session.dir])).stdout).toContain('hello.txt');
      const refused = await lsAsNobody(session.dir);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/Permission denied/);
    } finally {
      await session.unmount();
    }
    // The same path, user and command succeed once the mount lets others in: the EACCES above is
    // the mount's privacy, not the folders around it.
    await withMount({ bucket, s3: server, extraArgs: ['--allow-other'] }, async (open) => {
      const listed = await lsAsNobody(open.dir);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('hello.txt');
      // default_permissions: the kernel applies the stored 0644 mode, so nobody cannot write.
      const written = await runTool('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'touch', path.join(open.dir, 'hello.txt')]);
      expect(written.code).not.toBe(0);
      expect(written.stderr).toMatch(/Permission denied/);
    });
  });
});
