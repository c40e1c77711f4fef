import { describe, expect, it } from 'vitest';
import { attrsFromMetadata, decodeXattrs, formatMtime, kindFromMetadata, metadataWithAttrs, metadataWithXattrs, parseMtimeMs, S_IFDIR, S_IFLNK, S_IFREG } from '../../src/fs/metadata.js';

const defaults = { uid: 1000, gid: 100, fileMode: 0o644, dirMode: 0o755 };
const lastModified = new Date('2024-05-06T07:08:09.000Z');

describe('metadata (s3fs header names)', () => {
  it('falls back to flags and LastModified without x-amz-meta-*', () => {
    expect(attrsFromMetadata({}, 'file', defaults, lastModified)).toEqual({ mode: S_IFREG | 0o644, uid: 1000, gid: 100, mtimeMs: lastModified.getTime() });
    expect(attrsFromMetadata(undefined, 'dir', defaults, lastModified).mode).toBe(S_IFDIR | 0o755);
  });

  it('reads mode, uid, gid and mtime as s3fs writes them', () => {
    const attrs = attrsFromMetadata({ mode: String(S_IFREG | 0o600), uid: '0', gid: '0', mtime: '1700000000' }, 'file', defaults, lastModified);
    expect(attrs).toEqual({ mode: S_IFREG | 0o600, uid: 0, gid: 0, mtimeMs: 1_700_000_000_000 });
  });

  it('reads fractional mtimes (rclone) and ignores garbage', () => {
    expect(parseMtimeMs('1700000000.25')).toBe(1_700_000_000_250);
    expect(parseMtimeMs('2024-01-01')).toBeUndefined();
    expect(attrsFromMetadata({ mtime: 'yesterday', mode: 'rw' }, 'file', defaults, lastModified)).toEqual(attrsFromMetadata({}, 'file', defaults, lastModified));
  });

  it('round-trips attributes and keeps foreign metadata', () => {
    const meta = metadataWithAttrs({ 'other-tool': 'x' }, { mode: S_IFREG | 0o640, uid: 5, gid: 6, mtimeMs: 1_700_000_000_123 });
    expect(meta['other-tool']).toBe('x');
    expect(meta.mtime).toBe('1700000000.123');
    expect(formatMtime(1_700_000_000_000)).toBe('1700000000');
    expect(attrsFromMetadata(meta, 'file', defaults, lastModified)).toEqual({ mode: S_IFREG | 0o640, uid: 5, gid: 6, mtimeMs: 1_700_000_000_123 });
  });

  it('recognises s3fs symlinks by S_IFLNK in the mode', () => {
    expect(kindFromMetadata({ mode: String(S_IFLNK | 0o777) })).toBe('symlink');
    expect(kindFromMetadata({ mode: String(S_IFREG | 0o777) })).toBe('file');
  });

  it('stores xattrs as s3fs does: urlencoded JSON of base64 values', () => {
    const meta = metadataWithXattrs({ mode: '1' }, new Map([['user.a', Buffer.from([0, 1, 255])]]));
    expect(JSON.parse(decodeURIComponent(meta.xattr as string))).toEqual({ 'user.a': 'AAH/' });
    expect(decodeXattrs(meta).get('user.a')).toEqual(Buffer.from([0, 1, 255]));
    expect(metadataWithXattrs(meta, new Map()).xattr).toBeUndefined();
    expect(decodeXattrs({ xattr: '%%%not json' }).size).toBe(0);
  });
});
