// The s3fs header layout, in one place: how POSIX attributes live in S3 user metadata so a bucket
// moves between s3fs-fuse, rclone and bucketfs. Written as s3fs writes them:
//   x-amz-meta-mode               decimal st_mode, file type bits included (S_IFLNK, S_IFIFO, S_IFCHR…)
//   x-amz-meta-uid, -gid          decimal
//   x-amz-meta-atime, -mtime, -ctime  seconds, plus `.` and 9 digits of nanoseconds when not whole
//   x-amz-meta-rdev               a device's number, hex as rclone writes it (s3fs stores none)
//   x-amz-meta-xattr              s3fs's use_xattr: URL-encoded JSON of name → base64 value
// Read as s3fs reads them: numbers in C's base-0 form (`0644` is octal), s3sync's and GCS's header
// names as fallbacks, times with fewer fraction digits (rclone trims zeros), the older xattr
// encoding. Metadata written by other tools is kept as it is.

import path from 'node:path';
import mime from 'mime-types';
import type { UserMetadata } from '../s3/object-store.js';

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const PERMISSION_BITS = 0o7777;

/** What a node is. Everything but 'dir' is one object; special files are empty objects. */
export type FileType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

const TYPE_BITS: Record<FileType, number> = {
  file: S_IFREG,
  dir: S_IFDIR,
  symlink: S_IFLNK,
  fifo: S_IFIFO,
  socket: S_IFSOCK,
  chardev: S_IFCHR,
  blockdev: S_IFBLK,
};

export function typeBits(type: FileType): number {
  return TYPE_BITS[type];
}

/** The type st_mode's type bits name; undefined when they name none. */
export function typeOfMode(mode: number): FileType | undefined {
  const bits = mode & S_IFMT;
  return (Object.keys(TYPE_BITS) as FileType[]).find((t) => TYPE_BITS[t] === bits);
}

export interface PosixAttrs {
  /** Full st_mode: type bits and permission bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Device number of a character or block device (glibc's dev_t encoding), else 0. */
  readonly rdev: number;
  /** Times in nanoseconds since the epoch. */
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export interface AttrDefaults {
  readonly uid: number;
  readonly gid: number;
  readonly fileMode: number;
  readonly dirMode: number;
}

export const NS_PER_MS = 1_000_000n;
const NS_PER_SECOND = 1_000_000_000n;

export function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * NS_PER_MS;
}

/** S3's limit on user metadata: the UTF-8 bytes of every name and value, summed. */
export const MAX_METADATA_BYTES = 2048;

export function metadataSizeBytes(metadata: UserMetadata): number {
  let total = 0;
  for (const [name, value] of Object.entries(metadata)) total += Buffer.byteLength(name) + Buffer.byteLength(value);
  return total;
}

/** Header names (lower case, without `x-amz-meta-`). */
const META = { mode: 'mode', uid: 'uid', gid: 'gid', atime: 'atime', mtime: 'mtime', ctime: 'ctime', rdev: 'rdev', xattr: 'xattr' } as const;
/** Read when s3fs's own header is missing, in s3fs's order: s3sync, then Google Cloud Storage. */
const FALLBACK = {
  mode: [['permissions', 0], ['goog-reserved-posix-mode', 8]],
  uid: [['owner', 0], ['goog-reserved-posix-uid', 0]],
  gid: [['group', 0], ['goog-reserved-posix-gid', 0]],
} as const;
const ATTR_HEADERS: readonly string[] = [META.mode, META.uid, META.gid, META.atime, META.mtime, META.ctime, META.rdev];

/** Content types other tools give directory objects stored without a trailing slash. */
const DIRECTORY_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/x-directory', 'httpd/unix-directory']);

