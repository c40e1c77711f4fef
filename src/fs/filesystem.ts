// S3Filesystem: the POSIX rules of bucketfs, one async method per FUSE operation, taking and returning
// plain data (no callbacks, no packed arrays, no negative numbers). It talks to S3 only through the
// ObjectStore interface and knows nothing of FUSE, so it runs in unit tests on an in-memory store.
// The operations live here; their state has rooms of its own: OpenFiles (what is open, and when a
// file is closed), Tree (the merged view of bucket and open files), Renames, Attributes.
// Each operation may take its Caller (the FUSE request's uid, gid, pid and umask): new nodes take
// their mode before the umask (a directory's default ACL replaces it), and with --allow-other their
// creator as owner, chown follows POSIX, and ACLs narrow what the kernel's mode checks allowed.
// Over 400 lines on purpose: it is the whole operation surface (about 35 operations), each a short
// method that states its POSIX rules and delegates; split, the rules a reader compares would scatter.

import type { ObjectStore } from '../s3/object-store.js';
import type { BlockCache } from '../cache/block-cache.js';
import type { MemoryBudget } from '../cache/memory-budget.js';
import type { CacheConfig, PosixConfig, WriteConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { type Caller, Want } from './access.js';
import { ACL_ACCESS, ACL_DEFAULT } from './acl.js';
import { Attributes } from './attributes.js';
import { DeleteBatcher } from './delete-batcher.js';
import { DirRenamer } from './dir-rename.js';
import { FsError } from './errno.js';
import {
  type FileType,
  type PosixAttrs,
  contentTypeOf,
  metadataWithAttrs,
  metadataWithXattrs,
  msToNs,
  objectType,
  S_IFMT,
  typeOfMode,
} from './metadata.js';
import { Namespace } from './namespace.js';
import { type FsPath, baseName, childPath, dirPrefix, fileKey, parentOf, toFsPath, NAME_MAX_BYTES, ROOT } from './names.js';
import { InodeTable, type Node, type RemoteObject } from './nodes.js';
import { ObjectReader } from './object-reader.js';
import { OpenFile, type OpenFileContext } from './open-file.js';
import { OpenFiles, type OpenFilesActivity, type ReaderHandle } from './open-files.js';
import type { MountedFilesystem } from './operations.js';
import { Recovery, type RecoveryReport } from './recovery.js';
import { Renames } from './rename.js';
import type { Spool } from './spool.js';
import { type Stat, statOf, statOfAttrs } from './stat.js';
import { type NewNode, Permissions } from './permissions.js';
import { Tree } from './tree.js';
import { buildRooms } from './rooms.js';

export { XattrFlags } from './attributes.js';
export type { Caller } from './access.js';

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
  /**
   * Other users reach the mount (--allow-other): new nodes belong to the caller, chown and chmod
   * follow POSIX for non-root callers, and ACLs are checked. Default false: one user, the mount's.
   */
  readonly allowOther?: boolean;
  /** Longest key below the mount prefix, bytes (S3's 1,024 minus the prefix). Default 1,024. */
  readonly maxKeyBytes?: number;
}

export type EntryKind = FileType;

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

/**
 * Longest symlink target Linux accepts (PATH_MAX less the NUL): a larger body was not written as a
 * symlink by s3fs or us, so readdir can type it a file from the listing — 4 KiB files included,
 * a common size that would otherwise cost `find` and `rm -rf` a HEAD each.
 */
