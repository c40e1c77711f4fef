// AllBuckets: the filesystem of a mount of every bucket. The root is a directory of the buckets
// ListBuckets shows (an answer is trusted for --stat-ttl); `mkdir` and `rmdir` there create and
// delete a bucket. `/BUCKET/rest` is `/rest` of that bucket's own filesystem, opened on first use
// with what a mount of that bucket alone would have (store, spool folder, crash recovery). Handle
// and inode numbers of the buckets are mapped to numbers of this mount, so they never collide.
// Nothing moves between buckets (rename is EXDEV, so mv copies), and the root holds only buckets:
// a file or symlink there has no S3 form (EPERM).
// Over 400 lines on purpose: every operation routed by its path, each a few lines, in one place.

import type { PosixConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import type { BucketAdmin, BucketInfo } from '../s3/bucket-admin.js';
import { bucketNameProblem } from '../s3/bucket-names.js';
import { isStoreError } from '../s3/store-error.js';
import { FsError } from './errno.js';
import type { Directory, StatFs } from './filesystem.js';
import { HandleTable } from './handles.js';
import { NAME_MAX_BYTES, ROOT, toFsPath, type FsPath } from './names.js';
import { ROOT_NODE } from './nodes.js';
import type { OpenFilesActivity } from './open-files.js';
import type { FilesystemOperations, MountedFilesystem, SyncFailures } from './operations.js';
import { statOf, type Stat } from './stat.js';

/** A bucket's filesystem as the composition root built it, and how to free it. */
export interface OpenBucket {
  readonly filesystem: MountedFilesystem;
  /** Frees what the bucket holds (spool folder, sockets) once its filesystem has synced and stopped. */
  close(): Promise<void>;
}

export interface AllBucketsDeps<B extends OpenBucket> {
  readonly admin: BucketAdmin;
  /** Builds a bucket's filesystem and recovers what dead mounts left in its spool; once per bucket. */
  readonly open: (bucket: BucketInfo) => Promise<B>;
  readonly posix: PosixConfig;
  /** How long a ListBuckets answer is trusted, ms (--stat-ttl). */
  readonly listTtlMs: number;
  /** A listing just made (the mount's own check), trusted as one made now. */
  readonly listed?: readonly BucketInfo[];
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Where a path leads: the root itself, or a path inside one bucket (`/` for the bucket's folder). */
type Place = { readonly kind: 'root' } | { readonly kind: 'bucket'; readonly bucket: string; readonly path: FsPath };

type Tail<T> = T extends [unknown, ...infer R] ? R : never;
/**
 * The arguments of operation K after its first (a path or a handle), and after its first two: calls
 * pass on whatever else the operation takes without this file restating each signature.
 */
type Rest<K extends keyof FilesystemOperations> = Tail<Parameters<FilesystemOperations[K]>>;
type Rest2<K extends keyof FilesystemOperations> = Tail<Rest<K>>;

const ROOT_INO = 1;
/** The inode number every filesystem gives its own root (InodeTable). */
const BUCKET_ROOT_INO = 1;

function place(rawPath: string): Place {
  const path = toFsPath(rawPath);
  if (path === ROOT) return { kind: 'root' };
  const slash = path.indexOf('/', 1);
  if (slash < 0) return { kind: 'bucket', bucket: path.slice(1), path: ROOT };
  return { kind: 'bucket', bucket: path.slice(1, slash), path: path.slice(slash) as FsPath };
}

/** Inode numbers of this mount for (bucket, the bucket filesystem's number): never reused. */
class InodeMap {
  #next = ROOT_INO + 1;
  readonly #byBucket = new Map<string, Map<number, number>>();

  of(bucket: string, ino: number): number {
    let numbers = this.#byBucket.get(bucket);
    if (!numbers) {
      numbers = new Map();
      this.#byBucket.set(bucket, numbers);
    }
    let mapped = numbers.get(ino);
    if (mapped === undefined) {
      mapped = this.#next++;
      numbers.set(ino, mapped);
    }
    return mapped;
  }

  /** The bucket is gone: a bucket made later under its name is new and gets new numbers. */
  forget(bucket: string): void {
    this.#byBucket.delete(bucket);
  }
}

interface BucketHandle {
  readonly bucket: string;
  readonly filesystem: MountedFilesystem;
  readonly fh: number;
}

export class AllBuckets<B extends OpenBucket = OpenBucket> implements MountedFilesystem {
  readonly #deps: AllBucketsDeps<B>;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #mountedAt: Date;
  readonly #inodes = new InodeMap();
  readonly #handles = new HandleTable<BucketHandle>();
  /** Buckets opened or being opened, by name; a failed open is forgotten so the next use retries. */
  readonly #opening = new Map<string, Promise<B>>();
  readonly #opened = new Map<string, B>();
  #listing: { readonly buckets: ReadonlyMap<string, BucketInfo>; readonly atMs: number } | undefined;
  #listingRequest: Promise<ReadonlyMap<string, BucketInfo>> | undefined;
  /** Counts this mount's creates and deletes, so a listing that started before one is not kept. */
  #listingGeneration = 0;
  /** Creates and deletes run one at a time: each decides from a listing the other would change. */
  #adminQueue: Promise<unknown> = Promise.resolve();

  constructor(deps: AllBucketsDeps<B>) {
    this.#deps = deps;
    this.#log = deps.logger ?? silentLogger;
    this.#now = deps.now ?? Date.now;
    this.#mountedAt = new Date(this.#now());
    if (deps.listed) this.#listing = { buckets: new Map(deps.listed.map((b) => [b.name, b])), atMs: this.#now() };
  }

  // ---- the buckets ----

  /** Buckets whose filesystem is open, for `bucketfs status`. */
  opened(): [string, B][] {
    return [...this.#opened];
  }

  /** Opens `names` now (buckets whose spool holds what a dead mount left): recovery starts at mount. */
  async openNow(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.#open(name).catch((e: unknown) => this.#log.error(`opening bucket ${name} to recover its spool failed: ${(e as Error).message}`));
    }
  }

  // ---- lifecycle ----

  async syncAll(): Promise<SyncFailures> {
    const results = await Promise.all(
      this.opened().map(async ([name, bucket]) => (await bucket.filesystem.syncAll()).map((f) => ({ ...f, path: `/${name}${f.path}` }))),
    );
    return results.flat();
  }

  stop(): void {
    for (const [, bucket] of this.opened()) bucket.filesystem.stop();
  }

  /** After stop(): frees every bucket's spool folder and sockets. */
  async close(): Promise<void> {
    await Promise.all(
      this.opened().map(([name, bucket]) =>
        bucket.close().catch((e: unknown) => this.#log.error(`closing bucket ${name}: ${(e as Error).message}`)),
      ),
    );
  }

  dropMetadataCaches(): void {
    this.#listing = undefined;
    for (const [, bucket] of this.opened()) bucket.filesystem.dropMetadataCaches();
  }

  activity(): OpenFilesActivity {
    const all = this.opened().map(([name, bucket]) => ({ name, activity: bucket.filesystem.activity() }));
    return {
      files: all.flatMap(({ name, activity }) => activity.files.map((f) => ({ ...f, path: `/${name}${f.path}` }))),
      readers: all.reduce((sum, { activity }) => sum + activity.readers, 0),
      queued: all.reduce((sum, { activity }) => sum + activity.queued, 0),
      pendingRetries: all.reduce((sum, { activity }) => sum + activity.pendingRetries, 0),
    };
  }

  // ---- attributes and listing ----

  async getattr(rawPath: string, ...args: Rest<'getattr'>): Promise<Stat> {
    const at = place(rawPath);
    if (at.kind === 'root') return this.#folderStat(ROOT_INO, this.#mountedAt);
    // A bucket not used yet is answered from the listing: `ls -l` of the root opens nothing.
    if (at.path === ROOT && !this.#opening.has(at.bucket)) {
      const info = await this.#requireListed(at.bucket);
      return this.#folderStat(this.#inodes.of(at.bucket, BUCKET_ROOT_INO), info.createdAt ?? this.#mountedAt);
    }
    return this.#inBucket(at, async (fs, path) => this.#mapStat(at.bucket, await fs.getattr(path, ...args)));
  }

  async fgetattr(fh: number, ...args: Rest<'fgetattr'>): Promise<Stat> {
    const h = this.#handles.get(fh);
    return this.#mapStat(h.bucket, await h.filesystem.fgetattr(h.fh, ...args));
  }

  async readdir(rawPath: string, ...args: Rest<'readdir'>): Promise<Directory> {
    const at = place(rawPath);
    if (at.kind === 'root') {
      const buckets = await this.#buckets();
      const entries = [...buckets.keys()].map((name) => ({ name, kind: 'dir' as const, ino: this.#inodes.of(name, BUCKET_ROOT_INO) }));
      return { ino: ROOT_INO, parentIno: ROOT_INO, entries };
    }
    return this.#inBucket(at, async (fs, path) => {
      const dir = await fs.readdir(path, ...args);
      return {
        ino: this.#inodes.of(at.bucket, dir.ino),
        parentIno: path === ROOT ? ROOT_INO : this.#inodes.of(at.bucket, dir.parentIno),
        entries: dir.entries.map((e) => ({ ...e, ino: this.#inodes.of(at.bucket, e.ino) })),
      };
    });
  }

  async access(rawPath: string, mode: number, ...args: Rest2<'access'>): Promise<void> {
    const at = place(rawPath);
    if (at.kind === 'root' || (await this.#unopenedFolder(at))) {
      const W_OK = 2;
      if (mode & W_OK && this.#deps.posix.readOnly) throw new FsError('EROFS', `${rawPath}: this mount is read-only`);
      return;
    }
    await this.#inBucket(at, (fs, path) => fs.access(path, mode, ...args));
  }

  async statfs(): Promise<StatFs> {
    // As for one bucket: S3 has no capacity, so --disk-size, all free.
    const { capacityBytes } = this.#deps.posix;
    return { capacityBytes, freeBytes: capacityBytes, files: Number.MAX_SAFE_INTEGER, freeFiles: Number.MAX_SAFE_INTEGER, nameMaxBytes: NAME_MAX_BYTES };
  }

  // ---- files ----

  async open(rawPath: string, ...args: Rest<'open'>): Promise<number> {
    const at = place(rawPath);
    if (at.kind === 'root') throw new FsError('EISDIR', '/');
    return this.#inBucket(at, async (fs, path) => this.#handles.add({ bucket: at.bucket, filesystem: fs, fh: await fs.open(path, ...args) }));
  }

  async create(rawPath: string, ...args: Rest<'create'>): Promise<number> {
    const at = this.#belowRoot(rawPath, 'a file');
    return this.#inBucket(at, async (fs, path) => this.#handles.add({ bucket: at.bucket, filesystem: fs, fh: await fs.create(path, ...args) }));
  }

  async read(fh: number, ...args: Rest<'read'>): Promise<Buffer> {
    const h = this.#handles.get(fh);
    return h.filesystem.read(h.fh, ...args);
  }

  async write(fh: number, ...args: Rest<'write'>): Promise<number> {
    const h = this.#handles.get(fh);
    return h.filesystem.write(h.fh, ...args);
  }

  async flush(fh: number, ...args: Rest<'flush'>): Promise<void> {
    const h = this.#handles.get(fh);
    await h.filesystem.flush(h.fh, ...args);
  }

  async fsync(fh: number, ...args: Rest<'fsync'>): Promise<void> {
    const h = this.#handles.get(fh);
    await h.filesystem.fsync(h.fh, ...args);
  }

  async release(fh: number, ...args: Rest<'release'>): Promise<void> {
    const h = this.#handles.take(fh);
    await h.filesystem.release(h.fh, ...args);
  }

  async ftruncate(fh: number, ...args: Rest<'ftruncate'>): Promise<void> {
    const h = this.#handles.get(fh);
    await h.filesystem.ftruncate(h.fh, ...args);
  }

  async truncate(rawPath: string, ...args: Rest<'truncate'>): Promise<void> {
    await this.#inBucketOrRoot(rawPath, 'EISDIR', (fs, path) => fs.truncate(path, ...args));
  }

  async readlink(rawPath: string, ...args: Rest<'readlink'>): Promise<string> {
    return this.#inBucketOrRoot(rawPath, 'EINVAL', (fs, path) => fs.readlink(path, ...args));
  }

  // ---- namespace changes ----

  async unlink(rawPath: string, ...args: Rest<'unlink'>): Promise<void> {
    await this.#inBucketOrRoot(rawPath, 'EISDIR', (fs, path) => fs.unlink(path, ...args));
  }

  async fsyncdir(rawPath: string, ...args: Rest<'fsyncdir'>): Promise<void> {
    const at = place(rawPath);
    if (at.kind === 'root') {
      await Promise.all(this.opened().map(([, bucket]) => bucket.filesystem.fsyncdir('/', ...args)));
      return;
    }
    await this.#inBucket(at, (fs, path) => fs.fsyncdir(path, ...args));
  }

  async mkdir(rawPath: string, ...args: Rest<'mkdir'>): Promise<void> {
    const at = place(rawPath);
    if (at.kind === 'root') throw new FsError('EEXIST', '/');
    if (at.path !== ROOT) return this.#inBucket(at, (fs, path) => fs.mkdir(path, ...args));
    this.#writable(rawPath);
    const exists = async (maxAgeMs?: number): Promise<boolean> => this.#opening.has(at.bucket) || (await this.#buckets(maxAgeMs)).has(at.bucket);
    if (await exists()) throw new FsError('EEXIST', rawPath);
    const problem = bucketNameProblem(at.bucket);
    if (problem !== undefined) throw new FsError('EINVAL', `cannot create bucket '${at.bucket}': ${problem}`);
    await this.#administer(async () => {
      // Asked afresh: some servers answer CreateBucket of a bucket the caller owns with success.
      if (await exists(0)) throw new FsError('EEXIST', rawPath);
      await this.#deps.admin.createBucket(at.bucket);
      this.#log.info(`created bucket ${at.bucket}`);
      this.#changeListing((buckets) => buckets.set(at.bucket, { name: at.bucket, createdAt: new Date(this.#now()), region: undefined }));
    });
  }

  async rmdir(rawPath: string, ...args: Rest<'rmdir'>): Promise<void> {
    const at = place(rawPath);
    if (at.kind === 'root') throw new FsError('EBUSY', 'the mount root cannot be removed');
    if (at.path !== ROOT) return this.#inBucket(at, (fs, path) => fs.rmdir(path, ...args));
    this.#writable(rawPath);
    await this.#administer(async () => {
      const opening = this.#opening.get(at.bucket);
      const bucket = opening ? await opening.catch(() => undefined) : undefined;
      if (!bucket) await this.#requireListed(at.bucket);
      // Deletes in flight, markers of emptied folders and pending uploads reach the bucket first:
      // S3 then says whether it is empty.
      const failed = bucket ? await bucket.filesystem.syncAll() : [];
      if (failed.length > 0) throw new FsError('ENOTEMPTY', `${rawPath}: ${failed.length} file(s) in it are not uploaded yet`);
      try {
        await this.#deps.admin.deleteBucket(at.bucket);
      } catch (e) {
        if (isStoreError(e, 'NoSuchBucket')) {
          this.#changeListing((buckets) => buckets.delete(at.bucket));
          throw new FsError('ENOENT', rawPath, { cause: e });
        }
        throw e;
      }
      this.#log.info(`deleted bucket ${at.bucket}`);
      this.#changeListing((buckets) => buckets.delete(at.bucket));
      if (bucket) await this.#closeBucket(at.bucket, bucket);
      this.#inodes.forget(at.bucket);
    });
  }

  async symlink(target: string, rawPath: string, ...args: Rest2<'symlink'>): Promise<void> {
    const at = this.#belowRoot(rawPath, 'a symbolic link');
    await this.#inBucket(at, (fs, path) => fs.symlink(target, path, ...args));
  }

  async mknod(rawPath: string, ...args: Rest<'mknod'>): Promise<void> {
    const at = this.#belowRoot(rawPath, 'a special file');
    await this.#inBucket(at, (fs, path) => fs.mknod(path, ...args));
  }

  async link(rawFrom: string, rawTo: string, ...args: Rest2<'link'>): Promise<void> {
    const from = place(rawFrom);
    const to = place(rawTo);
    if (from.kind === 'root' || to.kind === 'root' || from.bucket !== to.bucket || to.path === ROOT) {
      throw new FsError('EPERM', 'hard links cannot be stored in S3: bucketfs does not support them');
    }
    await this.#inBucket(from, (fs, path) => fs.link(path, to.path, ...args));
  }

  async rename(rawFrom: string, rawTo: string, ...args: Rest2<'rename'>): Promise<void> {
    const from = place(rawFrom);
    const to = place(rawTo);
    if (from.kind === 'root' || to.kind === 'root') throw new FsError('EBUSY', 'the mount root cannot be renamed');
    this.#writable(rawFrom);
    // S3 has no move between buckets, nor a bucket rename: mv falls back to copy and delete.
    if (from.bucket !== to.bucket || from.path === ROOT || to.path === ROOT) {
      throw new FsError('EXDEV', `${rawFrom} → ${rawTo}: each bucket is a filesystem of its own`);
    }
    await this.#inBucket(from, (fs, path) => fs.rename(path, to.path, ...args));
  }

  // ---- attributes ----

  async chmod(rawPath: string, ...args: Rest<'chmod'>): Promise<void> {
    await this.#inBucket(this.#notRoot(rawPath), (fs, path) => fs.chmod(path, ...args));
  }

  async chown(rawPath: string, ...args: Rest<'chown'>): Promise<void> {
    await this.#inBucket(this.#notRoot(rawPath), (fs, path) => fs.chown(path, ...args));
  }

  async utimens(rawPath: string, ...args: Rest<'utimens'>): Promise<void> {
    await this.#inBucket(this.#notRoot(rawPath), (fs, path) => fs.utimens(path, ...args));
  }

  async getxattr(rawPath: string, name: string, ...args: Rest2<'getxattr'>): Promise<Buffer> {
    const at = place(rawPath);
    // The root and a bucket not used yet have no attributes (`ls -l` asks each entry for its ACL).
    if (at.kind === 'root' || (await this.#unopenedFolder(at))) {
      throw new FsError('ENODATA', `${rawPath}: no attribute ${name}`);
    }
    return this.#inBucket(at, (fs, path) => fs.getxattr(path, name, ...args));
  }

  async listxattr(rawPath: string, ...args: Rest<'listxattr'>): Promise<string[]> {
    const at = place(rawPath);
    if (at.kind === 'root' || (await this.#unopenedFolder(at))) {
      return [];
    }
    return this.#inBucket(at, (fs, path) => fs.listxattr(path, ...args));
  }

  async setxattr(rawPath: string, ...args: Rest<'setxattr'>): Promise<void> {
    await this.#inBucket(this.#notRoot(rawPath), (fs, path) => fs.setxattr(path, ...args));
  }

  async removexattr(rawPath: string, ...args: Rest<'removexattr'>): Promise<void> {
    await this.#inBucket(this.#notRoot(rawPath), (fs, path) => fs.removexattr(path, ...args));
  }

  // ---- internals ----

  /** Runs `work` on the bucket's filesystem (opened on first use) at the path inside it. */
  async #inBucket<T>(at: Extract<Place, { kind: 'bucket' }>, work: (fs: MountedFilesystem, path: FsPath) => Promise<T>): Promise<T> {
    const bucket = await this.#open(at.bucket);
    return work(bucket.filesystem, at.path);
  }

  /** Is this a bucket's folder not opened yet (which is answered without opening it)? ENOENT when no bucket has the name. */
  async #unopenedFolder(at: Extract<Place, { kind: 'bucket' }>): Promise<boolean> {
    if (at.path !== ROOT || this.#opening.has(at.bucket)) return false;
    await this.#requireListed(at.bucket);
    return true;
  }

  /** As #inBucket; at the root, fails with `rootErrno` (what the operation says of a directory). */
  async #inBucketOrRoot<T>(rawPath: string, rootErrno: 'EISDIR' | 'EINVAL', work: (fs: MountedFilesystem, path: FsPath) => Promise<T>): Promise<T> {
    const at = place(rawPath);
    if (at.kind === 'root') throw new FsError(rootErrno, '/');
    return this.#inBucket(at, work);
  }

  /** The root's own attributes cannot change: it is the list of buckets, stored nowhere. */
  #notRoot(rawPath: string): Extract<Place, { kind: 'bucket' }> {
    const at = place(rawPath);
    if (at.kind === 'root') throw new FsError('EPERM', 'the root of a mount of every bucket has no attributes to change');
    return at;
  }

  /** A path for a new file or symlink: inside a bucket, never a name at the root. */
  #belowRoot(rawPath: string, what: string): Extract<Place, { kind: 'bucket' }> {
    const at = place(rawPath);
    if (at.kind === 'root') throw new FsError('EEXIST', '/');
    if (at.path === ROOT) {
      this.#writable(rawPath);
      throw new FsError('EPERM', `${rawPath}: the root holds buckets only; ${what} goes inside a bucket`);
    }
    return at;
  }

  #writable(rawPath: string): void {
    if (this.#deps.posix.readOnly) throw new FsError('EROFS', `${rawPath}: this mount is read-only`);
  }

  #open(name: string): Promise<B> {
    let opening = this.#opening.get(name);
    if (!opening) {
      opening = (async () => {
        const info = await this.#requireListed(name);
        const bucket = await this.#deps.open(info).catch((e: unknown) => {
          const message = `opening bucket ${name} failed: ${(e as Error).message}`;
          this.#log.error(message);
          throw new FsError('EIO', message, { cause: e });
        });
        this.#opened.set(name, bucket);
        return bucket;
      })();
      this.#opening.set(name, opening);
      // A failed open is not remembered: the next use tries again.
      opening.catch(() => {
        if (this.#opening.get(name) === opening) this.#opening.delete(name);
      });
    }
    return opening;
  }

  async #closeBucket(name: string, bucket: B): Promise<void> {
    this.#opening.delete(name);
    this.#opened.delete(name);
    bucket.filesystem.stop();
    await bucket.close().catch((e: unknown) => this.#log.error(`closing deleted bucket ${name}: ${(e as Error).message}`));
  }

  async #requireListed(name: string): Promise<BucketInfo> {
    const info = (await this.#buckets()).get(name);
    if (!info) throw new FsError('ENOENT', `/${name}: no such bucket`);
    return info;
  }

  /** The buckets, from a listing at most `maxAgeMs` old; concurrent callers share one request. */
  async #buckets(maxAgeMs = this.#deps.listTtlMs): Promise<ReadonlyMap<string, BucketInfo>> {
    const listing = this.#listing;
    if (listing && this.#now() - listing.atMs < maxAgeMs) return listing.buckets;
    if (this.#listingRequest) return this.#listingRequest;
    const generation = this.#listingGeneration;
    const atMs = this.#now();
    const request = this.#deps.admin.listBuckets().then((list) => {
      const buckets = new Map(list.map((b) => [b.name, b] as const));
      // Not when a create or delete of this mount came in between (#changeListing).
      if (this.#listingGeneration === generation) this.#listing = { buckets, atMs };
      return buckets;
    });
    this.#listingRequest = request;
    const done = (): void => {
      if (this.#listingRequest === request) this.#listingRequest = undefined;
    };
    request.then(done, done);
    return request;
  }

  /** A create or delete this mount made: the listing says so at once, as long as it is trusted. */
  #changeListing(change: (buckets: Map<string, BucketInfo>) => void): void {
    // A listing in flight started before the change: its answer must not be kept.
    this.#listingGeneration++;
    this.#listingRequest = undefined;
    if (!this.#listing) return;
    const buckets = new Map(this.#listing.buckets);
    change(buckets);
    this.#listing = { buckets, atMs: this.#listing.atMs };
  }

  /** One create or delete at a time. */
  #administer(work: () => Promise<void>): Promise<void> {
    const run = this.#adminQueue.then(work);
    this.#adminQueue = run.catch(() => undefined);
    return run;
  }

  #folderStat(ino: number, mtime: Date): Stat {
    return statOf(ROOT_NODE, ino, this.#deps.posix, mtime);
  }

  #mapStat(bucket: string, stat: Stat): Stat {
    return { ...stat, ino: this.#inodes.of(bucket, stat.ino) };
  }
}
