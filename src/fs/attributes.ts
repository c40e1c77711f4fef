// Attributes: chmod, chown, utimens and extended attributes, stored in s3fs's x-amz-meta-* headers.
// Every change is one modify() of a node's attributes and xattrs together (setting an ACL changes
// the mode, chmod changes the ACL), and moves ctime as POSIX says. Operations take the caller the
// POSIX ownership rules apply to (--allow-other), or undefined for the mount's only user. A file open for writing carries the change into its next upload
// (a clean one is saved at once); a closed file is rewritten in place by a self-copy pinned to the
// ETag it was read at; a directory rewrites its marker. S3 keeps at most 2 KiB of user metadata, so
// a change past it is ENOSPC before anything is sent: never a half-written object.

import type { PosixConfig } from '../config.js';
import type { ObjectStore } from '../s3/object-store.js';
import { type Caller, accessAclOf, checkChmod, checkChown, ROOT_UID } from './access.js';
import { ACL_ACCESS, ACL_DEFAULT, aclModeBits, aclWithMode, isBaseAcl, parseAcl, serializeAcl } from './acl.js';
import { FsError } from './errno.js';
import {
  type PosixAttrs,
  attrsFromMetadata,
  decodeXattrs,
  MAX_METADATA_BYTES,
  metadataSizeBytes,
  metadataWithAttrs,
  metadataWithXattrs,
  msToNs,
  objectType,
  PERMISSION_BITS,
  S_IFDIR,
  S_IFMT,
} from './metadata.js';
import type { Namespace } from './namespace.js';
import type { FsPath } from './names.js';
import type { Node, RemoteObject } from './nodes.js';
import type { OpenFile } from './open-file.js';
import type { OpenFiles } from './open-files.js';
import { attrsOf } from './stat.js';
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

/** Extended attribute namespaces stored (s3fs's use_xattr stores them all); the VFS applies each one's rules. */
const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.'];

/** A node's attributes and extended attributes, as one change sees and edits them. */
export interface AttrState {
  attrs: PosixAttrs;
  readonly xattrs: Map<string, Buffer>;
}

/** What a change function returns: false when it found nothing to change. */
export type Change = void | boolean;

export class Attributes {
  readonly #d: AttributesDeps;

  constructor(deps: AttributesDeps) {
    this.#d = deps;
  }

