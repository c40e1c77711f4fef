// Prefetcher: the read-ahead policy of one open file handle, as a pure state machine (no I/O, no
// timers). Sequential reads grow a window of blocks to fetch ahead, doubling from one block up to the
// maximum; a random read closes the run. Within a run no block is asked for twice or past the end.

export interface PrefetcherOptions {
  readonly blockSizeBytes: number;
  /** Largest read-ahead beyond the block a read ends in, bytes; less than one block turns prefetch off. */
  readonly maxWindowBytes: number;
  readonly fileSizeBytes: number;
  /**
   * How far a read may start from where the previous one ended and still count as sequential, bytes.
   * The kernel issues read-ahead requests in parallel, so they can land slightly out of order. Default: one block.
   */
  readonly sequentialToleranceBytes?: number;
}

export interface PrefetchAdvice {
  /** Blocks to fetch ahead, ascending, all after the last block the read itself needs. */
  readonly blocks: readonly number[];
}

export class Prefetcher {
  readonly blockSizeBytes: number;
  readonly fileSizeBytes: number;
  readonly maxWindowBlocks: number;
  readonly sequentialToleranceBytes: number;
  /** Index of the file's last block; -1 for an empty file. */
  readonly lastBlock: number;
  /** Where a sequential read is expected to start: the furthest end reached by the run so far. */
  #nextOffset = 0;
  #windowBlocks = 0;
  /** The block the previous read ended in: the window grows only when reads move into new blocks. */
  #lastReadBlock = -1;
  /** Every block up to here was either read or already advised in this run. */
  #coveredThrough = -1;

  constructor(options: PrefetcherOptions) {
    requireInteger('blockSizeBytes', options.blockSizeBytes, 1);
    requireInteger('maxWindowBytes', options.maxWindowBytes, 0);
    requireInteger('fileSizeBytes', options.fileSizeBytes, 0);
    const tolerance = options.sequentialToleranceBytes ?? options.blockSizeBytes;
    requireInteger('sequentialToleranceBytes', tolerance, 0);
    this.blockSizeBytes = options.blockSizeBytes;
    this.fileSizeBytes = options.fileSizeBytes;
    this.maxWindowBlocks = Math.floor(options.maxWindowBytes / options.blockSizeBytes);
    this.sequentialToleranceBytes = tolerance;
    this.lastBlock = Math.ceil(options.fileSizeBytes / options.blockSizeBytes) - 1;
  }

  /** Blocks of read-ahead after the read that just ended; 0 outside a sequential run. */
  get windowBlocks(): number {
    return this.#windowBlocks;
  }

  /** Records a read of [offset, offset + length) and says which blocks to fetch ahead of it. */
  onRead(offset: number, length: number): PrefetchAdvice {
    requireInteger('offset', offset, 0);
    requireInteger('length', length, 0);
    const endOffset = Math.min(offset + length, this.fileSizeBytes);
    // A read that returns no bytes tells nothing about the reader's pattern.
    if (endOffset <= offset) return { blocks: [] };
    const readLastBlock = Math.floor((endOffset - 1) / this.blockSizeBytes);

    if (Math.abs(offset - this.#nextOffset) > this.sequentialToleranceBytes) {
      this.#windowBlocks = 0;
      this.#nextOffset = endOffset;
      this.#lastReadBlock = readLastBlock;
      this.#coveredThrough = readLastBlock;
      return { blocks: [] };
    }

    if (this.#windowBlocks === 0) this.#windowBlocks = Math.min(1, this.maxWindowBlocks);
    else if (readLastBlock > this.#lastReadBlock) this.#windowBlocks = Math.min(this.#windowBlocks * 2, this.maxWindowBlocks);
    // Reads that land slightly out of order must not pull the expected offset backwards.
    this.#nextOffset = Math.max(this.#nextOffset, endOffset);
    this.#lastReadBlock = Math.max(this.#lastReadBlock, readLastBlock);

    const target = Math.min(readLastBlock + this.#windowBlocks, this.lastBlock);
    const blocks: number[] = [];
    for (let index = Math.max(this.#coveredThrough, readLastBlock) + 1; index <= target; index++) blocks.push(index);
    this.#coveredThrough = Math.max(this.#coveredThrough, readLastBlock, target);
    return { blocks };
  }
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}
