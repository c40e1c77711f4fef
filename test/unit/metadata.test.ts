// The s3fs header layout (src/fs/metadata.ts): what s3fs-fuse and rclone write reads back exactly,
// and what bucketfs writes is byte for byte what s3fs writes for the same attributes.

import { describe, expect, it } from 'vitest';
import {
  attrsFromMetadata,
  decodeXattrs,
  encodeXattrs,
  formatTimeNs,
  isDirectoryObject,
  metadataWithAttrs,
  metadataWithXattrs,
  objectType,
  parseCNumber,
  parseTimeNs,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFREG,
  S_IFSOCK,
  withoutAttrHeaders,
} from '../../src/fs/metadata.js';

const defaults = { uid: 1000, gid: 100, fileMode: 0o644, dirMode: 0o755 };
const lastModified = new Date('2024-05-06T07:08:09.000Z');
const modifiedNs = BigInt(lastModified.getTime()) * 1_000_000n;

describe('metadata (s3fs header names)', () => {
  it('falls back to flags and LastModified without x-amz-meta-*', () => {
    expect(attrsFromMetadata({}, 'file', defaults, lastModified)).toEqual({
      mode: S_IFREG | 0o644,
      uid: 1000,
      gid: 100,
      rdev: 0,
      atimeNs: modifiedNs,
      mtimeNs: modifiedNs,
      ctimeNs: modifiedNs,
    });
    expect(attrsFromMetadata(undefined, 'dir', defaults, lastModified).mode).toBe(S_IFDIR | 0o755);
  });

  it('reads mode, uid, gid and the three times as s3fs writes them', () => {
    const metadata = { mode: String(S_IFREG | 0o600), uid: '0', gid: '0', atime: '1700000001', mtime: '1700000000.123456789', ctime: '1700000002' };
    expect(attrsFromMetadata(metadata, 'file', defaults, lastModified)).toEqual({
      mode: S_IFREG | 0o600,
      uid: 0,
      gid: 0,
      rdev: 0,
      atimeNs: 1_700_000_001_000_000_000n,
      mtimeNs: 1_700_000_000_123_456_789n,
      ctimeNs: 1_700_000_002_000_000_000n,
    });
  });

  it('reads fractions as decimals (rclone trims zeros), ignores garbage, and numbers as C base 0 (s3fs)', () => {
    expect(parseTimeNs('1700000000.25')).toBe(1_700_000_000_250_000_000n);
    expect(parseTimeNs('1700000000.000000001')).toBe(1_700_000_000_000_000_001n);
    expect(parseTimeNs('-1.5')).toBe(-1_500_000_000n);
    expect(parseTimeNs('2024-01-01')).toBeUndefined();
    expect(attrsFromMetadata({ mtime: 'yesterday', mode: 'rw' }, 'file', defaults, lastModified)).toEqual(attrsFromMetadata({}, 'file', defaults, lastModified));
    expect(parseCNumber('33188', 0xffffffff)).toBe(33188);
    expect(parseCNumber('0644', 0xffffffff)).toBe(0o644);
    expect(parseCNumber('0x1f', 0xffffffff)).toBe(31);
    expect(parseCNumber('-1', 0xffffffff)).toBeUndefined();
  });

  it('writes times as s3fs does: whole seconds, or 9 digits of nanoseconds', () => {
    expect(formatTimeNs(1_700_000_000_000_000_000n)).toBe('1700000000');
    expect(formatTimeNs(1_700_000_000_123_000_000n)).toBe('1700000000.123000000');
    expect(formatTimeNs(1_577_934_245_123_456_789n)).toBe('1577934245.123456789');
    expect(formatTimeNs(-1_500_000_000n)).toBe('-1.500000000');
    for (const ns of [0n, 1n, 999_999_999n, 1_577_934_245_123_456_789n, -7n]) expect(parseTimeNs(formatTimeNs(ns))).toBe(ns);
  });

  it('reads s3sync and Google Cloud Storage headers when s3fs\'s are missing, as s3fs does', () => {
    const sync = attrsFromMetadata({ permissions: String(S_IFREG | 0o600), owner: '5', group: '6' }, 'file', defaults, lastModified);
    expect(sync).toMatchObject({ mode: S_IFREG | 0o600, uid: 5, gid: 6 });
    const gcs = { 'goog-reserved-posix-mode': '640', 'goog-reserved-posix-uid': '7', 'goog-reserved-posix-gid': '8', 'goog-reserved-file-mtime': '1600000000' };
    expect(attrsFromMetadata(gcs, 'file', defaults, lastModified)).toMatchObject({ mode: S_IFREG | 0o640, uid: 7, gid: 8, mtimeNs: 1_600_000_000_000_000_000n });
  });

  it('round-trips attributes and keeps foreign metadata', () => {
    const attrs = { mode: S_IFREG | 0o640, uid: 5, gid: 6, rdev: 0, atimeNs: 1_700_000_000_5n, mtimeNs: 1_700_000_000_123_000_000n, ctimeNs: 1_700_000_001_000_000_000n };
    const meta = metadataWithAttrs({ 'other-tool': 'x', rdev: 'stale' }, attrs);
    expect(meta).toEqual({
      'other-tool': 'x',
      mode: String(S_IFREG | 0o640),
      uid: '5',
      gid: '6',
      atime: '17.000000005',
      mtime: '1700000000.123000000',
      ctime: '1700000001',
    });
    expect(attrsFromMetadata(meta, 'file', defaults, lastModified)).toEqual(attrs);
    expect(withoutAttrHeaders(meta)).toEqual({ 'other-tool': 'x' });
  });

  it('stores the type bits of special files in the mode and a device number in x-amz-meta-rdev (hex, as rclone)', () => {
    const t = 1_700_000_000_000_000_000n;
    const dev = { mode: S_IFCHR | 0o600, uid: 0, gid: 0, rdev: 0x0103, atimeNs: t, mtimeNs: t, ctimeNs: t };
    const meta = metadataWithAttrs({}, dev);
    expect(meta.rdev).toBe('103');
    expect(objectType(meta)).toBe('chardev');
    expect(attrsFromMetadata(meta, 'chardev', defaults, lastModified)).toEqual(dev);
    expect(metadataWithAttrs({}, { ...dev, mode: S_IFIFO | 0o644 }).rdev).toBeUndefined();
    expect(objectType({ mode: String(S_IFIFO | 0o644) })).toBe('fifo');
    expect(objectType({ mode: String(S_IFSOCK | 0o755) })).toBe('socket');
    expect(objectType({ mode: String(S_IFBLK | 0o660) })).toBe('blockdev');
    expect(objectType({ mode: String(S_IFLNK | 0o777) })).toBe('symlink');
    expect(objectType({ mode: String(S_IFREG | 0o777) })).toBe('file');
    expect(objectType({ mode: String(S_IFDIR | 0o755) })).toBe('file');
  });

  it('recognises directory objects other tools stored without a trailing slash', () => {
    expect(isDirectoryObject('application/x-directory', {})).toBe(true);
    expect(isDirectoryObject('httpd/unix-directory; charset=utf-8', {})).toBe(true);
    expect(isDirectoryObject('binary/octet-stream', { mode: String(S_IFDIR | 0o750) })).toBe(true);
    expect(isDirectoryObject('application/x-directory', { mode: String(S_IFREG | 0o644) })).toBe(false);
    expect(isDirectoryObject('text/plain', {})).toBe(false);
  });

  it('stores xattrs exactly as s3fs\'s use_xattr does: names in byte order, base64 values, urlEncodePath', () => {
    const xattrs = new Map([
      ['user.b', Buffer.from('bar')],
      ['user.a', Buffer.from([0, 1, 255])],
      ['security.selinux', Buffer.from('x')],
    ]);
    // s3fs: {"security.selinux":"eA==","user.a":"AAH/","user.b":"YmFy"} with everything but [A-Za-z0-9.-_~/] as %XX.
    expect(encodeXattrs(xattrs)).toBe('%7B%22security.selinux%22%3A%22eA%3D%3D%22%2C%22user.a%22%3A%22AAH/%22%2C%22user.b%22%3A%22YmFy%22%7D');
    const meta = metadataWithXattrs({ mode: '1' }, xattrs);
    expect(decodeXattrs(meta)).toEqual(xattrs);
    expect(metadataWithXattrs(meta, new Map()).xattr).toBeUndefined();
  });

  it('reads the older encodeURIComponent form, s3fs\'s lowercase escapes and its raw names, and ignores garbage', () => {
    expect(decodeXattrs({ xattr: encodeURIComponent(JSON.stringify({ 'user.a': 'AAH/' })) }).get('user.a')).toEqual(Buffer.from([0, 1, 255]));
    expect(decodeXattrs({ xattr: '%7b%22user.x%22%3a%22YmFy%22%7d' }).get('user.x')?.toString()).toBe('bar');
    // A name JSON cannot read: s3fs writes names as they are.
    expect(decodeXattrs({ xattr: '%7B%22user.q%5C%22%3A%22YmFy%22%7D' }).get('user.q\\')?.toString()).toBe('bar');
    expect(decodeXattrs({ xattr: '%%%not json' }).size).toBe(0);
  });
});
