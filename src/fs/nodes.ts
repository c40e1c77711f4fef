// What the filesystem knows about one path in the bucket (a Node), and the inode table that gives
// every path seen a stable number for the life of the mount. A Node built from a listing has no user
// metadata yet (ListObjectsV2 does not return it); `metadata: undefined` says a HEAD is still owed.

import type { ObjectInfo, ListedObject, UserMetadata } from '../s3/object-store.js';
import { type FsPath, ROOT, isSameOrBelow, rebase } from './names.js';

export interface RemoteObject {
  readonly key: string;
  readonly sizeBytes: number;
  readonly etag: string;
  readonly lastModified: Date;
  /** undefined: known from a listing only, a HEAD has not been made. */
  readonly metadata: UserMetadata | undefined;
  readonly contentType: string | undefined;
}

export type Node =
  | {
      readonly kind: 'dir';
      /** The `dir/` marker object; undefined when there is none or it is not known yet. */
      readonly marker: RemoteObject | undefined;
      /** False when the directory was seen as a common prefix and its marker was not looked up. */
      readonly markerKnown: boolean;
    }
  | { readonly kind: 'file'; readonly object: RemoteObject };

export const ROOT_NODE: Node = { kind: 'dir', marker: undefined, markerKnown: true };

export function fromInfo(info: ObjectInfo): RemoteObject {
  return {
    key: info.key,
    sizeBytes: info.sizeBytes,
    etag: info.etag,
    lastModified: info.lastModified,
    metadata: info.metadata,
    contentType: info.contentType,
  };
}

export function fromListing(listed: ListedObject): RemoteObject {
  return { ...listed, metadata: undefined, contentType: undefined };
}

/** True when stat needs a HEAD this node has not had. */
export function needsHead(node: Node): boolean {
  return node.kind === 'dir' ? !node.markerKnown : node.object.metadata === undefined;
}

/** Path → inode number. Numbers are never reused; a rename carries the number to the new path. */
export class InodeTable {
  #next = 2;
  readonly #byPath = new Map<FsPath, number>([[ROOT, 1]]);

  ino(path: FsPath): number {
    let ino = this.#byPath.get(path);
    if (ino === undefined) {
      ino = this.#next++;
      this.#byPath.set(path, ino);
    }
    return ino;
  }

  forget(path: FsPath): void {
    if (path !== ROOT) this.#byPath.delete(path);
  }

  /** Moves `from` (and, for a directory, everything below it) to `to`. */
  rename(from: FsPath, to: FsPath): void {
    const moved: [FsPath, number][] = [];
    for (const [path, ino] of this.#byPath) {
      if (path !== ROOT && isSameOrBelow(path, from)) moved.push([path, ino]);
    }
    for (const [path] of moved) this.#byPath.delete(path);
    for (const [path, ino] of moved) this.#byPath.set(rebase(path, from, to), ino);
  }
}
