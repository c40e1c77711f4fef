// The write side of S3Filesystem on the in-memory store: what reaches the bucket at close (single PUT,
// streamed multipart, server-side part copies), the POSIX rules of truncate/append/sparse writes and
// namespace changes, metadata in s3fs's headers, and that nothing written is lost when S3 fails.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsError } from '../../src/fs/errno.js';
import { OpenFlags, XattrFlags } from '../../src/fs/filesystem.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../../src/fs/metadata.js';
import { PART_BYTES, errnoOf, gate, patternBytes, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();
const { O_RDONLY, O_WRONLY, O_RDWR, O_TRUNC, O_APPEND } = OpenFlags;


/** The rejection of a promise that must fail. */
async function rejectionOf(operation: Promise<unknown>): Promise<unknown> {
  try {
    await operation;
  } catch (e) {
    return e;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

describe('create, write and close', () => {
  it('uploads a file under the part size with one PUT, attributes in s3fs headers', async () => {
    const t = await fixture();
    const data = patternBytes(PART_BYTES - 1);
    await t.writeFile('/small.bin', data, 0o640);
    expect(t.body('small.bin')?.equals(data)).toBe(true);
    expect(t.store.calls).toMatchObject({ put: 1, createUpload: 0, uploadPart: 0 });
    const meta = t.store.getObject('small.bin')?.metadata;
    expect(meta).toMatchObject({ mode: String(S_IFREG | 0o640), uid: '1000', gid: '100', mtime: '1700000000' });
    expect(await t.fs.getattr('/small.bin')).toMatchObject({ sizeBytes: data.length, mode: S_IFREG | 0o640 });
  });

  it('uploads a file of several parts as a multipart upload, one part per part size', async () => {
    const t = await fixture();
    const data = patternBytes(2 * PART_BYTES + 1808);
    const fh = await t.fs.create('/big.bin', 0o644);
    for (let offset = 0; offset < data.length; offset += 1000) await t.fs.write(fh, offset, data.subarray(offset, offset + 1000));
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('big.bin')?.equals(data)).toBe(true);
    expect(t.store.getObject('big.bin')?.etag).toMatch(/-3"$/);
    expect(t.store.calls).toMatchObject({ put: 0, createUpload: 1, uploadPart: 3, complete: 1 });
    expect(t.store.pendingUploads()).toEqual([]);
  });

  it('streams a new file: each part goes up once the writer has moved past it, and close sends only the tail', async () => {
    const t = await fixture();
    const data = patternBytes(2 * PART_BYTES + 100);
    const fh = await t.fs.create('/streamed.bin', 0o644);
    const writeUpTo = async (from: number, to: number): Promise<void> => {
      for (let offset = from; offset < to; offset += 500) await t.fs.write(fh, offset, data.subarray(offset, Math.min(offset + 500, to)));
    };
    const first = t.store.nextCall('uploadPart');
    await writeUpTo(0, PART_BYTES + 500);
    await first;
    const second = t.store.nextCall('uploadPart');
    await writeUpTo(PART_BYTES + 500, data.length);
    await second;
    expect(t.store.calls).toMatchObject({ uploadPart: 2, complete: 0 });
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.store.calls).toMatchObject({ createUpload: 1, uploadPart: 3, complete: 1 });
    expect(t.body('streamed.bin')?.equals(data)).toBe(true);
  });

  it('sets the content type from the extension', async () => {
    const t = await fixture();
    await t.writeFile('/a.txt', 'text');
    await t.writeFile('/b.json', '{}');
    await t.writeFile('/notes', 'no extension');
    await t.writeFile('/d.html', patternBytes(PART_BYTES + 10));
    expect(t.store.getObject('a.txt')?.contentType).toBe('text/plain');
    expect(t.store.getObject('b.json')?.contentType).toBe('application/json');
    expect(t.store.getObject('notes')?.contentType).toBe('application/octet-stream');
    expect(t.store.getObject('d.html')?.contentType).toBe('text/html');
  });

  it('creates an empty file at close even when nothing was written', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/empty', 0o644);
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('empty')?.length).toBe(0);
  });

  it('replaces the content with O_TRUNC and keeps the attributes', async () => {
    const t = await fixture();
    t.store.putObject('f', 'the old content, longer', { mode: String(S_IFREG | 0o600) });
    const fh = await t.fs.open('/f', O_WRONLY | O_TRUNC);
    await t.fs.write(fh, 0, Buffer.from('new'));
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('f')?.toString()).toBe('new');
    expect((await t.fs.getattr('/f')).mode).toBe(S_IFREG | 0o600);
  });

  it('appends with O_APPEND whatever offset the kernel passes', async () => {
    const t = await fixture();
    t.store.putObject('log', 'hello');
    const fh = await t.fs.open('/log', O_WRONLY | O_APPEND);
    await t.fs.write(fh, 0, Buffer.from(' world'));
    await t.fs.write(fh, 3, Buffer.from('!'));
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('log')?.toString()).toBe('hello world!');
  });

  it('rewrites the middle of a big object with part copies for the untouched parts, byte-exact', async () => {
    const t = await fixture();
    const data = patternBytes(4 * PART_BYTES + 3616);
    t.store.putObject('big', data);
    const patch = patternBytes(100, 'patch');
    const fh = await t.fs.open('/big', O_RDWR);
    await t.fs.write(fh, 2 * PART_BYTES + 808, patch);
    await t.fs.flush(fh);
    await t.fs.release(fh);
    const expected = Buffer.from(data);
    patch.copy(expected, 2 * PART_BYTES + 808);
    expect(t.body('big')?.equals(expected)).toBe(true);
    expect(t.store.calls.uploadPartCopy).toBeGreaterThan(0);
    expect(t.store.calls.uploadPart).toBeLessThan(5);
    expect(t.store.pendingUploads()).toEqual([]);
  });

  it('leaves the bucket untouched when a file is opened for writing and closed unchanged', async () => {
    const t = await fixture();
    const etag = t.store.putObject('f', 'content');
    const fh = await t.fs.open('/f', O_RDWR);
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.store.getObject('f')?.etag).toBe(etag);
    expect(t.store.calls).toMatchObject({ put: 0, copy: 0, createUpload: 0 });
  });
});

