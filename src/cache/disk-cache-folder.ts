// The disk cache's folder: one daemon at a time (a lock file naming its pid), a format file that
// empties the folder when the format or block size changed, temporary files of an interrupted run
// removed, and the scan that finds the block files an earlier run left. Layout:
//   DIR/lock  DIR/format.json  DIR/tmp/  DIR/blocks/<2 hex>/<32 hex>.<block index>

import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { forEachLimited } from '../concurrency.js';
import type { Logger } from '../log.js';
import { TRAILER_BYTES, isFanOutFolder, parseBlockFileName } from './disk-block-file.js';

export const BLOCKS_FOLDER = 'blocks';
export const TMP_FOLDER = 'tmp';
const FORMAT_FILE = 'format.json';
const LOCK_FILE = 'lock';
const FORMAT_VERSION = 1;
const SCAN_CONCURRENCY = 32;

/** A block file found by the scan. */
export interface FoundBlock {
  /** Relative to the blocks folder. */
  readonly name: string;
  readonly fileBytes: number;
  /** Its recency: written, or last read more than a minute after the previous touch. */
  readonly mtimeMs: number;
}

/** Takes the folder for this process; refuses one a live daemon holds. */
export async function lockFolder(dir: string): Promise<void> {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new Error(`the disk cache ${dir} is in use by process ${holder}: give each mount its own --cache-dir`);
    }
    // Left by a daemon that is gone.
    await fsp.rm(file, { force: true });
  }
  throw new Error(`could not lock the disk cache ${dir}`);
}

export async function unlockFolder(dir: string): Promise<void> {
  await fsp.rm(path.join(dir, LOCK_FILE), { force: true });
}

/** A folder written with another format or block size starts empty; partial writes are removed. */
export async function prepareFolder(dir: string, blockSizeBytes: number, log: Logger): Promise<void> {
  const formatFile = path.join(dir, FORMAT_FILE);
  const blocksDir = path.join(dir, BLOCKS_FOLDER);
  const tmpDir = path.join(dir, TMP_FOLDER);
  const wanted = { format: FORMAT_VERSION, blockSizeBytes };
  const found = await fsp.readFile(formatFile, 'utf8').then(
    (text) => text,
    () => undefined,
  );
  if (found === undefined || !sameFormat(found, wanted)) {
    if (found !== undefined) log.info(`disk cache ${dir}: written with another format or block size, starting empty`);
    await fsp.rm(blocksDir, { recursive: true, force: true });
    await fsp.writeFile(formatFile, `${JSON.stringify(wanted)}\n`, { mode: 0o600 });
  }
  await fsp.rm(tmpDir, { recursive: true, force: true });
  await fsp.mkdir(tmpDir, { mode: 0o700 });
  await fsp.mkdir(blocksDir, { recursive: true, mode: 0o700 });
}

/**
 * The block files under `blocksDir`, least recently used first, and the fan-out folders that
 * exist; anything this cache did not write, or cannot be a block of this size, is deleted.
 */
export async function scanBlockFiles(blocksDir: string, blockSizeBytes: number): Promise<{ blocks: FoundBlock[]; folders: string[] }> {
  const blocks: FoundBlock[] = [];
  const folders: string[] = [];
  const files: { name: string | undefined; file: string }[] = [];
  for (const folder of await fsp.readdir(blocksDir)) {
    const names = isFanOutFolder(folder) ? await fsp.readdir(path.join(blocksDir, folder)).catch(() => undefined) : undefined;
    if (names === undefined) {
      files.push({ name: undefined, file: path.join(blocksDir, folder) });
      continue;
    }
    folders.push(folder);
    for (const name of names) files.push({ name: parseBlockFileName(folder, name), file: path.join(blocksDir, folder, name) });
  }
  await forEachLimited(files, SCAN_CONCURRENCY, async ({ name, file }) => {
    const stat = name === undefined ? undefined : await fsp.stat(file).catch(() => undefined);
    if (name === undefined || stat === undefined || !stat.isFile() || stat.size < TRAILER_BYTES || stat.size - TRAILER_BYTES > blockSizeBytes) {
      await fsp.rm(file, { force: true, recursive: true });
      return;
    }
    blocks.push({ name, fileBytes: stat.size, mtimeMs: stat.mtimeMs });
  });
  blocks.sort((a, b) => a.mtimeMs - b.mtimeMs);
  return { blocks, folders };
}

/** The soft limit on open files (RLIMIT_NOFILE) from /proc/self/limits; 1024 where it cannot be read. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : 1024;
  } catch {
    return 1024;
  }
}

function sameFormat(text: string, wanted: { format: number; blockSizeBytes: number }): boolean {
  try {
    const found = JSON.parse(text) as { format?: unknown; blockSizeBytes?: unknown };
    return found.format === wanted.format && found.blockSizeBytes === wanted.blockSizeBytes;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}


