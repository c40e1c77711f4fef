// Tree: the directory tree as this mount sees it — the bucket as the Namespace caches it, overlaid
// with this mount's files open for writing (which win), minus objects whose delete is in flight or
// deferred until their readers close. Directory markers are written here, and the root, which has no
// object of its own (a PUT of the empty key would address the bucket itself), keeps its attributes
// in memory for the life of the mount.

import type { PosixConfig } from '../config.js';
import type { ObjectStore, UserMetadata } from '../s3/object-store.js';
import type { DeleteBatcher } from './delete-batcher.js';
import { FsError } from './errno.js';
import { type PosixAttrs, metadataWithAttrs, msToNs, NS_PER_MS, S_IFDIR } from './metadata.js';
import type { Namespace } from './namespace.js';
import { type FsPath, dirPrefix, parentOf, ROOT } from './names.js';
import type { InodeTable, Node, RemoteObject } from './nodes.js';
import type { OpenFiles } from './open-files.js';
import { attrsOf } from './stat.js';

export interface TreeDeps {
  readonly store: ObjectStore;
  readonly namespace: Namespace;
  readonly files: OpenFiles;
  readonly deletes: DeleteBatcher;
  readonly inodes: InodeTable;
  readonly posix: PosixConfig;
  readonly now: () => number;
  readonly mountedAt: Date;
  /** How long an emptied directory waits for rmdir before its marker is written, ms. */
  readonly markerDelayMs: number;
}

const DIRECTORY_CONTENT_TYPE = 'application/x-directory';

export class Tree {
  readonly #d: TreeDeps;
  #root: Node & { kind: 'dir' };
  /** Directories a change may have emptied, shown by this mount until their marker is written. */
  readonly #emptied = new Map<FsPath, NodeJS.Timeout>();

  constructor(deps: TreeDeps) {
    this.#d = deps;
    const attrs = this.#defaultDirAttrs(deps.mountedAt.getTime());
    this.#root = { kind: 'dir', marker: this.#rootMarker(metadataWithAttrs({}, attrs)), markerKnown: true };
  }

