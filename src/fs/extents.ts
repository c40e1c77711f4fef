// Extents: a set of byte ranges kept as sorted, disjoint, non-adjacent [start, end) pairs. The spool
// uses it to know which bytes of a file are held locally; everything else still comes from the
// object the file was opened from. Pure data, no I/O.

import type { ByteRange } from '../s3/object-store.js';

export class Extents {
  /** Sorted, disjoint and non-adjacent. */
  #ranges: { start: number; end: number }[] = [];

  get ranges(): readonly ByteRange[] {
    return this.#ranges.map((r) => ({ startByte: r.start, endByteExclusive: r.end }));
  }

  get totalBytes(): number {
    return this.#ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const kept: { start: number; end: number }[] = [];
    let merged = { start, end };
    let placed = false;
    for (const r of this.#ranges) {
      if (r.end < merged.start) {
        kept.push(r);
      } else if (r.start > merged.end) {
        if (!placed) {
          kept.push(merged);
          placed = true;
        }
        kept.push(r);
      } else {
        merged = { start: Math.min(r.start, merged.start), end: Math.max(r.end, merged.end) };
      }
    }
    if (!placed) kept.push(merged);
    this.#ranges = kept;
  }

  /** Drops everything at or past `size`. */
  clip(size: number): void {
    this.#ranges = this.#ranges
      .filter((r) => r.start < size)
      .map((r) => ({ start: r.start, end: Math.min(r.end, size) }));
  }

  /** True when every byte of [start, end) is in the set. */
  covers(start: number, end: number): boolean {
    if (end <= start) return true;
    return this.#ranges.some((r) => r.start <= start && r.end >= end);
  }

  /** True when some byte of [start, end) is in the set. */
  overlaps(start: number, end: number): boolean {
    if (end <= start) return false;
    return this.#ranges.some((r) => r.start < end && r.end > start);
  }

  /**
   * Splits [start, end) into consecutive pieces, each wholly inside (`local: true`) or wholly
   * outside the set, in order.
   */
  split(start: number, end: number): { start: number; end: number; local: boolean }[] {
    const out: { start: number; end: number; local: boolean }[] = [];
    let at = start;
    for (const r of this.#ranges) {
      if (r.end <= at) continue;
      if (r.start >= end) break;
      if (r.start > at) out.push({ start: at, end: r.start, local: false });
      const to = Math.min(r.end, end);
      out.push({ start: Math.max(r.start, at), end: to, local: true });
      at = to;
    }
    if (at < end) out.push({ start: at, end, local: false });
    return out;
  }

  clear(): void {
    this.#ranges = [];
  }
}
