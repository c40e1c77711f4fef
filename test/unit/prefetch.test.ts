import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prefetcher, type PrefetchAdvice } from '../../src/fs/prefetch.js';

const KiB = 1024;
const block = 64 * KiB;

/** The advised blocks, run after run. */
function blocksOf(advice: PrefetchAdvice): number[] {
  return advice.runs.flatMap((run) => Array.from({ length: run.endBlockExclusive - run.firstBlock }, (_, i) => run.firstBlock + i));
}

/** Reads the file front to back in `chunkBytes` pieces, returning the advice of each read. */
function scan(prefetcher: Prefetcher, chunkBytes: number, fromOffset = 0): number[][] {
  const advice: number[][] = [];
  for (let offset = fromOffset; offset < prefetcher.fileSizeBytes; offset += chunkBytes) {
    advice.push([...blocksOf(prefetcher.onRead(offset, chunkBytes))]);
  }
  return advice;
}

describe('Prefetcher', () => {
  it('doubles the window each time a sequential reader enters a new block, and advises whole runs', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    expect(p.onRead(0, block).runs).toEqual([{ firstBlock: 1, endBlockExclusive: 2 }]);
    expect(p.windowBlocks).toBe(1);
    expect(p.onRead(block, block).runs).toEqual([{ firstBlock: 2, endBlockExclusive: 4 }]);
    // Three blocks are short of the 4-block window: they wait, to go out as one larger request.
    expect(p.onRead(2 * block, block).runs).toEqual([]);
    expect(p.onRead(3 * block, block).runs).toEqual([{ firstBlock: 4, endBlockExclusive: 12 }]);
    expect(p.windowBlocks).toBe(8);
    for (let b = 4; b < 11; b++) expect(p.onRead(b * block, block).runs).toEqual([]);
    expect(p.onRead(11 * block, block).runs).toEqual([{ firstBlock: 12, endBlockExclusive: 20 }]);
  });

  it('cuts advice into runs of at most maxRunBytes, several ahead', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, maxRunBytes: 2 * block, fileSizeBytes: 100 * block });
    expect(p.onRead(0, block).runs).toEqual([{ firstBlock: 1, endBlockExclusive: 2 }]);
    expect(p.onRead(block, block).runs).toEqual([{ firstBlock: 2, endBlockExclusive: 4 }]);
    expect(p.onRead(2 * block, block).runs).toEqual([{ firstBlock: 4, endBlockExclusive: 6 }]);
    expect(p.onRead(3 * block, block).runs).toEqual([
      { firstBlock: 6, endBlockExclusive: 8 },
      { firstBlock: 8, endBlockExclusive: 10 },
      { firstBlock: 10, endBlockExclusive: 12 },
    ]);
    expect(p.onRead(4 * block, block).runs).toEqual([]);
    expect(p.onRead(5 * block, block).runs).toEqual([{ firstBlock: 12, endBlockExclusive: 14 }]);
  });

  it('sends the tail of the file at once, however short', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 13 * block });
    const advice = scan(p, block);
    expect(advice.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(p.onRead(3 * block + 1, 1).runs).toEqual([]);
    const tail = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 14 * block });
    const runs = [];
    for (let b = 0; b < 14; b++) runs.push(...tail.onRead(b * block, block).runs);
    expect(runs.at(-1)).toEqual({ firstBlock: 12, endBlockExclusive: 14 });
  });

  it('follows two interleaved sequential readers, each with its own window', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 4 * block, fileSizeBytes: 100 * block });
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 6; i++) {
      a.push(...blocksOf(p.onRead(i * block, block)));
      b.push(...blocksOf(p.onRead((50 + i) * block, block)));
    }
    expect(p.streamCount).toBe(2);
    expect(a).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // The second reader started away from 0, so its first read was taken as random.
    expect(b).toEqual([52, 53, 54, 55, 56, 57, 58]);
  });

  it('never advises anything to a random reader, and forgets old streams beyond maxStreams', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 1000 * block, maxStreams: 3 });
    for (const b of [500, 20, 730, 111, 900, 3, 640, 250]) expect(p.onRead(b * block + 17, 4 * KiB).runs).toEqual([]);
    expect(p.streamCount).toBe(3);
    expect(p.windowBlocks).toBe(0);
  });

  it('advises again what the caller could not fetch', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 4 * block, fileSizeBytes: 100 * block });
    expect(blocksOf(p.onRead(0, block))).toEqual([1]);
    expect(blocksOf(p.onRead(block, block))).toEqual([2, 3]);
    p.unadvise(2);
    expect(blocksOf(p.onRead(2 * block, block))).toEqual([3, 4, 5, 6]);
    // Blocks a reader has already passed are not advised again.
    p.unadvise(1);
    expect(blocksOf(p.onRead(3 * block, block))).toEqual([]);
  });

  it('does not grow the window for small reads within one block', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    expect(blocksOf(p.onRead(0, 4 * KiB))).toEqual([1]);
    for (let offset = 4 * KiB; offset < block; offset += 4 * KiB) expect(blocksOf(p.onRead(offset, 4 * KiB))).toEqual([]);
    expect(p.windowBlocks).toBe(1);
    expect(blocksOf(p.onRead(block, 4 * KiB))).toEqual([2, 3]);
  });

  it('stops a run at a random read and starts a new one from there', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    p.onRead(0, block);
    p.onRead(block, block);
    expect(blocksOf(p.onRead(50 * block, block))).toEqual([]);
    expect(p.windowBlocks).toBe(0);
    expect(blocksOf(p.onRead(51 * block, block))).toEqual([52]);
    // Blocks advised in the earlier run may be advised again: the cache decides whether they are still there.
    expect(blocksOf(p.onRead(0, block))).toEqual([]);
    expect(blocksOf(p.onRead(block, block))).toEqual([2]);
  });

  it('treats a first read away from the start as random', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 100 * block });
    expect(blocksOf(p.onRead(10 * block, block))).toEqual([]);
    expect(blocksOf(p.onRead(11 * block, block))).toEqual([12]);
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
    expect(blocksOf(p.onRead(128 * KiB, 128 * KiB))).toEqual([]);
    expect(p.windowBlocks).toBe(window);
    // Still sequential: the late read did not drag the expected offset back.
    expect(blocksOf(p.onRead(384 * KiB, 128 * KiB)).length).toBeGreaterThan(0);
    expect(blocksOf(p.onRead(20 * block, 128 * KiB))).toEqual([]);
    expect(p.windowBlocks).toBe(0);
  });

  it('never advises past the last block', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 3 * block + 1 });
    expect(scan(p, block)).toEqual([[1], [2, 3], [], []]);
  });

  it('ignores reads that return no bytes', () => {
    const p = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 10 * block });
    expect(blocksOf(p.onRead(10 * block, block))).toEqual([]);
    expect(blocksOf(p.onRead(0, 0))).toEqual([]);
    expect(blocksOf(p.onRead(0, block))).toEqual([1]);
    const empty = new Prefetcher({ blockSizeBytes: block, maxWindowBytes: 8 * block, fileSizeBytes: 0 });
    expect(empty.lastBlock).toBe(-1);
    expect(blocksOf(empty.onRead(0, block))).toEqual([]);
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

  it('advises only blocks in the file, ahead of the read, each once per stream, within the window, in runs of at most maxRunBytes', () => {
    const setup = fc.record({
      blockSizeBytes: fc.integer({ min: 1, max: 64 }),
      maxWindowBlocks: fc.integer({ min: 0, max: 8 }),
      maxRunBlocks: fc.integer({ min: 1, max: 8 }),
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
          maxRunBytes: config.maxRunBlocks * config.blockSizeBytes,
          fileSizeBytes: config.fileSizeBytes,
          sequentialToleranceBytes: 0,
          maxStreams: 1,
        });
        const advisedInRun = new Set<number>();
        let position = 0;
        for (const s of steps) {
          const offset = s.kind === 'next' ? position : s.offset;
          const advice = p.onRead(offset, s.length);
          for (const run of advice.runs) expect(run.endBlockExclusive - run.firstBlock).toBeLessThanOrEqual(config.maxRunBlocks);
          const blocks = blocksOf(advice);
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
            for (const index of blocksOf(p.onRead(offset, chunkBytes))) advised.add(index);
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
