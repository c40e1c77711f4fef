// A mount of every bucket, on in-memory buckets (MemoryBuckets as the bucket admin, an S3Filesystem
// per bucket as run.ts builds one): the root lists buckets and creates and deletes them, paths below
// a bucket reach that bucket's own filesystem, handle and inode numbers never collide, nothing
// moves between buckets, and sync, activity and crash recovery cover every bucket.

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PosixConfig } from '../../src/config.js';
import { AllBuckets, type OpenBucket } from '../../src/fs/all-buckets.js';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { spoolLeftovers } from '../../src/fs/spool-leftovers.js';
import { createFsFixture, errnoOf, gate, GID, MIN_PART_BYTES, TestClock, UID, type FsFixture } from '../support/fs-fixture.js';
import { MemoryBuckets } from '../support/memory-buckets.js';

interface TestBucket extends OpenBucket {
  readonly fixture: FsFixture;
}

interface Setup {
  readonly fs: AllBuckets<TestBucket>;
  readonly admin: MemoryBuckets;
  readonly clock: TestClock;
  /** Every bucket filesystem opened, in order. */
  readonly opened: string[];
  /** The folder that holds each bucket's spool (ROOT/BUCKET/spool). */
  readonly root: string;
}

const POSIX: PosixConfig = { uid: UID, gid: GID, fileMode: 0o644, dirMode: 0o755, readOnly: false, atime: false, capacityBytes: 2 ** 50 };

const roots: string[] = [];
const made: AllBuckets<TestBucket>[] = [];
afterEach(async () => {
  for (const fs of made.splice(0)) fs.stop();
  for (const dir of roots.splice(0)) await fsp.rm(dir, { recursive: true, force: true });
});

interface SetupOptions {
  readonly buckets?: readonly string[];
  readonly listTtlMs?: number;
  readonly readOnly?: boolean;
  readonly writeBack?: boolean;
  /** Another mount's buckets and spool folders (the mount after a crash). */
  readonly after?: Setup;
}

async function setup(options: SetupOptions = {}): Promise<Setup> {
  const clock = options.after?.clock ?? new TestClock();
  const admin = options.after?.admin ?? new MemoryBuckets({ limits: { minPartSizeBytes: MIN_PART_BYTES }, now: clock.now });
  for (const name of options.buckets ?? []) admin.add(name);
  let root = options.after?.root;
  if (root === undefined) {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-all-test-'));
    roots.push(root);
  }
  const posix: PosixConfig = { ...POSIX, readOnly: options.readOnly ?? false };
  const opened: string[] = [];
  const spoolRoot = root;
  const fs = new AllBuckets<TestBucket>({
    admin,
    posix,
    listTtlMs: options.listTtlMs ?? 1_000,
    now: clock.now,
    open: async (info) => {
      const fixture = await createFsFixture(path.join(spoolRoot, info.name), {
        store: admin.store(info.name),
        clock,
        posix,
        write: { writeBack: options.writeBack ?? false },
      });
      if (!posix.readOnly) await fixture.fs.recover();
      opened.push(info.name);
      return { fixture, filesystem: fixture.fs, close: () => fixture.spool.close() };
    },
  });
  made.push(fs);
  return { fs, admin, clock, opened, root };
}

async function names(fs: AllBuckets<TestBucket>, dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).entries.map((e) => e.name).sort();
}

async function writeFile(fs: AllBuckets<TestBucket>, file: string, data: string): Promise<void> {
  const fh = await fs.create(file, 0o644);
  try {
    await fs.write(fh, 0, Buffer.from(data));
    await fs.flush(fh);
  } finally {
    await fs.release(fh);
  }
}

async function readFile(fs: AllBuckets<TestBucket>, file: string): Promise<string> {
  const fh = await fs.open(file, OpenFlags.O_RDONLY);
  try {
    return (await fs.read(fh, 0, 1 << 20)).toString();
  } finally {
    await fs.release(fh);
  }
}

