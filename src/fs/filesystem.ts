// S3Filesystem: the POSIX rules of bucketfs, one async method per FUSE operation, taking and returning
// plain data (no callbacks, no packed arrays, no negative numbers). It talks to S3 only through the
// ObjectStore interface and knows nothing of FUSE, so it runs in unit tests on an in-memory store.
// The operations live here; their state has rooms of its own: OpenFiles (what is open, and when a
// file is closed), Tree (the merged view of bucket and open files), Renames, Attributes.

import type { ObjectStore } from '../s3/object-store.js';
import type { BlockCache } from '../cache/block-cache.js';
import type { MemoryBudget } from '../cache/memory-budget.js';
import type { CacheConfig, PosixConfig, WriteConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { Attributes, XattrFlags } from './attributes.js';
import { DeleteBatcher } from './delete-batcher.js';
import { DirRenamer } from './dir-rename.js';
import { FsError } from './errno.js';
import { type PosixAttrs, kindFromMetadata, PERMISSION_BITS, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, metadataWithAttrs } from './metadata.js';
import { Namespace } from './namespace.js';
import { type FsPath, baseName, childPath, fileKey, parentOf, toFsPath, NAME_MAX_BYTES, ROOT } from './names.js';
import { InodeTable, type Node, type RemoteObject } from './nodes.js';
import { ObjectReader, type ReadContext } from './object-reader.js';
import { OpenFile, type OpenFileContext } from './open-file.js';
import { OpenFiles, type OpenFilesActivity, type ReaderHandle } from './open-files.js';
import type { MountedFilesystem } from './operations.js';
import { PartLayout } from './part-layout.js';
import { Recovery, type RecoveryReport } from './recovery.js';
import { Renames } from './rename.js';
import type { Spool } from './spool.js';
import { type Stat, blocksOf, statOf, PREFERRED_IO_BYTES } from './stat.js';
import { Tree } from './tree.js';

export { XattrFlags } from './attributes.js';

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
  /** First retry of an upload that failed for a passing reason, ms (default 1 s, doubling). */
  readonly uploadRetryDelayMs?: number;
  /** How long an emptied directory waits for rmdir before its marker is written, ms (default 2 s). */
  readonly markerDelayMs?: number;
}

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface DirEntry {
  readonly name: string;
  /** Undefined when only a HEAD could tell (a small object may be a symlink). */
  readonly kind: EntryKind | undefined;
  readonly ino: number;
}

export interface Directory {
  readonly ino: number;
  readonly parentIno: number;
  /** The names inside, without `.` and `..`. */
  readonly entries: readonly DirEntry[];
}

export interface StatFs {
  readonly capacityBytes: number;
  readonly freeBytes: number;
  readonly files: number;
  readonly freeFiles: number;
  readonly nameMaxBytes: number;
}

/** open(2) flags the core looks at (Linux values). */
export const OpenFlags = { O_ACCMODE: 3, O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_TRUNC: 0o1000, O_APPEND: 0o2000 } as const;

/** Symlink targets are small; a larger body is not a symlink written by s3fs or us. */
const MAX_SYMLINK_BYTES = 4096;

export class S3Filesystem implements MountedFilesystem {
  readonly #deps: FilesystemDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #namespace: Namespace;
  readonly #inodes = new InodeTable();
  readonly #files: OpenFiles;
  readonly #tree: Tree;
  readonly #fileContext: OpenFileContext;
  readonly #deletes: DeleteBatcher;
  readonly #dirRenamer: DirRenamer;
  readonly #renames: Renames;
  readonly #attributes: Attributes;
  readonly #mountedAt: Date;