const MAX_SYMLINK_BYTES = 4095;
/** S3's longest key, bytes. */
const MAX_KEY_BYTES = 1024;


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
  readonly #permissions: Permissions;
  readonly #mountedAt: Date;
  /** Handles whose first read was seen (--atime moves atime once per handle). */
  readonly #atimeSeen = new WeakSet<object>();

  constructor(deps: FilesystemDeps) {
    this.#deps = deps;
    this.#log = deps.logger ?? silentLogger;
    this.#now = deps.now ?? Date.now;
    this.#mountedAt = new Date(this.#now());
    const rooms = buildRooms(deps, this.#log, this.#now, this.#mountedAt, this.#inodes, {
      syncFile: (file) => this.#syncFile(file),
      movedHeaders: (object, toKey) => this.#movedHeaders(object, toKey),
      readerOf: (object) => this.#readerOf(object),
      repinReaders: (path, object, newPath) => this.#repinReaders(path, object, newPath),
    });
    this.#namespace = rooms.namespace;
    this.#fileContext = rooms.fileContext;
    this.#files = rooms.files;
    this.#deletes = rooms.deletes;
    this.#tree = rooms.tree;
    this.#dirRenamer = rooms.dirRenamer;
    this.#renames = rooms.renames;
    this.#attributes = rooms.attributes;
    this.#permissions = rooms.permissions;
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

  async getattr(rawPath: string, caller?: Caller): Promise<Stat> {
    const path = this.#toPath(rawPath);
    await this.#permissions.check(caller, path, 0);
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

  async readdir(rawPath: string, caller?: Caller): Promise<Directory> {
    const path = this.#toPath(rawPath);
    await this.#tree.requireDir(path);
    await this.#permissions.check(caller, path, Want.READ);
    // A file open here whose upload lands while the pages come in can be missing from them and
    // closed by the end: those few are looked up instead of lost.
    const openBefore = this.#files.childrenOf(path).map((f) => f.path);
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
      if (listed.has(name)) continue;
      listed.add(name);
      entries.push({ name, kind, ino: this.#inodes.ino(child) });
    }
    for (const child of openBefore) {
      const name = baseName(child);
      if (listed.has(name) || !(await this.#tree.lookup(child, false))) continue;
      listed.add(name);
      entries.push({ name, kind: 'file', ino: this.#inodes.ino(child) });
    }
    return { ino: this.#inodes.ino(path), parentIno: this.#inodes.ino(parentOf(path)), entries };
  }

  async access(rawPath: string, mode: number): Promise<void> {
    const path = this.#toPath(rawPath);
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

  async open(rawPath: string, flags: number, caller?: Caller): Promise<number> {
    const path = this.#toPath(rawPath);
    const access = flags & OpenFlags.O_ACCMODE;
    const writable = access !== OpenFlags.O_RDONLY;
    const truncate = (flags & OpenFlags.O_TRUNC) !== 0;
    if ((writable || truncate) && this.#deps.posix.readOnly) throw this.#readOnly(path);
    const want = (access === OpenFlags.O_WRONLY ? 0 : Want.READ) | (writable || truncate ? Want.WRITE : 0);
    await this.#permissions.check(caller, path, want);
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

  async create(rawPath: string, mode: number, caller?: Caller): Promise<number> {
    const path = this.#toPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const fresh = await this.#permissions.newNode(path, 'file', mode, caller);
    const file = await this.#files.acquire(path, async () => {
      // Look up before claiming the key: a version whose delete is in flight or deferred is hidden,
      // so a name this mount unlinked is free even while the old object waits for its readers.
      const existing = await this.#tree.lookup(path);
      await this.#tree.claimKey(fileKey(path));
      if (existing?.kind === 'dir') throw new FsError('EISDIR', path);
      // The kernel only creates what it believes missing; if another client made it meanwhile,
      // open it as it is rather than destroy it (O_CREAT without O_TRUNC).
      if (existing) return this.#newOpenFile(path, existing.object, false);
      return this.#newOpenFile(path, undefined, true, fresh);
    });
    return this.#files.handles.add({ kind: 'file', file, writable: true, append: false });
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const handle = this.#files.handles.get(fh);
    if (this.#deps.posix.atime && !this.#atimeSeen.has(handle)) {
      this.#atimeSeen.add(handle);
      this.#touchAtime(handle.kind === 'file' ? handle.file.path : handle.path);
    }
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

  async truncate(rawPath: string, sizeBytes: number, caller?: Caller): Promise<void> {
    const path = this.#toPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#permissions.check(caller, path, Want.WRITE);
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

  async readlink(rawPath: string, caller?: Caller): Promise<string> {
    const path = this.#toPath(rawPath);
    await this.#permissions.check(caller, path, 0);
    const node = await this.#tree.require(path);
    if (node.kind !== 'file' || objectType(node.object.metadata ?? {}) !== 'symlink') {
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
  async unlink(rawPath: string, caller?: Caller): Promise<void> {
    const path = this.#toPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#permissions.check(caller, parentOf(path), Want.WRITE | Want.EXEC);
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

  async mkdir(rawPath: string, mode: number, caller?: Caller): Promise<void> {
    const path = this.#toPath(rawPath, true);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const fresh = await this.#permissions.newNode(path, 'dir', mode, caller);
    if (this.#files.has(path) || (await this.#tree.lookup(path, false))) throw new FsError('EEXIST', path);
    this.#namespace.invalidate(path, true);
    await this.#tree.putMarker(path, fresh.attrs, metadataWithXattrs({}, fresh.xattrs));
    // Nothing can be below a directory just made here: lookups inside it need no request.
    this.#namespace.rememberEmptyDir(path);
  }

  async rmdir(rawPath: string, caller?: Caller): Promise<void> {
    const path = this.#toPath(rawPath);
    if (path === ROOT) throw new FsError('EBUSY', 'the mount root cannot be removed');
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#permissions.check(caller, parentOf(path), Want.WRITE | Want.EXEC);
    const node = await this.#tree.require(path, false);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    await this.#tree.removeEmptyDir(path, node);
    await this.#tree.keepVisible(parentOf(path));
  }

  async symlink(target: string, rawPath: string, caller?: Caller): Promise<void> {
    const path = this.#toPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    const body = Buffer.from(target, 'utf8');
    if (body.length > MAX_SYMLINK_BYTES) throw new FsError('ENAMETOOLONG', `symlink target of ${path}`);
    const fresh = await this.#permissions.newNode(path, 'symlink', 0o777, caller);
    await this.#putObjectNode(path, body, fresh.attrs, fresh.xattrs, 'application/octet-stream');
  }

  /**
   * mknod(2): FIFOs, sockets and character and block devices are empty objects whose
   * x-amz-meta-mode carries the type (and x-amz-meta-rdev the device), as s3fs stores them. Their
   * data is never the daemon's: the kernel serves a FIFO or socket itself and refuses a device (nodev).
   */
  async mknod(rawPath: string, mode: number, rdev: number, caller?: Caller): Promise<void> {
    const path = this.#toPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    // No type bits: a regular file, as mknod(2) says.
    const type = (mode & S_IFMT) === 0 ? 'file' : typeOfMode(mode);
    if (type === undefined || type === 'dir' || type === 'symlink') throw new FsError('EINVAL', `${path}: mknod cannot make file type ${(mode & S_IFMT).toString(8)}`);
    const fresh = await this.#permissions.newNode(path, type, mode, caller, rdev);
    await this.#putObjectNode(path, Buffer.alloc(0), fresh.attrs, fresh.xattrs, contentTypeOf(fileKey(path)));
  }

  /** Hard links: link(2)'s EPERM for "the file system does not support hard links". */
  async link(_from: string, _to: string): Promise<void> {
    throw new FsError('EPERM', 'hard links cannot be stored in S3: bucketfs does not support them');
  }

  async rename(rawFrom: string, rawTo: string, caller?: Caller): Promise<void> {
    const from = this.#toPath(rawFrom);
    const to = this.#toPath(rawTo);
    if (this.#deps.posix.readOnly) throw this.#readOnly(from);
    await this.#permissions.check(caller, parentOf(from), Want.WRITE | Want.EXEC);
    await this.#permissions.check(caller, parentOf(to), Want.WRITE | Want.EXEC);
    await this.#renames.rename(from, to);
  }

  // ---- attributes ----

  async chmod(rawPath: string, mode: number, caller?: Caller): Promise<void> {
    const path = await this.#changeable(rawPath, caller, 0);
    await this.#attributes.chmod(path, mode, this.#permissions.ruled(caller));
  }

  /** `uid`/`gid` undefined: left as they are. */
  async chown(rawPath: string, uid: number | undefined, gid: number | undefined, caller?: Caller): Promise<void> {
    const path = await this.#changeable(rawPath, caller, 0);
    await this.#attributes.chown(path, uid, gid, this.#permissions.ruled(caller));
  }

  /** Times in nanoseconds; undefined: UTIME_OMIT. */
  async utimens(rawPath: string, atimeNs: bigint | undefined, mtimeNs: bigint | undefined, caller?: Caller): Promise<void> {
    if (atimeNs === undefined && mtimeNs === undefined) {
      await this.getattr(rawPath, caller);
      return;
    }
    const path = await this.#changeable(rawPath, caller, 0);
    await this.#attributes.utimens(path, atimeNs, mtimeNs);
  }

  async getxattr(rawPath: string, name: string, caller?: Caller): Promise<Buffer> {
    const path = this.#toPath(rawPath);
    await this.#permissions.check(caller, path, 0);
    return this.#attributes.getxattr(path, name, this.#permissions.ruled(caller));
  }

  async listxattr(rawPath: string, caller?: Caller): Promise<string[]> {
    const path = this.#toPath(rawPath);
    await this.#permissions.check(caller, path, 0);
    return this.#attributes.listxattr(path, this.#permissions.ruled(caller));
  }

  async setxattr(rawPath: string, name: string, value: Buffer, flags: number, caller?: Caller): Promise<void> {
    const path = await this.#changeable(rawPath, caller, isAclName(name) ? 0 : Want.WRITE);
    await this.#attributes.setxattr(path, name, value, flags, this.#permissions.ruled(caller));
  }

  async removexattr(rawPath: string, name: string, caller?: Caller): Promise<void> {
    const path = await this.#changeable(rawPath, caller, isAclName(name) ? 0 : Want.WRITE);
    await this.#attributes.removexattr(path, name, this.#permissions.ruled(caller));
  }

  // ---- internals ----

  #readOnly(path: string): FsError {
    return new FsError('EROFS', `${path}: this mount is read-only`);
  }

  /** A path of a change: parsed, refused on a read-only mount, and its ACLs checked (`want`). */
  async #changeable(rawPath: string, caller: Caller | undefined, want: number): Promise<FsPath> {
    const path = this.#toPath(rawPath);
    if (this.#deps.posix.readOnly) throw this.#readOnly(path);
    await this.#permissions.check(caller, path, want);
    return path;
  }

  /** A path from FUSE, refused at once when its key (a directory's with its `/`) would pass S3's limit. */
  #toPath(rawPath: string, dir = false): FsPath {
    const path = toFsPath(rawPath);
    const keyBytes = Buffer.byteLength(dir ? dirPrefix(path) : fileKey(path));
    if (keyBytes > (this.#deps.maxKeyBytes ?? MAX_KEY_BYTES)) throw new FsError('ENAMETOOLONG', `${path}: its S3 key would pass ${MAX_KEY_BYTES} bytes`);
    return path;
  }

  /**
   * The headers of a file moved to `toKey`: ctime moves (as s3fs does), and the Content-Type
   * follows the new name unless the old one was a type of the same extension's choosing.
   */
  #movedHeaders(object: RemoteObject, toKey: string): { metadata: Record<string, string>; contentType: string } {
    const attrs = this.#attributes.of(object);
    const metadata = metadataWithAttrs(object.metadata, { ...attrs, ctimeNs: msToNs(this.#now()) });
    const sameType = contentTypeOf(object.key) === contentTypeOf(toKey);
    return { metadata, contentType: (sameType ? object.contentType : undefined) ?? contentTypeOf(toKey) };
  }

  /** Stores a node that is a single small object (a symlink, a special file) with one PUT. */
  async #putObjectNode(path: FsPath, body: Buffer, attrs: PosixAttrs, xattrs: ReadonlyMap<string, Buffer>, contentType: string): Promise<void> {
    if (this.#files.has(path) || (await this.#tree.lookup(path, false))) throw new FsError('EEXIST', path);
    const key = fileKey(path);
    await this.#tree.claimKey(key);
    const metadata = metadataWithAttrs(metadataWithXattrs({}, xattrs), attrs);
    const { etag } = await this.#deps.store.put(key, body, { metadata, contentType });
    this.#namespace.remember(path, {
      kind: 'file',
      object: { key, sizeBytes: body.length, etag, lastModified: new Date(this.#now()), metadata, contentType },
    });
  }

  /** --atime: the first read of a handle moves the access time, in the background. */
  #touchAtime(path: FsPath): void {
    void this.#attributes.touchAtime(path).catch((e: unknown) => this.#log.debug(`atime of ${path} not stored: ${(e as Error).message}`));
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
  /** `fresh`: what a new file starts with; else the attributes of `base`. */
  async #newOpenFile(path: FsPath, base: RemoteObject | undefined, truncate: boolean, fresh?: NewNode): Promise<OpenFile> {
    const attrs = fresh?.attrs ?? (base && this.#attributes.of(base));
    if (!attrs) throw new FsError('EIO', `${path}: a new file is made without its attributes`);
    const file = new OpenFile(this.#fileContext, { path, base, truncate, attrs, xattrs: fresh?.xattrs });
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
    return statOfAttrs(file.attrs, this.#inodes.ino(file.path), file.sizeBytes, 1);
  }

  #stat(path: FsPath, node: Node): Stat {
    const subdirs = node.kind === 'dir' ? (this.#namespace.subdirCount(path) ?? 0) : 0;
    return statOf(node, this.#inodes.ino(path), this.#deps.posix, this.#mountedAt, subdirs);
  }
}

function isAclName(name: string): boolean {
  return name === ACL_ACCESS || name === ACL_DEFAULT;
}

/** The type readdir can tell without a HEAD. */
function kindIfKnown(node: Node): EntryKind | undefined {
  if (node.kind === 'dir') return 'dir';
  const { metadata, sizeBytes } = node.object;
  // Only a small object can be a symlink (its body is the target): a big one is a regular file.
  if (metadata === undefined) return sizeBytes > MAX_SYMLINK_BYTES ? 'file' : undefined;
  return objectType(metadata);
}
