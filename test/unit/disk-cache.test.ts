import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TRAILER_BYTES, blockFileName } from '../../src/cache/disk-block-file.js';
import { DiskCache, type DiskCacheOptions } from '../../src/cache/disk-cache.js';
import { createLogger, type Logger } from '../../src/log.js';

const BLOCK = 64;
const pattern = (length: number, seed = 0): Buffer => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + seed) % 251));

const dirs: string[] = [];
const open: DiskCache[] = [];
const warnings: string[] = [];
const log: Logger = createLogger('warn', (line) => warnings.push(line));

afterEach(async () => {
  for (const cache of open.splice(0)) await cache.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) await fsp.rm(dir, { recursive: true, force: true });
  warnings.length = 0;
});

async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-disk-cache-'));
  dirs.push(dir);
  return path.join(dir, 'cache');
}

async function openCache(dir: string, options: Partial<DiskCacheOptions> = {}): Promise<DiskCache> {
  const cache = await DiskCache.open({ dir, capacityBytes: 10 * (BLOCK + TRAILER_BYTES), blockSizeBytes: BLOCK, log, ...options });
  open.push(cache);
  return cache;
}

async function reopen(cache: DiskCache, options: Partial<DiskCacheOptions> = {}): Promise<DiskCache> {
  await cache.close();
  open.splice(open.indexOf(cache), 1);
  return openCache(cache.dir, options);
}

/** Writes blocks and waits until they are on disk. */
async function put(cache: DiskCache, key: string, etag: string, blocks: Record<number, Buffer>): Promise<void> {
  for (const [index, block] of Object.entries(blocks)) cache.write(key, etag, Number(index), block);
  await cache.flush();
}

const fileOf = (cache: DiskCache, key: string, etag: string, index: number): string => path.join(cache.dir, 'blocks', blockFileName(key, etag, index));