  constructor(deps: FilesystemDeps) {
    this.#deps = deps;
    this.#log = deps.logger ?? silentLogger;
    this.#now = deps.now ?? Date.now;
    this.#mountedAt = new Date(this.#now());
    this.#namespace = new Namespace(deps.store, {
      statTtlMs: deps.cache.statTtlMs,
      negativeTtlMs: deps.cache.negativeTtlMs,
      maxStatEntries: deps.cache.maxStatEntries,
      now: deps.now,
      statFromListing: deps.cache.statFromListing,
      headConcurrency: deps.cache.metadataReadAhead,
    });
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
    this.#files = new OpenFiles({
      sync: (file) => this.#syncFile(file),
      log: this.#log,
      retryDelayMs: deps.uploadRetryDelayMs,
      writeBack: deps.write.writeBack,
      backgroundUploads: deps.write.backgroundUploads,
    });
    this.#deletes = new DeleteBatcher(deps.store);
    this.#tree = new Tree({
      store: deps.store,
      namespace: this.#namespace,
      files: this.#files,
      deletes: this.#deletes,
      inodes: this.#inodes,
      posix: deps.posix,
      now: this.#now,
      mountedAt: this.#mountedAt,
      markerDelayMs: deps.markerDelayMs ?? 2_000,
    });
    this.#dirRenamer = new DirRenamer(deps.store, deps.journalDir, this.#log);
    this.#renames = new Renames({
      store: deps.store,
      namespace: this.#namespace,
      files: this.#files,
      tree: this.#tree,
      deletes: this.#deletes,
      inodes: this.#inodes,
      dirRenamer: this.#dirRenamer,
      now: this.#now,
      syncFile: (file) => this.#syncFile(file),
      readerOf: (object) => this.#readerOf(object),
      repinReaders: (path, object, newPath) => this.#repinReaders(path, object, newPath),
    });
    this.#attributes = new Attributes({
      store: deps.store,
      namespace: this.#namespace,
      files: this.#files,
      tree: this.#tree,
      posix: deps.posix,
      now: this.#now,
      mountedAt: this.#mountedAt,
      syncFile: (file) => this.#syncFile(file),
      repinReaders: (path, object) => this.#repinReaders(path, object),
    });
  }

  /**
   * Finishes what mounts of this bucket that died left in the spool (their uploads, directory
   * renames) before this mount serves anything; uploads continue in the background.
   */
  async recover(): Promise<RecoveryReport> {
    return new Recovery({
      store: this.#deps.store,
      spool: this.#deps.spool,
      files: this.#files,
      fileContext: this.#fileContext,
      posix: this.#deps.posix,
      dirRenamer: this.#dirRenamer,
      journalDir: this.#deps.journalDir,
      log: this.#log,
    }).run();
  }

  /** Uploads everything still dirty (before unmount, `bucketfs sync`); returns what failed and why. */
  async syncAll(): Promise<{ path: string; error: string }[]> {
    // Readers still open at unmount cannot keep an unlinked file any longer.
    await Promise.all(this.#files.takeAllDeferred().map((key) => this.#deletes.delete(key).catch((e: unknown) => this.#log.error(`deleting ${key}: ${(e as Error).message}`))));
    await this.#deletes.drain();
    await this.#tree.flushEmptied();
    return this.#files.syncAll();
  }

  /** Stops background work (retry timers) before the process exits. */
  stop(): void {
    this.#files.stop();
  }

  /** SIGHUP: forget every cached stat and "not found", so the next lookups ask the bucket. */
  dropMetadataCaches(): void {
    this.#namespace.invalidate(ROOT, true);
  }

  /** Open files and uploads, for `bucketfs status`. */
  activity(): OpenFilesActivity {
    return this.#files.activity();
  }

  // ---- attributes and listing ----

  async getattr(rawPath: string): Promise<Stat> {
    const path = toFsPath(rawPath);
    const file = this.#files.get(path);
    if (file) return this.#statOfOpenFile(file);
    return this.#stat(path, await this.#tree.require(path));
  }

  async fgetattr(fh: number): Promise<Stat> {
    const handle = this.#files.handles.get(fh);
    if (handle.kind === 'file') return this.#statOfOpenFile(handle.file);
    const writing = this.#writerOf(handle);
    if (writing) return this.#statOfOpenFile(writing);
    return this.#stat(handle.path, { kind: 'file', object: handle.object });
  }

  async readdir(rawPath: string): Promise<Directory> {
    const path = toFsPath(rawPath);
    await this.#tree.requireDir(path);
    const listing = await this.#namespace.list(path);
    if (listing.hiddenCount > 0) {
      this.#log.debug(`readdir ${path}: ${listing.hiddenCount} keys are not valid file names and are not shown`);
    }
    const entries: DirEntry[] = [];
    const listed = new Set<string>();
    for (const { name, node } of listing.entries) {
      if (node.kind === 'file' && this.#tree.hidden(node.object)) continue;
      listed.add(name);
      entries.push({ name, kind: kindIfKnown(node), ino: this.#inodes.ino(childPath(path, name)) });
    }
    // Files created here and not uploaded yet, and emptied directories whose marker is not written
    // yet, exist only locally.
    const local = [
      ...this.#files.childrenOf(path).map((f) => ({ path: f.path, kind: 'file' as const })),
      ...this.#tree.emptiedChildrenOf(path).map((p) => ({ path: p, kind: 'dir' as const })),
    ];
    for (const { path: child, kind } of local) {
      const name = baseName(child);
      if (!listed.has(name)) entries.push({ name, kind, ino: this.#inodes.ino(child) });
    }
    return { ino: this.#inodes.ino(path), parentIno: this.#inodes.ino(parentOf(path)), entries };
  }

  async access(rawPath: string, mode: number): Promise<void> {
    const path = toFsPath(rawPath);
    await this.getattr(path);
    const W_OK = 2;
    if (mode & W_OK && this.#deps.posix.readOnly) throw this.#readOnly(path);
  }

  async statfs(): Promise<StatFs> {
    // S3 has no capacity: report --disk-size, all free, so df and installers do not refuse.
    const { capacityBytes } = this.#deps.posix;
    return { capacityBytes, freeBytes: capacityBytes, files: Number.MAX_SAFE_INTEGER, freeFiles: Number.MAX_SAFE_INTEGER, nameMaxBytes: NAME_MAX_BYTES };
  }

  // ---- files ----

  async open(rawPath: string, flags: number): Promise<number> {
    const path = toFsPath(rawPath);
    const access = flags & OpenFlags.O_ACCMODE;
    const writable = access !== OpenFlags.O_RDONLY;
    const truncate = (flags & OpenFlags.O_TRUNC) !== 0;
    if ((writable || truncate) && this.#deps.posix.readOnly) throw this.#readOnly(path);
    const append = (flags & OpenFlags.O_APPEND) !== 0;
    let file: OpenFile | undefined;
    if (!writable && !truncate) {
      // A reader of a file this mount is writing shares it; otherwise it pins the object version.
      file = await this.#files.acquire(path);
      if (!file) {
        const node = await this.#tree.require(path);
        if (node.kind === 'dir') throw new FsError('EISDIR', path);
        const handle: ReaderHandle = { kind: 'reader', path, object: node.object, reader: this.#readerOf(node.object), named: true, deferredKey: undefined };
        return this.#files.handles.add(handle);
      }
    } else {
      file = await this.#files.acquire(path, async () => {
        const node = await this.#tree.require(path);
        if (node.kind === 'dir') throw new FsError('EISDIR', path);
        return this.#newOpenFile(path, node.object, false);
      });
    }
    const fh = this.#files.handles.add({ kind: 'file', file, writable, append });
    if (truncate && writable) {
      try {
        await file.truncate(0);
      } catch (e) {
        this.#files.handles.take(fh);
        await this.#files.release(file);
        throw e;
      }
    }
    return fh;
  }

  async create(rawPath: string, mode: number): Promise<number> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#tree.requireDir(parentOf(path));
    const file = await this.#files.acquire(path, async () => {
      // Look up before claiming the key: a version whose delete is in flight or deferred is hidden,
      // so a name this mount unlinked is free even while the old object waits for its readers.
      const existing = await this.#tree.lookup(path);
      await this.#tree.claimKey(fileKey(path));
      if (existing?.kind === 'dir') throw new FsError('EISDIR', path);
      // The kernel only creates what it believes missing; if another client made it meanwhile,
      // open it as it is rather than destroy it (O_CREAT without O_TRUNC).
      if (existing) return this.#newOpenFile(path, existing.object, false);
      const { uid, gid } = this.#deps.posix;
      return this.#newOpenFile(path, undefined, true, { mode: S_IFREG | (mode & PERMISSION_BITS), uid, gid, mtimeMs: this.#now() });
    });
    return this.#files.handles.add({ kind: 'file', file, writable: true, append: false });
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const handle = this.#files.handles.get(fh);
    if (handle.kind === 'file') return handle.file.read(offset, length);
    const writing = this.#writerOf(handle) ? await this.#files.acquire(handle.path) : undefined;
    if (!writing) return handle.reader.read(offset, length);
    try {
      return await writing.read(offset, length);
    } finally {
      await this.#files.release(writing);
    }
  }

  async write(fh: number, offset: number, data: Buffer): Promise<number> {
    const handle = this.#files.handles.get(fh);
    if (handle.kind !== 'file' || !handle.writable) throw new FsError('EBADF', 'handle not open for writing');
    // O_APPEND: our size is authoritative even when the kernel's cached size is stale.
    return handle.file.write(handle.append ? handle.file.sizeBytes : offset, data);
  }

  /**
   * close(2): the data is in the bucket when this returns — or, under --write-back, durable in the
   * local spool (its upload is queued at release).
   */
  async flush(fh: number): Promise<void> {
    const handle = this.#files.handles.get(fh);
    // A new file nobody wrote to yet has no bytes to lose: the shell's `>` closes a dup of it
    // before writing, and release() creates it anyway.
    if (handle.kind === 'file' && !handle.file.untouchedNewFile) await this.#saveFile(handle.file);
  }

  /** fsync(2): as close — in the bucket, or under --write-back durable in the spool. */
  async fsync(fh: number): Promise<void> {
    const handle = this.#files.handles.get(fh);
    if (handle.kind === 'file') await this.#saveFile(handle.file);
  }

  async release(fh: number): Promise<void> {
    const handle = this.#files.handles.take(fh);
    if (handle.kind === 'file') {
      await this.#files.release(handle.file);
      return;
    }
    const deferred = this.#files.takeDeferred(handle);
    if (!deferred) return;
    const now = await this.#deps.store.head(deferred.key);
    if (now?.etag !== deferred.etag) return;
    await this.#deletes.delete(deferred.key).then(
      () => this.#namespace.invalidate(toFsPath(`/${deferred.key}`)),
      (e: unknown) => this.#log.error(`deleting ${deferred.key}, unlinked while open: ${(e as Error).message}`),
    );
  }

  async truncate(rawPath: string, sizeBytes: number): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    // A use of the file, like a handle's: a release racing this truncate cannot close it under us.
    const file = await this.#files.acquire(path, async () => {
      const node = await this.#tree.require(path);
      if (node.kind === 'dir') throw new FsError('EISDIR', path);
      return this.#newOpenFile(path, node.object, false);
    });
    try {
      await file.truncate(sizeBytes);
      // Nobody else has it open: the truncate is in the bucket when this returns.
      if (this.#files.usersOf(file) === 1) await this.#syncFile(file);
    } finally {
      await this.#files.release(file);
    }
  }

  async ftruncate(fh: number, sizeBytes: number): Promise<void> {
    const handle = this.#files.handles.get(fh);
    if (handle.kind !== 'file' || !handle.writable) throw new FsError('EBADF', 'handle not open for writing');
    await handle.file.truncate(sizeBytes);
  }

  async readlink(rawPath: string): Promise<string> {
    const path = toFsPath(rawPath);
    const node = await this.#tree.require(path);
    if (node.kind !== 'file' || kindFromMetadata(node.object.metadata ?? {}) !== 'symlink') {
      throw new FsError('EINVAL', `${path} is not a symbolic link`);
    }
    const { object } = node;
    if (object.sizeBytes > MAX_SYMLINK_BYTES) throw new FsError('EIO', `${path}: symlink target too long`);
    if (object.sizeBytes === 0) return '';
    const body = await this.#deps.store.getRange(object.key, { startByte: 0, endByteExclusive: object.sizeBytes }, { etag: object.etag, sizeBytes: object.sizeBytes });
    return body.toString('utf8');
  }

  // ---- namespace changes ----

  /** Returns once the object is gone from the bucket (or, while readers hold it, once hidden). */
  async unlink(rawPath: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const open = this.#files.get(path);
    const node = await this.#tree.lookup(path, false);
    if (node?.kind === 'dir') throw new FsError('EISDIR', path);
    if (!node) throw new FsError('ENOENT', path);
    // Stop further uploads, then let one in flight land, so the delete comes after it.
    if (open) await this.#files.detach(open);
    const key = fileKey(path);
    const readers = this.#files.readersOf(path);
    // A name made again later is a new file: it gets a new inode number, as on a local disk.
    this.#inodes.forget(path);
    if (readers.length > 0) {
      // Open readers keep reading the data they had (POSIX): delete when the last one closes.
      this.#files.deferDelete(key, node.object.etag, readers);
      this.#tree.forget(path);
      return;
    }
    try {
      await this.#deletes.delete(key);
    } catch (e) {
      // The object is still there: whatever lookups say next comes from the bucket.
      this.#namespace.invalidate(path);
      throw e;
    }
    this.#tree.forget(path);
    await this.#tree.keepVisible(parentOf(path));
  }

  /** Directory changes are made in S3 as they happen; deletes in flight and kept markers are waited for. */
  async fsyncdir(): Promise<void> {
    await this.#deletes.drain();
    await this.#tree.flushEmptied();
  }

  async mkdir(rawPath: string, mode: number): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#tree.requireDir(parentOf(path));
    if (this.#files.has(path) || (await this.#tree.lookup(path, false))) throw new FsError('EEXIST', path);
    const { uid, gid } = this.#deps.posix;
    this.#namespace.invalidate(path, true);
    await this.#tree.putMarker(path, { mode: S_IFDIR | (mode & PERMISSION_BITS), uid, gid, mtimeMs: this.#now() }, {});
    // Nothing can be below a directory just made here: lookups inside it need no request.
    this.#namespace.rememberEmptyDir(path);
  }

  async rmdir(rawPath: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (path === ROOT) throw new FsError('EBUSY', 'the mount root cannot be removed');
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const node = await this.#tree.require(path, false);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    await this.#tree.removeEmptyDir(path);
    await this.#tree.keepVisible(parentOf(path));
  }

  async symlink(target: string, rawPath: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#tree.requireDir(parentOf(path));
    if (this.#files.has(path) || (await this.#tree.lookup(path, false))) throw new FsError('EEXIST', path);
    await this.#tree.claimKey(fileKey(path));
    const body = Buffer.from(target, 'utf8');
    if (body.length > MAX_SYMLINK_BYTES) throw new FsError('ENAMETOOLONG', `symlink target of ${path}`);
    const { uid, gid } = this.#deps.posix;
    const metadata = metadataWithAttrs({}, { mode: S_IFLNK | 0o777, uid, gid, mtimeMs: this.#now() });
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
    await this.#renames.rename(from, to);
  }

  // ---- attributes ----

  async chmod(rawPath: string, mode: number): Promise<void> {
    await this.#updateAttrs(rawPath, (a) => ({ ...a, mode: (a.mode & S_IFMT) | (mode & PERMISSION_BITS) }));
  }

  /** `uid`/`gid` undefined: left as they are. */
  async chown(rawPath: string, uid: number | undefined, gid: number | undefined): Promise<void> {
    await this.#updateAttrs(rawPath, (a) => ({ ...a, uid: uid ?? a.uid, gid: gid ?? a.gid }));
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
    const value = (await this.#attributes.xattrs(path)).get(name);
    if (value === undefined) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    return value;
  }

  async listxattr(rawPath: string): Promise<string[]> {
    return [...(await this.#attributes.xattrs(toFsPath(rawPath))).keys()];
  }

  async setxattr(rawPath: string, name: string, value: Buffer, flags: number): Promise<void> {
    const path = toFsPath(rawPath);
    if (!name.startsWith('user.')) throw new FsError('EOPNOTSUPP', `${name}: only user.* attributes can be stored`);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#attributes.setXattrs(path, (xattrs) => {
      if (flags & XattrFlags.XATTR_CREATE && xattrs.has(name)) throw new FsError('EEXIST', `${path}: ${name} exists`);
      if (flags & XattrFlags.XATTR_REPLACE && !xattrs.has(name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
      xattrs.set(name, Buffer.from(value));
    });
  }

  async removexattr(rawPath: string, name: string): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#attributes.setXattrs(path, (xattrs) => {
      if (!xattrs.delete(name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    });
  }

  // ---- internals ----

  #readOnly(path: string): FsError {
    return new FsError('EROFS', `${path}: this mount is read-only`);
  }

  async #updateAttrs(rawPath: string, change: (attrs: PosixAttrs) => PosixAttrs): Promise<void> {
    const path = toFsPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#attributes.update(path, change);
  }

  /** The OpenFile a reader handle reads through while this mount writes its file. */
  #writerOf(handle: ReaderHandle): OpenFile | undefined {
    return handle.named ? this.#files.get(handle.path) : undefined;
  }

  /** Points readers of `path` (now at `newPath`) at `object`, this mount's newer version of it. */
  #repinReaders(path: FsPath, object: RemoteObject, newPath: FsPath = path): void {
    for (const h of this.#files.readersOf(path)) {
      h.path = newPath;
      h.object = object;
      h.reader = this.#readerOf(object);
    }
  }

  #readerOf(object: RemoteObject): ObjectReader {
    return new ObjectReader(this.#fileContext.read, { key: object.key, etag: object.etag, sizeBytes: object.sizeBytes });
  }

  /** Makes the OpenFile for `path`; the caller registers it (OpenFiles.acquire). */
  async #newOpenFile(path: FsPath, base: RemoteObject | undefined, truncate: boolean, attrs?: PosixAttrs): Promise<OpenFile> {
    const { posix } = this.#deps;
    const file = new OpenFile(this.#fileContext, {
      path,
      base,
      truncate,
      attrs: attrs ?? (base ? this.#attributes.of(base) : { mode: S_IFREG | posix.fileMode, uid: posix.uid, gid: posix.gid, mtimeMs: this.#now() }),
    });
    this.#namespace.invalidate(path);
    return file;
  }

  async #saveFile(file: OpenFile): Promise<void> {
    if (this.#files.writeBack) await file.persist();
    else await this.#syncFile(file);
  }

  /** Uploads an open file if it changed and records the new object. */
  async #syncFile(file: OpenFile): Promise<void> {
    await this.#renames.settledAbove(file.path);
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
}

/** The type readdir can tell without a HEAD. */
function kindIfKnown(node: Node): EntryKind | undefined {
  if (node.kind === 'dir') return 'dir';
  const { metadata, sizeBytes } = node.object;
  // Only a small object can be a symlink (its body is the target): a big one is a regular file.
  if (metadata === undefined) return sizeBytes > MAX_SYMLINK_BYTES ? 'file' : undefined;
  return kindFromMetadata(metadata);
}
