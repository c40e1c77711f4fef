// The rooms of one S3Filesystem, built and wired together: the caches (Namespace), what is open
// (OpenFiles), the merged tree, deletes, renames, attributes and permissions. The filesystem hands in
// the few operations of its own the rooms call back (upload a file, re-point readers).

import type { Logger } from '../log.js';
import { Attributes } from './attributes.js';
import { DeleteBatcher } from './delete-batcher.js';
import { DirRenamer } from './dir-rename.js';
import type { FilesystemDeps } from './filesystem.js';
import { Namespace } from './namespace.js';
import type { FsPath } from './names.js';
import type { InodeTable, RemoteObject } from './nodes.js';
import type { ObjectReader, ReadContext } from './object-reader.js';
import type { OpenFile, OpenFileContext } from './open-file.js';
import { OpenFiles } from './open-files.js';
import { PartLayout } from './part-layout.js';
import { Permissions } from './permissions.js';
import { Renames, type RenamesDeps } from './rename.js';
import { Tree } from './tree.js';

/** S3's longest key, bytes. */
const MAX_KEY_BYTES = 1024;

export interface RoomHooks {
  syncFile(file: OpenFile): Promise<void>;
  movedHeaders: RenamesDeps['movedHeaders'];
  readerOf(object: RemoteObject): ObjectReader;
  repinReaders(path: FsPath, object: RemoteObject, newPath: FsPath): void;
}

export interface Rooms {
  readonly namespace: Namespace;
  readonly fileContext: OpenFileContext;
  readonly files: OpenFiles;
  readonly deletes: DeleteBatcher;
  readonly tree: Tree;
  readonly dirRenamer: DirRenamer;
  readonly renames: Renames;
  readonly attributes: Attributes;
  readonly permissions: Permissions;
}

export function buildRooms(deps: FilesystemDeps, log: Logger, now: () => number, mountedAt: Date, inodes: InodeTable, hooks: RoomHooks): Rooms {
  const namespace = new Namespace(deps.store, {
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
  const fileContext = {
    store: deps.store,
    bucket: deps.bucket,
    spool: deps.spool,
    budget: deps.budget,
    layout: new PartLayout(deps.write.partSizeBytes, deps.store.limits),
    uploadConcurrency: deps.write.uploadConcurrency,
    read,
    log: log,
    now: now,
  };
  const files = new OpenFiles({
    sync: hooks.syncFile,
    log: log,
    retryDelayMs: deps.uploadRetryDelayMs,
    writeBack: deps.write.writeBack,
    backgroundUploads: deps.write.backgroundUploads,
  });
  const deletes = new DeleteBatcher(deps.store);
  const tree = new Tree({
    store: deps.store,
    namespace: namespace,
    files: files,
    deletes: deletes,
    inodes: inodes,
    posix: deps.posix,
    now: now,
    mountedAt: mountedAt,
    markerDelayMs: deps.markerDelayMs ?? 2_000,
  });
  const dirRenamer = new DirRenamer(deps.store, deps.journalDir, log, deps.maxKeyBytes ?? MAX_KEY_BYTES);
  const renames = new Renames({
    store: deps.store,
    namespace: namespace,
    files: files,
    tree: tree,
    deletes: deletes,
    inodes: inodes,
    dirRenamer: dirRenamer,
    now: now,
    syncFile: hooks.syncFile,
    movedHeaders: hooks.movedHeaders,
    readerOf: hooks.readerOf,
    repinReaders: hooks.repinReaders,
  });
  const attributes = new Attributes({
    store: deps.store,
    namespace: namespace,
    files: files,
    tree: tree,
    posix: deps.posix,
    now: now,
    mountedAt: mountedAt,
    syncFile: hooks.syncFile,
    repinReaders: (path, object) => hooks.repinReaders(path, object, path),
  });
  const permissions = new Permissions({
    attributes: attributes,
    tree: tree,
    posix: deps.posix,
    now: now,
    allowOther: deps.allowOther ?? false,
  });
  return { namespace, fileContext, files, deletes, tree, dirRenamer, renames, attributes, permissions };
}