  /** The POSIX attributes an object's metadata gives (mount defaults where it has none). */
  of(object: RemoteObject): PosixAttrs {
    const metadata = object.metadata ?? {};
    return attrsFromMetadata(metadata, objectType(metadata), this.#d.posix, object.lastModified);
  }

  /** The attributes and xattrs of `path` as they are now (an open file's unsaved ones included). */
  async state(path: FsPath): Promise<AttrState> {
    const open = this.#d.files.get(path);
    if (open) return { attrs: open.attrs, xattrs: open.xattrs };
    const node = await this.#d.tree.require(path);
    return { attrs: this.#attrsOf(node), xattrs: decodeXattrs(metadataOf(node)) };
  }

  /**
   * Applies `change` to the attributes and xattrs of `path` and stores the result. `change` may
   * throw to refuse, or return false when there is nothing to change; then nothing is stored.
   */
  async modify(path: FsPath, change: (state: AttrState) => Change | Promise<Change>): Promise<void> {
    const changedOpen = await this.#d.files.withOpen(path, async (open) => {
      const state: AttrState = { attrs: open.attrs, xattrs: open.xattrs };
      if ((await change(state)) === false) return;
      // xattrs first: they are what can pass S3's limit, and then nothing has changed yet.
      open.setXattrs(state.xattrs);
      open.setAttrs(state.attrs);
      // A file with unsaved content carries the change to its upload; a clean one saves it now.
      if (!open.contentDirty) await this.#d.syncFile(open);
    });
    if (changedOpen) return;
    const node = await this.#d.tree.require(path);
    const base = metadataOf(node) ?? {};
    const state: AttrState = { attrs: this.#attrsOf(node), xattrs: decodeXattrs(base) };
    if ((await change(state)) === false) return;
    const other = metadataWithXattrs(base, state.xattrs);
    checkMetadataSize(path, metadataWithAttrs(other, state.attrs));
    if (node.kind === 'dir') {
      await this.#d.tree.putMarker(path, state.attrs, other, node);
      return;
    }
    await this.#replaceMetadata(path, node.object, metadataWithAttrs(other, state.attrs));
  }

  // ---- operations ----

  async chmod(path: FsPath, mode: number, ruled: Caller | undefined): Promise<void> {
    await this.modify(path, async (state) => {
      const requested = mode & PERMISSION_BITS;
      const permissions = ruled ? await checkChmod(ruled, state.attrs, requested, path) : requested;
      state.attrs = { ...state.attrs, mode: (state.attrs.mode & S_IFMT) | permissions, ctimeNs: this.#nowNs() };
      // An access ACL and the mode say the same thing: chmod rewrites its base entries.
      const acl = accessAclOf(state.xattrs);
      if (acl) state.xattrs.set(ACL_ACCESS, serializeAcl(aclWithMode(acl, permissions)));
    });
  }

  /** `uid`/`gid` undefined: left as they are. */
  async chown(path: FsPath, uid: number | undefined, gid: number | undefined, ruled: Caller | undefined): Promise<void> {
    await this.modify(path, async (state) => {
      if (ruled) await checkChown(ruled, state.attrs, uid, gid, path);
      state.attrs = { ...state.attrs, uid: uid ?? state.attrs.uid, gid: gid ?? state.attrs.gid, ctimeNs: this.#nowNs() };
    });
  }

  /**
   * Times in nanoseconds; undefined: UTIME_OMIT, left as it is. ctime moves to now. Who may set
   * which times is the kernel's check: it knows UTIME_NOW from an explicit time, the core does not.
   */
  async utimens(path: FsPath, atimeNs: bigint | undefined, mtimeNs: bigint | undefined): Promise<void> {
    await this.modify(path, (state) => {
      const { attrs } = state;
      state.attrs = { ...attrs, atimeNs: atimeNs ?? attrs.atimeNs, mtimeNs: mtimeNs ?? attrs.mtimeNs, ctimeNs: this.#nowNs() };
    });
  }

  /** --atime: a read moves the access time (relatime: when not after mtime or ctime, or a day old). */
  async touchAtime(path: FsPath): Promise<void> {
    const now = this.#nowNs();
    await this.modify(path, (state) => {
      const { atimeNs, mtimeNs, ctimeNs } = state.attrs;
      if (atimeNs > mtimeNs && atimeNs > ctimeNs && now - atimeNs < RELATIME_NS) return false;
      state.attrs = { ...state.attrs, atimeNs: now };
      return true;
    });
  }

  async getxattr(path: FsPath, name: string, ruled: Caller | undefined): Promise<Buffer> {
    const value = (await this.state(path)).xattrs.get(name);
    if (value === undefined || !mayRead(ruled, name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    return value;
  }

  async listxattr(path: FsPath, ruled: Caller | undefined): Promise<string[]> {
    return [...(await this.state(path)).xattrs.keys()].filter((name) => mayRead(ruled, name));
  }

  /**
   * Every namespace s3fs's use_xattr stores: user.*, trusted.*, security.* and the POSIX ACLs.
   * An access ACL sets the mode's permission bits (its mask as the group's) and is stored only
   * when it says more than the mode; a default ACL belongs to directories.
   */
  async setxattr(path: FsPath, name: string, value: Buffer, flags: number, ruled: Caller | undefined): Promise<void> {
    const isAcl = name === ACL_ACCESS || name === ACL_DEFAULT;
    if (!isAcl && !XATTR_NAMESPACES.some((ns) => name.startsWith(ns))) throw new FsError('EOPNOTSUPP', `${name}: not a namespace bucketfs stores`);
    // An empty ACL is how the kernel passes "remove it".
    if (isAcl && value.length === 0) return this.removexattr(path, name, ruled);
    await this.modify(path, (state) => {
      const { xattrs } = state;
      if (flags & XattrFlags.XATTR_CREATE && xattrs.has(name)) throw new FsError('EEXIST', `${path}: ${name} exists`);
      if (flags & XattrFlags.XATTR_REPLACE && !xattrs.has(name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
      state.attrs = { ...state.attrs, ctimeNs: this.#nowNs() };
      if (!isAcl) {
        xattrs.set(name, Buffer.from(value));
        return;
      }
      checkAclOwner(ruled, state.attrs, path);
      const acl = parseAcl(value);
      if (!acl) throw new FsError('EINVAL', `${path}: ${name} is not a valid POSIX ACL`);
      if (name === ACL_DEFAULT) {
        if ((state.attrs.mode & S_IFMT) !== S_IFDIR) throw new FsError('EACCES', `${path}: only a directory has a default ACL`);
        xattrs.set(name, serializeAcl(acl));
        return;
      }
      const mode = (state.attrs.mode & ~0o777) | aclModeBits(acl);
      if (isBaseAcl(acl) && !xattrs.has(name)) {
        // Only a mode, on a file with no ACL: the kernel cannot learn a mode changed by an xattr
        // (it keeps its cached one), so ask for the chmod that tools (cp -a, setfacl) fall back to.
        if (mode === state.attrs.mode) return false;
        throw new FsError('EOPNOTSUPP', `${path}: an ACL of base entries only is a mode: set it with chmod`);
      }
      state.attrs = { ...state.attrs, mode };
      if (isBaseAcl(acl)) xattrs.delete(name);
      else xattrs.set(name, serializeAcl(acl));
    });
  }

  async removexattr(path: FsPath, name: string, ruled: Caller | undefined): Promise<void> {
    await this.modify(path, (state) => {
      if (name === ACL_ACCESS || name === ACL_DEFAULT) checkAclOwner(ruled, state.attrs, path);
      if (!state.xattrs.delete(name)) throw new FsError('ENODATA', `${path}: no attribute ${name}`);
      state.attrs = { ...state.attrs, ctimeNs: this.#nowNs() };
    });
  }

  #nowNs(): bigint {
    return msToNs(this.#d.now());
  }

  #attrsOf(node: Node): PosixAttrs {
    return attrsOf(node, this.#d.posix, this.#d.mountedAt);
  }

  async #replaceMetadata(path: FsPath, object: RemoteObject, metadata: Record<string, string>): Promise<void> {
    const options = { metadata, contentType: object.contentType };
    const { etag } = await this.#d.store.copy(object.key, object.key, { replace: options, ifMatch: object.etag, sourceSizeBytes: object.sizeBytes });
    const updated: RemoteObject = { ...object, etag, metadata, lastModified: new Date(this.#d.now()) };
    this.#d.namespace.remember(path, { kind: 'file', object: updated });
    this.#d.repinReaders(path, updated);
  }
}

/** --atime: an access time older than this is moved by a read even when after mtime (relatime). */
const RELATIME_NS = 24n * 3600n * 1_000_000_000n;

/** trusted.* is root's: other ruled callers neither list nor read it. */
function mayRead(ruled: Caller | undefined, name: string): boolean {
  return !name.startsWith('trusted.') || !ruled || ruled.uid === ROOT_UID;
}

/** Only the owner (or root) sets a node's ACLs. */
function checkAclOwner(ruled: Caller | undefined, attrs: PosixAttrs, path: FsPath): void {
  if (ruled && ruled.uid !== ROOT_UID && ruled.uid !== attrs.uid) throw new FsError('EPERM', `${path}: only the owner may change its ACL`);
}

/** The user metadata of a node: its object's, or its directory marker's. */
export function metadataOf(node: Node): Record<string, string> | undefined {
  return node.kind === 'dir' ? node.marker?.metadata : node.object.metadata;
}

function checkMetadataSize(path: FsPath, metadata: Record<string, string>): void {
  if (metadataSizeBytes(metadata) > MAX_METADATA_BYTES) {
    throw new FsError('ENOSPC', `${path}: S3 keeps at most 2 KiB of metadata per object`);
  }
}
