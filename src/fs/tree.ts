// Tree: the directory tree as this mount sees it — the bucket as the Namespace caches it, overlaid
// with this mount's files open for writing (which win), minus objects whose delete is in flight or
// deferred until their readers close. Directory markers are written here, and the root, which has no
// object of its own (a PUT of the empty key would address the bucket itself), keeps its attributes
// in memory for the life of the mount.

import type { PosixConfig } from '../config.js';
import type { ObjectStore, UserMetadata } from '../s3/object-store.js';
import type { DeleteBatcher } from './delete-batcher.js';
import { FsError } from './errno.js';
import { type PosixAttrs, metadataWithAttrs, S_IFDIR } from './metadata.js';
import type { Namespace } from './namespace.js';
import { type FsPath, dirPrefix, ROOT } from './names.js';
import type { InodeTable, Node, RemoteObject } from './nodes.js';
import type { OpenFiles } from './open-files.js';

export interface TreeDeps {
  readonly store: ObjectStore;
  readonly namespace: Namespace;
  readonly files: OpenFiles;
  readonly deletes: DeleteBatcher;
  readonly inodes: InodeTable;
  readonly posix: PosixConfig;
  readonly now: () => number;
  readonly mountedAt: Date;
}

const DIRECTORY_CONTENT_TYPE = 'application/x-directory';

export class Tree {
  readonly #d: TreeDeps;
  #root: Node & { kind: 'dir' };

  constructor(deps: TreeDeps) {
    this.#d = deps;
    const attrs: PosixAttrs = { mode: S_IFDIR | deps.posix.dirMode, uid: deps.posix.uid, gid: deps.posix.gid, mtimeMs: deps.mountedAt.getTime() };
    this.#root = { kind: 'dir', marker: this.#rootMarker(metadataWithAttrs({}, attrs)), markerKnown: true };
  }

  /** The node at `path`, hiding a file whose delete is in flight or deferred. */
  async lookup(path: FsPath): Promise<Node | undefined> {
    if (path === ROOT) return this.#root;
    const open = this.#d.files.get(path);
    if (open) {
      const object: RemoteObject = open.base ?? {
        key: open.key,
        sizeBytes: open.sizeBytes,
        etag: '',
        lastModified: new Date(open.attrs.mtimeMs),
        metadata: {},
        contentType: undefined,
      };
      return { kind: 'file', object };
    }
    const node = await this.#d.namespace.lookup(path);
    return node?.kind === 'file' && this.hidden(node.object) ? undefined : node;
  }

  async require(path: FsPath): Promise<Node> {
    const node = await this.lookup(path);
    if (!node) throw new FsError('ENOENT', path);
    return node;
  }

  async requireDir(path: FsPath): Promise<void> {
    const node = await this.require(path);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
  }

  /** An object whose delete is in flight, or deferred until its readers close (that version only). */
  hidden(object: RemoteObject): boolean {
    return this.#d.deletes.isPending(object.key) || this.#d.files.isDeferred(object.key, object.etag);
  }

  /** Before writing `key`: no delete of it may land afterwards. */
  async claimKey(key: string): Promise<void> {
    this.#d.files.cancelDeferred(key);
    while (this.#d.deletes.isPending(key)) await this.#d.deletes.drain();
  }

  /** `path` (and anything below it) no longer exists. */
  forget(path: FsPath): void {
    // Cached blocks stay: they are keyed by ETag, and readers of the old version may still want them.
    this.#d.namespace.invalidate(path, true);
    this.#d.namespace.remember(path, undefined);
  }

  /** Deletes a directory's marker; ENOTEMPTY when anything lies below it, shown or not. */
  async removeEmptyDir(path: FsPath): Promise<void> {
    const prefix = dirPrefix(path);
    if (this.#d.deletes.hasPendingBelow(prefix)) await this.#d.deletes.drain();
    const page = await this.#d.store.listPage(prefix, '/', undefined, 2);
    const children = page.prefixes.length + page.objects.filter((o) => o.key !== prefix).length;
    const openInside = this.#d.files.below(path).some((f) => f.path !== path);
    if (children > 0 || openInside) throw new FsError('ENOTEMPTY', path);
    await this.#d.store.delete(prefix);
    this.forget(path);
    this.#d.inodes.forget(path);
  }

  /**
   * A directory that exists only because keys lie below it vanishes with its last child. When a
   * change empties such a directory, a marker object keeps it, as a local filesystem would.
   */
  async keepVisible(dir: FsPath): Promise<void> {
    if (dir === ROOT) return;
    const node = await this.lookup(dir);
    if (node?.kind === 'dir' && node.marker) return;
    const prefix = dirPrefix(dir);
    const page = await this.#d.store.listPage(prefix, '/', undefined, 1);
    if (page.objects.length > 0 || page.prefixes.length > 0) return;
    const { posix } = this.#d;
    const attrs: PosixAttrs = { mode: S_IFDIR | posix.dirMode, uid: posix.uid, gid: posix.gid, mtimeMs: this.#d.now() };
    await this.putMarker(dir, attrs, {});
  }

  /** Stores a directory's attributes: its marker object, or for the root, memory. */
  async putMarker(path: FsPath, attrs: PosixAttrs, other: UserMetadata): Promise<void> {
    const metadata = metadataWithAttrs(other, attrs);
    if (path === ROOT) {
      this.#root = { kind: 'dir', marker: this.#rootMarker(metadata), markerKnown: true };
      return;
    }
    const key = dirPrefix(path);
    const { etag } = await this.#d.store.put(key, Buffer.alloc(0), { metadata, contentType: DIRECTORY_CONTENT_TYPE });
    const marker: RemoteObject = { key, sizeBytes: 0, etag, lastModified: new Date(this.#d.now()), metadata, contentType: DIRECTORY_CONTENT_TYPE };
    this.#d.namespace.remember(path, { kind: 'dir', marker, markerKnown: true });
  }

  #rootMarker(metadata: UserMetadata): RemoteObject {
    return { key: '', sizeBytes: 0, etag: '', lastModified: this.#d.mountedAt, metadata, contentType: DIRECTORY_CONTENT_TYPE };
  }
}
