// Permissions: how the caller of a request shapes it. With --allow-other (several users) the caller
// owns what it creates and the POSIX ownership rules apply to it; ACLs on the way to a path and on
// the path itself are checked (the kernel's default_permissions checked the mode bits already, and
// cannot see ACLs of a libfuse 2 filesystem). New nodes take their mode before the umask, so a
// directory's default ACL can stand in for the umask, as on Linux filesystems with ACLs.

import type { PosixConfig } from '../config.js';
import { type Caller, accessAclOf, checkAcl, ownerCaller, ownerOfNew, ROOT_UID, Want } from './access.js';
import { ACL_ACCESS, ACL_DEFAULT, aclForNew, parseAcl, serializeAcl } from './acl.js';
import type { Attributes } from './attributes.js';
import { type FileType, type PosixAttrs, msToNs, PERMISSION_BITS, typeBits } from './metadata.js';
import { type FsPath, parentOf, ROOT } from './names.js';
import type { Tree } from './tree.js';

export interface PermissionsDeps {
  readonly attributes: Attributes;
  readonly tree: Tree;
  readonly posix: PosixConfig;
  readonly now: () => number;
  /** Several users reach the mount (--allow-other). */
  readonly allowOther: boolean;
}

/** What a node about to be made starts with. */
export interface NewNode {
  readonly attrs: PosixAttrs;
  readonly xattrs: Map<string, Buffer>;
}

export class Permissions {
  readonly #d: PermissionsDeps;
  /** The caller of requests that name none: the mount's owner, umask 0. */
  readonly #mountCaller: Caller;

  constructor(deps: PermissionsDeps) {
    this.#d = deps;
    this.#mountCaller = ownerCaller(deps.posix.uid, deps.posix.gid);
  }

  /** The caller when the POSIX ownership rules apply to it (--allow-other), else undefined. */
  ruled(caller: Caller | undefined): Caller | undefined {
    return this.#d.allowOther ? caller : undefined;
  }

  /**
   * For a ruled caller other than root: the ACLs on the way to `path` must let it search, and the
   * one on `path` grant `want` (rwx as 4/2/1; 0 for none).
   */
  async check(caller: Caller | undefined, path: FsPath, want: number): Promise<void> {
    const ruled = this.ruled(caller);
    if (!ruled || ruled.uid === ROOT_UID) return;
    const ancestors: FsPath[] = [];
    for (let dir = path; dir !== ROOT; ) ancestors.unshift((dir = parentOf(dir)));
    for (const dir of ancestors) await this.#checkNode(ruled, dir, Want.EXEC);
    if (want !== 0) await this.#checkNode(ruled, path, want);
  }

  async #checkNode(caller: Caller, path: FsPath, want: number): Promise<void> {
    const { attrs, xattrs } = await this.#d.attributes.state(path);
    await checkAcl(caller, attrs, accessAclOf(xattrs), want, path);
  }

  /**
   * The attributes of a node about to be made at `path`: the parent must be a directory the caller
   * may write; the mode is narrowed by the parent's default ACL (which the node inherits) or else
   * by the caller's umask; the owner is the caller with --allow-other, else the mount's owner, and
   * a setgid parent gives its group.
   */
  async newNode(path: FsPath, type: FileType, requestedMode: number, caller: Caller | undefined, rdev = 0): Promise<NewNode> {
    const parentPath = parentOf(path);
    await this.#d.tree.requireDir(parentPath);
    await this.check(caller, parentPath, Want.WRITE | Want.EXEC);
    const parent = await this.#d.attributes.state(parentPath);
    const who = caller ?? this.#mountCaller;
    const xattrs = new Map<string, Buffer>();
    let mode = requestedMode & PERMISSION_BITS;
    const inherited = parent.xattrs.get(ACL_DEFAULT);
    const defaultAcl = inherited && parseAcl(inherited);
    if (type === 'symlink') {
      mode = 0o777;
    } else if (defaultAcl) {
      const made = aclForNew(defaultAcl, mode);
      mode = made.mode;
      if (made.acl) xattrs.set(ACL_ACCESS, serializeAcl(made.acl));
      if (type === 'dir') xattrs.set(ACL_DEFAULT, inherited);
    } else {
      mode &= ~who.umask;
    }
    const { uid, gid } = this.#d.allowOther ? who : this.#d.posix;
    const owner = await ownerOfNew(parent.attrs, uid, gid, typeBits(type) | mode, who);
    const now = msToNs(this.#d.now());
    const devices = type === 'chardev' || type === 'blockdev';
    return { attrs: { mode: owner.mode, uid: owner.uid, gid: owner.gid, rdev: devices ? rdev : 0, atimeNs: now, mtimeNs: now, ctimeNs: now }, xattrs };
  }
}
