// Crashes and the spool on a real mount of the real S3 server: the daemon is SIGKILLed while big files
// upload (parts in flight, held back by a throttling TCP proxy) and the next mount finishes them; a
// file another client changed meanwhile becomes a conflict sibling; the spool folder removed under a
// running mount is made again; --write-back returns from close before the upload and the spool
// carries its data across a SIGKILL. Every mount goes through the same proxy (the spool folder is
// per endpoint), and every process is ended by PID.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlSocketPath } from '../../src/control/paths.js';
import { putObject, sha256 } from '../support/fixtures.js';
import { cliEnv, mustRun, runCli, waitFor, type MountSession } from '../support/mount-session.js';
import { useProxiedMounts } from '../support/proxied-mounts.js';
import { headObject, incompleteUploads, listKeys, objectSha256 } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const server = s3Server();
const client = makeClient(server);
/**
 * Upload rate of each connection while throttled: a 5 MiB part takes about 13 s, yet stays above
 * the slowest rate the daemon's upload timeouts allow (256 KiB/s).
 */
const mounts = useProxiedMounts('crash-recovery', 400 * 1024);
const { writer, source } = mounts;

afterAll(() => client.destroy());

/**
 * Every mount of this file shares one XDG cache home, as mounts of one user on one machine do: the
 * journal of multipart uploads a killed daemon started lives there, and the next mount reads it.
 */
const stateDir = () => mounts.local;
const cacheHome = () => path.join(stateDir(), 'cache');

/** Mounts `bucket` through the proxy with a spool dir that outlives the mount. */
function mount(bucket: string, spoolDir: string, extraArgs: readonly string[] = []): Promise<MountSession> {
  return mounts.mount(bucket, ['--spool-dir', spoolDir, '--part-size', '5M', ...extraArgs], { XDG_CACHE_HOME: cacheHome() });
}

/** SIGKILL, then clear the dead mount and the control socket the daemon leaves. */
async function killHard(session: MountSession): Promise<void> {
  process.kill(session.pid, 'SIGKILL');
  await session.ended;
  await fsp.rm(controlSocketPath(session.dir, cacheHome()), { force: true });
  await session.unmount();
}

/** The text of every spool record below `spoolDir`. */
async function spoolTexts(spoolDir: string): Promise<string[]> {
  const names = (await fsp.readdir(spoolDir, { recursive: true })).filter((n) => n.endsWith('.json'));
  return Promise.all(names.map((n) => fsp.readFile(path.join(spoolDir, n), 'utf8').catch(() => '')));
}

/** How many spool records below `spoolDir` name a multipart upload. */
async function namedUploads(spoolDir: string): Promise<number> {
  return (await spoolTexts(spoolDir)).filter((t) => t.includes('"uploadId"')).length;
}

/** Lines of the daemon log at a level. */
function logLines(session: MountSession, level: 'WARN' | 'ERROR'): string[] {
  return session.log().split('\n').filter((l) => l.includes(` ${level} `));
}

describe('SIGKILL while files are being written', () => {
  it('the next mount uploads them completely, aborts the dead uploads, and logs no warning', async () => {
    const bucket = await newBucket('crash-big');
    const spoolDir = path.join(mounts.local, 'spool-big');
    const first = await mount(bucket, spoolDir);
    const files = await Promise.all([0, 1, 2].map((i) => source(`big-${i}.bin`, 17 * MiB + i * 1000)));
    const w = writer();
    mounts.proxy.setMode('throttle');
    for (const [i, f] of files.entries()) {
      expect(await w.send(`open f${i} ${path.join(first.dir, `big-${i}.bin`)}`)).toBe('ok open');
      expect(await w.send(`write f${i} ${f.file}`)).toBe('ok write');
    }
    // The first close waits for its upload; parts of all three files are in flight, and the spool
    // records name their uploads (one created in the instant before a crash cannot be named: see
    // docs/SEMANTICS.md).
    const closing = w.send('close f0').catch(() => 'killed');
    expect(await waitFor(async () => (await incompleteUploads(client, bucket)).length >= 3, 30_000)).toBe(true);
    expect(await waitFor(async () => (await namedUploads(spoolDir)) >= 3, 30_000)).toBe(true);
    await killHard(first);
    w.kill();
    await closing;
    expect((await incompleteUploads(client, bucket)).length).toBeGreaterThanOrEqual(3);
    // The records name keys, ranges, ETags and upload ids: never the credentials.
    const recordsText = (await spoolTexts(spoolDir)).join('\n');
    expect(recordsText).toContain('"uploadId"');
    expect(recordsText).not.toContain(server.secretAccessKey);
    expect(recordsText).not.toContain(server.accessKeyId);

    mounts.proxy.setMode('pass');
    const next = await mount(bucket, spoolDir);
    const complete = async () => {
      for (const [i, f] of files.entries()) {
        if ((await headObject(client, bucket, `big-${i}.bin`))?.sizeBytes !== f.data.length) return false;
      }
      return true;
    };
    expect(await waitFor(complete, 120_000, 250), next.log()).toBe(true);
    for (const [i, f] of files.entries()) expect(await objectSha256(client, bucket, `big-${i}.bin`)).toBe(sha256(f.data));
    expect(await incompleteUploads(client, bucket)).toEqual([]);
    expect(next.log()).toMatch(/recovery: uploading \/big-0\.bin/);
    expect(next.log()).toMatch(/recovery: 3 file\(s\) uploading, 0 already done, 0 conflict\(s\), 0 kept in the spool, 3 incomplete multipart upload\(s\) aborted/);
    expect(logLines(next, 'WARN')).toEqual([]);
    expect(logLines(next, 'ERROR')).toEqual([]);
    await next.unmount();
  });

  it('a file another client changed meanwhile is kept as a conflict sibling with one WARN; an uploaded one is cleaned silently', async () => {
    const bucket = await newBucket('crash-conflict');
    const spoolDir = path.join(mounts.local, 'spool-conflict');
    const first = await mount(bucket, spoolDir);
    const mine = await source('mine.txt', 300 * 1024);
    const done = await source('done.txt', 1000);
    const w = writer();
    expect(await w.send(`open shared ${path.join(first.dir, 'shared.txt')}`)).toBe('ok open');
    expect(await w.send(`write shared ${mine.file}`)).toBe('ok write');
    expect(await w.send(`open done ${path.join(first.dir, 'done.txt')}`)).toBe('ok open');
    expect(await w.send(`write done ${done.file}`)).toBe('ok write');
    // In the bucket before the crash, though still open: nothing is left to do for it.
    expect(await w.send('fsync done')).toBe('ok fsync');
    await killHard(first);
    w.kill();
    await putObject(client, bucket, 'shared.txt', Buffer.from('written by another client'));

    const next = await mount(bucket, spoolDir);
    const sibling = async () => (await listKeys(client, bucket)).find((k) => k.startsWith('shared.txt.bucketfs-conflict-'));
    expect(await waitFor(async () => (await sibling()) !== undefined, 60_000, 250), next.log()).toBe(true);
    const key = (await sibling()) as string;
    expect(key).toMatch(/^shared\.txt\.bucketfs-conflict-\d{8}-\d{6}$/);
    expect(await waitFor(async () => (await headObject(client, bucket, key))?.sizeBytes === mine.data.length, 60_000, 250)).toBe(true);
    expect(await objectSha256(client, bucket, key)).toBe(sha256(mine.data));
    expect((await fsp.readFile(path.join(next.dir, 'shared.txt'))).toString()).toBe('written by another client');
    expect(await objectSha256(client, bucket, 'done.txt')).toBe(sha256(done.data));
    const warnings = logLines(next, 'WARN');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(key);
    expect(warnings.join('\n')).not.toContain('done.txt');
    await next.unmount();
  });
});

