// Who asks, and what POSIX lets them do. The FUSE binding passes the caller of each request; the
// rules here decide the owner of a new node (the caller, or with a setgid parent its group), who may
// chown and chmod, and what a POSIX ACL allows. With --allow-other the kernel (default_permissions)
// already checks modes, ownership changes and times; it cannot evaluate ACLs for a libfuse 2
// filesystem, so the core applies them on top: an ACL can narrow access, never widen it past the mode.

import { type AclEntry, ACL_ACCESS, aclPermits, parseAcl } from './acl.js';
import { FsError } from './errno.js';
import { type PosixAttrs, S_IFMT, S_IFDIR, S_ISGID } from './metadata.js';

export interface Caller {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** The caller's umask: create, mkdir and mknod get their mode before it and apply it here. */
  readonly umask: number;
  /** Primary and supplementary groups, read on demand (chown and ACLs need them). */
  groups(): Promise<readonly number[]>;
}

export const ROOT_UID = 0;

/** rwx wants, as access(2) and ACL entries number them. */
export const Want = { READ: 4, WRITE: 2, EXEC: 1 } as const;

/** The caller of work the filesystem does for itself (and of unit tests): the mount's defaults, umask 0. */
export function ownerCaller(uid: number, gid: number): Caller {
  return { uid, gid, pid: 0, umask: 0, groups: async () => [gid] };
}

/**
 * Owner, group and setgid bit of a node made in a directory with `parent` attributes: a setgid
 * directory passes on its group (and, to a subdirectory, the bit); otherwise the creator's group.
 * A file keeps a requested setgid bit only if its creator is in its group (or root).
 */
export async function ownerOfNew(parent: PosixAttrs, uid: number, gid: number, mode: number, caller: Caller): Promise<{ uid: number; gid: number; mode: number }> {
  if ((parent.mode & S_ISGID) === 0) return { uid, gid, mode };
  const isDir = (mode & S_IFMT) === S_IFDIR;
  let inherited = isDir ? mode | S_ISGID : mode;
  if (!isDir && inherited & S_ISGID && caller.uid !== ROOT_UID && !(await caller.groups()).includes(parent.gid)) inherited &= ~S_ISGID;
  return { uid, gid: parent.gid, mode: inherited };
}

/**
 * chown(2)'s rule: only root changes the owner; the owner may change the group to one of their
 * own. `uid`/`gid` undefined: left as they are.
 */
export async function checkChown(caller: Caller, attrs: PosixAttrs, uid: number | undefined, gid: number | undefined, path: string): Promise<void> {
  if (caller.uid === ROOT_UID) return;
  if (uid !== undefined && uid !== attrs.uid) throw new FsError('EPERM', `${path}: only root may give a file away`);
  if (gid === undefined) return;
  if (caller.uid !== attrs.uid) throw new FsError('EPERM', `${path}: only the owner may change the group`);
  if (gid !== attrs.gid && !(await caller.groups()).includes(gid)) throw new FsError('EPERM', `${path}: group ${gid} is not one of the caller's`);
}

/** chmod(2)'s rule: the owner or root; a caller outside the file's group cannot set its setgid bit. */
export async function checkChmod(caller: Caller, attrs: PosixAttrs, mode: number, path: string): Promise<number> {
  if (caller.uid === ROOT_UID) return mode;
  if (caller.uid !== attrs.uid) throw new FsError('EPERM', `${path}: only the owner may change the mode`);
  if (mode & S_ISGID && !(await caller.groups()).includes(attrs.gid)) return mode & ~S_ISGID;
  return mode;
}

/** The access ACL stored in `xattrs`, if any and valid. */
export function accessAclOf(xattrs: ReadonlyMap<string, Buffer>): AclEntry[] | undefined {
  const raw = xattrs.get(ACL_ACCESS);
  return raw ? parseAcl(raw) : undefined;
}

/** EACCES unless the node's ACL grants `want` to the caller (root passes; no ACL: the mode decided). */
export async function checkAcl(caller: Caller, attrs: PosixAttrs, acl: AclEntry[] | undefined, want: number, path: string): Promise<void> {
  if (!acl || want === 0 || caller.uid === ROOT_UID) return;
  const gids = await caller.groups();
  if (!aclPermits(acl, attrs.uid, attrs.gid, { uid: caller.uid, gids }, want)) throw new FsError('EACCES', `${path}: its ACL refuses this`);
}
