import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHandlePool } from '../../src/cache/file-handle-pool.js';

let dir: string;
const files: string[] = [];

/** The files this process has open under the test folder. */
async function openFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await fsp.readdir('/proc/self/fd')) {
    const target = await fsp.readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir)) out.push(target);
  }
  return out.sort();
}

/** The open files once they stop changing towards `expected` (closing is asynchronous), within 2 s. */
async function openFilesSettled(expected: string[]): Promise<string[]> {
  let now = await openFiles();
  for (let i = 0; i < 200 && JSON.stringify(now) !== JSON.stringify(expected); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    now = await openFiles();
  }
  return now;
}

const readAll = (pool: FileHandlePool, file: string): Promise<string> =>
  pool.use(file, async (handle) => {
    const buf = Buffer.alloc(16);
    const { bytesRead } = await handle.read(buf, 0, 16, 0);
    return buf.subarray(0, bytesRead).toString();
  });

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-handles-'));
  files.length = 0;
  for (const name of ['a', 'b', 'c']) {
    const file = path.join(dir, name);
    await fsp.writeFile(file, `file ${name}`);
    files.push(file);
  }
});

afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('FileHandlePool', () => {
  it('keeps a handle open between reads and closes the least recently used beyond its bound', async () => {
    const pool = new FileHandlePool(2);
    const [a, b, c] = files as [string, string, string];
    expect(await readAll(pool, a)).toBe('file a');
    expect(await readAll(pool, a)).toBe('file a');
    expect(await openFiles()).toEqual([a]);
    await readAll(pool, b);
    await readAll(pool, a);
    await readAll(pool, c); // b is the least recently used
    expect(await openFilesSettled([a, c])).toEqual([a, c]);
    await pool.closeAll();
    expect(await openFilesSettled([])).toEqual([]);
  });

  it('closes a discarded handle only after the read using it is done', async () => {
    const pool = new FileHandlePool(4);
    const [a] = files as [string];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reading = pool.use(a, async (handle) => {
      await gate;
      const buf = Buffer.alloc(6);
      await handle.read(buf, 0, 6, 0);
      return buf.toString();
    });
    expect(await openFilesSettled([a])).toEqual([a]);
    pool.discard(a);
    expect(pool.size).toBe(0);
    // Still open: the read has not used it yet.
    expect(await openFiles()).toEqual([a]);
    release();
    expect(await reading).toBe('file a');
    expect(await openFilesSettled([])).toEqual([]);
  });

  it('does not keep a failed open', async () => {
    const pool = new FileHandlePool(4);
    await expect(readAll(pool, path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(pool.size).toBe(0);
  });
});
