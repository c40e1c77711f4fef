// S3Filesystem: the POSIX rules of bucketfs, one async method per FUSE operation, taking and returning
// plain data (no callbacks, no packed arrays, no negative numbers). It talks to S3 only through the
// ObjectStore interface and knows nothing of FUSE, so it runs in unit tests on an in-memory store.
// Files open for writing live in `#openFiles` (one OpenFile per path, shared by its handles) and
// take precedence over what the bucket says; every change invalidates the caches it touches.

import type { ObjectStore, UserMetadata } from '../s3/object-store.js';
import type { BlockCache } from '../cache/block-cache.js';
import type { MemoryBudget } from '../cache/memory-budget.js';
import type { CacheConfig, PosixConfig, WriteConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { DeleteBatcher } from './delete-batcher.js';
import { DirRenamer } from './dir-rename.js';
import { FsError } from './errno.js';
import { HandleTable } from './handles.js';
import {
  type PosixAttrs,
  attrsFromMetadata,
  decodeXattrs,
  MAX_METADATA_BYTES,
  metadataSizeBytes,
  kindFromMetadata,
  metadataWithAttrs,
  metadataWithXattrs,
  PERMISSION_BITS,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from './metadata.js';
import { Namespace } from './namespace.js';
import { type FsPath, childPath, dirPrefix, fileKey, isSameOrBelow, parentOf, rebase, toFsPath, NAME_MAX_BYTES, ROOT } from './names.js';
import { InodeTable, type Node, type RemoteObject } from './nodes.js';
import { ObjectReader, type ReadContext } from './object-reader.js';
import { OpenFile, type OpenFileContext } from './open-file.js';
import { PartLayout } from './part-layout.js';
import type { Spool } from './spool.js';
import { type Stat, blocksOf, statOf, PREFERRED_IO_BYTES } from './stat.js';

export interface FilesystemDeps {
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly blocks: BlockCache;
  readonly budget: MemoryBudget;
  readonly spool: Spool;
  readonly cache: CacheConfig;
  readonly posix: PosixConfig;
  readonly write: WriteConfig;
  /** Where directory-rename journals live (local disk). */
  readonly journalDir: string;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export interface DirEntry {
  readonly name: string;
  /** Type bits only when known without a HEAD; 0 lets the kernel ask (DT_UNKNOWN). */
  readonly typeBits: number;
  readonly ino: number;
}

export interface StatFs {
  readonly blockSizeBytes: number;
  readonly totalBlocks: number;
  readonly freeBlocks: number;
  readonly totalInodes: number;
  readonly freeInodes: number;
  readonly nameMaxBytes: number;
}

/** open(2) flags the core looks at (Linux values). */
export const OpenFlags = { O_ACCMODE: 3, O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_TRUNC: 0o1000, O_APPEND: 0o2000 } as const;
export const XattrFlags = { XATTR_CREATE: 1, XATTR_REPLACE: 2 } as const;

/**
 * A reader follows this mount's own changes to its file: it reads through the OpenFile while one
 * exists, and is re-pinned to the new object after an upload, a rename or a metadata rewrite.
 */
interface ReaderHandle {
  readonly kind: 'reader';
  path: FsPath;
  /** The version this handle reads; fstat answers from it, so st_size is stable per handle. */
  object: RemoteObject;
  reader: ObjectReader;
  /** Set when the file was unlinked while open: its delete waits for the last such reader. */
  orphanedKey: string | undefined;
}
type Handle = ReaderHandle | { readonly kind: 'file'; readonly file: OpenFile; readonly writable: boolean; readonly append: boolean };

/** Symlink targets are small; a larger body is not a symlink written by s3fs or us. */
const MAX_SYMLINK_BYTES = 4096;
const UNCHANGED_ID = 0xffffffff;

export class S3Filesystem {
  readonly #deps: FilesystemDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #namespace: Namespace;
  readonly #inodes = new InodeTable();
  readonly #handles = new HandleTable<Handle>();
  readonly #openFiles = new Map<FsPath, OpenFile>();
  readonly #fileContext: OpenFileContext;
  readonly #renamer: DirRenamer;
  readonly #deletes: DeleteBatcher;
  /**
   * Keys unlinked while a reader had them open, with the ETag unlinked: hidden now, deleted when
   * the last reader closes, unless another client has written the key since.
   */
  readonly #deferredDeletes = new Map<string, string>();
  /** Directory renames in progress: an upload below one waits, so it lands under the new name. */
  readonly #renaming = new Map<FsPath, Promise<void>>();
  readonly #mountedAt: Date;

  constructor(deps: FilesystemDeps) {
    this.#deps = deps;
    this.#log = deps.logger ?? silentLogger;
    this.#now = deps.now ?? Date.now;
    this.#namespace = new Namespace(deps.store, {
      statTtlMs: deps.cache.statTtlMs,
      negativeTtlMs: deps.cache.negativeTtlMs,
      maxStatEntries: deps.cache.maxStatEntries,
      now: deps.now,
    });
    this.#mountedAt = new Date(this.#now());
    const read: ReadContext = {
      store: deps.store,
      blocks: deps.blocks,
      budget: deps.budget,
      blockSizeBytes: deps.cache.blockSizeBytes,
      readAheadMaxBytes: deps.cache.readAheadMaxBytes,
    };
    this.#fileContext = {
      store: deps.store,
      bucket: deps.bucket,
      spool: deps.spool,
      budget: deps.budget,
      layout: new PartLayout(deps.write.partSizeBytes, deps.store.limits),
      uploadConcurrency: deps.write.uploadConcurrency,
      read,
      log: this.#log,
      now: this.#now,
    };
    this.#renamer = new DirRenamer(deps.store, deps.journalDir, this.#log);
    this.#deletes = new DeleteBatcher(deps.store, this.#log, (keys) => this.#afterDeletes(keys));
  }

  /** Finishes directory renames an earlier run left unfinished. */
  async recover(): Promise<string[]> {
    return this.#renamer.resume();
  }

  /** Uploads everything still dirty (before unmount); returns the paths that failed. */
  async syncAll(): Promise<string[]> {
    // Readers still open at unmount cannot keep an unlinked file any longer.
    for (const key of this.#deferredDeletes.keys()) this.#deletes.enqueue(key);
    this.#deferredDeletes.clear();
    await this.#deletes.drain();
    const failed: string[] = [];
    await Promise.all(
      [...this.#openFiles.values()].map((file) => file.sync().catch(() => failed.push(file.path))),
    );
    return failed;
  }

  // ---- attributes and listing ----

  async getattr(rawPath: string): Promise<Stat> {
    const path = toFsPath(rawPath);
    const file = this.#openFiles.get(path);
    if (file) return this.#statOfOpenFile(file);
    return this.#stat(path, await this.#require(path));
  }

  async fgetattr(fh: number, rawPath: string): Promise<Stat> {
    const handle = this.#handles.find(fh);
    if (!handle) return this.getattr(rawPath);
    if (handle.kind === 'file') return this.#statOfOpenFile(handle.file);
    const writing = handle.orphanedKey === undefined ? this.#openFiles.get(handle.path) : undefined;
    if (writing) return this.#statOfOpenFile(writing);
    return this.#stat(handle.path, { kind: 'file', object: handle.object });
  }

  async readdir(rawPath: string): Promise<DirEntry[]> {
    const path = toFsPath(rawPath);
    await this.#requireDir(path);
    const listing = await this.#namespace.list(path);
    const deleting = (node: Node) => node.kind === 'file' && this.#hidden(node.object);
    if (listing.hiddenCount > 0) {
      this.#log.debug(`readdir ${path}: ${listing.hiddenCount} keys are not valid file names and are not shown`);
    }
    const entries: DirEntry[] = [
      { name: '.', typeBits: S_IFDIR, ino: this.#inodes.ino(path) },
      { name: '..', typeBits: S_IFDIR, ino: this.#inodes.ino(parentOf(path)) },
    ];
    const listed = new Set<string>();
    for (const { name, node } of listing.entries) {
      if (deleting(node)) continue;
      listed.add(name);
      entries.push({ name, typeBits: this.#typeBitsIfKnown(node), ino: this.#inodes.ino(childPath(path, name)) });
    }
    // Files created here and not uploaded yet exist only locally.
    for (const file of this.#openFiles.values()) {
      if (parentOf(file.path) !== path || path === file.path) continue;
      const name = file.path.slice(file.path.lastIndexOf('/') + 1);
      if (!listed.has(name)) entries.push({ name, typeBits: S_IFREG, ino: this.#inodes.ino(file.path) });
    }
    return entries;
  }

  async access(rawPath: string, mode: number): Promise<void> {
    const path = toFsPath(rawPath);
    await this.getattr(path);
    const W_OK = 2;
    if (mode & W_OK && this.#deps.posix.readOnly) throw this.#readOnly(path);
  }

  async statfs(): Promise<StatFs> {
    // S3 has no capacity: report --disk-size, all free, so df and installers do not refuse. The
    // binding packs counts into 32 bits, so the block size grows until the count fits.
    let blockSizeBytes = 4096;
    while (this.#deps.posix.capacityBytes / blockSizeBytes >= 2 ** 32) blockSizeBytes *= 2;
    const totalBlocks = Math.floor(this.#deps.posix.capacityBytes / blockSizeBytes);
    return {
      blockSizeBytes,
      totalBlocks,
      freeBlocks: totalBlocks,
      totalInodes: 2 ** 32 - 1,
      freeInodes: 2 ** 32 - 1,
      nameMaxBytes: NAME_MAX_BYTES,
    };
  }

  // ---- files ----

  async open(rawPath: string, flags: number): Promise<number> {
    const path = toFsPath(rawPath);
    const access = flags & OpenFlags.O_ACCMODE;
    const writable = access !== OpenFlags.O_RDONLY;
    const truncate = (flags & OpenFlags.O_TRUNC) !== 0;
    if ((writable || truncate) && this.#deps.posix.readOnly) throw this.#readOnly(path);
    const append = (flags & OpenFlags.O_APPEND) !== 0;
    let file = this.#openFiles.get(path);
    if (!file) {
      const node = await this.#require(path);
      if (node.kind === 'dir') throw new FsError('EISDIR', path);
      if (!writable && !truncate) {
        const handle: ReaderHandle = { kind: 'reader', path, object: node.object, reader: this.#readerOf(node.object), orphanedKey: undefined };
        return this.#handles.add(handle);
      }
      // Another open() may have made the OpenFile while this one waited: one per path, always.
      file = this.#openFiles.get(path) ?? this.#newOpenFile(path, node.object, false);
    }
    file.handles++;
    const fh = this.#handles.add({ kind: 'file', file, writable, append });
    if (truncate && writable) await file.truncate(0);
    return fh;
  }

  async create(rawPath: string, mode: number): Promise<number> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#requireDir(parentOf(path));
    let file = this.#openFiles.get(path);
    if (!file) {
      // Look up before claiming the key: a version whose delete is queued or deferred is hidden, so
      // a name this mount unlinked is free even while the old object waits for its readers.
      const existing = await this.#lookup(path);
      await this.#claimKey(fileKey(path));
      if (existing?.kind === 'dir') throw new FsError('EISDIR', path);
      // The kernel only creates what it believes missing; if another client made it meanwhile,
      // open it as it is rather than destroy it (O_CREAT without O_TRUNC).
      const attrs: PosixAttrs = { mode: S_IFREG | (mode & PERMISSION_BITS), uid: this.#deps.posix.uid, gid: this.#deps.posix.gid, mtimeMs: this.#now() };
      file =
        this.#openFiles.get(path) ??
        (existing ? this.#newOpenFile(path, existing.object, false) : this.#newOpenFile(path, undefined, true, attrs));
    }
    file.handles++;
    return this.#handles.add({ kind: 'file', file, writable: true, append: false });
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const handle = this.#handles.get(fh);
    if (handle.kind === 'file') return handle.file.read(offset, length);
    const writing = handle.orphanedKey === undefined ? this.#openFiles.get(handle.path) : undefined;
    return writing ? writing.read(offset, length) : handle.reader.read(offset, length);
  }

  async write(fh: number, offset: number, data: Buffer): Promise<number> {
    const handle = this.#handles.get(fh);
    if (handle.kind !== 'file' || !handle.writable) throw new FsError('EBADF', 'handle not open for writing');
    // O_APPEND: our size is authoritative even when the kernel's cached size is stale.
    return handle.file.write(handle.append ? handle.file.sizeBytes : offset, data);
  }

  /** close(2): the data is in the bucket when this returns. */
  async flush(fh: number): Promise<void> {
    const handle = this.#handles.get(fh);
    // A new file nobody wrote to yet has no bytes to lose: the shell's `>` closes a dup of it
    // before writing, and release() creates it anyway.
    if (handle.kind === 'file' && !handle.file.untouchedNewFile) await this.#syncFile(handle.file);
  }

  async fsync(fh: number): Promise<void> {
    const handle = this.#handles.get(fh);
    if (handle.kind === 'file') await this.#syncFile(handle.file);
  }

  async release(fh: number): Promise<void> {
    const handle = this.#handles.take(fh);
    if (handle.kind === 'reader') {
      const key = handle.orphanedKey;
      const etag = key === undefined ? undefined : this.#deferredDeletes.get(key);
      if (key !== undefined && etag !== undefined && !this.#readers().some((h) => h.orphanedKey === key)) {
        this.#deferredDeletes.delete(key);
        const now = await this.#deps.store.head(key);
        if (now?.etag === etag) this.#deletes.enqueue(key);
      }
      return;
    }
    const file = handle.file;
    file.handles--;
    if (file.handles > 0) return;
    try {
      await this.#syncFile(file);
    } catch {
      // Already reported by flush and logged with the spool path; close() keeps the data.
    }
    // An open() may have joined this file while it uploaded: then it is not closed after all.
    if (file.handles > 0) return;
    if (this.#openFiles.get(file.path) === file) this.#openFiles.delete(file.path);
    await file.close();
  }

  async truncate(rawPath: string, sizeBytes: number): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const open = this.#openFiles.get(path);
    if (open) return open.truncate(sizeBytes);
    const node = await this.#require(path);
    if (node.kind === 'dir') throw new FsError('EISDIR', path);
    const openedMeanwhile = this.#openFiles.get(path);
    if (openedMeanwhile) return openedMeanwhile.truncate(sizeBytes);
    const file = this.#newOpenFile(path, node.object, false);
    file.handles++;
    try {
      await file.truncate(sizeBytes);
      await this.#syncFile(file);
    } finally {
      file.handles--;
      if (file.handles === 0) {
        this.#openFiles.delete(path);
        await file.close();
      }
    }
  }

  async ftruncate(fh: number, sizeBytes: number): Promise<void> {
    const handle = this.#handles.get(fh);
    if (handle.kind !== 'file' || !handle.writable) throw new FsError('EBADF', 'handle not open for writing');
    await handle.file.truncate(sizeBytes);
  }

  async readlink(rawPath: string): Promise<string> {
    const path = toFsPath(rawPath);
    const node = await this.#require(path);
    if (node.kind !== 'file' || kindFromMetadata(node.object.metadata ?? {}) !== 'symlink') {
      throw new FsError('EINVAL', `${path} is not a symbolic link`);
    }
    const { object } = node;
    if (object.sizeBytes > MAX_SYMLINK_BYTES) throw new FsError('EIO', `${path}: symlink target too long`);
    if (object.sizeBytes === 0) return '';
    const body = await this.#deps.store.getRange(object.key, { startByte: 0, endByteExclusive: object.sizeBytes }, object.etag);
    return body.toString('utf8');
  }

  // ---- namespace changes ----

  async unlink(rawPath: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const open = this.#openFiles.get(path);
    const node = await this.#lookup(path);
    if (node?.kind === 'dir') throw new FsError('EISDIR', path);
    if (!node) throw new FsError('ENOENT', path);
    if (open) {
      // Stop further uploads, then let one in flight land, so the delete comes after it.
      open.markUnlinked();
      this.#openFiles.delete(path);
      await open.settled();
    }
    this.#forget(path);
    // A name made again later is a new file: it gets a new inode number, as on a local disk.
    this.#inodes.forget(path);
    const key = fileKey(path);
    const readers = this.#readers().filter((h) => h.path === path && h.orphanedKey === undefined);
    if (readers.length > 0) {
      // Open readers keep reading the data they had (POSIX): delete when the last one closes.
      for (const h of readers) h.orphanedKey = key;
      this.#deferredDeletes.set(key, node.object.etag);
    } else {
      this.#deletes.enqueue(key);
    }
  }

  /** Directory changes are made in S3 as they happen, but queued deletes must be sent. */
  async fsyncdir(): Promise<void> {
    await this.#deletes.drain();
  }

  async mkdir(rawPath: string, mode: number): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#requireDir(parentOf(path));
    if (this.#openFiles.has(path) || (await this.#lookup(path))) throw new FsError('EEXIST', path);
    const attrs: PosixAttrs = { mode: S_IFDIR | (mode & PERMISSION_BITS), uid: this.#deps.posix.uid, gid: this.#deps.posix.gid, mtimeMs: this.#now() };
    const marker = await this.#putMarker(path, attrs, {});
    this.#namespace.invalidate(path, true);
    this.#namespace.remember(path, { kind: 'dir', marker, markerKnown: true });
  }

  async rmdir(rawPath: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (path === ROOT) throw new FsError('EBUSY', 'the mount root cannot be removed');
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const node = await this.#require(path);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    await this.#removeEmptyDir(path);
    await this.#keepParentVisible(parentOf(path));
  }

  async symlink(target: string, rawPath: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#requireDir(parentOf(path));
    if (this.#openFiles.has(path) || (await this.#lookup(path))) throw new FsError('EEXIST', path);
    await this.#claimKey(fileKey(path));
    const body = Buffer.from(target, 'utf8');
    if (body.length > MAX_SYMLINK_BYTES) throw new FsError('ENAMETOOLONG', `symlink target of ${path}`);
    const attrs: PosixAttrs = { mode: S_IFLNK | 0o777, uid: this.#deps.posix.uid, gid: this.#deps.posix.gid, mtimeMs: this.#now() };
    const metadata = metadataWithAttrs({}, attrs);
    const { etag } = await this.#deps.store.put(fileKey(path), body, { metadata, contentType: 'application/octet-stream' });
    this.#namespace.remember(path, {
      kind: 'file',
      object: { key: fileKey(path), sizeBytes: body.length, etag, lastModified: new Date(this.#now()), metadata, contentType: undefined },
    });
  }

  async link(_from: string, _to: string): Promise<void> {
    throw new FsError('EPERM', 'hard links cannot be stored in S3: bucketfs does not support them');
  }

  async rename(rawFrom: string, rawTo: string): Promise<void> {
    const from = toFsPath(rawFrom);
    const to = toFsPath(rawTo);
    if (this.#deps.posix.readOnly) throw this.#readOnly(from);
    if (from === to) return;
    if (isSameOrBelow(to, from)) throw new FsError('EINVAL', `cannot move ${from} into itself`);
    await this.#requireDir(parentOf(to));
    const moving = this.#openFiles.get(from);
    // A file still being written is uploaded under its old name first, then moved like any other.
    if (moving) await this.#syncFile(moving);
    const source = await this.#require(from);
    const target = await this.#lookup(to);
    if (source.kind === 'file') {
      if (target?.kind === 'dir') throw new FsError('EISDIR', to);
      const replaced = this.#openFiles.get(to);
      if (replaced) {
        // The replaced file stays open for its handles but must never upload over the new one.
        replaced.markUnlinked();
        this.#openFiles.delete(to);
        await replaced.settled();
      }
      await this.#renameFile(from, to, source.object);
    } else {
      if (target && target.kind !== 'dir') throw new FsError('ENOTDIR', to);
      if (target) await this.#removeEmptyDir(to);
      await this.#renameDir(from, to);
    }
    this.#inodes.rename(from, to);
    // Within one directory the parent keeps the new name: only a move out can empty it.
    if (parentOf(from) !== parentOf(to)) await this.#keepParentVisible(parentOf(from));
  }

  // ---- attributes ----

  async chmod(rawPath: string, mode: number): Promise<void> {
    await this.#updateAttrs(rawPath, (a) => ({ ...a, mode: (a.mode & S_IFMT) | (mode & PERMISSION_BITS) }));
  }

  async chown(rawPath: string, uid: number, gid: number): Promise<void> {
    await this.#updateAttrs(rawPath, (a) => ({
      ...a,
      uid: uid === UNCHANGED_ID || uid === -1 ? a.uid : uid,
      gid: gid === UNCHANGED_ID || gid === -1 ? a.gid : gid,
    }));
  }

  /** `mtimeMs` undefined: UTIME_OMIT, nothing to store (atime is not kept). */
  async utimens(rawPath: string, mtimeMs: number | undefined): Promise<void> {
    if (mtimeMs === undefined) {
      await this.getattr(rawPath);
      return;
    }
    await this.#updateAttrs(rawPath, (a) => ({ ...a, mtimeMs }));
  }

  async getxattr(rawPath: string, name: string): Promise<Buffer> {
    const path = toFsPath(rawPath);
    const value = (await this.#xattrsOf(path)).get(name);
    if (value === undefined) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    return value;
  }

  async listxattr(rawPath: string): Promise<string[]> {
    return [...(await this.#xattrsOf(toFsPath(rawPath))).keys()];
  }

  async setxattr(rawPath: string, name: string, value: Buffer, flags: number): Promise<void> {
    const path = toFsPath(rawPath);
    if (!name.startsWith('user.')) throw new FsError('EOPNOTSUPP', `${name}: only user.* attributes can be stored`);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const xattrs = await this.#xattrsOf(path);
    if (flags & XattrFlags.XATTR_CREATE && xattrs.has(name)) throw new FsError('EEXIST', `${path}: ${name} exists`);
    if (flags & XattrFlags.XATTR_REPLACE && !xattrs.has(name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    xattrs.set(name, Buffer.from(value));
    await this.#writeXattrs(path, xattrs);
  }

  async removexattr(rawPath: string, name: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const xattrs = await this.#xattrsOf(path);
    if (!xattrs.delete(name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    await this.#writeXattrs(path, xattrs);
  }

  // ---- internals ----

  #readOnly(path: string): FsError {
    return new FsError('EROFS', `${path}: this mount is read-only`);
  }

  /** The node at `path`, hiding a file whose delete is queued. */
  async #lookup(path: FsPath): Promise<Node | undefined> {
    const open = this.#openFiles.get(path);
    if (open) {
      return {
        kind: 'file',
        object: open.base ?? { key: open.key, sizeBytes: open.sizeBytes, etag: '', lastModified: new Date(open.attrs.mtimeMs), metadata: {}, contentType: undefined },
      };
    }
    const node = await this.#namespace.lookup(path);
    return node?.kind === 'file' && this.#hidden(node.object) ? undefined : node;
  }

  /** An object whose delete is queued, or deferred until its readers close (that version only). */
  #hidden(object: RemoteObject): boolean {
    return this.#deletes.isPending(object.key) || this.#deferredDeletes.get(object.key) === object.etag;
  }

  /** Before writing `key`: no queued or deferred delete of it may land afterwards. */
  async #claimKey(key: string): Promise<void> {
    this.#deferredDeletes.delete(key);
    await this.#deletes.settle(key);
  }

  #readers(): ReaderHandle[] {
    return [...this.#handles.values()].filter((h): h is ReaderHandle => h.kind === 'reader');
  }

  /** Points readers of `path` (now at `newPath`) at `object`, this mount's newer version of it. */
  #repinReaders(path: FsPath, object: RemoteObject, newPath: FsPath = path): void {
    for (const h of this.#readers()) {
      if (h.path !== path || h.orphanedKey !== undefined) continue;
      h.path = newPath;
      h.object = object;
      h.reader = this.#readerOf(object);
    }
  }

  async #require(path: FsPath): Promise<Node> {
    const node = await this.#lookup(path);
    if (!node) throw new FsError('ENOENT', path);
    return node;
  }

  async #afterDeletes(keys: readonly string[]): Promise<void> {
    const parents = new Set<FsPath>();
    for (const key of keys) {
      const path = toFsPath(`/${key}`);
      // Invalidate, not "missing": mkdir or a rename may have reused the name since the unlink.
      this.#namespace.invalidate(path);
      parents.add(parentOf(path));
    }
    for (const parent of parents) await this.#keepParentVisible(parent);
  }

  async #requireDir(path: FsPath): Promise<void> {
    const node = await this.#require(path);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
  }

  #readerOf(object: RemoteObject): ObjectReader {
    return new ObjectReader(this.#fileContext.read, { key: object.key, etag: object.etag, sizeBytes: object.sizeBytes });
  }

  #attrsOf(object: RemoteObject): PosixAttrs {
    const metadata = object.metadata ?? {};
    return attrsFromMetadata(metadata, kindFromMetadata(metadata), this.#deps.posix, object.lastModified);
  }

  #newOpenFile(path: FsPath, base: RemoteObject | undefined, truncate: boolean, attrs?: PosixAttrs): OpenFile {
    const file = new OpenFile(this.#fileContext, {
      path,
      base,
      truncate,
      attrs: attrs ?? (base ? this.#attrsOf(base) : { mode: S_IFREG | this.#deps.posix.fileMode, uid: this.#deps.posix.uid, gid: this.#deps.posix.gid, mtimeMs: this.#now() }),
    });
    this.#openFiles.set(path, file);
    this.#namespace.invalidate(path);
    return file;
  }

  /** Uploads an open file if it changed and records the new object. */
  async #syncFile(file: OpenFile): Promise<void> {
    for (;;) {
      const renaming = [...this.#renaming].find(([dir]) => isSameOrBelow(file.path, dir));
      if (!renaming) break;
      await renaming[1].catch(() => undefined);
    }
    if (!file.dirty || file.unlinked) return;
    const before = file.base;
    await file.sync();
    const base = file.base;
    if (base && !file.unlinked) {
      this.#namespace.remember(file.path, { kind: 'file', object: base });
      this.#repinReaders(file.path, base);
      // Every reader of the path now reads the new version: the old one's blocks serve nobody.
      if (before && before.key === base.key && before.etag !== base.etag) this.#deps.blocks.invalidate(base.key);
    }
  }

  #statOfOpenFile(file: OpenFile): Stat {
    const { attrs } = file;
    return {
      ino: this.#inodes.ino(file.path),
      mode: attrs.mode,
      nlink: 1,
      uid: attrs.uid,
      gid: attrs.gid,
      sizeBytes: file.sizeBytes,
      blocks: blocksOf(file.sizeBytes),
      blockSizeBytes: PREFERRED_IO_BYTES,
      mtimeMs: attrs.mtimeMs,
      ctimeMs: attrs.mtimeMs,
      atimeMs: attrs.mtimeMs,
    };
  }

  #stat(path: FsPath, node: Node): Stat {
    return statOf(node, this.#inodes.ino(path), this.#deps.posix, this.#mountedAt);
  }

  #typeBitsIfKnown(node: Node): number {
    if (node.kind === 'dir') return S_IFDIR;
    const { metadata } = node.object;
    if (metadata === undefined) return 0;
    return kindFromMetadata(metadata) === 'symlink' ? S_IFLNK : S_IFREG;
  }

  #forget(path: FsPath): void {
    // Cached blocks stay: they are keyed by ETag, and readers of the old version may still want them.
    this.#namespace.invalidate(path, true);
    this.#namespace.remember(path, undefined);
  }

  /** Deletes a directory's marker; ENOTEMPTY when anything lies below it, shown or not. */
  async #removeEmptyDir(path: FsPath): Promise<void> {
    const prefix = dirPrefix(path);
    if (this.#deletes.hasPendingBelow(prefix)) await this.#deletes.drain();
    const page = await this.#deps.store.listPage(prefix, '/', undefined, 2);
    const children = page.prefixes.length + page.objects.filter((o) => o.key !== prefix).length;
    const openInside = [...this.#openFiles.keys()].some((p) => p !== path && isSameOrBelow(p, path));
    if (children > 0 || openInside) throw new FsError('ENOTEMPTY', path);
    await this.#deps.store.delete(prefix);
    this.#forget(path);
    this.#inodes.forget(path);
  }

  /**
   * A directory that exists only because keys lie below it vanishes with its last child. When a
   * change empties such a directory, a marker object keeps it, as a local filesystem would.
   */
  async #keepParentVisible(dir: FsPath): Promise<void> {
    if (dir === ROOT) return;
    const node = await this.#lookup(dir);
    if (node?.kind === 'dir' && node.marker) return;
    const prefix = dirPrefix(dir);
    const page = await this.#deps.store.listPage(prefix, '/', undefined, 1);
    if (page.objects.length > 0 || page.prefixes.length > 0) return;
    const attrs: PosixAttrs = { mode: S_IFDIR | this.#deps.posix.dirMode, uid: this.#deps.posix.uid, gid: this.#deps.posix.gid, mtimeMs: this.#now() };
    const marker = await this.#putMarker(dir, attrs, {});
    this.#namespace.remember(dir, { kind: 'dir', marker, markerKnown: true });
  }

  async #putMarker(path: FsPath, attrs: PosixAttrs, other: UserMetadata): Promise<RemoteObject> {
    const key = dirPrefix(path);
    const metadata = metadataWithAttrs(other, attrs);
    const contentType = 'application/x-directory';
    const { etag } = await this.#deps.store.put(key, Buffer.alloc(0), { metadata, contentType });
    return { key, sizeBytes: 0, etag, lastModified: new Date(this.#now()), metadata, contentType };
  }

  async #renameFile(from: FsPath, to: FsPath, object: RemoteObject): Promise<void> {
    const toKey = fileKey(to);
    await this.#claimKey(toKey);
    const { etag } = await this.#deps.store.copy(object.key, toKey, { ifMatch: object.etag, sourceSizeBytes: object.sizeBytes });
    await this.#deps.store.delete(object.key);
    const moved: RemoteObject = { ...object, key: toKey, etag, lastModified: new Date(this.#now()) };
    this.#repinReaders(from, moved, to);
    const open = this.#openFiles.get(from);
    if (open) {
      this.#openFiles.delete(from);
      open.moved(to, moved);
      this.#openFiles.set(to, open);
    }
    this.#forget(from);
    this.#namespace.invalidate(to, true);
    this.#namespace.remember(to, { kind: 'file', object: moved });
  }

  async #renameDir(from: FsPath, to: FsPath): Promise<void> {
    const inside = [...this.#openFiles.values()].filter((f) => isSameOrBelow(f.path, from));
    for (const file of inside) await this.#syncFile(file);
    const fromPrefix = dirPrefix(from);
    const toPrefix = dirPrefix(to);
    if (this.#deletes.hasPendingBelow(toPrefix) || this.#deletes.hasPendingBelow(fromPrefix)) await this.#deletes.drain();
    let finished: () => void = () => undefined;
    this.#renaming.set(from, new Promise<void>((resolve) => (finished = resolve)));
    try {
      // A file unlinked while a reader had it is gone: it must not reappear under the new name.
      const unlinked = (key: string, etag: string) => this.#deferredDeletes.get(key) === etag;
      const results = await this.#renamer.rename(fromPrefix, toPrefix, unlinked);
      for (const key of [...this.#deferredDeletes.keys()]) if (key.startsWith(fromPrefix)) this.#deferredDeletes.delete(key);
      for (const file of [...this.#openFiles.values()].filter((f) => isSameOrBelow(f.path, from))) {
        const newPath = rebase(file.path, from, to);
        const etag = results.get(fileKey(newPath))?.etag;
        this.#openFiles.delete(file.path);
        file.moved(newPath, file.base && etag ? { ...file.base, key: fileKey(newPath), etag } : undefined);
        this.#openFiles.set(newPath, file);
      }
      for (const h of this.#readers()) {
        if (h.orphanedKey !== undefined || !isSameOrBelow(h.path, from)) continue;
        const newPath = rebase(h.path, from, to);
        const etag = results.get(fileKey(newPath))?.etag;
        h.path = newPath;
        if (etag) {
          h.object = { ...h.object, key: fileKey(newPath), etag };
          h.reader = this.#readerOf(h.object);
        }
      }
    } finally {
      this.#renaming.delete(from);
      finished();
    }
    this.#forget(from);
    this.#namespace.invalidate(to, true);
  }

  async #updateAttrs(rawPath: string, change: (attrs: PosixAttrs) => PosixAttrs): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const open = this.#openFiles.get(path);
    if (open) {
      open.setAttrs(change(open.attrs));
      // A file with unsaved content carries the change to its upload; a clean one saves it now.
      if (!open.contentDirty) await this.#syncFile(open);
      return;
    }
    const node = await this.#require(path);
    if (node.kind === 'dir') {
      const attrs = change(attrsFromMetadata(node.marker?.metadata, 'dir', this.#deps.posix, node.marker?.lastModified ?? this.#mountedAt));
      const marker = await this.#putMarker(path, attrs, node.marker?.metadata ?? {});
      this.#namespace.remember(path, { kind: 'dir', marker, markerKnown: true });
      return;
    }
    await this.#replaceMetadata(path, node.object, metadataWithAttrs(node.object.metadata, change(this.#attrsOf(node.object))));
  }

  async #replaceMetadata(path: FsPath, object: RemoteObject, metadata: Record<string, string>): Promise<void> {
    if (metadataSizeBytes(metadata) > MAX_METADATA_BYTES) {
      throw new FsError('ENOSPC', `${path}: S3 keeps at most 2 KiB of metadata per object`);
    }
    const options = { metadata, contentType: object.contentType };
    const { etag } = await this.#deps.store.copy(object.key, object.key, { replace: options, ifMatch: object.etag, sourceSizeBytes: object.sizeBytes });
    const updated: RemoteObject = { ...object, etag, metadata, lastModified: new Date(this.#now()) };
    this.#namespace.remember(path, { kind: 'file', object: updated });
    this.#repinReaders(path, updated);
  }

  async #xattrsOf(path: FsPath): Promise<Map<string, Buffer>> {
    const open = this.#openFiles.get(path);
    if (open) return open.xattrs;
    const node = await this.#require(path);
    return decodeXattrs(node.kind === 'dir' ? node.marker?.metadata : node.object.metadata);
  }

  async #writeXattrs(path: FsPath, xattrs: Map<string, Buffer>): Promise<void> {
    const open = this.#openFiles.get(path);
    if (open) {
      open.setXattrs(xattrs);
      if (!open.contentDirty) await this.#syncFile(open);
      return;
    }
    const node = await this.#require(path);
    if (node.kind === 'dir') {
      const base = node.marker?.metadata ?? {};
      const attrs = attrsFromMetadata(base, 'dir', this.#deps.posix, node.marker?.lastModified ?? this.#mountedAt);
      const marker = await this.#putMarker(path, attrs, metadataWithXattrs(base, xattrs));
      this.#namespace.remember(path, { kind: 'dir', marker, markerKnown: true });
      return;
    }
    await this.#replaceMetadata(path, node.object, metadataWithXattrs(node.object.metadata ?? {}, xattrs));
  }
}
