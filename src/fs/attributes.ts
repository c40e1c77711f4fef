// Attributes: chmod, chown, utimens and extended attributes, stored in s3fs's x-amz-meta-* headers.
// A file open for writing carries the change into its next upload (a clean one is saved at once);
// a closed file is rewritten in place by a self-copy pinned to the ETag it was read at; a directory
// rewrites its marker. S3 keeps at most 2 KiB of user metadata, so a change past it is ENOSPC
// before anything is sent.

import type { PosixConfig } from '../config.js';
import type { ObjectStore } from '../s3/object-store.js';
import { FsError } from './errno.js';
import {
  type PosixAttrs,
  attrsFromMetadata,
  decodeXattrs,
  kindFromMetadata,
  MAX_METADATA_BYTES,
  metadataSizeBytes,
  metadataWithAttrs,
  metadataWithXattrs,
} from './metadata.js';
import type { Namespace } from './namespace.js';
import type { FsPath } from './names.js';
import type { Node, RemoteObject } from './nodes.js';
import type { OpenFile } from './open-file.js';
import type { OpenFiles } from './open-files.js';
import type { Tree } from './tree.js';

export interface AttributesDeps {
  readonly store: ObjectStore;
  readonly namespace: Namespace;
  readonly files: OpenFiles;
  readonly tree: Tree;
  readonly posix: PosixConfig;
  readonly now: () => number;
  readonly mountedAt: Date;
  /** Uploads an open file and records the new object (the filesystem's sync). */
  readonly syncFile: (file: OpenFile) => Promise<void>;
  /** Points this mount's readers of `path` at `object`, its newer version. */
  readonly repinReaders: (path: FsPath, object: RemoteObject) => void;
}

export const XattrFlags = { XATTR_CREATE: 1, XATTR_REPLACE: 2 } as const;

export class Attributes {
  readonly #d: AttributesDeps;

  constructor(deps: AttributesDeps) {
    this.#d = deps;
  }

  /** The POSIX attributes an object's metadata gives (mount defaults where it has none). */
  of(object: RemoteObject): PosixAttrs {
    const metadata = object.metadata ?? {};
    return attrsFromMetadata(metadata, kindFromMetadata(metadata), this.#d.posix, object.lastModified);
  }

  async update(path: FsPath, change: (attrs: PosixAttrs) => PosixAttrs): Promise<void> {
    const changedOpen = await this.#d.files.withOpen(path, async (open) => {
      open.setAttrs(change(open.attrs));
      // A file with unsaved content carries the change to its upload; a clean one saves it now.
      if (!open.contentDirty) await this.#d.syncFile(open);
    });
    if (changedOpen) return;
    const node = await this.#d.tree.require(path);
    if (node.kind === 'dir') {
      const attrs = change(this.#dirAttrs(node));
      await this.#d.tree.putMarker(path, attrs, node.marker?.metadata ?? {});
      return;
    }
    await this.#replaceMetadata(path, node.object, metadataWithAttrs(node.object.metadata, change(this.of(node.object))));
  }

  async xattrs(path: FsPath): Promise<Map<string, Buffer>> {
    const open = this.#d.files.get(path);
    if (open) return open.xattrs;
    const node = await this.#d.tree.require(path);
    return decodeXattrs(node.kind === 'dir' ? node.marker?.metadata : node.object.metadata);
  }

  async setXattrs(path: FsPath, change: (xattrs: Map<string, Buffer>) => void): Promise<void> {
    const changedOpen = await this.#d.files.withOpen(path, async (open) => {
      const xattrs = open.xattrs;
      change(xattrs);
      open.setXattrs(xattrs);
      if (!open.contentDirty) await this.#d.syncFile(open);
    });
    if (changedOpen) return;
    const node = await this.#d.tree.require(path);
    if (node.kind === 'dir') {
      const base = node.marker?.metadata ?? {};
      const xattrs = decodeXattrs(base);
      change(xattrs);
      const metadata = metadataWithXattrs(base, xattrs);
      checkMetadataSize(path, metadataWithAttrs(metadata, this.#dirAttrs(node)));
      await this.#d.tree.putMarker(path, this.#dirAttrs(node), metadata);
      return;
    }
    const xattrs = decodeXattrs(node.object.metadata);
    change(xattrs);
    await this.#replaceMetadata(path, node.object, metadataWithXattrs(node.object.metadata ?? {}, xattrs));
  }

  #dirAttrs(node: Node & { kind: 'dir' }): PosixAttrs {
    return attrsFromMetadata(node.marker?.metadata, 'dir', this.#d.posix, node.marker?.lastModified ?? this.#d.mountedAt);
  }

  async #replaceMetadata(path: FsPath, object: RemoteObject, metadata: Record<string, string>): Promise<void> {
    checkMetadataSize(path, metadata);
    const options = { metadata, contentType: object.contentType };
    const { etag } = await this.#d.store.copy(object.key, object.key, { replace: options, ifMatch: object.etag, sourceSizeBytes: object.sizeBytes });
    const updated: RemoteObject = { ...object, etag, metadata, lastModified: new Date(this.#d.now()) };
    this.#d.namespace.remember(path, { kind: 'file', object: updated });
    this.#d.repinReaders(path, updated);
  }
}

function checkMetadataSize(path: FsPath, metadata: Record<string, string>): void {
  if (metadataSizeBytes(metadata) > MAX_METADATA_BYTES) {
    throw new FsError('ENOSPC', `${path}: S3 keeps at most 2 KiB of metadata per object`);
  }
}
