import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { S3_LIMITS } from '../../src/s3/object-store.js';
import { PartLayout, PARTS_PER_TIER } from '../../src/fs/part-layout.js';

const MiB = 1024 * 1024;

describe('PartLayout', () => {
  const layout = new PartLayout(8 * MiB, S3_LIMITS);

  it('keeps the first size for a tier, then doubles', () => {
    expect(layout.partSizeOf(1)).toBe(8 * MiB);
    expect(layout.partSizeOf(PARTS_PER_TIER)).toBe(8 * MiB);
    expect(layout.partSizeOf(PARTS_PER_TIER + 1)).toBe(16 * MiB);
    expect(layout.startOf(PARTS_PER_TIER + 1)).toBe(PARTS_PER_TIER * 8 * MiB);
    expect(layout.startOf(PARTS_PER_TIER + 2)).toBe(PARTS_PER_TIER * 8 * MiB + 16 * MiB);
  });

  it('covers S3\'s 5 TiB object limit within 10,000 parts', () => {
    expect(() => layout.partsFor(5 * 1024 ** 4)).not.toThrow();
    expect(new PartLayout(5 * MiB, S3_LIMITS).partsFor(4.9 * 1024 ** 4).length).toBeLessThanOrEqual(10_000);
  });

  it('refuses parts below the server minimum', () => {
    expect(() => new PartLayout(MiB, S3_LIMITS)).toThrow(RangeError);
  });

  it('partAt, span and partsFor agree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * PARTS_PER_TIER * 32 * MiB }), (offset) => {
        const p = layout.partAt(offset);
        expect(p.startByte).toBeLessThanOrEqual(offset);
        expect(p.endByteExclusive).toBeGreaterThan(offset);
        expect(layout.span(p.partNumber)).toEqual(p);
        if (p.partNumber > 1) expect(layout.span(p.partNumber - 1).endByteExclusive).toBe(p.startByte);
      }),
    );
    const parts = layout.partsFor(20 * MiB + 3);
    expect(parts.map((p) => p.endByteExclusive - p.startByte)).toEqual([8 * MiB, 8 * MiB, 4 * MiB + 3]);
    expect(layout.partsFor(0)).toEqual([]);
  });
});