describe('the spool folder', () => {
  it('removed under a running mount (rm -rf) is made again: writes keep working', async () => {
    const bucket = await newBucket('spool-removed');
    const spoolDir = path.join(mounts.local, 'spool-removed');
    const session = await mount(bucket, spoolDir);
    const half = await source('half.bin', 3 * MiB);
    const w = writer();
    expect(await w.send(`open f ${path.join(session.dir, 'kept-open.bin')}`)).toBe('ok open');
    expect(await w.send(`write f ${half.file}`)).toBe('ok write');
    await fsp.rm(spoolDir, { recursive: true, force: true });
    expect(await w.send(`write f ${half.file}`)).toBe('ok write');
    expect(await w.send('close f')).toBe('ok close');
    await mustRun('cp', [half.file, path.join(session.dir, 'after.bin')]);
    expect(await objectSha256(client, bucket, 'kept-open.bin')).toBe(sha256(Buffer.concat([half.data, half.data])));
    expect(await objectSha256(client, bucket, 'after.bin')).toBe(sha256(half.data));
    expect(logLines(session, 'ERROR')).toEqual([]);
    await session.unmount();
  });
});

describe('--write-back', () => {
  it('close returns before the object exists; bucketfs sync returns once it does', async () => {
    const bucket = await newBucket('write-back');
    const spoolDir = path.join(mounts.local, 'spool-wb');
    const session = await mount(bucket, spoolDir, ['--write-back']);
    const data = await source('wb.bin', 12 * MiB);
    mounts.proxy.setMode('throttle');
    try {
      const started = Date.now();
      await mustRun('dd', [`if=${data.file}`, `of=${path.join(session.dir, 'wb.bin')}`, 'bs=1M', 'status=none']);
      // 12 MiB through throttled connections takes 8 s or more: dd returned long before the upload could finish.
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(await headObject(client, bucket, 'wb.bin')).toBeUndefined();
      const synced = await runCli(['sync', session.dir], cliEnv(server, stateDir()), 120_000);
      expect(synced.stderr).toBe('');
      expect(synced.code).toBe(0);
      expect(synced.stdout).toContain('every byte written before this sync is in the bucket');
      expect(await objectSha256(client, bucket, 'wb.bin')).toBe(sha256(data.data));
    } finally {
      mounts.proxy.setMode('pass');
    }
    await session.unmount();
  });

  it('data closed but not uploaded when the daemon is SIGKILLed is uploaded by the next mount', async () => {
    const bucket = await newBucket('write-back-crash');
    const spoolDir = path.join(mounts.local, 'spool-wb-crash');
    const first = await mount(bucket, spoolDir, ['--write-back']);
    const data = await source('pending.bin', 6 * MiB);
    mounts.proxy.setMode('throttle');
    try {
      await mustRun('cp', [data.file, path.join(first.dir, 'pending.bin')], { timeoutMs: 20_000 });
      await killHard(first);
    } finally {
      mounts.proxy.setMode('pass');
    }
    expect(await headObject(client, bucket, 'pending.bin')).toBeUndefined();
    const next = await mount(bucket, spoolDir, ['--write-back']);
    expect(await waitFor(async () => (await headObject(client, bucket, 'pending.bin'))?.sizeBytes === data.data.length, 60_000, 250), next.log()).toBe(true);
    expect(await objectSha256(client, bucket, 'pending.bin')).toBe(sha256(data.data));
    expect(await incompleteUploads(client, bucket)).toEqual([]);
    expect(logLines(next, 'WARN')).toEqual([]);
    await next.unmount();
  });
});
