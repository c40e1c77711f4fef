import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prefetcher } from '../../src/fs/prefetch.js';

const KiB = 1024;
const block = 64 * KiB;

/** Reads the file front to back in `chunkBytes` pieces, returning the advice of each read. */
function scan(prefetcher: Prefetcher, chunkBytes: number, fromOffset = 0): number[][] {
  const advice: number[][] = [];
  for (let offset = fromOffset; offset < prefetcher.fileSizeBytes; offset += chunkBytes) {
    advice.push([...prefetcher.onRead(offset, chunkBytes).blocks]);
  }
  return advice;
}

describe('Prefetcher', () => {
  it('doubles the window each time a sequential reader enters a new block, up to the maximum', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    expect(p.onRead(0, block).blocks).toEqual([1]);
    expect(p.windowBlocks).toBe(1);
    expect(p.onRead(block, block).blocks).toEqual([2, 3]);
    expect(p.onRead(2 * block, block).blocks).toEqual([4, 5, 6]);
    expect(p.onRead(3 * block, block).blocks).toEqual([7, 8, 9, 10, 11]);
    expect(p.windowBlocks).toBe(8);
    expect(p.onRead(4 * block, block).blocks).toEqual([12]);
    expect(p.windowBlocks).toBe(8);
  });

  it('does not grow the window for small reads within one block', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    expect(p.onRead(0, 4 * KiB).blocks).toEqual([1]);
    for (let offset = 4 * KiB; offset < block; offset += 4 * KiB) expect(p.onRead(offset, 4 * KiB).blocks).toEqual([]);
    expect(p.windowBlocks).toBe(1);
    expect(p.onRead(block, 4 * KiB).blocks).toEqual([2, 3]);
  });

  it('stops a run at a random read and starts a new one from there', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    p.onRead(0, block);
    p.onRead(block, block);
    expect(p.onRead(50 * block, block).blocks).toEqual([]);
    expect(p.windowBlocks).toBe(0);
    expect(p.onRead(51 * block, block).blocks).toEqual([52]);
    // Blocks advised in the earlier run may be advised again: the cache decides whether they are still there.
    expect(p.onRead(0, block).blocks).toEqual([]);
    expect(p.onRead(block, block).blocks).toEqual([2]);
  });

  it('treats a first read away from the start as random', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    expect(p.onRead(10 * block, block).blocks).toEqual([]);
    expect(p.onRead(11 * block, block).blocks).toEqual([12]);
  });

  it('tolerates reads that arrive slightly out of order', () => {
    const p = new Prefetcher({
      blockSizeBytes: block,
      maxWindowBytes: 8 * block,
      fileSizeBytes: 100 * block,
      sequentialToleranceBytes: 256 * KiB,
    });
    p.onRead(0, 128 * KiB);
    p.onRead(256 * KiB, 128 * KiB); // overtook the read at 128 KiB
    const window = p.windowBlocks;
    expect(p.onRead(128 * KiB, 128 * KiB).blocks).toEqual([]);
    expect(p.windowBlocks).toBe(window);
    // Still sequential: the late read did not drag the expected offset back.
    expect(p.onRead(384 * KiB, 128 * KiB).blocks.length).toBeGreaterThan(0);
    expect(p.onRead(20 * block, 128 * KiB).blocks).toEqual([]);
    expect(p.windowBlocks).toBe(0);
  });

  it('never advises past the last block', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 3 * block + 1 });
    expect(scan(p, block)).toEqual([[1], [2, 3], [], []]);
  });

  it('ignores reads that return no bytes', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 10 * block });
    expect(p.onRead(10 * block, block).blocks).toEqual([]);
    expect(p.onRead(0, 0).blocks).toEqual([]);
    expect(p.onRead(0, block).blocks).toEqual([1]);
    const empty = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 0 });
    expect(empty.lastBlock).toBe(-1);
    expect(empty.onRead(0, block).blocks).toEqual([]);
  });

  it('is off when the maximum window is smaller than a block', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: block - 1, fileSizeBytes: 10 * block });
    expect(scan(p, block).flat()).toEqual([]);
  });

  it('rejects nonsensical arguments', () => {
    expect(() => new Prefetcher({ blockSizeBytes: 0, maxWindowBytes: 0, fileSizeBytes: 0 })).toThrow(RangeError);
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: block, fileSizeBytes: block });
    expect(() => p.onRead(-1, 1)).toThrow(RangeError);
    expect(() => p.onRead(0, 0.5)).toThrow(RangeError);
  });

  it('advises only blocks in the file, ahead of the read, each once per run, within the window', () => {
    const setup = fc.record({
      blockSizeBytes: fc.integer({ min: 1, max: 64 }),
      maxWindowBlocks: fc.integer({ min: 0, max: 8 }),
      fileSizeBytes: fc.integer({ min: 0, max: 2000 }),
    });
    // Mostly sequential reads with jumps mixed in, so that runs both grow and end.
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('next' as const), length: fc.integer({ min: 0, max: 200 }) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('seek' as const),
          offset: fc.integer({ min: 0, max: 2200 }),
          length: fc.integer({ min: 0, max: 200 }),
        }),
      },
    );
    fc.assert(
      fc.property(setup, fc.array(step, { maxLength: 60 }), (config, steps) => {
        const p = new Prefetcher({
          blockSizeBytes: config.blockSizeBytes,
          maxWindowBytes: config.maxWindowBlocks * config.blockSizeBytes,
          fileSizeBytes: config.fileSizeBytes,
          sequentialToleranceBytes: 0,
        });
        const advisedInRun = new Set<number>();
        let position = 0;
        for (const s of steps) {
          const offset = s.kind === 'next' ? position : s.offset;
          const { blocks } = p.onRead(offset, s.length);
          const end = Math.min(offset + s.length, config.fileSizeBytes);
          position = offset + s.length;
          if (p.windowBlocks === 0 && end > offset) advisedInRun.clear();
          if (blocks.length === 0) continue;
          const readLastBlock = Math.floor((end - 1) / config.blockSizeBytes);
          for (const index of blocks) {
            expect(index).toBeGreaterThanOrEqual(0);
            expect(index).toBeLessThanOrEqual(p.lastBlock);
            expect(index).toBeGreaterThan(readLastBlock);
            expect(index).toBeLessThanOrEqual(readLastBlock + config.maxWindowBlocks);
            expect(advisedInRun.has(index)).toBe(false);
            advisedInRun.add(index);
          }
          expect([...blocks].sort((a, b) => a - b)).toEqual(blocks);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a sequential reader one block ahead at least, to the end of the file', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 300 }),
        (blockSizeBytes, maxWindowBlocks, fileSizeBytes, chunkBytes) => {
          const p = new Prefetcher({ blockSizeBytes, maxWindowBytes: maxWindowBlocks * blockSizeBytes, fileSizeBytes });
          const advised = new Set<number>();
          for (let offset = 0; offset < fileSizeBytes; offset += chunkBytes) {
            for (const index of p.onRead(offset, chunkBytes).blocks) advised.add(index);
            const readLastBlock = Math.floor((Math.min(offset + chunkBytes, fileSizeBytes) - 1) / blockSizeBytes);
            if (readLastBlock < p.lastBlock) expect(advised.has(readLastBlock + 1)).toBe(true);
          }
          expect(p.windowBlocks).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
