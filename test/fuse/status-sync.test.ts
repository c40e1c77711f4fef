// The daemon's control channel and signals, driven with the real CLI: `bucketfs status` shows an
// upload in flight (held back by a throttling TCP proxy) with its progress, in text and JSON;
// `bucketfs sync` says which files it could not upload and exits 1, then 0 once the server is back;
// SIGHUP drops cached metadata and reopens the log file without stopping the mount; SIGTERM finishes
// queued uploads before it exits 0. Processes are ended by PID.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MountStatus } from '../../src/control/status.js';
import { putObject, sha256 } from '../support/fixtures.js';
import {
  cliEnv,
  forgetDaemon,
  isAlive,
  isMounted,
  makeTestDir,
  mustRun,
  removeTestDir,
  runCli,
  runMountCommand,
  runTool,
  waitFor,
  type MountSession,
} from '../support/mount-session.js';
import { useProxiedMounts } from '../support/proxied-mounts.js';
import { headObject, objectSha256 } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const server = s3Server();
const client = makeClient(server);
// 1 MiB/s per connection: a 5 MiB part takes 5 s, so an upload is in flight long enough to watch.
const mounts = useProxiedMounts('status-sync', MiB);
const { writer, source } = mounts;

afterAll(() => client.destroy());

function mount(bucket: string, extraArgs: readonly string[] = []): Promise<MountSession> {
  return mounts.mount(bucket, ['--part-size', '5M', ...extraArgs]);
}

/** The environment that finds the session's pid files and control socket. */
function envOf(session: MountSession): Record<string, string> {
  return cliEnv(server, path.dirname(session.dir));
}

describe('bucketfs status', () => {
  it('shows an upload in flight with bytes done, rate and ETA, in text and in JSON', async () => {
    const bucket = await newBucket('status');
    // One part at a time: the first is done after 5 s and the upload runs 20 s more.
    const session = await mount(bucket, ['--upload-concurrency', '1']);
    const big = await source('big.bin', 22 * MiB);
    const w = writer();
    expect(await w.send(`open f ${path.join(session.dir, 'big.bin')}`)).toBe('ok open');
    mounts.proxy.setMode('throttle');
    let closing: Promise<string> | undefined;
    try {
      expect(await w.send(`write f ${big.file}`)).toBe('ok write');
      closing = w.send('close f', 180_000);
      let status: MountStatus | undefined;
      const inFlight = async (): Promise<boolean> => {
        const r = await runCli(['status', session.dir, '--json'], envOf(session), 30_000);
        expect(r.code, r.stderr).toBe(0);
        status = (JSON.parse(r.stdout) as { mounts: MountStatus[] }).mounts[0];
        const upload = status?.uploads.inFlight.find((u) => u.path === '/big.bin');
        return upload !== undefined && upload.doneBytes > 0 && upload.bytesPerSecond > 0;
      };
      expect(await waitFor(inFlight, 90_000, 500), JSON.stringify(status)).toBe(true);
      expect(status).toMatchObject({ mountpoint: session.dir, bucket, endpoint: mounts.proxy.endpoint, pid: session.pid, writeBack: false, openFiles: { writing: 1 } });
      const upload = status?.uploads.inFlight[0];
      expect(upload?.sizeBytes).toBe(big.data.length);
      expect(upload?.doneBytes).toBeLessThan(big.data.length);
      expect(upload?.etaSeconds).toBeGreaterThan(0);

      const text = await runCli(['status'], envOf(session), 30_000);
      expect(text.code, text.stderr).toBe(0);
      const lines = text.stdout.split('\n');
      expect(lines[0]).toBe(session.dir);
      expect(text.stdout).toMatch(new RegExp(`bucket +s3://${bucket}/ at ${mounts.proxy.endpoint}`));
      expect(text.stdout).toMatch(/uploads +1 in flight, 0 queued, 0 pending retries/);
      expect(text.stdout).toMatch(/\[#*-*\] +\d+% +[\d.]+ MiB \/ 22\.0 MiB +[\d.]+ (KiB|MiB)\/s +ETA \S+ +\/big\.bin/);
    } finally {
      mounts.proxy.setMode('pass');
    }
    expect(await closing).toBe('ok close');
    expect(await objectSha256(client, bucket, 'big.bin')).toBe(sha256(big.data));
    await session.unmount();
  });

  it('of a mountpoint no daemon serves: exit 1 and one line', async () => {
    const dir = await makeTestDir('not-mounted');
    try {
      const r = await runCli(['status', dir], cliEnv(server, dir), 30_000);
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^bucketfs: .*no bucketfs daemon answers/);
    } finally {
      await removeTestDir(dir);
    }
  });
});

describe('bucketfs sync', () => {
  it('names the files it could not upload and exits 1; exits 0 once the server is back', async () => {
    const bucket = await newBucket('sync');
    const session = await mount(bucket, ['--write-back', '--max-attempts', '1', '--request-timeout', '2']);
    const data = await source('unsynced.txt', 1000);
    const w = writer();
    expect(await w.send(`open f ${path.join(session.dir, 'unsynced.txt')}`)).toBe('ok open');
    mounts.proxy.setMode('refuse');
    try {
      expect(await w.send(`write f ${data.file}`)).toBe('ok write');
      // Under --write-back close needs only the local disk.
      expect(await w.send('close f')).toBe('ok close');
      const failed = await runCli(['sync', session.dir], envOf(session), 60_000);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/\/unsynced\.txt: upload of unsynced\.txt failed/);
      expect(await headObject(client, bucket, 'unsynced.txt')).toBeUndefined();
    } finally {
      mounts.proxy.setMode('pass');
    }
    const synced = await runCli(['sync', session.dir], envOf(session), 60_000);
    expect(synced.code, synced.stderr).toBe(0);
    expect(await objectSha256(client, bucket, 'unsynced.txt')).toBe(sha256(data.data));
    await session.unmount();
  });
});

