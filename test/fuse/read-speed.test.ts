// Mounted read-speed tests: the real CLI with --debug on a real local S3 server, read with real tools
// (cat, python3). They assert the exact number of GETs each read costs, read from the daemon's log:
// coalesced ranges for a sequential reader, one block per random read, none for a re-read (kernel
// page cache) or after a remount (--cache-dir); and that a replaced object is never read stale or mixed.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, putObject, sha256, uploadPseudoRandom, pseudoRandomSha256 } from '../support/fixtures.js';
import { makeTestDir, mountBucket, mustRun, runCli, runTool, unmountAll, waitFor, withMount, type MountSession } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const server = s3Server();
const client = makeClient(server);

const BIG = 'seq/big.bin';
const BIG_SIZE = 128 * MiB;
/**
 * GETs of a cold sequential read of BIG with the defaults (256 KiB blocks, 32 MiB window, 8 MiB
 * ranges): three while the window grows (blocks 0-1, 2-3, 4-11: the first 3 MiB), then the other
 * 125 MiB in 8 MiB ranges.
 */
const BIG_COLD_GETS = 3 + Math.ceil((128 - 3) / 8);
const ESTALE = 116;

let bucket: string;

/** GET requests for `key` in a --debug log. */
function gets(session: MountSession, key: string): number {
  return session.log().split('\n').filter((line) => line.includes(`s3 GET ${JSON.stringify(key)} `)).length;
}

/**
 * Waits out the kernel's attribute timeout (1 s): libfuse compares size and mtime at an open only
 * with attributes older than that, so a replacement is noticed by the first open after it.
 */
function sleepPastAttrTimeout(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_100));
}

/**
 * Runs `work` while another process holds all of `file`'s pages mapped and locked in memory
 * (mlock), so the kernel cannot drop any of them behind the test's back.
 */
async function withPinnedPages(file: string, work: () => Promise<void>): Promise<void> {
  const signals = await makeTestDir('read-speed-pin');
  const script = `
import ctypes, mmap, os, sys, time
libc = ctypes.CDLL('libc.so.6', use_errno=True)
libc.mmap.restype = ctypes.c_void_p
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
addr = libc.mmap(None, ctypes.c_size_t(size), mmap.PROT_READ, mmap.MAP_SHARED, fd, ctypes.c_long(0))
if libc.mlock(ctypes.c_void_p(addr), ctypes.c_size_t(size)) != 0:
    sys.exit('mlock failed: errno %d' % ctypes.get_errno())
open(os.path.join(sys.argv[2], 'pinned'), 'w').close()
while not os.path.exists(os.path.join(sys.argv[2], 'done')): time.sleep(0.02)
`;
  const holder = mustRun('python3', ['-c', script, file, signals]);
  const pinned = await waitFor(() => fsp.stat(path.join(signals, 'pinned')).then(() => true, () => false), 30_000);
  try {
    expect(pinned).toBe(true);
    await work();
  } finally {
    await fsp.writeFile(path.join(signals, 'done'), '');
    await holder;
  }
}

async function catSha(file: string): Promise<string> {
  return sha256((await mustRun('cat', [file])).stdoutBytes);
}

/** Reads `length` bytes at each offset with readahead off (POSIX_FADV_RANDOM); prints the sha256 of what it read. */
async function randomReads(file: string, offsets: readonly number[], length: number): Promise<string> {
  const script = `
import os, sys, hashlib
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
h = hashlib.sha256()
for off in sys.argv[3:]:
    h.update(os.pread(fd, int(sys.argv[2]), int(off)))
os.close(fd)
print(h.hexdigest())
`;
  return (await mustRun('python3', ['-c', script, file, String(length), ...offsets.map(String)])).stdout.trim();
}

beforeAll(async () => {
  bucket = await newBucket('read-speed');
  await uploadPseudoRandom(client, bucket, BIG, BIG, BIG_SIZE);
});

afterAll(async () => {
  await unmountAll();
});