describe('truncate and sparse writes', () => {
  it('shrinks and grows a closed file, the new bytes reading as zeros', async () => {
    const t = await fixture();
    const data = patternBytes(3 * PART_BYTES);
    t.store.putObject('f', data);
    await t.fs.truncate('/f', 10);
    expect(t.body('f')?.equals(data.subarray(0, 10))).toBe(true);
    await t.fs.truncate('/f', 3000);
    expect(t.body('f')?.equals(Buffer.concat([data.subarray(0, 10), Buffer.alloc(2990)]))).toBe(true);
    expect((await t.readFile('/f')).equals(t.body('f') as Buffer)).toBe(true);
    expect((await t.fs.getattr('/f')).sizeBytes).toBe(3000);
  });

  it('shrinks a big object to a size that is still multipart', async () => {
    const t = await fixture();
    const data = patternBytes(3 * PART_BYTES);
    t.store.putObject('f', data);
    await t.fs.truncate('/f', PART_BYTES + 904);
    expect(t.body('f')?.equals(data.subarray(0, PART_BYTES + 904))).toBe(true);
  });

  it('ftruncate changes an open file, uploaded at close', async () => {
    const t = await fixture();
    t.store.putObject('f', 'abcdef');
    const fh = await t.fs.open('/f', O_RDWR);
    await t.fs.ftruncate(fh, 2);
    expect((await t.fs.fgetattr(fh)).sizeBytes).toBe(2);
    await t.fs.ftruncate(fh, 4);
    expect((await t.fs.read(fh, 0, 10)).equals(Buffer.from('ab\0\0'))).toBe(true);
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('f')?.equals(Buffer.from('ab\0\0'))).toBe(true);
  });

  it('reads zeros in the gap a write past the end leaves, before and after upload', async () => {
    const t = await fixture();
    t.store.putObject('f', 'abc');
    const fh = await t.fs.open('/f', O_RDWR);
    await t.fs.write(fh, 3000, Buffer.from('xyz'));
    const expected = Buffer.concat([Buffer.from('abc'), Buffer.alloc(2997), Buffer.from('xyz')]);
    expect((await t.readAll(fh)).equals(expected)).toBe(true);
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('f')?.equals(expected)).toBe(true);
  });

  it('reads zeros where a shrink then a grow cut away written bytes', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('abcdef'));
    await t.fs.ftruncate(fh, 1);
    await t.fs.write(fh, 5, Buffer.from('x'));
    expect((await t.readAll(fh)).equals(Buffer.from('a\0\0\0\0x'))).toBe(true);
    await t.fs.release(fh);
    expect(t.body('f')?.equals(Buffer.from('a\0\0\0\0x'))).toBe(true);
  });
});

