// Stat: the attributes the core returns for a node, as plain data: sizes in bytes, times in
// nanoseconds since the epoch (bigint: a double cannot hold them). Sizes are exact; st_blocks counts
// 512-byte units of the size, as du expects; a directory's link count is 2 plus its subdirectories.

import type { AttrDefaults, PosixAttrs } from './metadata.js';
import { attrsFromMetadata, objectType } from './metadata.js';
import type { Node } from './nodes.js';

export interface Stat {
  readonly ino: number;
  /** Full st_mode: type and permission bits. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  /** Device number of a character or block device, else 0. */
  readonly rdev: number;
  readonly sizeBytes: number;
  readonly blocks: number;
  readonly blockSizeBytes: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export const DIR_SIZE_BYTES = 4096;
/** st_blksize: the unit tools such as cp use for their buffers. */
export const PREFERRED_IO_BYTES = 128 * 1024;

export function blocksOf(sizeBytes: number): number {
  return Math.ceil(sizeBytes / 512);
}

/** The attributes of a node: a directory's from its marker (if any), a file's from its object. */
export function attrsOf(node: Node, defaults: AttrDefaults, mountedAt: Date): PosixAttrs {
  if (node.kind === 'dir') return attrsFromMetadata(node.marker?.metadata, 'dir', defaults, node.marker?.lastModified ?? mountedAt);
  const metadata = node.object.metadata ?? {};
  return attrsFromMetadata(metadata, objectType(metadata), defaults, node.object.lastModified);
}

/** `subdirs`: subdirectories a listing of the directory showed (0 when none is known). */
export function statOf(node: Node, ino: number, defaults: AttrDefaults, mountedAt: Date, subdirs = 0): Stat {
  const attrs = attrsOf(node, defaults, mountedAt);
  return node.kind === 'dir' ? statOfAttrs(attrs, ino, DIR_SIZE_BYTES, 2 + subdirs) : statOfAttrs(attrs, ino, node.object.sizeBytes, 1);
}

export function statOfAttrs(attrs: PosixAttrs, ino: number, sizeBytes: number, nlink: number): Stat {
  return {
    ino,
    mode: attrs.mode,
    nlink,
    uid: attrs.uid,
    gid: attrs.gid,
    rdev: attrs.rdev,
    sizeBytes,
    blocks: blocksOf(sizeBytes),
    blockSizeBytes: PREFERRED_IO_BYTES,
    atimeNs: attrs.atimeNs,
    mtimeNs: attrs.mtimeNs,
    ctimeNs: attrs.ctimeNs,
  };
}
