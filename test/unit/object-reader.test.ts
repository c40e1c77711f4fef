import { describe, expect, it } from 'vitest';
import { BlockCache } from '../../src/cache/block-cache.js';
import { MemoryBudget } from '../../src/cache/memory-budget.js';
import { ObjectReader, readAheadWindowBytes, readRangeBytes, type ReadContext } from '../../src/fs/object-reader.js';
import type { ObjectStore } from '../../src/s3/object-store.js';
import { isStoreError } from '../../src/s3/store-error.js';
import { MemoryStore } from '../support/memory-store.js';

const BLOCK = 1024;
const KERNEL_READ = 128;
const pattern = (length: number, seed = 0): Buffer => Buffer.from(Array.from({ length }, (_, i) => (i * 13 + seed) % 251));

interface Setup {
  readonly store: MemoryStore;
  readonly ctx: ReadContext;
  readonly reader: ObjectReader;
  readonly data: Buffer;
}

function setup(options: { sizeBytes: number; windowBlocks?: number; runBlocks?: number; budgetBytes?: number; store?: ObjectStore } = { sizeBytes: 0 }): Setup {
  const store = new MemoryStore({ streamChunkBytes: 300 });
  const data = pattern(options.sizeBytes);
  const etag = store.putObject('obj', data);
  const ctx: ReadContext = {
    store: options.store ?? store,
    blocks: new BlockCache({ capacityBytes: 1 << 20, blockSizeBytes: BLOCK }),
    budget: new MemoryBudget(options.budgetBytes ?? 1 << 20),
    blockSizeBytes: BLOCK,
    readAheadMaxBytes: (options.windowBlocks ?? 8) * BLOCK,
    readRangeMaxBytes: (options.runBlocks ?? 2) * BLOCK,
    sequentialToleranceBytes: BLOCK,
  };
  return { store, ctx, data, reader: new ObjectReader(ctx, { key: 'obj', etag, sizeBytes: data.length }) };
}

/** Reads the object front to back in kernel-sized pieces, `parallel` at a time, as FUSE does. */
async function scan(reader: ObjectReader, sizeBytes: number, parallel = 1): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < sizeBytes; offset += KERNEL_READ * parallel) {
    const batch = [];
    for (let i = 0; i < parallel; i++) batch.push(reader.read(offset + i * KERNEL_READ, KERNEL_READ));
    pieces.push(...(await Promise.all(batch)));
  }
  return Buffer.concat(pieces);
}