describe('DiskCache', () => {
  it('keeps blocks by key, ETag and index, and reads any part of one', async () => {
    const cache = await openCache(await tempDir());
    await put(cache, 'a/b', '"e1"', { 0: pattern(BLOCK), 3: pattern(10, 1) });
    expect(cache.has('a/b', '"e1"', 0)).toBe(true);
    expect(cache.has('a/b', '"e1"', 3)).toBe(true);
    expect(cache.has('a/b', '"e2"', 0)).toBe(false);
    expect(cache.has('a/b', '"e1"', 1)).toBe(false);
    expect(await cache.read('a/b', '"e1"', 0)).toEqual(pattern(BLOCK));
    expect(await cache.read('a/b', '"e1"', 0, 5, 9)).toEqual(pattern(BLOCK).subarray(5, 9));
    expect(await cache.read('a/b', '"e1"', 3, 4, 1000)).toEqual(pattern(10, 1).subarray(4));
    expect(await cache.read('a/b', '"e2"', 0)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 2, sizeBytes: BLOCK + 10 + 2 * TRAILER_BYTES, writes: 2, hits: 3, misses: 1 });
  });

  it('survives a reopen: the index is rebuilt from the files, and each old block is checked once', async () => {
    const dir = await tempDir();
    let cache = await openCache(dir);
    await put(cache, 'k', 'e', { 0: pattern(BLOCK), 1: pattern(BLOCK, 3), 2: pattern(5, 9) });
    cache = await reopen(cache);
    expect(cache.stats()).toMatchObject({ entries: 3, sizeBytes: 2 * BLOCK + 5 + 3 * TRAILER_BYTES });
    expect(await cache.read('k', 'e', 1, 10, 20)).toEqual(pattern(BLOCK, 3).subarray(10, 20));
    expect(await cache.read('k', 'e', 2)).toEqual(pattern(5, 9));
    expect(await cache.read('k', 'e', 1, 0, 4)).toEqual(pattern(BLOCK, 3).subarray(0, 4));
  });

  it('never serves a block whose file was damaged, and deletes it', async () => {
    const dir = await tempDir();
    let cache = await openCache(dir);
    await put(cache, 'k', 'e', { 0: pattern(BLOCK), 1: pattern(BLOCK), 2: pattern(BLOCK) });
    const flipped = fileOf(cache, 'k', 'e', 0);
    const bytes = await fsp.readFile(flipped);
    bytes[7] = (bytes[7] as number) ^ 0xff;
    await fsp.writeFile(flipped, bytes);
    // Cut short: its length no longer matches its trailer.
    await fsp.truncate(fileOf(cache, 'k', 'e', 1), BLOCK);
    cache = await reopen(cache);
    expect(await cache.read('k', 'e', 0, 0, 4)).toBeUndefined();
    expect(await cache.read('k', 'e', 1, 0, 4)).toBeUndefined();
    expect(await cache.read('k', 'e', 2, 0, 4)).toEqual(pattern(BLOCK).subarray(0, 4));
    expect(cache.stats()).toMatchObject({ entries: 1, corrupt: 2 });
    expect(cache.has('k', 'e', 0)).toBe(false);
    await expect(fsp.stat(flipped)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(warnings.join('')).toMatch(/damaged/);
  });

  it('reads large parts of a block as well as small ones', async () => {
    const big = 256 * 1024;
    const cache = await openCache(await tempDir(), { blockSizeBytes: big, capacityBytes: 4 * big });
    await put(cache, 'k', 'e', { 0: pattern(big, 5) });
    expect(await cache.read('k', 'e', 0, 1000, 1000 + 200 * 1024)).toEqual(pattern(big, 5).subarray(1000, 1000 + 200 * 1024));
    expect(await cache.read('k', 'e', 0, 7, 11)).toEqual(pattern(big, 5).subarray(7, 11));
  });

  it('treats a file deleted behind its back as a miss', async () => {
    const cache = await openCache(await tempDir());
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    await fsp.rm(fileOf(cache, 'k', 'e', 0));
    expect(await cache.read('k', 'e', 0, 0, 4)).toBeUndefined();
    expect(cache.has('k', 'e', 0)).toBe(false);
  });

  it('removes half-written files and files it did not write when it opens', async () => {
    const dir = await tempDir();
    let cache = await openCache(dir);
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    await fsp.writeFile(path.join(dir, 'tmp', 'partial'), 'half a block');
    const stray = path.join(dir, 'blocks', 'zz');
    await fsp.mkdir(stray);
    const folder = path.dirname(fileOf(cache, 'k', 'e', 0));
    await fsp.writeFile(path.join(folder, 'notes.txt'), 'x');
    await fsp.writeFile(path.join(folder, `${'0'.repeat(32)}.1`), 'too short');
    cache = await reopen(cache);
    expect(await fsp.readdir(path.join(dir, 'tmp'))).toEqual([]);
    expect(await fsp.readdir(folder)).toEqual([path.basename(fileOf(cache, 'k', 'e', 0))]);
    await expect(fsp.stat(stray)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(cache.stats().entries).toBe(1);
  });

  it('evicts the least recently used blocks to stay within its capacity, also across a reopen', async () => {
    const dir = await tempDir();
    const fileBytes = BLOCK + TRAILER_BYTES;
    let cache = await openCache(dir, { capacityBytes: 3 * fileBytes });
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    await put(cache, 'k', 'e', { 1: pattern(BLOCK) });
    await put(cache, 'k', 'e', { 2: pattern(BLOCK) });
    await cache.read('k', 'e', 0, 0, 1); // 1 is now the least recently used
    await put(cache, 'k', 'e', { 3: pattern(BLOCK) });
    expect([0, 1, 2, 3].map((i) => cache.has('k', 'e', i))).toEqual([true, false, true, true]);
    expect(cache.stats()).toMatchObject({ sizeBytes: 3 * fileBytes, evictions: 1 });
    await expect(fsp.stat(fileOf(cache, 'k', 'e', 1))).rejects.toMatchObject({ code: 'ENOENT' });

    // A smaller capacity at the next start keeps the most recently written files.
    const now = Date.now();
    for (const [i, age] of [[0, 30], [2, 20], [3, 10]] as const) {
      const at = new Date(now - age * 1000);
      await fsp.utimes(fileOf(cache, 'k', 'e', i), at, at);
    }
    cache = await reopen(cache, { capacityBytes: fileBytes });
    expect([0, 2, 3].map((i) => cache.has('k', 'e', i))).toEqual([false, false, true]);
  });

  it('drops a block larger than its whole capacity instead of writing it', async () => {
    const cache = await openCache(await tempDir(), { capacityBytes: BLOCK });
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    expect(cache.stats()).toMatchObject({ entries: 0, dropped: 1 });
  });

  it('writes a block once however often it is offered', async () => {
    const cache = await openCache(await tempDir());
    for (let i = 0; i < 5; i++) cache.write('k', 'e', 0, pattern(BLOCK));
    await cache.flush();
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    expect(cache.stats().writes).toBe(1);
  });

  it('keeps its folder and files private', async () => {
    const cache = await openCache(await tempDir());
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    const file = fileOf(cache, 'k', 'e', 0);
    expect((await fsp.stat(cache.dir)).mode & 0o777).toBe(0o700);
    expect((await fsp.stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect((await fsp.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a folder another live daemon holds, and takes over one whose daemon is gone', async () => {
    const dir = await tempDir();
    const cache = await openCache(dir);
    await fsp.writeFile(path.join(dir, 'lock'), `${process.ppid}\n`);
    await expect(DiskCache.open({ dir, capacityBytes: 1 << 20, blockSizeBytes: BLOCK, log })).rejects.toThrow(
      new RegExp(`in use by process ${process.ppid}: give each mount its own --cache-dir`),
    );
    await cache.close();
    open.splice(0);
    // A pid that cannot be alive.
    await fsp.writeFile(path.join(dir, 'lock'), '2147483646\n');
    const again = await openCache(dir);
    expect((await fsp.readFile(path.join(dir, 'lock'), 'utf8')).trim()).toBe(String(process.pid));
    await again.close();
    open.splice(0);
    await expect(fsp.stat(path.join(dir, 'lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('starts empty when the folder was written with another block size', async () => {
    const dir = await tempDir();
    let cache = await openCache(dir);
    await put(cache, 'k', 'e', { 0: pattern(BLOCK) });
    cache = await reopen(cache, { blockSizeBytes: 2 * BLOCK });
    expect(cache.stats().entries).toBe(0);
    expect(cache.has('k', 'e', 0)).toBe(false);
  });

  it('holds at most 128 MiB of blocks waiting for the disk, and drops the rest', async () => {
    const MiB = 1024 * 1024;
    // One buffer offered under many names: the queue counts 136 MiB while the test holds 1 MiB.
    const block = pattern(MiB);
    const cache = await openCache(await tempDir(), { blockSizeBytes: MiB, capacityBytes: 4 * (MiB + TRAILER_BYTES) });
    for (let index = 0; index < 136; index++) cache.write('k', 'e', index, block);
    await cache.flush();
    expect(cache.stats()).toMatchObject({ writes: 128, dropped: 8 });
  });

  it('turns a write it cannot do into a dropped block and one warning', async () => {
    const dir = await tempDir();
    const cache = await openCache(dir);
    await fsp.rm(path.join(dir, 'tmp'), { recursive: true });
    await put(cache, 'k', 'e', { 0: pattern(BLOCK), 1: pattern(BLOCK) });
    expect(cache.stats()).toMatchObject({ entries: 0, dropped: 2 });
    expect(warnings.filter((w) => w.includes('ENOENT'))).toHaveLength(1);
  });
});
