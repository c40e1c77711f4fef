// The on-disk form of one cached block: the block's bytes, then a 16-byte trailer (magic, length,
// CRC-32 of the bytes). A file is only ever visible under its final name complete (written under a
// temporary name, then renamed), and its length must match the trailer; the CRC catches a file whose
// data never reached the disk before a power cut, and is checked the first time a block from an
// earlier run is read. Names: blocks/<2 hex>/<32 hex of sha256(key, ETag)>.<block index>.

import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const TRAILER_BYTES = 16;
const MAGIC = 0x31736662; // 'bfs1' little-endian
const LENGTH_BYTES = 6;

/** The part of a block's file name that names the object version: `<2 hex>/<32 hex>`. */
export function blockFileStem(key: string, etag: string): string {
  const hash = createHash('sha256').update(JSON.stringify([key, etag])).digest('hex').slice(0, 32);
  return `${hash.slice(0, 2)}/${hash}`;
}

/** The file name of a block (relative to the blocks folder), from the object's key and ETag. */
export function blockFileName(key: string, etag: string, blockIndex: number): string {
  return `${blockFileStem(key, etag)}.${blockIndex}`;
}

/** Whether a folder name is one of the 256 fan-out folders block files live in. */
export function isFanOutFolder(name: string): boolean {
  return /^[0-9a-f]{2}$/.test(name);
}

/** The fan-out folder and file name parsed back; undefined for anything this cache did not write. */
export function parseBlockFileName(folder: string, name: string): string | undefined {
  if (!isFanOutFolder(folder)) return undefined;
  const m = /^([0-9a-f]{32})\.(\d{1,15})$/.exec(name);
  if (!m || !(m[1] as string).startsWith(folder)) return undefined;
  return `${folder}/${name}`;
}

export function trailerFor(block: Uint8Array): Buffer {
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32LE(MAGIC, 0);
  trailer.writeUIntLE(block.byteLength, 4, LENGTH_BYTES);
  trailer.writeUInt32LE(crc32(block), 12);
  return trailer;
}

/** Whether `file` (a whole block file's bytes) is intact: magic, length and CRC agree. */
export function isIntact(file: Buffer): boolean {
  if (file.byteLength < TRAILER_BYTES) return false;
  const dataBytes = file.byteLength - TRAILER_BYTES;
  const trailer = file.subarray(dataBytes);
  if (trailer.readUInt32LE(0) !== MAGIC || trailer.readUIntLE(4, LENGTH_BYTES) !== dataBytes) return false;
  return trailer.readUInt32LE(12) === crc32(file.subarray(0, dataBytes));
}
