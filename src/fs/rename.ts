// Renames: a file is a server-side copy pinned to the ETag it was looked up at, then a delete of the
// source (the target's old object is simply overwritten); a directory is every object below it,
// journaled (dir-rename.ts) so a crash mid-way is finished at the next mount. Open files and readers
// follow their file to its new name. While a directory is being renamed, an upload below it waits
// (settledAbove), so it lands under the new name instead of resurrecting the old one.

import type { ObjectStore, WriteOptions } from '../s3/object-store.js';
import type { DeleteBatcher } from './delete-batcher.js';
import type { DirRenamer } from './dir-rename.js';
import { FsError } from './errno.js';
import type { Namespace } from './namespace.js';
import { type FsPath, dirPrefix, fileKey, isSameOrBelow, parentOf, rebase } from './names.js';
import type { InodeTable, RemoteObject } from './nodes.js';
import type { ObjectReader } from './object-reader.js';
import type { OpenFile } from './open-file.js';
import type { OpenFiles } from './open-files.js';
import type { Tree } from './tree.js';

export interface RenamesDeps {
  readonly store: ObjectStore;
  readonly namespace: Namespace;
  readonly files: OpenFiles;
  readonly tree: Tree;
  readonly deletes: DeleteBatcher;
  readonly inodes: InodeTable;
  readonly dirRenamer: DirRenamer;
  readonly now: () => number;
  readonly syncFile: (file: OpenFile) => Promise<void>;
  /** The headers of a file moved to `toKey` (new ctime, Content-Type of the new name). */
  readonly movedHeaders: (object: RemoteObject, toKey: string) => WriteOptions;
  readonly readerOf: (object: RemoteObject) => ObjectReader;
  readonly repinReaders: (path: FsPath, object: RemoteObject, newPath: FsPath) => void;
}

export class Renames {
  readonly #d: RenamesDeps;
  /** Directory renames in progress: an upload below one waits, so it lands under the new name. */
  readonly #renaming = new Map<FsPath, Promise<void>>();

  constructor(deps: RenamesDeps) {
    this.#d = deps;
  }

  /** Waits until no directory rename is moving `path`. */
  async settledAbove(path: FsPath): Promise<void> {
    for (;;) {
      const renaming = [...this.#renaming].find(([dir]) => isSameOrBelow(path, dir));
      if (!renaming) return;
      await renaming[1].catch(() => undefined);
    }
  }

  async rename(from: FsPath, to: FsPath): Promise<void> {
    if (from === to) return;
    if (isSameOrBelow(to, from)) throw new FsError('EINVAL', `cannot move ${from} into itself`);
    const { tree, files } = this.#d;
    await tree.requireDir(parentOf(to));
    // A file still being written is uploaded under its old name first, then moved like any other.
    const moving = files.get(from);
    if (moving) await this.#d.syncFile(moving);
    // With its headers: the copy rewrites them (ctime, Content-Type), as s3fs does.
    const source = await tree.require(from);
    const target = await tree.lookup(to, false);
    if (source.kind === 'file') {
      if (target?.kind === 'dir') throw new FsError('EISDIR', to);
      // The replaced file stays open for its handles but must never upload over the new one.
      const replaced = files.get(to);
      if (replaced) await files.detach(replaced);
      await this.#renameFile(from, to, source.object);
    } else {
      if (target && target.kind !== 'dir') throw new FsError('ENOTDIR', to);
      if (target) await tree.removeEmptyDir(to, target);
      await tree.materialize(from, source);
      await this.#renameDir(from, to);
    }
    this.#d.inodes.rename(from, to);
    // Within one directory the parent keeps the new name: only a move out can empty it.
    if (parentOf(from) !== parentOf(to)) await tree.keepVisible(parentOf(from));
  }

  async #renameFile(from: FsPath, to: FsPath, object: RemoteObject): Promise<void> {
    const { store, files, tree, namespace } = this.#d;
    const toKey = fileKey(to);
    await tree.claimKey(toKey);
    const headers = this.#d.movedHeaders(object, toKey);
    const { etag } = await store.copy(object.key, toKey, { replace: headers, ifMatch: object.etag, sourceSizeBytes: object.sizeBytes });
    // Readers of the replaced file keep the version they opened; the name now leads elsewhere.
    files.orphanReadersOf(to);
    await this.#d.deletes.delete(object.key);
    const moved: RemoteObject = { ...object, ...headers, key: toKey, etag, lastModified: new Date(this.#d.now()) };
    this.#d.repinReaders(from, moved, to);
    const open = files.get(from);
    if (open) files.move(open, to, moved);
    tree.forget(from);
    namespace.invalidate(to, true);
    namespace.remember(to, { kind: 'file', object: moved });
  }

  async #renameDir(from: FsPath, to: FsPath): Promise<void> {
    const { files, deletes, tree, namespace } = this.#d;
    for (const file of files.below(from)) await this.#d.syncFile(file);
    const fromPrefix = dirPrefix(from);
    const toPrefix = dirPrefix(to);
    if (deletes.hasPendingBelow(toPrefix) || deletes.hasPendingBelow(fromPrefix)) await deletes.drain();
    let finished: () => void = () => undefined;
    this.#renaming.set(from, new Promise<void>((resolve) => (finished = resolve)));
    try {
      // A file unlinked while a reader had it is gone: it must not reappear under the new name.
      const unlinked = (key: string, etag: string) => files.isDeferred(key, etag);
      const results = await this.#d.dirRenamer.rename(fromPrefix, toPrefix, unlinked);
      files.cancelDeferredBelow(fromPrefix);
      for (const file of files.below(from)) {
        const newPath = rebase(file.path, from, to);
        const etag = results.get(fileKey(newPath))?.etag;
        files.move(file, newPath, file.base && etag ? { ...file.base, key: fileKey(newPath), etag } : undefined);
      }
      for (const h of files.readers()) {
        if (!h.named || !isSameOrBelow(h.path, from)) continue;
        const newPath = rebase(h.path, from, to);
        const etag = results.get(fileKey(newPath))?.etag;
        h.path = newPath;
        if (etag) {
          h.object = { ...h.object, key: fileKey(newPath), etag };
          h.reader = this.#d.readerOf(h.object);
        }
      }
    } finally {
      this.#renaming.delete(from);
      finished();
    }
    tree.forget(from);
    namespace.invalidate(to, true);
  }
}