describe('open files', () => {
  it('share their content between handles, and reads see bytes not yet uploaded', async () => {
    const t = await fixture();
    const writer = await t.fs.create('/f', 0o644);
    await t.fs.write(writer, 0, Buffer.from('first'));
    const other = await t.fs.open('/f', O_RDWR);
    const reader = await t.fs.open('/f', O_RDONLY);
    expect((await t.fs.read(other, 0, 100)).toString()).toBe('first');
    await t.fs.write(other, 5, Buffer.from(' second'));
    expect((await t.fs.read(writer, 0, 100)).toString()).toBe('first second');
    expect((await t.fs.read(reader, 0, 100)).toString()).toBe('first second');
    expect(t.body('f')).toBeUndefined();
    for (const fh of [writer, other, reader]) await t.fs.release(fh);
    expect(t.body('f')?.toString()).toBe('first second');
  });

  it('show their local size in getattr and their names in readdir before the upload', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    const fh = await t.fs.create('/d/new', 0o600);
    t.clock.advance(5_000);
    await t.fs.write(fh, 0, patternBytes(1234));
    expect(await t.fs.getattr('/d/new')).toMatchObject({ sizeBytes: 1234, mode: S_IFREG | 0o600, mtimeNs: BigInt(t.clock.nowMs) * 1_000_000n });
    expect(await t.names('/d')).toEqual(['new']);
    expect(t.body('d/new')).toBeUndefined();
    await t.fs.release(fh);
  });

  it('refuse writes through a read-only handle', async () => {
    const t = await fixture();
    t.store.putObject('f', 'x');
    const fh = await t.fs.open('/f', O_RDONLY);
    expect(await errnoOf(t.fs.write(fh, 0, Buffer.from('y')))).toBe('EBADF');
    await t.fs.release(fh);
  });
});

describe('concurrent flushes', () => {
  it('share one upload, and none returns before the object is in the bucket', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/f', 0o644);
    const fh2 = await t.fs.open('/f', O_RDWR);
    await t.fs.write(fh, 0, Buffer.from('data'));
    const held = gate();
    t.store.delayNext('put', held.promise);
    const returned: number[] = [];
    const putStarted = t.store.nextCall('put');
    const flushes = [t.fs.flush(fh).then(() => returned.push(fh)), t.fs.flush(fh2).then(() => returned.push(fh2))];
    await putStarted;
    expect(returned).toEqual([]);
    held.open();
    await Promise.all(flushes);
    expect(t.store.calls.put).toBe(1);
    expect(t.body('f')?.toString()).toBe('data');
    await t.fs.release(fh);
    await t.fs.release(fh2);
  });

  it('upload a write made during an upload at the next flush', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('aaaa'));
    const held = gate();
    t.store.delayNext('put', held.promise);
    const putStarted = t.store.nextCall('put');
    const flushing = t.fs.flush(fh);
    await putStarted;
    await t.fs.write(fh, 4, Buffer.from('bbbb'));
    held.open();
    await flushing;
    await t.fs.flush(fh);
    expect(t.body('f')?.toString()).toBe('aaaabbbb');
    await t.fs.release(fh);
  });
});

describe('upload failures', () => {
  it('fail flush with EIO, keep the bytes in the spool with a sidecar naming the key, and retry at the next flush', async () => {
    const t = await fixture();
    const data = patternBytes(1000);
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, data);
    t.store.failNext('put', 'ServerError');
    const error = await rejectionOf(t.fs.flush(fh));
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe('EIO');
    expect(t.body('f')).toBeUndefined();

    const files = await t.spoolFiles();
    const sidecar = files.find((n) => n.endsWith('.json')) as string;
    const dataFile = files.find((n) => n.endsWith('.data')) as string;
    expect(sidecar).toBeDefined();
    expect(JSON.parse(await fsp.readFile(path.join(t.spool.dir, sidecar), 'utf8'))).toMatchObject({ key: 'f', sizeBytes: 1000 });
    expect((await fsp.readFile(path.join(t.spool.dir, dataFile))).equals(data)).toBe(true);

    await t.fs.flush(fh);
    expect(t.body('f')?.equals(data)).toBe(true);
    await t.fs.release(fh);
    expect(await t.spoolFiles()).toEqual([]);
  });

  it.each(['uploadPart', 'complete'] as const)('abort the multipart upload when %s fails, and retry at the next flush', async (method) => {
    const t = await fixture();
    const data = patternBytes(3 * PART_BYTES + 5);
    const fh = await t.fs.create('/f', 0o644);
    t.store.failNext(method, 'ServerError');
    await t.fs.write(fh, 0, data);
    expect(await errnoOf(t.fs.flush(fh))).toBe('EIO');
    expect(t.store.pendingUploads()).toEqual([]);
    expect(t.body('f')).toBeUndefined();
    expect((await t.spoolFiles()).some((n) => n.endsWith('.json'))).toBe(true);
    await t.fs.flush(fh);
    expect(t.body('f')?.equals(data)).toBe(true);
    expect(t.store.pendingUploads()).toEqual([]);
    await t.fs.release(fh);
  });

  it('keep the spool files after the last close when the upload still fails', async () => {
    const t = await fixture();
    const data = patternBytes(1000);
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, data);
    t.store.failNext('put', 'ServerError', 2);
    expect(await errnoOf(t.fs.flush(fh))).toBe('EIO');
    await t.fs.release(fh);
    const files = await t.spoolFiles();
    expect(files.filter((n) => n.endsWith('.json'))).toHaveLength(1);
    const dataFile = files.find((n) => n.endsWith('.data')) as string;
    expect((await fsp.readFile(path.join(t.spool.dir, dataFile))).equals(data)).toBe(true);
  });

  it('refuse writes past the spool capacity with ENOSPC, and free the room at close', async () => {
    const t = await fixture({ write: { spoolSizeBytes: 8192 } });
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, patternBytes(6000));
    expect(await errnoOf(t.fs.write(fh, 6000, patternBytes(3000)))).toBe('ENOSPC');
    expect(await errnoOf(t.fs.ftruncate(fh, 9000))).toBe('ENOSPC');
    await t.fs.release(fh);
    expect(t.body('f')?.length).toBe(6000);
    await t.writeFile('/g', patternBytes(6000));
    expect(t.body('g')?.length).toBe(6000);
  });
});