describe('the root of a mount of every bucket', () => {
  it('lists the buckets, each a folder', async () => {
    const { fs, clock } = await setup({ buckets: ['photos', 'logs'] });
    expect(await names(fs, '/')).toEqual(['logs', 'photos']);
    const root = await fs.getattr('/');
    expect(root.mode).toBe(0o040755);
    expect([root.uid, root.gid, root.ino]).toEqual([UID, GID, 1]);
    const photos = await fs.getattr('/photos');
    expect(photos.mode).toBe(0o040755);
    // A bucket's folder is dated by the bucket's creation.
    expect(photos.mtimeNs).toBe(BigInt(clock.nowMs) * 1_000_000n);
    expect(await errnoOf(fs.getattr('/nope'))).toBe('ENOENT');
    expect(await errnoOf(fs.readdir('/nope'))).toBe('ENOENT');
  });

  it('trusts the listing the mount made at start as a fresh one', async () => {
    const admin = new MemoryBuckets();
    admin.add('a');
    const clock = new TestClock();
    const open = async (): Promise<TestBucket> => {
      throw new Error('not used');
    };
    const fs = new AllBuckets<TestBucket>({ admin, posix: POSIX, listTtlMs: 5_000, now: clock.now, open, listed: await admin.listBuckets() });
    expect(await names(fs, '/')).toEqual(['a']);
    expect(admin.calls.listBuckets).toBe(1);
  });

  it('trusts a bucket listing for --stat-ttl', async () => {
    const { fs, admin, clock } = await setup({ buckets: ['a'], listTtlMs: 5_000 });
    expect(await names(fs, '/')).toEqual(['a']);
    admin.add('b');
    expect(await names(fs, '/')).toEqual(['a']);
    expect(await errnoOf(fs.getattr('/b'))).toBe('ENOENT');
    expect(admin.calls.listBuckets).toBe(1);
    clock.advance(5_000);
    expect(await names(fs, '/')).toEqual(['a', 'b']);
    expect(admin.calls.listBuckets).toBe(2);
  });

  it('a bucket another client deletes leaves the root within --stat-ttl', async () => {
    const { fs, admin, clock } = await setup({ buckets: ['gone', 'used'], listTtlMs: 5_000 });
    await writeFile(fs, '/used/f', 'x');
    admin.remove('gone');
    admin.remove('used');
    expect(await names(fs, '/')).toEqual(['gone', 'used']);
    clock.advance(5_000);
    expect(await names(fs, '/')).toEqual([]);
    expect(await errnoOf(fs.getattr('/gone'))).toBe('ENOENT');
    // Opened, it stays reachable by name: its requests answer as the server does.
    expect((await fs.getattr('/used')).mode).toBe(0o040755);
  });

  it('opens a bucket at its first use only: ls -l of the root opens none', async () => {
    const { fs, opened } = await setup({ buckets: ['a', 'b'] });
    for (const name of await names(fs, '/')) {
      await fs.getattr(`/${name}`);
      expect(await fs.listxattr(`/${name}`)).toEqual([]);
      expect(await errnoOf(fs.getxattr(`/${name}`, 'system.posix_acl_access'))).toBe('ENODATA');
      await fs.access(`/${name}`, 4);
    }
    expect(opened).toEqual([]);
    expect(await names(fs, '/a')).toEqual([]);
    expect(opened).toEqual(['a']);
  });

  it('a name that is not a bucket is ENOENT and opens nothing', async () => {
    const { fs, opened } = await setup({ buckets: ['a'] });
    expect(await errnoOf(fs.open('/nope/x', OpenFlags.O_RDONLY))).toBe('ENOENT');
    expect(await errnoOf(fs.create('/nope/x', 0o644))).toBe('ENOENT');
    expect(await errnoOf(fs.mkdir('/nope/d', 0o755))).toBe('ENOENT');
    expect(opened).toEqual([]);
  });
});

