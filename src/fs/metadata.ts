// POSIX attributes ↔ S3 user metadata, in the header names s3fs uses so a bucket moves between s3fs
// and bucketfs with its modes and times: x-amz-meta-mode (decimal st_mode, type bits included),
// -uid, -gid, -mtime (seconds, with a fraction when not whole, as rclone writes it) and -xattr
// (urlencoded JSON of name → base64 value). Metadata written by other tools is kept as it is.

import type { UserMetadata } from '../s3/object-store.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const PERMISSION_BITS = 0o7777;

export type NodeKind = 'file' | 'dir' | 'symlink';

export interface PosixAttrs {
  /** Full st_mode: type bits and permission bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
}

export interface AttrDefaults {
  readonly uid: number;
  readonly gid: number;
  readonly fileMode: number;
  readonly dirMode: number;
}

/** S3's limit on user metadata: the UTF-8 bytes of every name and value, summed. */
export const MAX_METADATA_BYTES = 2048;

export function metadataSizeBytes(metadata: UserMetadata): number {
  let total = 0;
  for (const [name, value] of Object.entries(metadata)) total += Buffer.byteLength(name) + Buffer.byteLength(value);
  return total;
}

const META = { mode: 'mode', uid: 'uid', gid: 'gid', mtime: 'mtime', xattr: 'xattr' } as const;

function typeBits(kind: NodeKind): number {
  return kind === 'dir' ? S_IFDIR : kind === 'symlink' ? S_IFLNK : S_IFREG;
}

function parseUint(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n <= max ? n : undefined;
}

/** Parses x-amz-meta-mtime: whole seconds (s3fs) or fractional seconds (rclone). */
export function parseMtimeMs(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(text)) return undefined;
  const ms = Math.round(Number(text) * 1000);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

export function formatMtime(mtimeMs: number): string {
  const seconds = Math.floor(mtimeMs / 1000);
  const fraction = mtimeMs - seconds * 1000;
  return fraction === 0 ? String(seconds) : `${seconds}.${String(fraction).padStart(3, '0')}`;
}

/** The kind an object's metadata claims: a symlink when x-amz-meta-mode has S_IFLNK. */
export function kindFromMetadata(metadata: UserMetadata): NodeKind {
  const mode = parseUint(metadata[META.mode], 0xffffffff);
  return mode !== undefined && (mode & S_IFMT) === S_IFLNK ? 'symlink' : 'file';
}

export function attrsFromMetadata(
  metadata: UserMetadata | undefined,
  kind: NodeKind,
  defaults: AttrDefaults,
  lastModified: Date,
): PosixAttrs {
  const storedMode = parseUint(metadata?.[META.mode], 0xffffffff);
  const fallback = kind === 'dir' ? defaults.dirMode : kind === 'symlink' ? 0o777 : defaults.fileMode;
  const permissions = storedMode === undefined ? fallback : storedMode & PERMISSION_BITS;
  return {
    mode: typeBits(kind) | permissions,
    uid: parseUint(metadata?.[META.uid], 0xffffffff) ?? defaults.uid,
    gid: parseUint(metadata?.[META.gid], 0xffffffff) ?? defaults.gid,
    mtimeMs: parseMtimeMs(metadata?.[META.mtime]) ?? lastModified.getTime(),
  };
}

/** Metadata to store: the given attributes over whatever else the object carried. */
export function metadataWithAttrs(base: UserMetadata | undefined, attrs: PosixAttrs): Record<string, string> {
  return {
    ...base,
    [META.mode]: String(attrs.mode),
    [META.uid]: String(attrs.uid),
    [META.gid]: String(attrs.gid),
    [META.mtime]: formatMtime(attrs.mtimeMs),
  };
}

/** Extended attributes stored in x-amz-meta-xattr, in s3fs's layout. */
export function decodeXattrs(metadata: UserMetadata | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const raw = metadata?.[META.xattr];
  if (!raw) return out;
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(raw));
    if (parsed && typeof parsed === 'object') {
      for (const [name, value] of Object.entries(parsed)) {
        if (typeof value === 'string') out.set(name, Buffer.from(value, 'base64'));
      }
    }
  } catch {
    // A header that is not s3fs's JSON came from another tool: show no xattrs rather than fail stat.
  }
  return out;
}

export function metadataWithXattrs(base: UserMetadata, xattrs: ReadonlyMap<string, Buffer>): Record<string, string> {
  const { [META.xattr]: _old, ...rest } = base;
  if (xattrs.size === 0) return rest;
  const json: Record<string, string> = {};
  for (const [name, value] of xattrs) json[name] = value.toString('base64');
  return { ...rest, [META.xattr]: encodeURIComponent(JSON.stringify(json)) };
}
