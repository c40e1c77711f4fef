// The read side of S3Filesystem on the in-memory store: how keys become a directory tree (prefixes,
// markers, names that cannot be shown), how objects become stat results, and how reads behave at
// any offset, across versions (a handle never mixes two) and when a GET fails.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../../src/fs/metadata.js';
import { BLOCK_BYTES, GID, UID, errnoOf, patternBytes, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();

describe('directories', () => {
  it('are common prefixes or dir/ markers, and the root always exists', async () => {
    const t = await fixture();
    t.store.putObject('implicit/file', 'x');
    t.store.putObject('marked/', '');
    expect((await t.fs.getattr('/')).mode & S_IFMT).toBe(S_IFDIR);
    expect((await t.fs.getattr('/implicit')).mode & S_IFMT).toBe(S_IFDIR);
    expect((await t.fs.getattr('/marked')).mode & S_IFMT).toBe(S_IFDIR);
    expect(await t.names('/')).toEqual(['implicit', 'marked']);
    expect(await t.names('/marked')).toEqual([]);
    expect(await t.names('/implicit')).toEqual(['file']);
    const root = await t.fs.readdir('/');
    expect(root.entries.every((e) => e.kind === 'dir')).toBe(true);
  });

  it('win over a file of the same name in a listing', async () => {
    const t = await fixture();
    t.store.putObject('both', 'I am a file');
    t.store.putObject('both/child', 'c');
    expect(await t.names('/')).toEqual(['both']);
    expect((await t.fs.getattr('/both')).mode & S_IFMT).toBe(S_IFDIR);
    expect(await t.names('/both')).toEqual(['child']);
    expect(await errnoOf(t.fs.open('/both', OpenFlags.O_RDONLY))).toBe('EISDIR');
  });

  it('win over a file of the same name in lookups after a listing showed both, even with no caching', async () => {
    const t = await fixture({ cache: { statTtlMs: 0, negativeTtlMs: 0 } });
    t.store.putObject('both', 'I am a file');
    t.store.putObject('both/child', 'c');
    expect(await t.names('/')).toEqual(['both']);
    expect((await t.fs.getattr('/both')).mode & S_IFMT).toBe(S_IFDIR);
  });

  it('win over an empty object of the same name when looked up without a listing', async () => {
    const t = await fixture();
    t.store.putObject('placeholder', '');
    t.store.putObject('placeholder/child', 'c');
    expect((await t.fs.getattr('/placeholder')).mode & S_IFMT).toBe(S_IFDIR);
    expect(await t.names('/placeholder')).toEqual(['child']);
  });

  it('include an object dir/ that has data, shown as a directory', async () => {
    const t = await fixture();
    t.store.putObject('withdata/', 'some bytes');
    expect((await t.fs.getattr('/withdata')).mode & S_IFMT).toBe(S_IFDIR);
    expect(await t.names('/')).toEqual(['withdata']);
    expect(await t.names('/withdata')).toEqual([]);
  });

  it('hide keys that are not valid names, and the listing around them still works', async () => {
    const t = await fixture();
    const long = 'n'.repeat(256);
    for (const key of ['d//empty-segment', 'd/./dot', 'd/../dotdot', `d/${long}`, `d/${long}/below`, 'd/ok', '/leading-slash', 'd/.']) {
      t.store.putObject(key, 'x');
    }
    t.store.putObject(`d/${'é'.repeat(128)}`, 'two-byte characters: 256 bytes');
    t.store.putObject(`d/${'é'.repeat(127)}`, 'two-byte characters: 254 bytes');
    expect(await t.names('/d')).toEqual(['ok', 'é'.repeat(127)].sort());
    expect(await t.names('/')).toEqual(['d']);
    expect(await errnoOf(t.fs.getattr(`/d/${long}`))).toBe('ENAMETOOLONG');
  });

  it('list every key past the store’s 1000-key pages', async () => {
    const t = await fixture();
    const names = Array.from({ length: 2_345 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    for (const name of names) t.store.putObject(`big/${name}`, name);
    t.store.putObject('big/sub/x', 'x');
    const before = t.store.calls.listPage;
    expect(await t.names('/big')).toEqual([...names, 'sub'].sort());
    expect(t.store.calls.listPage - before).toBeGreaterThanOrEqual(3);
  });

  it('tell a file\'s type in a listing only when its size rules out a symlink (4 KiB or more), with no HEAD', async () => {
    const t = await fixture();
    t.store.putObject('d/big', patternBytes(4097));
    t.store.putObject('d/page', patternBytes(4096));
    // Linux's longest symlink target: 4,095 bytes.
    t.store.putObject('d/limit', patternBytes(4095));
    t.store.putObject('d/small', 'target');
    t.store.putObject('d/sub/x', 'x');
    await t.fs.getattr('/d');
    const heads = t.store.calls.head;
    const { entries } = await t.fs.readdir('/d');
    expect(Object.fromEntries(entries.map((e) => [e.name, e.kind]))).toEqual({ big: 'file', page: 'file', limit: undefined, small: undefined, sub: 'dir' });
    expect(t.store.calls.head).toBe(heads);
  });

  it('refuse to be read as files, and files refuse to be listed', async () => {
    const t = await fixture();
    t.store.putObject('dir/file', 'x');
    expect(await errnoOf(t.fs.open('/dir', OpenFlags.O_RDONLY))).toBe('EISDIR');
    expect(await errnoOf(t.fs.readdir('/dir/file'))).toBe('ENOTDIR');
    expect(await errnoOf(t.fs.readdir('/missing'))).toBe('ENOENT');
    expect(await errnoOf(t.fs.getattr('/dir/missing'))).toBe('ENOENT');
  });
});

describe('stat', () => {
  it('gives exact sizes and st_blocks in 512-byte units', async () => {
    const t = await fixture();
    t.store.putObject('empty', '');
    t.store.putObject('one', 'x');
    t.store.putObject('k1000', Buffer.alloc(1000));
    t.store.putObject('k1024', Buffer.alloc(1024));
    expect(await t.fs.getattr('/empty')).toMatchObject({ sizeBytes: 0, blocks: 0 });
    expect(await t.fs.getattr('/one')).toMatchObject({ sizeBytes: 1, blocks: 1 });
    expect(await t.fs.getattr('/k1000')).toMatchObject({ sizeBytes: 1000, blocks: 2 });
    expect(await t.fs.getattr('/k1024')).toMatchObject({ sizeBytes: 1024, blocks: 2 });
  });

  it('takes mtime from x-amz-meta-mtime, else from Last-Modified', async () => {
    const t = await fixture();
    t.clock.nowMs = 1_650_000_000_789;
    t.store.putObject('plain', 'x');
    t.store.putObject('s3fs', 'x', { mtime: '1600000000' });
    t.store.putObject('rclone', 'x', { mtime: '1600000000.25' });
    expect((await t.fs.getattr('/plain')).mtimeNs).toBe(1_650_000_000_000_000_000n);
    expect((await t.fs.getattr('/s3fs')).mtimeNs).toBe(1_600_000_000_000_000_000n);
    expect((await t.fs.getattr('/rclone')).mtimeNs).toBe(1_600_000_000_250_000_000n);
  });

  it('takes mode, uid and gid from metadata, else from the mount options', async () => {
    const t = await fixture({ posix: { fileMode: 0o640, dirMode: 0o750 } });
    t.store.putObject('plain', 'x');
    t.store.putObject('owned', 'x', { mode: String(S_IFREG | 0o600), uid: '42', gid: '43' });
    t.store.putObject('dir/', '', { mode: String(S_IFDIR | 0o700), uid: '7', gid: '8' });
    t.store.putObject('implicit/x', 'x');
    expect(await t.fs.getattr('/plain')).toMatchObject({ mode: S_IFREG | 0o640, uid: UID, gid: GID });
    expect(await t.fs.getattr('/owned')).toMatchObject({ mode: S_IFREG | 0o600, uid: 42, gid: 43 });
    expect(await t.fs.getattr('/dir')).toMatchObject({ mode: S_IFDIR | 0o700, uid: 7, gid: 8 });
    expect(await t.fs.getattr('/implicit')).toMatchObject({ mode: S_IFDIR | 0o750, uid: UID, gid: GID });
  });

  it('shows s3fs symlinks (S_IFLNK in x-amz-meta-mode) and reads their targets', async () => {
    const t = await fixture();
    t.store.putObject('link', '../some/target', { mode: String(S_IFLNK | 0o777) });
    t.store.putObject('file', 'not a link');
    expect((await t.fs.getattr('/link')).mode).toBe(S_IFLNK | 0o777);
    expect(await t.fs.readlink('/link')).toBe('../some/target');
    expect(await errnoOf(t.fs.readlink('/file'))).toBe('EINVAL');
  });

  it('gives every path one inode number, the same in stat and readdir, for the life of the mount', async () => {
    const t = await fixture();
    t.store.putObject('a', 'x');
    t.store.putObject('b', 'y');
    t.store.putObject('d/c', 'z');
    const a = (await t.fs.getattr('/a')).ino;
    const b = (await t.fs.getattr('/b')).ino;
    const d = (await t.fs.getattr('/d')).ino;
    expect(new Set([a, b, d, (await t.fs.getattr('/')).ino]).size).toBe(4);
    const listed = new Map((await t.fs.readdir('/')).entries.map((e) => [e.name, e.ino]));
    expect(listed.get('a')).toBe(a);
    expect(listed.get('b')).toBe(b);
    expect(listed.get('d')).toBe(d);
    t.clock.advance(60_000);
    expect((await t.fs.getattr('/a')).ino).toBe(a);
  });
});

describe('reads', () => {
  it('return the bytes at any offset and length, and nothing at or past the end', async () => {
    const t = await fixture();
    const size = 5 * BLOCK_BYTES + 123;
    const data = patternBytes(size);
    t.store.putObject('data', data);
    const fh = await t.fs.open('/data', OpenFlags.O_RDONLY);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: size + 2 * BLOCK_BYTES }), fc.nat({ max: 3 * BLOCK_BYTES }), async (offset, length) => {
        const got = await t.fs.read(fh, offset, length);
        expect(got.equals(data.subarray(offset, offset + length))).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect((await t.fs.read(fh, size, 10)).length).toBe(0);
    expect((await t.fs.read(fh, size + 5000, 10)).length).toBe(0);
    await t.fs.release(fh);
    expect((await t.readFile('/data')).equals(data)).toBe(true);
  });

  it('read an empty object as empty', async () => {
    const t = await fixture();
    t.store.putObject('empty', '');
    expect((await t.readFile('/empty')).length).toBe(0);
  });

  it('keep serving the version a handle opened; an uncached block of a replaced object is ESTALE', async () => {
    const t = await fixture({ cache: { readAheadMaxBytes: 0 } });
    const v1 = patternBytes(4 * BLOCK_BYTES, 'v1');
    t.store.putObject('f', v1);
    const fh = await t.fs.open('/f', OpenFlags.O_RDONLY);
    expect((await t.fs.read(fh, 0, 100)).equals(v1.subarray(0, 100))).toBe(true);

    const v2 = patternBytes(4 * BLOCK_BYTES, 'v2');
    t.store.putObject('f', v2);
    // Block 0 was read before the change: still v1, never a mix.
    expect((await t.fs.read(fh, 10, 100)).equals(v1.subarray(10, 110))).toBe(true);
    expect(await errnoOf(t.fs.read(fh, 3 * BLOCK_BYTES, 100))).toBe('ESTALE');
    await t.fs.release(fh);

    // Once the stat cache has expired, a new open sees the new version.
    t.clock.advance(60_000);
    expect((await t.readFile('/f')).equals(v2)).toBe(true);
  });

  it('fail with EIO when a GET fails, and succeed on the next try', async () => {
    const t = await fixture();
    t.store.putObject('f', patternBytes(100));
    const fh = await t.fs.open('/f', OpenFlags.O_RDONLY);
    t.store.failNext('getRange', 'ServerError');
    expect(await errnoOf(t.fs.read(fh, 0, 100))).toBe('EIO');
    expect((await t.fs.read(fh, 0, 100)).equals(patternBytes(100))).toBe(true);
    await t.fs.release(fh);
  });

  it('of a file another client deleted after open fail with ENOENT, not with stale data', async () => {
    const t = await fixture({ cache: { readAheadMaxBytes: 0 } });
    t.store.putObject('f', patternBytes(3 * BLOCK_BYTES));
    const fh = await t.fs.open('/f', OpenFlags.O_RDONLY);
    t.store.deleteObject('f');
    expect(await errnoOf(t.fs.read(fh, 2 * BLOCK_BYTES, 10))).toBe('ENOENT');
    await t.fs.release(fh);
  });
});