describe('ObjectReader', () => {
  it('reads a file front to back with one streamed GET per run after a short ramp', async () => {
    const t = setup({ sizeBytes: 32 * BLOCK + 100 });
    expect((await scan(t.reader, t.data.length)).equals(t.data)).toBe(true);
    // Window 8 blocks in runs of 2: block 0 joins the first advice ([0-1]), then [2-3], [4-5]... and
    // the 33rd block alone: exactly one GET per run of the file's blocks.
    const calls = t.store.calls;
    expect(calls.getRange).toBe(0);
    expect(calls.getStream).toBe(Math.ceil(33 / 2));
    expect(t.ctx.budget.usedBytes).toBe(0);
  });

  it('fetches each block once even when reads overlap and arrive out of order', async () => {
    const t = setup({ sizeBytes: 20 * BLOCK });
    expect((await scan(t.reader, t.data.length, 4)).equals(t.data)).toBe(true);
    const fetched = t.store.calls.getStream + t.store.calls.getRange;
    // Never more GETs than blocks, and far fewer than one per block.
    expect(fetched).toBeLessThanOrEqual(12);
    expect(t.ctx.blocks.stats().entries).toBe(20);
  });

  it('gives a random reader one block per read and no read-ahead', async () => {
    const t = setup({ sizeBytes: 64 * BLOCK });
    const offsets = [40, 3, 57, 22, 9, 61, 30].map((b) => b * BLOCK + 100);
    for (const offset of offsets) expect((await t.reader.read(offset, 4)).equals(t.data.subarray(offset, offset + 4))).toBe(true);
    expect(t.store.calls).toMatchObject({ getRange: offsets.length, getStream: 0 });
  });

  it('reads ahead only with a lease from the memory budget, and still answers without one', async () => {
    const t = setup({ sizeBytes: 16 * BLOCK, budgetBytes: BLOCK });
    const held = await t.ctx.budget.acquire(BLOCK);
    expect((await scan(t.reader, t.data.length)).equals(t.data)).toBe(true);
    // No read-ahead at all: every block was a demand fetch of its own.
    expect(t.store.calls).toMatchObject({ getRange: 16, getStream: 0 });
    held.release();
    expect(t.ctx.budget.usedBytes).toBe(0);
  });

  it('advises again what the budget refused, once it has room', async () => {
    const t = setup({ sizeBytes: 24 * BLOCK, budgetBytes: 2 * BLOCK });
    const held = await t.ctx.budget.acquire(2 * BLOCK);
    for (let offset = 0; offset < 4 * BLOCK; offset += KERNEL_READ) await t.reader.read(offset, KERNEL_READ);
    const before = t.store.calls.getStream;
    held.release();
    for (let offset = 4 * BLOCK; offset < 24 * BLOCK; offset += KERNEL_READ) await t.reader.read(offset, KERNEL_READ);
    expect(before).toBe(0);
    expect(t.store.calls.getStream).toBeGreaterThan(0);
  });

  it('never mixes versions: bytes read before a replacement stay the old ones, the rest is ESTALE', async () => {
    const t = setup({ sizeBytes: 16 * BLOCK, windowBlocks: 2, runBlocks: 1 });
    const first = await t.reader.read(0, BLOCK);
    expect(first.equals(t.data.subarray(0, BLOCK))).toBe(true);
    t.store.putObject('obj', pattern(16 * BLOCK, 99));
    const outcomes: string[] = [];
    for (let offset = BLOCK; offset < 16 * BLOCK; offset += BLOCK) {
      try {
        const got = await t.reader.read(offset, BLOCK);
        expect(got.equals(t.data.subarray(offset, offset + BLOCK))).toBe(true);
        outcomes.push('old');
      } catch (error) {
        expect(isStoreError(error, 'PreconditionFailed')).toBe(true);
        outcomes.push('stale');
      }
    }
    // What was fetched ahead before the replacement is served; then every read is refused.
    expect(outcomes.at(-1)).toBe('stale');
    expect(outcomes.indexOf('stale')).toBeGreaterThan(-1);
    expect(outcomes.slice(outcomes.indexOf('stale')).every((o) => o === 'stale')).toBe(true);
  });

  it('recovers when a read-ahead stream breaks off: a waiting reader fetches its block itself', async () => {
    const t = setup({ sizeBytes: 24 * BLOCK, windowBlocks: 8, runBlocks: 4 });
    for (let i = 0; i < 8; i++) t.store.breakNextStream(BLOCK + 200);
    expect((await scan(t.reader, t.data.length, 4)).equals(t.data)).toBe(true);
    expect(t.store.calls.getRange).toBeGreaterThan(0);
  });

  it('falls back to one buffered GET per run on a store without streams', async () => {
    const base = new MemoryStore();
    const store: ObjectStore = new Proxy(base, {
      get: (target, prop) => {
        if (prop === 'getStream') return undefined;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const data = pattern(12 * BLOCK);
    const etag = base.putObject('obj', data);
    const ctx: ReadContext = {
      store,
      blocks: new BlockCache({ capacityBytes: 1 << 20, blockSizeBytes: BLOCK }),
      budget: new MemoryBudget(1 << 20),
      blockSizeBytes: BLOCK,
      readAheadMaxBytes: 8 * BLOCK,
      readRangeMaxBytes: 4 * BLOCK,
      sequentialToleranceBytes: BLOCK,
    };
    const reader = new ObjectReader(ctx, { key: 'obj', etag, sizeBytes: data.length });
    expect((await scan(reader, data.length)).equals(data)).toBe(true);
    expect(base.calls.getStream).toBe(0);
    expect(base.calls.getRange).toBeLessThan(12);
  });

  it('sizes read-ahead GETs at a quarter of the window, from one block up to 8 MiB', () => {
    const MiB = 1024 * 1024;
    const ctx = (readAheadMaxBytes: number, readRangeMaxBytes?: number): ReadContext => ({
      ...setup({ sizeBytes: 1 }).ctx,
      blocks: new BlockCache({ capacityBytes: 1024 * MiB, blockSizeBytes: MiB }),
      blockSizeBytes: MiB,
      readAheadMaxBytes,
      readRangeMaxBytes,
    });
    expect(readRangeBytes(ctx(32 * MiB))).toBe(8 * MiB);
    expect(readRangeBytes(ctx(256 * MiB))).toBe(8 * MiB);
    expect(readRangeBytes(ctx(2 * MiB))).toBe(MiB);
    expect(readRangeBytes(ctx(32 * MiB, 16 * MiB))).toBe(16 * MiB);
  });

  it('takes reads up to 1 MiB out of order as sequential by default, as the kernel sends them', async () => {
    const t = setup({ sizeBytes: 2048 * BLOCK });
    const reader = new ObjectReader({ ...t.ctx, sequentialToleranceBytes: undefined }, { key: 'obj', etag: t.store.getObject('obj')?.etag as string, sizeBytes: t.data.length });
    await reader.read(0, KERNEL_READ);
    // 900 KiB past the previous end: still the same stream, so it brings read-ahead with it.
    const offset = 900 * 1024;
    expect((await reader.read(offset, KERNEL_READ)).equals(t.data.subarray(offset, offset + KERNEL_READ))).toBe(true);
    expect(t.store.calls.getStream).toBe(2);
    const far = 2000 * 1024;
    await reader.read(far, KERNEL_READ);
    // More than 1 MiB further: random, one block and no read-ahead.
    expect(t.store.calls).toMatchObject({ getStream: 2, getRange: 1 });
  });

  it('keeps the window within half the block cache, so blocks read ahead are still there when wanted', async () => {
    const t = setup({ sizeBytes: 64 * BLOCK, windowBlocks: 32 });
    const ctx: ReadContext = { ...t.ctx, blocks: new BlockCache({ capacityBytes: 8 * BLOCK, blockSizeBytes: BLOCK }), readRangeMaxBytes: undefined };
    expect(readAheadWindowBytes(ctx)).toBe(4 * BLOCK);
    expect(readRangeBytes(ctx)).toBe(BLOCK);
    const reader = new ObjectReader(ctx, { key: 'obj', etag: t.store.getObject('obj')?.etag as string, sizeBytes: t.data.length });
    expect((await scan(reader, t.data.length)).equals(t.data)).toBe(true);
    // One-block runs (block 0 joins the first), each block fetched once: none was evicted before its read.
    expect(t.store.calls.getRange + t.store.calls.getStream).toBe(63);
  });
});