/** A number as C's strtol(s, 0) reads it (0x… hex, 0… octal, else decimal), as s3fs parses ids and modes. */
export function parseCNumber(text: string | undefined, max: number, base: 0 | 8 = 0): number | undefined {
  const t = text?.trim();
  if (t === undefined) return undefined;
  let n: number;
  if (base === 8 || /^0[0-7]+$/.test(t)) n = /^[0-7]+$/.test(t) ? parseInt(t, 8) : NaN;
  else if (/^0x[0-9a-f]+$/i.test(t)) n = parseInt(t.slice(2), 16);
  else n = /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

/** Seconds with an optional decimal fraction (s3fs writes 9 digits, rclone trims zeros) → ns. */
export function parseTimeNs(text: string | undefined): bigint | undefined {
  const m = text === undefined ? null : /^\s*(-?)(\d{1,15})(?:\.(\d{1,30}))?\s*$/.exec(text);
  if (!m) return undefined;
  const ns = BigInt(m[2] as string) * NS_PER_SECOND + BigInt((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  return m[1] ? -ns : ns;
}

/** ns → seconds, with 9 fraction digits only when not whole (s3fs's `%ld.%09ld`). */
export function formatTimeNs(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const seconds = abs / NS_PER_SECOND;
  const fraction = abs % NS_PER_SECOND;
  const text = fraction === 0n ? String(seconds) : `${seconds}.${String(fraction).padStart(9, '0')}`;
  return negative ? `-${text}` : text;
}

function storedMode(metadata: UserMetadata | undefined): number | undefined {
  const own = parseCNumber(metadata?.[META.mode], 0xffffffff);
  if (own !== undefined) return own;
  for (const [name, base] of FALLBACK.mode) {
    const mode = parseCNumber(metadata?.[name], 0xffffffff, base);
    if (mode !== undefined) return mode;
  }
  return undefined;
}

function storedId(metadata: UserMetadata | undefined, which: 'uid' | 'gid'): number | undefined {
  for (const name of [META[which], ...FALLBACK[which].map(([n]) => n)]) {
    const id = parseCNumber(metadata?.[name], 0xffffffff);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The type of a file object (never 'dir': see isDirectoryObject), from x-amz-meta-mode. */
export function objectType(metadata: UserMetadata): FileType {
  const mode = storedMode(metadata);
  const type = mode === undefined ? undefined : typeOfMode(mode);
  return type === undefined || type === 'dir' ? 'file' : type;
}

/**
 * A directory stored as an object without a trailing slash, as old s3fs versions and other tools
 * made them: S_IFDIR in its mode, or no type in its mode and a directory content type.
 */
export function isDirectoryObject(contentType: string | undefined, metadata: UserMetadata): boolean {
  const mode = storedMode(metadata);
  if (mode !== undefined && (mode & S_IFMT) !== 0) return (mode & S_IFMT) === S_IFDIR;
  return DIRECTORY_CONTENT_TYPES.has((contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '');
}

export function attrsFromMetadata(
  metadata: UserMetadata | undefined,
  type: FileType,
  defaults: AttrDefaults,
  lastModified: Date,
): PosixAttrs {
  const stored = storedMode(metadata);
  const fallback = type === 'dir' ? defaults.dirMode : type === 'symlink' ? 0o777 : defaults.fileMode;
  let permissions = stored === undefined ? fallback : stored & PERMISSION_BITS;
  // As s3fs: a stored mode with neither type nor permission bits still lets the owner read.
  if (stored !== undefined && (stored & (S_IFMT | 0o777)) === 0) permissions |= type === 'dir' ? 0o500 : 0o400;
  const modifiedNs = msToNs(lastModified.getTime());
  const mtimeNs = parseTimeNs(metadata?.[META.mtime]) ?? parseTimeNs(metadata?.['goog-reserved-file-mtime']) ?? modifiedNs;
  const devices = type === 'chardev' || type === 'blockdev';
  return {
    mode: typeBits(type) | permissions,
    uid: storedId(metadata, 'uid') ?? defaults.uid,
    gid: storedId(metadata, 'gid') ?? defaults.gid,
    rdev: devices ? (parseRdev(metadata?.[META.rdev]) ?? 0) : 0,
    // s3fs reads a missing atime or ctime as the object's Last-Modified.
    atimeNs: parseTimeNs(metadata?.[META.atime]) ?? modifiedNs,
    mtimeNs,
    ctimeNs: parseTimeNs(metadata?.[META.ctime]) ?? modifiedNs,
  };
}

function parseRdev(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (t === undefined || !/^[0-9a-f]{1,8}$/i.test(t)) return undefined;
  return parseInt(t, 16);
}

/** Metadata to store: the given attributes over whatever else the object carried. */
export function metadataWithAttrs(base: UserMetadata | undefined, attrs: PosixAttrs): Record<string, string> {
  const { [META.rdev]: _rdev, ...rest } = base ?? {};
  const type = typeOfMode(attrs.mode);
  return {
    ...rest,
    [META.mode]: String(attrs.mode),
    [META.uid]: String(attrs.uid),
    [META.gid]: String(attrs.gid),
    [META.atime]: formatTimeNs(attrs.atimeNs),
    [META.mtime]: formatTimeNs(attrs.mtimeNs),
    [META.ctime]: formatTimeNs(attrs.ctimeNs),
    ...(type === 'chardev' || type === 'blockdev' ? { [META.rdev]: attrs.rdev.toString(16) } : {}),
  };
}

/** Content-Type from the key's extension, as s3fs sets it (also when a rename changes the name). */
export function contentTypeOf(key: string): string {
  const extension = path.posix.extname(key);
  return (extension && mime.lookup(extension)) || 'application/octet-stream';
}

/** The metadata that is not one of our attribute headers: other tools' headers and the xattrs. */
export function withoutAttrHeaders(metadata: UserMetadata | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([name]) => !ATTR_HEADERS.includes(name)));
}

// ---- extended attributes: x-amz-meta-xattr ----

/** URL-encodes as s3fs's urlEncodePath: every UTF-8 byte but letters, digits and `.-_~/` as %XX. */
function urlEncodePath(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9.\-_~/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes %XX escapes leniently (a stray % stays as it is), then reads the bytes as UTF-8. */
function urlDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** s3fs's own reader, for a header that is not strict JSON: `{"name":"b64",…}` split on commas. */
function parseS3fsPairs(json: string): Map<string, string> {
  const out = new Map<string, string>();
  const start = json.indexOf('{');
  const end = json.lastIndexOf('}');
  if (start < 0 || end <= start) return out;
  for (const pair of json.slice(start + 1, end).split(',')) {
    const colon = pair.lastIndexOf(':');
    const name = /"(.*)"/.exec(pair.slice(0, colon))?.[1];
    const value = /"(.*)"/.exec(pair.slice(colon + 1))?.[1];
    if (colon > 0 && name !== undefined && value !== undefined) out.set(name, value);
  }
  return out;
}

/** Extended attributes stored in x-amz-meta-xattr (s3fs's layout, or the older encodeURIComponent one). */
export function decodeXattrs(metadata: UserMetadata | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const raw = metadata?.[META.xattr];
  if (!raw) return out;
  const json = urlDecode(raw);
  let pairs: Map<string, string>;
  try {
    const parsed: unknown = JSON.parse(json);
    pairs = new Map(Object.entries(parsed && typeof parsed === 'object' ? parsed : {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    pairs = parseS3fsPairs(json);
  }
  for (const [name, value] of pairs) out.set(name, Buffer.from(value, 'base64'));
  return out;
}

/** The x-amz-meta-xattr value s3fs writes: names in byte order, values in base64, URL-encoded. */
export function encodeXattrs(xattrs: ReadonlyMap<string, Buffer>): string {
  const names = [...xattrs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const body = names.map((name) => `${JSON.stringify(name)}:"${(xattrs.get(name) as Buffer).toString('base64')}"`).join(',');
  return urlEncodePath(`{${body}}`);
}

export function metadataWithXattrs(base: UserMetadata, xattrs: ReadonlyMap<string, Buffer>): Record<string, string> {
  const { [META.xattr]: _old, ...rest } = base;
  return xattrs.size === 0 ? rest : { ...rest, [META.xattr]: encodeXattrs(xattrs) };
}