describe('read speed', () => {
  it('a cold cat sends one GET per 8 MiB range after a short ramp', async () => {
    await withMount({ bucket, s3: server, extraArgs: ['--debug'] }, async (session) => {
      expect(await catSha(path.join(session.dir, BIG))).toBe(pseudoRandomSha256(BIG, BIG_SIZE));
      expect(gets(session, BIG)).toBe(BIG_COLD_GETS);
    });
  });

  it('a second cat sends no GET: the kernel keeps the pages across opens; --no-kernel-cache drops them', async () => {
    const key = 'reread/file.bin';
    const data = pseudoRandomBytes(key, 6 * MiB);
    await putObject(client, bucket, key, data);
    // A 1 MiB block cache holds one block: only the kernel's page cache can serve a re-read.
    const flags = ['--debug', '--cache-size', '1M'];
    await withMount({ bucket, s3: server, extraArgs: flags }, async (session) => {
      const file = path.join(session.dir, key);
      expect(await catSha(file)).toBe(sha256(data));
      // This machine's kernel pages out idle page cache on its own (DAMON): pin the file's pages
      // (which refetches any it dropped already), so the count shows what the next open keeps.
      await withPinnedPages(file, async () => {
        const before = gets(session, key);
        expect(await catSha(file)).toBe(sha256(data));
        expect(gets(session, key)).toBe(before);
      });
    });
    await withMount({ bucket, s3: server, extraArgs: [...flags, '--no-kernel-cache'] }, async (session) => {
      const file = path.join(session.dir, key);
      expect(await catSha(file)).toBe(sha256(data));
      const cold = gets(session, key);
      expect(await catSha(file)).toBe(sha256(data));
      expect(gets(session, key) - cold).toBeGreaterThanOrEqual(5);
    });
  });

  it('reads the new bytes once another client replaced a file with another size or mtime', async () => {
    const key = 'replace/file.bin';
    const v1 = pseudoRandomBytes('v1', 3 * MiB);
    const v2 = pseudoRandomBytes('v2', 3 * MiB + 1);
    const v3 = pseudoRandomBytes('v3', 3 * MiB + 1);
    await putObject(client, bucket, key, v1);
    await withMount({ bucket, s3: server, extraArgs: ['--debug'] }, async (session) => {
      const file = path.join(session.dir, key);
      expect(await catSha(file)).toBe(sha256(v1));
      expect(await catSha(file)).toBe(sha256(v1));
      const readsOfV1 = gets(session, key);
      await putObject(client, bucket, key, v2);
      await sleepPastAttrTimeout();
      expect(await catSha(file)).toBe(sha256(v2));
      // Same size, a later second: only the mtime (Last-Modified) tells the versions apart.
      await sleepPastAttrTimeout();
      await putObject(client, bucket, key, v3);
      await sleepPastAttrTimeout();
      expect(await catSha(file)).toBe(sha256(v3));
      expect(gets(session, key)).toBeGreaterThan(readsOfV1);
    });
  });

  it('random reads fetch one block each and no read-ahead', async () => {
    const offsets = [41, 7, 58, 23, 12, 49, 30, 3].map((b) => b * MiB + 300 * 1024);
    const expected = sha256(Buffer.concat(offsets.map((o) => pseudoRandomBytes(BIG, BIG_SIZE).subarray(o, o + 4096))));
    await withMount({ bucket, s3: server, extraArgs: ['--debug'] }, async (session) => {
      expect(await randomReads(path.join(session.dir, BIG), offsets, 4096)).toBe(expected);
      expect(gets(session, BIG)).toBe(offsets.length);
    });
  });

  it('with --cache-dir, a remount reads the file from local disk without a GET; a replaced object is fetched again', async () => {
    const cacheDir = path.join(await makeTestDir('read-speed-cache'), 'blocks');
    const key = 'cached/file.bin';
    const v1 = pseudoRandomBytes('cached v1', 20 * MiB + 5);
    await putObject(client, bucket, key, v1);
    const options = { bucket, s3: server, extraArgs: ['--debug', '--cache-dir', cacheDir, '--cache-dir-size', '256M'] };
    await withMount(options, async (session) => {
      expect(await catSha(path.join(session.dir, key))).toBe(sha256(v1));
      expect(gets(session, key)).toBeGreaterThan(0);
    });
    await withMount(options, async (session) => {
      expect(await catSha(path.join(session.dir, key))).toBe(sha256(v1));
      expect(gets(session, key)).toBe(0);
      // Random reads too.
      expect(await randomReads(path.join(session.dir, key), [5 * MiB, 17 * MiB], 4096)).toBe(
        sha256(Buffer.concat([v1.subarray(5 * MiB, 5 * MiB + 4096), v1.subarray(17 * MiB, 17 * MiB + 4096)])),
      );
      expect(gets(session, key)).toBe(0);
      const v2 = pseudoRandomBytes('cached v2', 20 * MiB + 5);
      await putObject(client, bucket, key, v2);
      await sleepPastAttrTimeout();
      expect(await catSha(path.join(session.dir, key))).toBe(sha256(v2));
      expect(gets(session, key)).toBeGreaterThan(0);
    });
    // Private: the folder 0700, every block file 0600.
    const mountDirs = await fsp.readdir(cacheDir);
    expect(mountDirs).toHaveLength(1);
    const root = path.join(cacheDir, mountDirs[0] as string);
    expect((await fsp.stat(root)).mode & 0o777).toBe(0o700);
    const found = await mustRun('find', [path.join(root, 'blocks'), '-type', 'f', '-not', '-perm', '600']);
    expect(found.stdout).toBe('');
    expect((await mustRun('find', [path.join(root, 'blocks'), '-type', 'f'])).stdout.split('\n').filter(Boolean).length).toBeGreaterThan(20);
  });

  it('a reader of a file replaced mid-read gets the old bytes or ESTALE, never new ones', async () => {
    const key = 'mid/file.bin';
    const size = 40 * MiB;
    const v1 = pseudoRandomBytes('mid v1', size);
    await putObject(client, bucket, key, v1);
    const signals = await makeTestDir('read-speed-signals');
    // Reads 1 MiB, says so, waits for the replacement, then reads on to the end or the first error.
    const script = `
import os, sys, time, hashlib
fd = os.open(sys.argv[1], os.O_RDONLY)
got = os.read(fd, 1048576)
open(os.path.join(sys.argv[2], 'ready'), 'w').close()
while not os.path.exists(os.path.join(sys.argv[2], 'go')): time.sleep(0.02)
err = 0
try:
    while True:
        b = os.read(fd, 1048576)
        if not b: break
        got += b
except OSError as e:
    err = e.errno
print(err, len(got), hashlib.sha256(got).hexdigest())
`;
    await withMount({ bucket, s3: server, extraArgs: ['--read-ahead', '4M'] }, async (session) => {
      const reader = runTool('python3', ['-c', script, path.join(session.dir, key), signals]);
      expect(await waitFor(() => fsp.stat(path.join(signals, 'ready')).then(() => true, () => false), 30_000)).toBe(true);
      await putObject(client, bucket, key, pseudoRandomBytes('mid v2', size));
      await fsp.writeFile(path.join(signals, 'go'), '');
      const [errno, length, digest] = (await reader).stdout.trim().split(' ');
      // Never a byte of the new version: what came is a prefix of the old one.
      expect(digest).toBe(sha256(v1.subarray(0, Number(length))));
      // The 4 MiB window cannot have fetched 40 MiB ahead: the read stopped with ESTALE.
      expect(Number(errno)).toBe(ESTALE);
      expect(Number(length)).toBeGreaterThanOrEqual(MiB);
      expect(Number(length)).toBeLessThan(size);
    });
  });

  it('refuses --cache-dir-size without --cache-dir, and a cache folder a running mount holds', async () => {
    const noDir = await runCli(['mount', bucket, '/nonexistent', '--cache-dir-size', '1G']);
    expect(noDir.code).not.toBe(0);
    expect(noDir.stderr).toMatch(/--cache-dir-size needs --cache-dir/);
    const cacheDir = path.join(await makeTestDir('read-speed-shared'), 'blocks');
    await withMount({ bucket, s3: server, extraArgs: ['--cache-dir', cacheDir] }, async () => {
      await expect(mountBucket({ bucket, s3: server, extraArgs: ['--cache-dir', cacheDir], mountTimeoutMs: 20_000 })).rejects.toThrow(
        /cannot use the disk cache folder .* in use by process \d+: give each mount its own --cache-dir/,
      );
    });
  });
});