describe('unlink, mkdir, rmdir, symlink, link', () => {
  it('a name deleted and made again is a new file with a new inode number', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'one');
    const first = (await t.fs.getattr('/f')).ino;
    await t.fs.unlink('/f');
    await t.writeFile('/f', 'two');
    expect((await t.fs.getattr('/f')).ino).not.toBe(first);
    await t.fs.mkdir('/d', 0o755);
    const dir = (await t.fs.getattr('/d')).ino;
    await t.fs.rmdir('/d');
    await t.fs.mkdir('/d', 0o755);
    expect((await t.fs.getattr('/d')).ino).not.toBe(dir);
  });

  it('unlink removes the name at once and the object by the time fsyncdir returns', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'data');
    await t.fs.unlink('/f');
    expect(await errnoOf(t.fs.getattr('/f'))).toBe('ENOENT');
    expect(await t.names('/')).toEqual([]);
    expect(await errnoOf(t.fs.unlink('/f'))).toBe('ENOENT');
    await t.fs.fsyncdir();
    expect(t.store.keys()).toEqual([]);
  });

  it('unlink then create of the same name keeps the new file', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'old');
    await t.fs.unlink('/f');
    await t.writeFile('/f', 'new');
    await t.fs.fsyncdir();
    expect(t.body('f')?.toString()).toBe('new');
    expect((await t.readFile('/f')).toString()).toBe('new');
  });

  it('unlinks many files in few requests', async () => {
    const t = await fixture();
    for (let i = 0; i < 50; i++) t.store.putObject(`d/f${i}`, 'x');
    await Promise.all(Array.from({ length: 50 }, (_, i) => t.fs.unlink(`/d/f${i}`)));
    expect(await t.names('/d')).toEqual([]);
    await t.fs.fsyncdir();
    expect(t.store.keys()).toEqual(['d/']);
    expect(t.store.calls.deleteMany).toBe(1);
  });

  it('unlink of a file being written drops the name; its handle keeps working and never uploads', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('abc'));
    await t.fs.unlink('/f');
    expect(await errnoOf(t.fs.getattr('/f'))).toBe('ENOENT');
    await t.fs.write(fh, 3, Buffer.from('def'));
    expect((await t.fs.read(fh, 0, 10)).toString()).toBe('abcdef');
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.store.keys()).toEqual([]);
    expect(await t.spoolFiles()).toEqual([]);
  });

  it('unlink of the last file of an implicit directory keeps the directory', async () => {
    const t = await fixture();
    t.store.putObject('d/only', 'x');
    await t.fs.unlink('/d/only');
    await t.fs.fsyncdir();
    expect((await t.fs.getattr('/d')).mode & S_IFMT).toBe(S_IFDIR);
    expect(await t.names('/')).toEqual(['d']);
    expect(await t.names('/d')).toEqual([]);
    expect(t.store.keys()).toEqual(['d/']);
  });

  it('unlink of a directory is EISDIR', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    expect(await errnoOf(t.fs.unlink('/d'))).toBe('EISDIR');
  });

  it('mkdir stores a dir/ marker with the mode in s3fs format', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o750);
    const marker = t.store.getObject('d/');
    expect(marker?.body.length).toBe(0);
    expect(marker?.metadata).toMatchObject({ mode: String(S_IFDIR | 0o750), uid: '1000', gid: '100' });
    expect(await t.fs.getattr('/d')).toMatchObject({ mode: S_IFDIR | 0o750 });
    expect(await errnoOf(t.fs.mkdir('/d', 0o755))).toBe('EEXIST');
    expect(await errnoOf(t.fs.mkdir('/missing/d', 0o755))).toBe('ENOENT');
    await t.writeFile('/file', 'x');
    expect(await errnoOf(t.fs.mkdir('/file', 0o755))).toBe('EEXIST');
    expect(await errnoOf(t.fs.mkdir('/file/d', 0o755))).toBe('ENOTDIR');
  });

  it('rmdir refuses a non-empty directory and removes an empty one', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    await t.writeFile('/d/f', 'x');
    expect(await errnoOf(t.fs.rmdir('/d'))).toBe('ENOTEMPTY');
    await t.fs.mkdir('/d/sub', 0o755);
    await t.fs.unlink('/d/f');
    expect(await errnoOf(t.fs.rmdir('/d'))).toBe('ENOTEMPTY');
    await t.fs.rmdir('/d/sub');
    await t.fs.rmdir('/d');
    expect(t.store.keys()).toEqual([]);
  });

  it('rmdir refuses a directory that holds only keys that are not shown (d//x), and keeps its marker', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    t.store.putObject('d//x', 'an empty segment');
    expect(await t.names('/d')).toEqual([]);
    expect(await errnoOf(t.fs.rmdir('/d'))).toBe('ENOTEMPTY');
    expect(t.store.keys()).toEqual(['d/', 'd//x']);
  });

  it('rmdir right after unlinking the last file succeeds', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    await t.fs.mkdir('/d/sub', 0o755);
    await t.writeFile('/d/f', 'x');
    await t.fs.unlink('/d/f');
    await t.fs.rmdir('/d/sub');
    await t.fs.rmdir('/d');
    expect(t.store.keys()).toEqual([]);
    expect(await errnoOf(t.fs.getattr('/d'))).toBe('ENOENT');
    expect(await errnoOf(t.fs.rmdir('/d'))).toBe('ENOENT');
  });

  it('rmdir refuses a directory holding a file not uploaded yet, and a file', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    const fh = await t.fs.create('/d/f', 0o644);
    expect(await errnoOf(t.fs.rmdir('/d'))).toBe('ENOTEMPTY');
    await t.fs.release(fh);
    expect(await errnoOf(t.fs.rmdir('/d/f'))).toBe('ENOTDIR');
  });

  it('symlink stores an s3fs symlink that readlink reads back', async () => {
    const t = await fixture();
    await t.fs.symlink('../target/file', '/link');
    expect(t.body('link')?.toString()).toBe('../target/file');
    expect(t.store.getObject('link')?.metadata.mode).toBe(String(S_IFLNK | 0o777));
    expect((await t.fs.getattr('/link')).mode).toBe(S_IFLNK | 0o777);
    expect(await t.fs.readlink('/link')).toBe('../target/file');
    expect(await errnoOf(t.fs.symlink('x', '/link'))).toBe('EEXIST');
  });

  it('link is EPERM: S3 cannot store hard links', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'x');
    expect(await errnoOf(t.fs.link('/f', '/g'))).toBe('EPERM');
  });
});