  /**
   * The node at `path`, hiding a file whose delete is in flight or deferred. `metadata`: whether
   * the s3fs headers are needed (stat, or a file about to be written), or existence and kind do.
   */
  async lookup(path: FsPath, metadata = true): Promise<Node | undefined> {
    if (path === ROOT) return this.#root;
    const open = this.#d.files.get(path);
    if (open) {
      const object: RemoteObject = open.base ?? {
        key: open.key,
        sizeBytes: open.sizeBytes,
        etag: '',
        lastModified: new Date(Number(open.attrs.mtimeNs / NS_PER_MS)),
        metadata: {},
        contentType: undefined,
      };
      return { kind: 'file', object };
    }
    const node = await this.#d.namespace.lookup(path, metadata);
    // A file whose delete is pending is gone; a directory of the same name may be what is there now.
    if (node?.kind === 'file' && this.hidden(node.object)) return this.#d.namespace.dirBehind(path);
    if (!node && this.#emptied.has(path)) return { kind: 'dir', marker: undefined, markerKnown: true };
    return node;
  }

  async require(path: FsPath, metadata = true): Promise<Node> {
    const node = await this.lookup(path, metadata);
    if (!node) throw new FsError('ENOENT', path);
    return node;
  }

  async requireDir(path: FsPath): Promise<void> {
    const node = await this.require(path, false);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
  }

  /** Directories inside `dir` kept only by this mount until their marker is written. */
  emptiedChildrenOf(dir: FsPath): FsPath[] {
    return [...this.#emptied.keys()].filter((p) => parentOf(p) === dir);
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
  async removeEmptyDir(path: FsPath, node?: Node): Promise<void> {
    const prefix = dirPrefix(path);
    if (this.#d.deletes.hasPendingBelow(prefix)) await this.#d.deletes.drain();
    // A file unlinked while a reader holds it is gone from the directory, though its object waits
    // for the reader: a page long enough to see past such objects decides.
    const deferred = this.#d.files.deferredCountBelow(prefix);
    const page = await this.#d.store.listPage(prefix, '/', undefined, 2 + deferred);
    const children = page.prefixes.length + page.objects.filter((o) => o.key !== prefix && !this.#d.files.isDeferred(o.key, o.etag)).length;
    const openInside = this.#d.files.below(path).some((f) => f.path !== path);
    if (children > 0 || openInside) throw new FsError('ENOTEMPTY', path);
    this.#forgetEmptied(path);
    const legacy = this.#d.namespace.legacyMarkerKeys(path, node);
    await this.#d.store.delete(prefix);
    // Markers other tools left (old s3fs `dir`, Hadoop `dir_$folder$`) would bring it back.
    for (const key of legacy) await this.#d.store.delete(key);
    this.forget(path);
    this.#d.inodes.forget(path);
  }

  /**
   * A directory that exists only because keys lie below it vanishes with its last child; a local
   * filesystem keeps it. When a change may have emptied such a directory, this mount keeps showing
   * it and, unless `rmdir` removes it first (as `rm -rf` does at once), writes a marker object a
   * moment later — so emptying a folder costs no marker written only to be deleted again.
   */
  async keepVisible(dir: FsPath): Promise<void> {
    if (dir === ROOT || this.#emptied.has(dir)) return;
    const node = await this.#d.namespace.lookup(dir, false);
    if (node?.kind === 'dir' && node.marker) return;
    if (this.#d.namespace.listedNames(dir) > 0) return;
    const timer = setTimeout(() => void this.#writeKeptMarker(dir).catch(() => undefined), this.#d.markerDelayMs);
    timer.unref();
    this.#emptied.set(dir, timer);
  }

  /** Writes the markers of emptied directories now (fsync of a directory, unmount). */
  async flushEmptied(): Promise<void> {
    await Promise.all([...this.#emptied.keys()].map((dir) => this.#writeKeptMarker(dir)));
  }

  /**
   * Before a directory is renamed or filled: an emptied one gets its marker first, and one marked
   * the way other tools mark directories gets ours (the rename moves only what lies below `dir/`).
   */
  async materialize(dir: FsPath, node: Node): Promise<void> {
    if (this.#emptied.has(dir)) await this.#writeKeptMarker(dir);
    if (node.kind !== 'dir' || this.#d.namespace.legacyMarkerKeys(dir, node).length === 0) return;
    await this.putMarker(dir, attrsOf(node, this.#d.posix, this.#d.mountedAt), node.marker?.metadata ?? {}, node);
  }

  async #writeKeptMarker(dir: FsPath): Promise<void> {
    if (!this.#forgetEmptied(dir)) return;
    const prefix = dirPrefix(dir);
    const page = await this.#d.store.listPage(prefix, '/', undefined, 1);
    if (page.objects.length > 0 || page.prefixes.length > 0) return;
    await this.putMarker(dir, this.#defaultDirAttrs(this.#d.now()), {});
  }

  #forgetEmptied(dir: FsPath): boolean {
    const timer = this.#emptied.get(dir);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.#emptied.delete(dir);
    return true;
  }

  /** Stores a directory's attributes: its marker object, or for the root, memory. */
  /** `replaces`: the node of `path` known so far, whose foreign marker ours replaces. */
  async putMarker(path: FsPath, attrs: PosixAttrs, other: UserMetadata, replaces?: Node): Promise<void> {
    const metadata = metadataWithAttrs(other, attrs);
    if (path === ROOT) {
      this.#root = { kind: 'dir', marker: this.#rootMarker(metadata), markerKnown: true };
      return;
    }
    this.#forgetEmptied(path);
    const key = dirPrefix(path);
    const legacy = this.#d.namespace.legacyMarkerKeys(path, replaces);
    const { etag } = await this.#d.store.put(key, Buffer.alloc(0), { metadata, contentType: DIRECTORY_CONTENT_TYPE });
    // Ours replaces a marker another tool left: one marker per directory, the one s3fs writes now.
    for (const legacyKey of legacy) await this.#d.store.delete(legacyKey);
    const marker: RemoteObject = { key, sizeBytes: 0, etag, lastModified: new Date(this.#d.now()), metadata, contentType: DIRECTORY_CONTENT_TYPE };
    this.#d.namespace.remember(path, { kind: 'dir', marker, markerKnown: true });
  }

  #defaultDirAttrs(nowMs: number): PosixAttrs {
    const { posix } = this.#d;
    const t = msToNs(nowMs);
    return { mode: S_IFDIR | posix.dirMode, uid: posix.uid, gid: posix.gid, rdev: 0, atimeNs: t, mtimeNs: t, ctimeNs: t };
  }

  #rootMarker(metadata: UserMetadata): RemoteObject {
    return { key: '', sizeBytes: 0, etag: '', lastModified: this.#d.mountedAt, metadata, contentType: DIRECTORY_CONTENT_TYPE };
  }
}