describe('signals', () => {
  it('SIGHUP keeps the mount, drops cached metadata and reopens the log file', async () => {
    const bucket = await newBucket('sighup');
    const root = await makeTestDir('sighup');
    const dir = path.join(root, 'mnt');
    await fsp.mkdir(dir);
    const logFile = path.join(root, 'bucketfs.log');
    const env = cliEnv(server, root);
    const mounted = await runMountCommand(
      ['mount', bucket, dir, '--endpoint', server.endpoint, '--log-file', logFile, '--stat-ttl', '3600', '--negative-ttl', '3600'],
      env,
      dir,
    );
    expect(mounted.code, mounted.stderr).toBe(0);
    const pid = Number(/daemon pid (\d+)/.exec(mounted.stdout)?.[1]);
    try {
      const late = path.join(dir, 'late.txt');
      expect((await runTool('stat', [late])).code).not.toBe(0);
      await putObject(client, bucket, 'late.txt', Buffer.from('made by another client'));
      // "Not found" is trusted for an hour on this mount.
      expect((await runTool('stat', [late])).code).not.toBe(0);

      await fsp.rename(logFile, `${logFile}.1`);
      process.kill(pid, 'SIGHUP');
      const reopened = async () => (await fsp.readFile(logFile, 'utf8').catch(() => '')).includes('received SIGHUP');
      expect(await waitFor(reopened, 10_000)).toBe(true);
      expect(await fsp.readFile(`${logFile}.1`, 'utf8')).toContain(`mounted s3://${bucket}/`);
      expect(isAlive(pid)).toBe(true);
      expect(await isMounted(dir)).toBe(true);
      expect((await mustRun('cat', [late])).stdout).toBe('made by another client');
      await mustRun('cp', [`${logFile}.1`, path.join(dir, 'after-hup.txt')]);
      expect(await headObject(client, bucket, 'after-hup.txt')).toBeDefined();
    } finally {
      const unmounted = await runCli(['unmount', dir], env, 60_000);
      if (unmounted.code === 0) forgetDaemon(dir);
      // Anything still mounted or running is ended by unmountAll; the folder goes once nothing is mounted.
      if (!(await isMounted(dir))) await removeTestDir(root);
      expect(unmounted.code, unmounted.stderr).toBe(0);
    }
  });

  it('SIGTERM finishes the queued uploads, unmounts and exits 0', async () => {
    const bucket = await newBucket('sigterm');
    const session = await mount(bucket, ['--write-back']);
    const data = await source('queued.bin', 3 * MiB);
    mounts.proxy.setMode('throttle');
    try {
      await mustRun('cp', [data.file, path.join(session.dir, 'queued.bin')], { timeoutMs: 20_000 });
      expect(await headObject(client, bucket, 'queued.bin')).toBeUndefined();
      process.kill(session.pid, 'SIGTERM');
      await session.ended;
    } finally {
      mounts.proxy.setMode('pass');
    }
    expect(session.exitDescription()).toBe('code 0');
    expect(await isMounted(session.dir)).toBe(false);
    expect(await objectSha256(client, bucket, 'queued.bin')).toBe(sha256(data.data));
    await session.unmount();
  });
});
