// POSIX ACLs as Linux passes them in system.posix_acl_access and system.posix_acl_default: a 4-byte
// version (2), then 8-byte entries (tag u16, perm u16, id u32, little-endian) in the order the kernel
// requires (owner, named users by id, owning group, named groups by id, mask, other). A filesystem
// with ACLs keeps the mode and the access ACL in step: the mode's group bits are the mask, chmod
// rewrites the base entries, and an ACL of base entries only is the mode alone (no xattr stored).

export const ACL_ACCESS = 'system.posix_acl_access';
export const ACL_DEFAULT = 'system.posix_acl_default';

const VERSION = 2;
const HEADER_BYTES = 4;
const ENTRY_BYTES = 8;
const UNDEFINED_ID = 0xffffffff;

export const AclTag = { USER_OBJ: 0x01, USER: 0x02, GROUP_OBJ: 0x04, GROUP: 0x08, MASK: 0x10, OTHER: 0x20 } as const;

export interface AclEntry {
  readonly tag: number;
  /** rwx as 4/2/1. */
  readonly perm: number;
  /** uid or gid of a named entry; UNDEFINED for the others. */
  readonly id: number;
}

/** The entries of a valid ACL xattr value; undefined when the bytes are not one. */
export function parseAcl(value: Buffer): AclEntry[] | undefined {
  if (value.length < HEADER_BYTES || (value.length - HEADER_BYTES) % ENTRY_BYTES !== 0) return undefined;
  if (value.readUInt32LE(0) !== VERSION) return undefined;
  const entries: AclEntry[] = [];
  for (let at = HEADER_BYTES; at < value.length; at += ENTRY_BYTES) {
    const tag = value.readUInt16LE(at);
    const named = tag === AclTag.USER || tag === AclTag.GROUP;
    entries.push({ tag, perm: value.readUInt16LE(at + 2), id: named ? value.readUInt32LE(at + 4) : UNDEFINED_ID });
  }
  return isValid(entries) ? entries : undefined;
}

/** What posix_acl_valid() accepts: each base entry once, in order, named ids ascending and unique, a mask when named entries exist. */
function isValid(entries: readonly AclEntry[]): boolean {
  const order = [AclTag.USER_OBJ, AclTag.USER, AclTag.GROUP_OBJ, AclTag.GROUP, AclTag.MASK, AclTag.OTHER] as number[];
  let rank = 0;
  let lastId = -1;
  const count = new Map<number, number>();
  for (const e of entries) {
    const r = order.indexOf(e.tag);
    if (r < 0 || r < rank || e.perm & ~7) return false;
    const named = e.tag === AclTag.USER || e.tag === AclTag.GROUP;
    if (r > rank) lastId = -1;
    if (named && e.id <= lastId) return false;
    if (!named && r === rank && count.has(e.tag)) return false;
    lastId = named ? e.id : lastId;
    rank = r;
    count.set(e.tag, (count.get(e.tag) ?? 0) + 1);
  }
  const has = (tag: number) => count.has(tag);
  if (!has(AclTag.USER_OBJ) || !has(AclTag.GROUP_OBJ) || !has(AclTag.OTHER)) return false;
  return has(AclTag.MASK) || (!has(AclTag.USER) && !has(AclTag.GROUP));
}

export function serializeAcl(entries: readonly AclEntry[]): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + entries.length * ENTRY_BYTES);
  out.writeUInt32LE(VERSION, 0);
  entries.forEach((e, i) => {
    const at = HEADER_BYTES + i * ENTRY_BYTES;
    out.writeUInt16LE(e.tag, at);
    out.writeUInt16LE(e.perm, at + 2);
    out.writeUInt32LE(e.id, at + 4);
  });
  return out;
}

function find(entries: readonly AclEntry[], tag: number): AclEntry | undefined {
  return entries.find((e) => e.tag === tag);
}

/** True when the ACL says no more than a mode: owner, owning group and other only. */
export function isBaseAcl(entries: readonly AclEntry[]): boolean {
  return entries.every((e) => e.tag === AclTag.USER_OBJ || e.tag === AclTag.GROUP_OBJ || e.tag === AclTag.OTHER);
}

/** The rwxrwxrwx bits an access ACL gives the mode: owner, mask (or owning group), other. */
export function aclModeBits(entries: readonly AclEntry[]): number {
  const group = find(entries, AclTag.MASK) ?? find(entries, AclTag.GROUP_OBJ);
  return ((find(entries, AclTag.USER_OBJ)?.perm ?? 0) << 6) | ((group?.perm ?? 0) << 3) | (find(entries, AclTag.OTHER)?.perm ?? 0);
}

/** chmod of a file with an access ACL: the base entries (mask in place of the group) take the new bits. */
export function aclWithMode(entries: readonly AclEntry[], mode: number): AclEntry[] {
  const groupTag = find(entries, AclTag.MASK) ? AclTag.MASK : AclTag.GROUP_OBJ;
  return entries.map((e) => {
    if (e.tag === AclTag.USER_OBJ) return { ...e, perm: (mode >> 6) & 7 };
    if (e.tag === groupTag) return { ...e, perm: (mode >> 3) & 7 };
    if (e.tag === AclTag.OTHER) return { ...e, perm: mode & 7 };
    return e;
  });
}

/**
 * A new node in a directory with a default ACL (posix_acl_create): its access ACL is the default,
 * narrowed by the requested mode, and the mode narrowed by the ACL. `acl` is undefined when the
 * result holds base entries only. The umask does not apply.
 */
export function aclForNew(parentDefault: readonly AclEntry[], requestedMode: number): { mode: number; acl: AclEntry[] | undefined } {
  let mode = requestedMode;
  const narrowed = parentDefault.map((e) => {
    if (e.tag === AclTag.USER_OBJ) return { ...e, perm: e.perm & ((mode >> 6) & 7) };
    if (e.tag === AclTag.OTHER) return { ...e, perm: e.perm & mode & 7 };
    return e;
  });
  const groupTag = find(narrowed, AclTag.MASK) ? AclTag.MASK : AclTag.GROUP_OBJ;
  const acl = narrowed.map((e) => (e.tag === groupTag ? { ...e, perm: e.perm & ((mode >> 3) & 7) } : e));
  mode = (mode & ~0o777) | aclModeBits(acl);
  return { mode, acl: isBaseAcl(acl) ? undefined : acl };
}

export interface AclSubject {
  readonly uid: number;
  /** The primary group and the supplementary groups. */
  readonly gids: readonly number[];
}

/**
 * The POSIX.1e access check: the owner entry for the owner, else a named user entry, else every
 * matching group entry (one granting all of `want` suffices), else other; named users and all
 * groups are limited by the mask. `want` is rwx as 4/2/1.
 */
export function aclPermits(entries: readonly AclEntry[], ownerUid: number, ownerGid: number, who: AclSubject, want: number): boolean {
  const mask = find(entries, AclTag.MASK)?.perm ?? 7;
  const grants = (perm: number) => (perm & want) === want;
  if (who.uid === ownerUid) return grants(find(entries, AclTag.USER_OBJ)?.perm ?? 0);
  const user = entries.find((e) => e.tag === AclTag.USER && e.id === who.uid);
  if (user) return grants(user.perm & mask);
  const groups = entries.filter(
    (e) => (e.tag === AclTag.GROUP_OBJ && who.gids.includes(ownerGid)) || (e.tag === AclTag.GROUP && who.gids.includes(e.id)),
  );
  if (groups.length > 0) return groups.some((e) => grants(e.perm & mask));
  return grants(find(entries, AclTag.OTHER)?.perm ?? 0);
}
