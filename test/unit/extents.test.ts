import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Extents } from '../../src/fs/extents.js';

describe('Extents', () => {
  it('merges overlapping and adjacent ranges', () => {
    const e = new Extents();
    e.add(10, 20);
    e.add(30, 40);
    e.add(20, 30);
    expect(e.ranges).toEqual([{ startByte: 10, endByteExclusive: 40 }]);
    e.add(0, 5);
    expect(e.totalBytes).toBe(35);
    expect(e.covers(12, 40)).toBe(true);
    expect(e.covers(4, 11)).toBe(false);
    expect(e.overlaps(5, 10)).toBe(false);
    expect(e.split(0, 50)).toEqual([
      { start: 0, end: 5, local: true },
      { start: 5, end: 10, local: false },
      { start: 10, end: 40, local: true },
      { start: 40, end: 50, local: false },
    ]);
    e.clip(15);
    expect(e.ranges).toEqual([
      { startByte: 0, endByteExclusive: 5 },
      { startByte: 10, endByteExclusive: 15 },
    ]);
  });

  it('agrees with a byte-set model', () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('add' as const), fc.nat(200), fc.nat(60)),
      fc.tuple(fc.constant('clip' as const), fc.nat(260), fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.nat(250), fc.nat(50), (ops, qs, ql) => {
        const e = new Extents();
        const model = new Set<number>();
        for (const [kind, a, b] of ops) {
          if (kind === 'add') {
            e.add(a, a + b);
            for (let i = a; i < a + b; i++) model.add(i);
          } else {
            e.clip(a);
            for (const i of [...model]) if (i >= a) model.delete(i);
          }
        }
        expect(e.totalBytes).toBe(model.size);
        const pieces = e.split(qs, qs + ql);
        let at = qs;
        for (const p of pieces) {
          expect(p.start).toBe(at);
          for (let i = p.start; i < p.end; i++) expect(model.has(i)).toBe(p.local);
          at = p.end;
        }
        expect(at).toBe(ql > 0 ? qs + ql : qs);
        const all = [...Array(ql).keys()].map((i) => qs + i);
        expect(e.covers(qs, qs + ql)).toBe(all.every((i) => model.has(i)));
        expect(e.overlaps(qs, qs + ql)).toBe(all.some((i) => model.has(i)));
      }),
    );
  });
});
