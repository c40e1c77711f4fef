// Prefetcher: the read-ahead policy of one open object, as a pure state machine (no I/O, no timers).
// It follows a few sequential streams at once (readers of one file share it), so two `cat`s of one
// file both keep their read-ahead. Within a stream the window doubles from one block up to the
// maximum each time the reader enters a new block; read-ahead is advised in runs of whole blocks, a
// run only once it is worth a request of its own (a full range, the window, or the file's tail), so
// a steady reader costs one GET per range instead of one per block. A read that continues no stream
// is random: it starts a new stream with no window and advises nothing. No block is advised twice
// within a stream, nor past the end.

export interface PrefetcherOptions {
  readonly blockSizeBytes: number;
  /** Largest read-ahead beyond the block a read ends in, bytes; less than one block turns prefetch off. */
  readonly maxWindowBytes: number;
  /** Largest run of blocks one piece of advice asks for, bytes (one GET each). Default: the window. */
  readonly maxRunBytes?: number;
  readonly fileSizeBytes: number;
  /**
   * How far a read may start from where its stream's previous read ended and still continue it,
   * bytes. The kernel sends read-ahead requests in parallel, so they can land slightly out of
   * order. Default: one block.
   */
  readonly sequentialToleranceBytes?: number;
  /** Sequential streams followed at once; the least recently used one makes room. Default 4. */
  readonly maxStreams?: number;
}

/** Blocks [firstBlock, endBlockExclusive) to fetch ahead as one request. */
export interface BlockRun {
  readonly firstBlock: number;
  readonly endBlockExclusive: number;
}

export interface PrefetchAdvice {
  /** Runs to fetch, ascending, all after the last block the read itself needs. */
  readonly runs: readonly BlockRun[];
}

interface Stream {
  /** Where a sequential read is expected to start: the furthest end reached by the stream so far. */
  nextOffset: number;
  windowBlocks: number;
  /** The furthest block a read of this stream ended in: the window grows only when reads move into new blocks. */
  lastReadBlock: number;
  /** Every block up to here was either read or already advised in this stream. */
  coveredThrough: number;
  /** Recency stamp for replacing the least recently used stream. */
  usedAt: number;
}

const NO_ADVICE: PrefetchAdvice = { runs: [] };

export class Prefetcher {
  readonly blockSizeBytes: number;
  readonly fileSizeBytes: number;
  readonly maxWindowBlocks: number;
  readonly maxRunBlocks: number;
  readonly sequentialToleranceBytes: number;
  readonly maxStreams: number;
  /** Index of the file's last block; -1 for an empty file. */
  readonly lastBlock: number;
  readonly #streams: Stream[] = [];
  #clock = 0;

  constructor(options: PrefetcherOptions) {
    requireInteger('blockSizeBytes', options.blockSizeBytes, 1);
    requireInteger('maxWindowBytes', options.maxWindowBytes, 0);
    requireInteger('fileSizeBytes', options.fileSizeBytes, 0);
    const tolerance = options.sequentialToleranceBytes ?? options.blockSizeBytes;
    requireInteger('sequentialToleranceBytes', tolerance, 0);
    const maxStreams = options.maxStreams ?? 4;
    requireInteger('maxStreams', maxStreams, 1);
    this.blockSizeBytes = options.blockSizeBytes;
    this.fileSizeBytes = options.fileSizeBytes;
    this.maxWindowBlocks = Math.floor(options.maxWindowBytes / options.blockSizeBytes);
    const maxRunBytes = options.maxRunBytes ?? options.maxWindowBytes;
    requireInteger('maxRunBytes', maxRunBytes, 0);
    this.maxRunBlocks = Math.max(1, Math.floor(maxRunBytes / options.blockSizeBytes));
    this.sequentialToleranceBytes = tolerance;
    this.maxStreams = maxStreams;
    this.lastBlock = Math.ceil(options.fileSizeBytes / options.blockSizeBytes) - 1;
    // A reader that starts at offset 0 is taken as sequential from its first read: that is how
    // files are copied, hashed and streamed.
    this.#streams.push({ nextOffset: 0, windowBlocks: 0, lastReadBlock: -1, coveredThrough: -1, usedAt: 0 });
  }

