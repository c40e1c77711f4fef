// Stat: the attributes the core returns for a node, as plain data in bytes and milliseconds.
// Sizes are exact; st_blocks counts 512-byte units of the size, as du expects.

import type { AttrDefaults } from './metadata.js';
import { attrsFromMetadata, kindFromMetadata } from './metadata.js';
import type { Node } from './nodes.js';

export interface Stat {
  readonly ino: number;
  /** Full st_mode: type and permission bits. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly sizeBytes: number;
  readonly blocks: number;
  readonly blockSizeBytes: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly atimeMs: number;
}

export const DIR_SIZE_BYTES = 4096;
/** st_blksize: the unit tools such as cp use for their buffers. */
export const PREFERRED_IO_BYTES = 128 * 1024;

export function blocksOf(sizeBytes: number): number {
  return Math.ceil(sizeBytes / 512);
}

export function statOf(node: Node, ino: number, defaults: AttrDefaults, mountedAt: Date): Stat {
  if (node.kind === 'dir') {
    const attrs = attrsFromMetadata(node.marker?.metadata, 'dir', defaults, node.marker?.lastModified ?? mountedAt);
    return {
      ino,
      mode: attrs.mode,
      nlink: 2,
      uid: attrs.uid,
      gid: attrs.gid,
      sizeBytes: DIR_SIZE_BYTES,
      blocks: blocksOf(DIR_SIZE_BYTES),
      blockSizeBytes: PREFERRED_IO_BYTES,
      mtimeMs: attrs.mtimeMs,
      ctimeMs: attrs.mtimeMs,
      atimeMs: attrs.mtimeMs,
    };
  }
  const { object } = node;
  const metadata = object.metadata ?? {};
  const attrs = attrsFromMetadata(metadata, kindFromMetadata(metadata), defaults, object.lastModified);
  return {
    ino,
    mode: attrs.mode,
    nlink: 1,
    uid: attrs.uid,
    gid: attrs.gid,
    sizeBytes: object.sizeBytes,
    blocks: blocksOf(object.sizeBytes),
    blockSizeBytes: PREFERRED_IO_BYTES,
    mtimeMs: attrs.mtimeMs,
    // ctime is not stored; it follows mtime so it stays the same across cache refreshes (tar
    // compares it before and after reading a file and fails on a change).
    ctimeMs: attrs.mtimeMs,
    atimeMs: attrs.mtimeMs,
  };
}