describe('rename', () => {
  it('within one directory does not list that directory again (rsync and editors rename temp files)', async () => {
    const t = await fixture();
    t.store.putObject('d/other', 'x'); // an implicit directory: no marker to answer for it
    await t.writeFile('/d/.tmp', 'data');
    const listsBefore = t.store.calls.listPage;
    await t.fs.rename('/d/.tmp', '/d/final');
    // One listing: the lookup of the target (is it a directory?), none of the parent.
    expect(t.store.calls.listPage - listsBefore).toBe(1);
    expect(t.body('d/final')?.toString()).toBe('data');
  });

  it('moves a file with its metadata and replaces the target, keeping the inode number', async () => {
    const t = await fixture();
    await t.writeFile('/a', 'AAA', 0o600);
    await t.writeFile('/b', 'BBBBBB', 0o644);
    const ino = (await t.fs.getattr('/a')).ino;
    await t.fs.rename('/a', '/b');
    expect(t.store.keys()).toEqual(['b']);
    expect(t.body('b')?.toString()).toBe('AAA');
    expect(t.store.getObject('b')?.metadata.mode).toBe(String(S_IFREG | 0o600));
    expect(await t.fs.getattr('/b')).toMatchObject({ ino, sizeBytes: 3, mode: S_IFREG | 0o600 });
    expect((await t.readFile('/b')).toString()).toBe('AAA');
    expect(await errnoOf(t.fs.getattr('/a'))).toBe('ENOENT');
    expect(await errnoOf(t.fs.rename('/a', '/c'))).toBe('ENOENT');
  });

  it('moves a file still being written; later writes reach the new name', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/w', 0o644);
    await t.fs.write(fh, 0, Buffer.from('data'));
    await t.fs.rename('/w', '/w2');
    expect(await t.names('/')).toEqual(['w2']);
    await t.fs.write(fh, 4, Buffer.from('more'));
    expect((await t.fs.getattr('/w2')).sizeBytes).toBe(8);
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.store.keys()).toEqual(['w2']);
    expect(t.body('w2')?.toString()).toBe('datamore');
  });

  it('keeps an implicit directory when its last file is moved out', async () => {
    const t = await fixture();
    t.store.putObject('d/f', 'x');
    await t.fs.rename('/d/f', '/g');
    expect((await t.fs.getattr('/d')).mode & S_IFMT).toBe(S_IFDIR);
    expect(await t.names('/')).toEqual(['d', 'g']);
    // The marker that keeps it is written a moment later (rmdir may come first), at the latest by fsync of a directory.
    await t.fs.fsyncdir();
    expect(t.store.keys()).toEqual(['d/', 'g']);
  });

  it('moves a directory tree: every key, markers included, nothing left under the old prefix', async () => {
    const t = await fixture();
    await t.fs.mkdir('/src', 0o700);
    await t.writeFile('/src/a', 'a');
    await t.fs.mkdir('/src/sub', 0o755);
    await t.writeFile('/src/sub/b', patternBytes(PART_BYTES + 1));
    t.store.putObject('src/implicit/c', 'c');
    await t.fs.rename('/src', '/dst');
    expect(t.store.keys().filter((k) => k.startsWith('src'))).toEqual([]);
    expect(t.store.keys()).toEqual(['dst/', 'dst/a', 'dst/implicit/c', 'dst/sub/', 'dst/sub/b']);
    expect((await t.fs.getattr('/dst')).mode).toBe(S_IFDIR | 0o700);
    expect((await t.readFile('/dst/sub/b')).equals(patternBytes(PART_BYTES + 1))).toBe(true);
    expect(await errnoOf(t.fs.getattr('/src'))).toBe('ENOENT');
    expect(await errnoOf(t.fs.getattr('/src/a'))).toBe('ENOENT');
  });

  it('moves a directory of more keys than one listing page or delete batch holds', async () => {
    const t = await fixture();
    const names = Array.from({ length: 1_234 }, (_, i) => `f${String(i).padStart(4, '0')}`);
    for (const name of names) t.store.putObject(`many/${name}`, name);
    await t.fs.rename('/many', '/moved');
    expect(t.store.keys().filter((k) => !k.startsWith('moved/'))).toEqual([]);
    expect(t.store.keys()).toHaveLength(names.length);
    expect(await t.names('/moved')).toEqual(names);
    expect(t.body('moved/f1233')?.toString()).toBe('f1233');
  });

  it('moves a directory onto an empty one, not onto a non-empty one, a file, or into itself', async () => {
    const t = await fixture();
    await t.fs.mkdir('/a', 0o755);
    await t.writeFile('/a/f', 'x');
    await t.fs.mkdir('/full', 0o755);
    await t.writeFile('/full/g', 'y');
    await t.fs.mkdir('/empty', 0o755);
    await t.writeFile('/file', 'z');
    expect(await errnoOf(t.fs.rename('/a', '/full'))).toBe('ENOTEMPTY');
    expect(await errnoOf(t.fs.rename('/a', '/file'))).toBe('ENOTDIR');
    expect(await errnoOf(t.fs.rename('/a', '/a/inside'))).toBe('EINVAL');
    expect(await errnoOf(t.fs.rename('/file', '/full'))).toBe('EISDIR');
    await t.fs.rename('/a', '/empty');
    expect(await t.names('/')).toEqual(['empty', 'file', 'full']);
    expect((await t.readFile('/empty/f')).toString()).toBe('x');
  });

  it('of a file whose copy fails changes neither name', async () => {
    const t = await fixture();
    await t.writeFile('/a', 'A');
    await t.writeFile('/b', 'B');
    t.store.failNext('copy', 'ServerError');
    expect(await errnoOf(t.fs.rename('/a', '/b'))).toBe('EIO');
    expect((await t.readFile('/a')).toString()).toBe('A');
    expect((await t.readFile('/b')).toString()).toBe('B');
  });

  it.each([
    ['a copy', 'copy'],
    ['the delete', 'deleteMany'],
  ] as const)('of a directory interrupted at %s is finished by recover() of the next mount', async (_what, method) => {
    const t = await fixture();
    await t.fs.mkdir('/src', 0o755);
    for (let i = 0; i < 12; i++) t.store.putObject(`src/f${i}`, `content ${i}`);
    t.store.failNext(method, 'ServerError');
    expect(await errnoOf(t.fs.rename('/src', '/dst'))).toBe('EIO');
    expect(await fsp.readdir(t.journalDir)).toHaveLength(1);
    expect(t.store.keys().some((k) => k.startsWith('dst/'))).toBe(true);

    const next = await fixture({ store: t.store, journalDir: t.journalDir });
    expect((await next.fs.recover()).renames).toHaveLength(1);
    expect(await fsp.readdir(t.journalDir)).toEqual([]);
    expect(t.store.keys().filter((k) => k.startsWith('src'))).toEqual([]);
    expect(await next.names('/dst')).toEqual(Array.from({ length: 12 }, (_, i) => `f${i}`).sort());
    expect((await next.readFile('/dst/f7')).toString()).toBe('content 7');
  });
});