describe('buckets made and removed at the root', () => {
  it('mkdir at the root creates a bucket', async () => {
    const { fs, admin } = await setup({ buckets: ['a'] });
    await fs.mkdir('/new-bucket', 0o755);
    expect(admin.has('new-bucket')).toBe(true);
    expect(await names(fs, '/')).toEqual(['a', 'new-bucket']);
    expect((await fs.getattr('/new-bucket')).mode).toBe(0o040755);
    await writeFile(fs, '/new-bucket/hello.txt', 'hi');
    expect(admin.store('new-bucket').getObject('hello.txt')?.body.toString()).toBe('hi');
  });

  it('mkdir of a bucket that exists is EEXIST, even one another client just made; of an invalid name EINVAL', async () => {
    const { fs, admin } = await setup({ buckets: ['a'], listTtlMs: 60_000 });
    expect(await errnoOf(fs.mkdir('/a', 0o755))).toBe('EEXIST');
    await fs.readdir('/');
    admin.add('made-elsewhere');
    expect(await errnoOf(fs.mkdir('/made-elsewhere', 0o755))).toBe('EEXIST');
    for (const bad of ['ab', 'Upper', 'under_score', '-dash', 'dots..dots', '192.168.1.1', 'x'.repeat(64)]) {
      expect(await errnoOf(fs.mkdir(`/${bad}`, 0o755)), bad).toBe('EINVAL');
    }
    expect(admin.calls.createBucket).toBe(0);
  });

  it('rmdir at the root deletes an empty bucket and refuses one that holds anything', async () => {
    const { fs, admin } = await setup({ buckets: ['full', 'empty'] });
    admin.store('full').putObject('x', 'data');
    expect(await errnoOf(fs.rmdir('/full'))).toBe('ENOTEMPTY');
    expect(admin.has('full')).toBe(true);
    await fs.rmdir('/empty');
    expect(admin.has('empty')).toBe(false);
    expect(await names(fs, '/')).toEqual(['full']);
    expect(await errnoOf(fs.getattr('/empty'))).toBe('ENOENT');
    expect(await errnoOf(fs.rmdir('/empty'))).toBe('ENOENT');
    await fs.unlink('/full/x');
    await fs.rmdir('/full');
    expect(admin.has('full')).toBe(false);
  });

  it('rmdir of a bucket first lets its pending deletes and uploads reach it', async () => {
    const { fs, admin } = await setup({ buckets: ['b', 'c'], writeBack: true });
    await fs.mkdir('/b/d', 0o755);
    await fs.rmdir('/b/d');
    await fs.rmdir('/b');
    expect(admin.has('b')).toBe(false);

    // Write-back: close returns before the upload; the upload lands first, so the bucket is not empty.
    await writeFile(fs, '/c/pending.txt', 'not uploaded at close');
    expect(await errnoOf(fs.rmdir('/c'))).toBe('ENOTEMPTY');
    expect(admin.store('c').getObject('pending.txt')?.body.toString()).toBe('not uploaded at close');
  });

  it('a read-only mount refuses mkdir and rmdir at the root with EROFS', async () => {
    const { fs, admin } = await setup({ buckets: ['a'], readOnly: true });
    expect(await errnoOf(fs.mkdir('/new-bucket', 0o755))).toBe('EROFS');
    expect(await errnoOf(fs.rmdir('/a'))).toBe('EROFS');
    expect(await errnoOf(fs.create('/a/x', 0o644))).toBe('EROFS');
    expect(admin.calls.createBucket + admin.calls.deleteBucket).toBe(0);
  });

  it('a bucket made again after rmdir gets new inode numbers', async () => {
    const { fs } = await setup({ buckets: ['abc'] });
    await writeFile(fs, '/abc/f', 'x');
    const before = [(await fs.getattr('/abc')).ino, (await fs.getattr('/abc/f')).ino];
    await fs.unlink('/abc/f');
    await fs.rmdir('/abc');
    await fs.mkdir('/abc', 0o755);
    await writeFile(fs, '/abc/f', 'y');
    const after = [(await fs.getattr('/abc')).ino, (await fs.getattr('/abc/f')).ino];
    expect(after.some((ino) => before.includes(ino))).toBe(false);
  });
});

describe('what the root refuses', () => {
  it('creating a file or a symlink at the root is EPERM', async () => {
    const { fs } = await setup({ buckets: ['a'] });
    expect(await errnoOf(fs.create('/file.txt', 0o644))).toBe('EPERM');
    expect(await errnoOf(fs.symlink('a', '/link'))).toBe('EPERM');
    expect(await errnoOf(fs.link('/a/x', '/x'))).toBe('EPERM');
    expect(await errnoOf(fs.chmod('/', 0o700))).toBe('EPERM');
    expect(await errnoOf(fs.unlink('/a'))).toBe('EISDIR');
    expect(await errnoOf(fs.open('/', OpenFlags.O_RDONLY))).toBe('EISDIR');
    expect(await errnoOf(fs.rmdir('/'))).toBe('EBUSY');
  });

  it('rename across buckets is EXDEV, and a bucket cannot be renamed', async () => {
    const { fs, admin } = await setup({ buckets: ['a', 'b'] });
    await writeFile(fs, '/a/x', 'x');
    expect(await errnoOf(fs.rename('/a/x', '/b/x'))).toBe('EXDEV');
    expect(await errnoOf(fs.rename('/a', '/c'))).toBe('EXDEV');
    expect(await errnoOf(fs.rename('/a/x', '/x'))).toBe('EXDEV');
    expect(admin.store('a').getObject('x')?.body.toString()).toBe('x');
    // Within a bucket, rename is the bucket's own.
    await fs.rename('/a/x', '/a/y');
    expect(admin.store('a').keys()).toEqual(['y']);
  });
});

