import { describe, expect, it } from 'vitest';
import { NegativeCache, TtlCache } from '../../src/cache/metadata-cache.js';

/** A clock that only moves when told to, starting at 0 (a value lru-cache treats specially). */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('TtlCache', () => {
  it('serves an entry until its TTL has passed, then forgets it', () => {
    const clock = manualClock();
    const cache = new TtlCache<string>({ maxEntries: 10, ttlMs: 1000, now: clock.now });
    cache.set('a', 'A');
    clock.advance(1000);
    expect(cache.get('a')).toBe('A');
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('lets one entry have its own TTL', () => {
    const clock = manualClock();
    const cache = new TtlCache<string>({ maxEntries: 10, ttlMs: 1000, now: clock.now });
    cache.set('short', 'S', 10);
    cache.set('long', 'L', 5000);
    cache.set('default', 'D');
    clock.advance(11);
    expect(cache.get('short')).toBeUndefined();
    clock.advance(1000);
    expect(cache.get('default')).toBeUndefined();
    expect(cache.get('long')).toBe('L');
  });

  it('restarts the TTL when a key is set again', () => {
    const clock = manualClock();
    const cache = new TtlCache<number>({ maxEntries: 10, ttlMs: 100, now: clock.now });
    cache.set('a', 1);
    clock.advance(80);
    cache.set('a', 2);
    clock.advance(80);
    expect(cache.get('a')).toBe(2);
  });

  it('does not keep entries with a TTL of 0, and drops what was there', () => {
    const clock = manualClock();
    const cache = new TtlCache<number>({ maxEntries: 10, ttlMs: 0, now: clock.now });
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
    cache.set('b', 1, 100);
    cache.set('b', 2, 0);
    expect(cache.get('b')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the least recently used', () => {
    const cache = new TtlCache<number>({ maxEntries: 2, ttlMs: 1000, now: manualClock().now });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('deletes by prefix for a directory rename, sparing keys that merely share characters', () => {
    const cache = new TtlCache<number>({ maxEntries: 10, ttlMs: 1000, now: manualClock().now });
    for (const key of ['dir/', 'dir/a', 'dir/sub/b', 'dir-x', 'dirt', 'other']) cache.set(key, 1);
    expect(cache.deleteByPrefix('dir/')).toBe(3);
    expect(['dir/', 'dir/a', 'dir/sub/b'].map((k) => cache.get(k))).toEqual([undefined, undefined, undefined]);
    expect(['dir-x', 'dirt', 'other'].map((k) => cache.get(k))).toEqual([1, 1, 1]);
  });

  it('deletes one key and clears all', () => {
    const cache = new TtlCache<number>({ maxEntries: 10, ttlMs: 1000, now: manualClock().now });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('rejects a nonsensical configuration or TTL', () => {
    expect(() => new TtlCache({ maxEntries: 0, ttlMs: 1 })).toThrow(RangeError);
    expect(() => new TtlCache({ maxEntries: 1, ttlMs: -1 })).toThrow(RangeError);
    const cache = new TtlCache<number>({ maxEntries: 1, ttlMs: 1 });
    expect(() => cache.set('a', 1, 0.5)).toThrow(RangeError);
  });

  it('works on the default clock', () => {
    const cache = new TtlCache<number>({ maxEntries: 1, ttlMs: 60_000 });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
  });
});

describe('NegativeCache', () => {
  it('remembers a missing key for its TTL', () => {
    const clock = manualClock();
    const missing = new NegativeCache({ maxEntries: 10, ttlMs: 1000, now: clock.now });
    expect(missing.has('x')).toBe(false);
    missing.set('x');
    missing.set('y', 5000);
    clock.advance(1001);
    expect(missing.has('x')).toBe(false);
    expect(missing.has('y')).toBe(true);
    expect(missing.size).toBe(1);
  });

  it('forgets a key that was created, and a directory that was', () => {
    const missing = new NegativeCache({ maxEntries: 10, ttlMs: 1000, now: manualClock().now });
    missing.set('a');
    missing.set('d/x');
    missing.set('d/y');
    missing.delete('a');
    expect(missing.has('a')).toBe(false);
    expect(missing.deleteByPrefix('d/')).toBe(2);
    expect(missing.size).toBe(0);
    missing.set('b');
    missing.clear();
    expect(missing.has('b')).toBe(false);
  });

  it('is bounded in entries', () => {
    const missing = new NegativeCache({ maxEntries: 2, ttlMs: 1000, now: manualClock().now });
    missing.set('a');
    missing.set('b');
    missing.set('c');
    expect(missing.size).toBe(2);
    expect(missing.has('a')).toBe(false);
    expect(missing.maxEntries).toBe(2);
    expect(missing.ttlMs).toBe(1000);
  });
});