describe('attributes', () => {
  it('chmod, chown and utimens of a closed file rewrite its metadata in place, content unchanged', async () => {
    const t = await fixture();
    const data = patternBytes(2000);
    await t.writeFile('/f.txt', data);
    const copiesBefore = t.store.calls.copy;
    await t.fs.chmod('/f.txt', 0o600);
    await t.fs.chown('/f.txt', 7, undefined);
    await t.fs.chown('/f.txt', undefined, 8);
    await t.fs.utimens('/f.txt', undefined, 1_600_000_000_000_000_000n);
    expect(t.store.calls.copy - copiesBefore).toBe(4);
    const object = t.store.getObject('f.txt');
    expect(object?.body.equals(data)).toBe(true);
    expect(object?.contentType).toBe('text/plain');
    expect(object?.metadata).toMatchObject({ mode: String(S_IFREG | 0o600), uid: '7', gid: '8', mtime: '1600000000' });
    expect(await t.fs.getattr('/f.txt')).toMatchObject({ mode: S_IFREG | 0o600, uid: 7, gid: 8, mtimeNs: 1_600_000_000_000_000_000n });
    await t.fs.utimens('/f.txt', undefined, 1_600_000_000_250_000_000n);
    expect((await t.fs.getattr('/f.txt')).mtimeNs).toBe(1_600_000_000_250_000_000n);
    t.clock.advance(60_000);
    expect((await t.fs.getattr('/f.txt')).mtimeNs).toBe(1_600_000_000_250_000_000n);
  });

  it('chmod and utimens of a file being written are folded into its upload', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('data'));
    await t.fs.chmod('/f', 0o640);
    await t.fs.utimens('/f', undefined, 1_500_000_000_000_000_000n);
    expect(await t.fs.getattr('/f')).toMatchObject({ mode: S_IFREG | 0o640, mtimeNs: 1_500_000_000_000_000_000n });
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.store.calls).toMatchObject({ put: 1, copy: 0 });
    expect(t.store.getObject('f')?.metadata).toMatchObject({ mode: String(S_IFREG | 0o640), mtime: '1500000000' });
  });

  it('utimens after the parts of a big file were streamed still reaches the object', async () => {
    const t = await fixture();
    const data = patternBytes(3 * PART_BYTES);
    const fh = await t.fs.create('/big', 0o644);
    await t.fs.write(fh, 0, data);
    await t.fs.utimens('/big', undefined, 1_500_000_000_000_000_000n);
    await t.fs.release(fh);
    expect(t.body('big')?.equals(data)).toBe(true);
    expect(t.store.getObject('big')?.metadata.mtime).toBe('1500000000');
    t.clock.advance(60_000);
    expect((await t.fs.getattr('/big')).mtimeNs).toBe(1_500_000_000_000_000_000n);
  });

  it('chmod of a directory rewrites its marker', async () => {
    const t = await fixture();
    t.store.putObject('d/x', 'x');
    await t.fs.chmod('/d', 0o700);
    expect(t.store.getObject('d/')?.metadata.mode).toBe(String(S_IFDIR | 0o700));
    expect((await t.fs.getattr('/d')).mode).toBe(S_IFDIR | 0o700);
  });

  it('user.* xattrs are stored in s3fs JSON and follow XATTR_CREATE / XATTR_REPLACE', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'content');
    await t.fs.setxattr('/f', 'user.a', Buffer.from('one'), 0);
    await t.fs.setxattr('/f', 'user.b', Buffer.from([0, 255]), 0);
    expect((await t.fs.getxattr('/f', 'user.a')).toString()).toBe('one');
    expect((await t.fs.listxattr('/f')).sort()).toEqual(['user.a', 'user.b']);
    const stored = JSON.parse(decodeURIComponent(t.store.getObject('f')?.metadata.xattr as string));
    expect(stored).toEqual({ 'user.a': Buffer.from('one').toString('base64'), 'user.b': 'AP8=' });
    expect(t.body('f')?.toString()).toBe('content');

    expect(await errnoOf(t.fs.setxattr('/f', 'user.a', Buffer.from('x'), XattrFlags.XATTR_CREATE))).toBe('EEXIST');
    expect(await errnoOf(t.fs.setxattr('/f', 'user.c', Buffer.from('x'), XattrFlags.XATTR_REPLACE))).toBe('ENODATA');
    await t.fs.setxattr('/f', 'user.a', Buffer.from('two'), XattrFlags.XATTR_REPLACE);
    await t.fs.setxattr('/f', 'user.c', Buffer.from('new'), XattrFlags.XATTR_CREATE);
    expect((await t.fs.getxattr('/f', 'user.a')).toString()).toBe('two');

    await t.fs.removexattr('/f', 'user.a');
    expect(await errnoOf(t.fs.getxattr('/f', 'user.a'))).toBe('ENODATA');
    expect(await errnoOf(t.fs.removexattr('/f', 'user.a'))).toBe('ENODATA');
    expect((await t.fs.listxattr('/f')).sort()).toEqual(['user.b', 'user.c']);
    expect(await errnoOf(t.fs.setxattr('/f', 'system.nfs4_acl', Buffer.from('x'), 0))).toBe('EOPNOTSUPP');
    expect(await errnoOf(t.fs.setxattr('/f', 'other.x', Buffer.from('x'), 0))).toBe('EOPNOTSUPP');
  });

  it('refuses metadata past S3’s 2 KiB with ENOSPC', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'data');
    expect(await errnoOf(t.fs.setxattr('/f', 'user.big', Buffer.alloc(3000, 1), 0))).toBe('ENOSPC');
    expect(await t.fs.listxattr('/f')).toEqual([]);
    expect(t.body('f')?.toString()).toBe('data');
  });

  it('xattrs of a directory live on its marker, and those of an open file in its upload', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    await t.fs.setxattr('/d', 'user.tag', Buffer.from('dir'), 0);
    expect((await t.fs.getxattr('/d', 'user.tag')).toString()).toBe('dir');
    expect(t.store.getObject('d/')?.metadata.xattr).toBeDefined();

    const fh = await t.fs.create('/d/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('x'));
    await t.fs.setxattr('/d/f', 'user.tag', Buffer.from('file'), 0);
    expect((await t.fs.getxattr('/d/f', 'user.tag')).toString()).toBe('file');
    await t.fs.release(fh);
    expect(t.store.calls.copy).toBe(0);
    t.clock.advance(60_000);
    expect((await t.fs.getxattr('/d/f', 'user.tag')).toString()).toBe('file');
  });
});