describe('files inside buckets', () => {
  it('reads and writes files through each bucket’s own filesystem, keys relative to the bucket', async () => {
    const { fs, admin } = await setup({ buckets: ['a', 'b'] });
    await fs.mkdir('/a/dir', 0o755);
    await writeFile(fs, '/a/dir/same.txt', 'in a');
    await writeFile(fs, '/b/same.txt', 'in b');
    expect(admin.store('a').keys()).toEqual(['dir/', 'dir/same.txt']);
    expect(admin.store('b').keys()).toEqual(['same.txt']);
    expect(await readFile(fs, '/a/dir/same.txt')).toBe('in a');
    expect(await readFile(fs, '/b/same.txt')).toBe('in b');
    expect(await names(fs, '/a')).toEqual(['dir']);
  });

  it('maps handle numbers so two buckets never share one', async () => {
    const { fs, admin } = await setup({ buckets: ['a', 'b'] });
    const fa = await fs.create('/a/f', 0o644);
    const fb = await fs.create('/b/f', 0o644);
    // Each bucket's own filesystem numbers its first handle 1.
    expect(fa).not.toBe(fb);
    await fs.write(fa, 0, Buffer.from('to a'));
    await fs.write(fb, 0, Buffer.from('to b'));
    expect((await fs.fgetattr(fa)).sizeBytes).toBe(4);
    await fs.release(fa);
    await fs.release(fb);
    expect(admin.store('a').getObject('f')?.body.toString()).toBe('to a');
    expect(admin.store('b').getObject('f')?.body.toString()).toBe('to b');
    expect(await errnoOf(fs.read(fa, 0, 1))).toBe('EBADF');
  });

  it('maps inode numbers so no two paths of the mount share one', async () => {
    const { fs } = await setup({ buckets: ['a', 'b'] });
    const listed = new Map((await fs.readdir('/')).entries.map((e) => [e.name, e.ino]));
    const unopened = (await fs.getattr('/a')).ino;
    expect(unopened).toBe(listed.get('a'));
    await writeFile(fs, '/a/f', '1');
    await writeFile(fs, '/b/f', '2');
    const inos = [1, (await fs.getattr('/a')).ino, (await fs.getattr('/b')).ino, (await fs.getattr('/a/f')).ino, (await fs.getattr('/b/f')).ino];
    expect(new Set(inos).size).toBe(inos.length);
    // The same number before and after the bucket was opened, and as `..` of its folder.
    expect(inos[1]).toBe(unopened);
    const dirA = await fs.readdir('/a');
    expect([dirA.ino, dirA.parentIno]).toEqual([unopened, 1]);
    expect(dirA.entries.find((e) => e.name === 'f')?.ino).toBe(inos[3]);
  });
});

describe('sync, status and recovery over every bucket', () => {
  it('syncAll and activity cover every bucket opened, paths starting with the bucket', async () => {
    const { fs, admin } = await setup({ buckets: ['a', 'b'], writeBack: true });
    // Write-back: the uploads wait in the queue, held here until activity has been read.
    const held = gate();
    admin.store('a').delayNext('put', held.promise);
    admin.store('b').delayNext('put', held.promise);
    await writeFile(fs, '/a/x', 'x');
    await writeFile(fs, '/b/y', 'y');
    const paths = fs.activity().files.map((f) => f.path).sort();
    expect(paths).toEqual(['/a/x', '/b/y']);
    held.open();
    expect(await fs.syncAll()).toEqual([]);
    expect(admin.store('a').getObject('x')?.body.toString()).toBe('x');
    expect(admin.store('b').getObject('y')?.body.toString()).toBe('y');
  });

  it('names failed uploads by their path in the mount', async () => {
    const { fs, admin } = await setup({ buckets: ['b'] });
    const fh = await fs.create('/b/f', 0o644);
    await fs.write(fh, 0, Buffer.from('x'));
    admin.store('b').failNext('put', 'AccessDenied');
    const failed = await fs.syncAll();
    expect(failed.map((f) => f.path)).toEqual(['/b/f']);
    await fs.release(fh).catch(() => undefined);
  });

  it('recovers the spool of a bucket at mount when a dead mount left data in it', async () => {
    const first = await setup({ buckets: ['a', 'b'] });
    const fh = await first.fs.create('/a/unsaved.txt', 0o644);
    await first.fs.write(fh, 0, Buffer.from('written before the crash'));
    await first.fs.readdir('/b');
    for (const [, bucket] of first.fs.opened()) await bucket.fixture.crash();

    const next = await setup({ after: first });
    expect(await spoolLeftovers(path.join(first.root, 'a', 'spool'))).toBe(true);
    expect(await spoolLeftovers(path.join(first.root, 'b', 'spool'))).toBe(false);
    await next.fs.openNow(['a']);
    expect(next.opened).toEqual(['a']);
    expect(await next.fs.syncAll()).toEqual([]);
    expect(first.admin.store('a').getObject('unsaved.txt')?.body.toString()).toBe('written before the crash');
  });
});
