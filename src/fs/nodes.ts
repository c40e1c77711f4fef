// What the filesystem knows about one path in the bucket (a Node), and the inode table that gives
// every path seen a stable number for the life of the mount. A Node built from a listing has no user
// metadata yet (ListObjectsV2 does not return it); `metadata: undefined` says a HEAD is still owed.

import type { ObjectInfo, ListedObject, UserMetadata } from '../s3/object-store.js';
import { type FsPath, ROOT } from './names.js';

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
  // Listings date objects to the millisecond (Ceph RGW), HEAD's Last-Modified to the second: cut
  // to whole seconds, so an mtime never moves when a HEAD follows the listing (tar and rsync would
  // see a change, and the kernel would drop the file's cached pages).
  const lastModified = new Date(Math.floor(listed.lastModified.getTime() / 1000) * 1000);
  // Field by field, not `{ ...listed, … }`: V8 (Node 20) gives nearly every object made by a
  // spread followed by more properties a hidden class of its own, which made the 100,000 files of
  // a walked tree cost 22 MiB more (measured in a heap snapshot). A literal shares one.
  return { key: listed.key, sizeBytes: listed.sizeBytes, etag: listed.etag, lastModified, metadata: undefined, contentType: undefined };
}

/** True when stat needs a HEAD this node has not had. */
export function needsHead(node: Node): boolean {
  return node.kind === 'dir' ? !node.markerKnown : node.object.metadata === undefined;
}

/**
 * Path → inode number, as a tree of names: a rename moves a whole subtree in one step and an
 * unlink drops one entry, so neither costs more as the mount learns more paths. Numbers are never
 * reused; a rename carries the numbers of everything it moves to the new paths.
 */
export class InodeTable {
  #next = 2;
  readonly #root: InodeEntry = { ino: 1, children: undefined };

  ino(path: FsPath): number {
    if (path === ROOT) return 1;
    let entry = this.#root;
    for (const name of segments(path)) {
      entry.children ??= new Map();
      let child = entry.children.get(name);
      if (!child) {
        child = { ino: undefined, children: undefined };
        entry.children.set(name, child);
      }
      entry = child;
    }
    entry.ino ??= this.#next++;
    return entry.ino;
  }

  /** The name is gone: a file made there later gets a new number. Entries below stay with it. */
  forget(path: FsPath): void {
    if (path === ROOT) return;
    const found = this.#find(path);
    if (!found) return;
    found.entry.ino = undefined;
    if (!found.entry.children?.size) found.parent.children?.delete(found.name);
  }

  /** Moves `from` (and, for a directory, everything below it) to `to`, replacing what was there. */
  rename(from: FsPath, to: FsPath): void {
    if (from === ROOT || to === ROOT || from === to) return;
    const found = this.#find(from);
    if (!found) return;
    found.parent.children?.delete(found.name);
    const names = segments(to);
    let parent = this.#root;
    for (const name of names.slice(0, -1)) {
      parent.children ??= new Map();
      let child = parent.children.get(name);
      if (!child) {
        child = { ino: undefined, children: undefined };
        parent.children.set(name, child);
      }
      parent = child;
    }
    parent.children ??= new Map();
    parent.children.set(names[names.length - 1] as string, found.entry);
  }

  #find(path: FsPath): { entry: InodeEntry; parent: InodeEntry; name: string } | undefined {
    let parent = this.#root;
    const names = segments(path);
    for (const [i, name] of names.entries()) {
      const entry = parent.children?.get(name);
      if (!entry) return undefined;
      if (i === names.length - 1) return { entry, parent, name };
      parent = entry;
    }
    return undefined;
  }
}

interface InodeEntry {
  /** Undefined for a path known only as the ancestor of others. */
  ino: number | undefined;
  children: Map<string, InodeEntry> | undefined;
}

function segments(path: FsPath): string[] {
  return path.slice(1).split('/');
}