  /** Blocks of read-ahead of the stream the last read continued or started; 0 when it was random. */
  get windowBlocks(): number {
    return this.#mostRecent().windowBlocks;
  }

  /** Streams followed now. */
  get streamCount(): number {
    return this.#streams.length;
  }

  /** Records a read of [offset, offset + length) and says which runs of blocks to fetch ahead of it. */
  onRead(offset: number, length: number): PrefetchAdvice {
    requireInteger('offset', offset, 0);
    requireInteger('length', length, 0);
    const endOffset = Math.min(offset + length, this.fileSizeBytes);
    // A read that returns no bytes tells nothing about the reader's pattern.
    if (endOffset <= offset) return NO_ADVICE;
    const readLastBlock = Math.floor((endOffset - 1) / this.blockSizeBytes);
    const stream = this.#continued(offset);
    if (stream === undefined) {
      this.#startStream(endOffset, readLastBlock);
      return NO_ADVICE;
    }
    stream.usedAt = ++this.#clock;

    if (stream.windowBlocks === 0) stream.windowBlocks = Math.min(1, this.maxWindowBlocks);
    else if (readLastBlock > stream.lastReadBlock) stream.windowBlocks = Math.min(stream.windowBlocks * 2, this.maxWindowBlocks);
    // Reads that land slightly out of order must not pull the expected offset backwards.
    stream.nextOffset = Math.max(stream.nextOffset, endOffset);
    stream.lastReadBlock = Math.max(stream.lastReadBlock, readLastBlock);
    stream.coveredThrough = Math.max(stream.coveredThrough, readLastBlock);

    const target = Math.min(stream.lastReadBlock + stream.windowBlocks, this.lastBlock);
    // A run shorter than this waits for the reader to move on, so that requests stay large; the
    // file's tail goes out at once, since no later read can make it longer.
    const worthBlocks = Math.min(this.maxRunBlocks, Math.max(1, stream.windowBlocks));
    const runs: BlockRun[] = [];
    while (stream.coveredThrough < target) {
      const remaining = target - stream.coveredThrough;
      if (remaining < worthBlocks && target < this.lastBlock) break;
      const firstBlock = stream.coveredThrough + 1;
      const endBlockExclusive = firstBlock + Math.min(remaining, this.maxRunBlocks);
      runs.push({ firstBlock, endBlockExclusive });
      stream.coveredThrough = endBlockExclusive - 1;
    }
    return runs.length === 0 ? NO_ADVICE : { runs };
  }

  /**
   * The caller could not fetch the advice from `firstBlock` on (no memory to spare): forget that it
   * was advised, so a later read of the stream advises it again.
   */
  unadvise(firstBlock: number): void {
    for (const stream of this.#streams) {
      if (stream.coveredThrough >= firstBlock && stream.lastReadBlock < firstBlock) stream.coveredThrough = firstBlock - 1;
    }
  }

  /** The stream whose expected offset is nearest to `offset`, within the tolerance. */
  #continued(offset: number): Stream | undefined {
    let best: Stream | undefined;
    let bestDistance = Infinity;
    for (const stream of this.#streams) {
      const distance = Math.abs(offset - stream.nextOffset);
      if (distance <= this.sequentialToleranceBytes && distance < bestDistance) {
        best = stream;
        bestDistance = distance;
      }
    }
    return best;
  }

  #startStream(endOffset: number, readLastBlock: number): void {
    const stream: Stream = {
      nextOffset: endOffset,
      windowBlocks: 0,
      lastReadBlock: readLastBlock,
      coveredThrough: readLastBlock,
      usedAt: ++this.#clock,
    };
    if (this.#streams.length < this.maxStreams) {
      this.#streams.push(stream);
      return;
    }
    let oldest = 0;
    for (let i = 1; i < this.#streams.length; i++) {
      if ((this.#streams[i] as Stream).usedAt < (this.#streams[oldest] as Stream).usedAt) oldest = i;
    }
    this.#streams[oldest] = stream;
  }

  #mostRecent(): Stream {
    return this.#streams.reduce((a, b) => (b.usedAt > a.usedAt ? b : a));
  }
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}