describe('a read-only mount', () => {
  it('refuses every change with EROFS and still reads', async () => {
    const t = await fixture({ posix: { readOnly: true } });
    t.store.putObject('f', 'content');
    t.store.putObject('d/g', 'x');
    const refused: [string, Promise<unknown>][] = [
      ['create', t.fs.create('/new', 0o644)],
      ['open O_WRONLY', t.fs.open('/f', O_WRONLY)],
      ['open O_RDWR', t.fs.open('/f', O_RDWR)],
      ['open O_TRUNC', t.fs.open('/f', O_WRONLY | O_TRUNC)],
      ['truncate', t.fs.truncate('/f', 0)],
      ['unlink', t.fs.unlink('/f')],
      ['mkdir', t.fs.mkdir('/e', 0o755)],
      ['rmdir', t.fs.rmdir('/d')],
      ['rename', t.fs.rename('/f', '/g')],
      ['symlink', t.fs.symlink('f', '/l')],
      ['chmod', t.fs.chmod('/f', 0o600)],
      ['chown', t.fs.chown('/f', 1, 1)],
      ['utimens', t.fs.utimens('/f', undefined, 1_000_000_000n)],
      ['setxattr', t.fs.setxattr('/f', 'user.a', Buffer.from('x'), 0)],
      ['removexattr', t.fs.removexattr('/f', 'user.a')],
      ['access W_OK', t.fs.access('/f', 2)],
    ];
    for (const [what, operation] of refused) expect([what, await errnoOf(operation)]).toEqual([what, 'EROFS']);
    expect((await t.readFile('/f')).toString()).toBe('content');
    expect(await t.names('/')).toEqual(['d', 'f']);
    expect(t.store.calls).toMatchObject({ put: 0, copy: 0, delete: 0, deleteMany: 0, createUpload: 0 });
    expect(t.store.keys()).toEqual(['d/g', 'f']);
  });
});
