// Where multipart parts start and end. The layout depends only on the first part size, never on the
// final file size, so parts of a file that is still growing can be uploaded while it is written.
// Parts keep the first size for 500 parts, then double every 500 parts (up to the 5 GiB part limit):
// with 8 MiB parts a file reaches 4 GiB before sizes grow, and 10,000 parts cover S3's 5 TiB limit
// even from the 5 MiB minimum.

import type { StoreLimits } from '../s3/object-store.js';

export const PARTS_PER_TIER = 500;

export interface PartSpan {
  /** 1-based, as S3 numbers parts. */
  readonly partNumber: number;
  readonly startByte: number;
  readonly endByteExclusive: number;
}

export class PartLayout {
  readonly #firstPartBytes: number;
  readonly #limits: StoreLimits;

  constructor(firstPartBytes: number, limits: StoreLimits) {
    if (firstPartBytes < limits.minPartSizeBytes) {
      throw new RangeError(`part size ${firstPartBytes} is below the server's minimum ${limits.minPartSizeBytes}`);
    }
    this.#firstPartBytes = firstPartBytes;
    this.#limits = limits;
  }

  get firstPartBytes(): number {
    return this.#firstPartBytes;
  }

  partSizeOf(partNumber: number): number {
    const tier = Math.floor((partNumber - 1) / PARTS_PER_TIER);
    return Math.min(this.#firstPartBytes * 2 ** tier, this.#limits.maxPartSizeBytes);
  }

  startOf(partNumber: number): number {
    let start = 0;
    let n = 1;
    while (n < partNumber) {
      const tierEnd = Math.min(partNumber, (Math.floor((n - 1) / PARTS_PER_TIER) + 1) * PARTS_PER_TIER + 1);
      start += (tierEnd - n) * this.partSizeOf(n);
      n = tierEnd;
    }
    return start;
  }

  /** The part holding byte `offset`. */
  partAt(offset: number): PartSpan {
    let partNumber = 1;
    let start = 0;
    for (;;) {
      const size = this.partSizeOf(partNumber);
      const tierLeft = PARTS_PER_TIER - ((partNumber - 1) % PARTS_PER_TIER);
      if (offset < start + size * tierLeft) {
        const k = Math.floor((offset - start) / size);
        return this.span(partNumber + k);
      }
      start += size * tierLeft;
      partNumber += tierLeft;
    }
  }

  span(partNumber: number): PartSpan {
    const startByte = this.startOf(partNumber);
    return { partNumber, startByte, endByteExclusive: startByte + this.partSizeOf(partNumber) };
  }

  /** The parts of a file of `sizeBytes` (the last one cut short); throws past the part limit. */
  partsFor(sizeBytes: number): PartSpan[] {
    const parts: PartSpan[] = [];
    let start = 0;
    let partNumber = 1;
    while (start < sizeBytes) {
      const end = Math.min(start + this.partSizeOf(partNumber), sizeBytes);
      parts.push({ partNumber, startByte: start, endByteExclusive: end });
      start = end;
      partNumber++;
    }
    if (parts.length > this.#limits.maxPartCount) {
      throw new RangeError(`a file of ${sizeBytes} bytes needs ${parts.length} parts, over the limit of ${this.#limits.maxPartCount}`);
    }
    return parts;
  }
}
