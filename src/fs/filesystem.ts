// S3Filesystem: the POSIX rules of bucketfs, one async method per FUSE operation, taking and returning
// plain data (no callbacks, no packed arrays, no negative numbers). It talks to S3 only through the
// ObjectStore interface and knows nothing of FUSE, so it runs in unit tests on an in-memory store.
// Errors are thrown as FsError/StoreError and turned into errno by src/fs/errno.ts at the binding.

import type { ObjectStore } from '../s3/object-store.js';
import type { BlockCache } from '../cache/block-cache.js';
import type { MemoryBudget } from '../cache/memory-budget.js';
import type { CacheConfig, PosixConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { FsError } from './errno.js';
import { HandleTable } from './handles.js';
import { decodeXattrs, kindFromMetadata, S_IFDIR, S_IFLNK, S_IFREG } from './metadata.js';
import { Namespace } from './namespace.js';
import { type FsPath, childPath, toFsPath, NAME_MAX_BYTES } from './names.js';
import { InodeTable, type Node } from './nodes.js';
import { ObjectReader } from './object-reader.js';
import { type Stat, statOf } from './stat.js';

export interface FilesystemDeps {
  readonly store: ObjectStore;
  readonly blocks: BlockCache;
  readonly budget: MemoryBudget;
  readonly cache: CacheConfig;
  readonly posix: PosixConfig;
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

type Handle = { readonly kind: 'reader'; readonly path: FsPath; readonly reader: ObjectReader };

/** Symlink targets are small; a larger body is not a symlink written by s3fs or us. */
const MAX_SYMLINK_BYTES = 4096;

export class S3Filesystem {
  readonly #deps: FilesystemDeps;
  readonly #log: Logger;
  readonly #namespace: Namespace;
  readonly #inodes = new InodeTable();
  readonly #handles = new HandleTable<Handle>();
  readonly #mountedAt: Date;

  constructor(deps: FilesystemDeps) {
    this.#deps = deps;
    this.#log = deps.logger ?? silentLogger;
    this.#namespace = new Namespace(deps.store, {
      statTtlMs: deps.cache.statTtlMs,
      negativeTtlMs: deps.cache.negativeTtlMs,
      maxStatEntries: deps.cache.maxStatEntries,
      now: deps.now,
    });
    this.#mountedAt = new Date(deps.now?.() ?? Date.now());
  }

  get openHandleCount(): number {
    return this.#handles.size;
  }

  async getattr(rawPath: string): Promise<Stat> {
    const path = toFsPath(rawPath);
    return this.#stat(path, await this.#namespace.require(path));
  }

  async readdir(rawPath: string): Promise<DirEntry[]> {
    const path = toFsPath(rawPath);
    await this.#namespace.requireDir(path);
    const listing = await this.#namespace.list(path);
    if (listing.hiddenCount > 0) {
      this.#log.debug(`readdir ${path}: ${listing.hiddenCount} keys are not valid file names and are not shown`);
    }
    const entries: DirEntry[] = [
      { name: '.', typeBits: S_IFDIR, ino: this.#inodes.ino(path) },
      { name: '..', typeBits: S_IFDIR, ino: 0 },
    ];
    for (const { name, node } of listing.entries) {
      entries.push({ name, typeBits: this.#typeBitsIfKnown(node), ino: this.#inodes.ino(childPath(path, name)) });
    }
    return entries;
  }

  async open(rawPath: string, flags: number): Promise<number> {
    const path = toFsPath(rawPath);
    if ((flags & OpenFlags.O_ACCMODE) !== OpenFlags.O_RDONLY || flags & OpenFlags.O_TRUNC) {
      throw new FsError('EROFS', `${path}: this mount is read-only`);
    }
    const node = await this.#namespace.require(path);
    if (node.kind === 'dir') throw new FsError('EISDIR', path);
    const { object } = node;
    const reader = new ObjectReader(
      {
        store: this.#deps.store,
        blocks: this.#deps.blocks,
        budget: this.#deps.budget,
        blockSizeBytes: this.#deps.cache.blockSizeBytes,
        readAheadMaxBytes: this.#deps.cache.readAheadMaxBytes,
      },
      { key: object.key, etag: object.etag, sizeBytes: object.sizeBytes },
    );
    return this.#handles.add({ kind: 'reader', path, reader });
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    return this.#handles.get(fh).reader.read(offset, length);
  }

  async release(fh: number): Promise<void> {
    this.#handles.take(fh);
  }

  async readlink(rawPath: string): Promise<string> {
    const path = toFsPath(rawPath);
    const node = await this.#namespace.require(path);
    if (node.kind !== 'file' || kindFromMetadata(node.object.metadata ?? {}) !== 'symlink') {
      throw new FsError('EINVAL', `${path} is not a symbolic link`);
    }
    const { object } = node;
    if (object.sizeBytes > MAX_SYMLINK_BYTES) throw new FsError('EIO', `${path}: symlink target too long`);
    if (object.sizeBytes === 0) return '';
    const body = await this.#deps.store.getRange(
      object.key,
      { startByte: 0, endByteExclusive: object.sizeBytes },
      object.etag,
    );
    return body.toString('utf8');
  }

  async getxattr(rawPath: string, name: string): Promise<Buffer> {
    const path = toFsPath(rawPath);
    const value = decodeXattrs(this.#metadataOf(await this.#namespace.require(path))).get(name);
    if (value === undefined) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    return value;
  }

  async listxattr(rawPath: string): Promise<string[]> {
    const path = toFsPath(rawPath);
    return [...decodeXattrs(this.#metadataOf(await this.#namespace.require(path))).keys()];
  }

  async access(rawPath: string, mode: number): Promise<void> {
    const path = toFsPath(rawPath);
    await this.#namespace.require(path);
    const W_OK = 2;
    if (mode & W_OK) throw new FsError('EROFS', `${path}: this mount is read-only`);
  }

  async statfs(): Promise<StatFs> {
    // S3 has no capacity to report; large constant numbers keep df and installers from refusing.
    // fuse-native packs statfs into 32-bit fields, hence 1 MiB blocks for a 1 PiB total.
    const blockSizeBytes = 1024 * 1024;
    const totalBlocks = 2 ** 30;
    return {
      blockSizeBytes,
      totalBlocks,
      freeBlocks: totalBlocks,
      totalInodes: 2 ** 32 - 1,
      freeInodes: 2 ** 32 - 1,
      nameMaxBytes: NAME_MAX_BYTES,
    };
  }

  /** Refuses a change: until a writable mode exists every change is EROFS. */
  async refuseChange(rawPath: string): Promise<never> {
    throw new FsError('EROFS', `${rawPath}: this mount is read-only`);
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

  #metadataOf(node: Node) {
    return node.kind === 'dir' ? node.marker?.metadata : node.object.metadata;
  }
}
