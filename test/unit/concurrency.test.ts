import { describe, expect, it } from 'vitest';
import { forEachLimited, mapLimited } from '../../src/concurrency.js';
import { deferred } from '../support/deferred.js';

describe('mapLimited', () => {
  it('returns results in item order with at most `limit` tasks in flight', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n, i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running--;
      return `${i}:${n}`;
    });
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3']);
    expect(most).toBe(2);
  });

  it('after a failure starts no new task, waits for the running ones, then throws the first error', async () => {
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapLimited([0, 1, 2, 3], 2, async (n) => {
      started.push(n);
      await gates[n]!.promise;
      finished.push(n);
    });
    let settled = false;
    void run.catch(() => undefined).finally(() => (settled = true));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[0]!.reject(new Error('first'));
    // Task 1 still runs: the helper must not settle before it does.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await expect(run).rejects.toThrow('first');
    expect(finished).toEqual([1]);
    expect(started).toEqual([0, 1]);
  });

  it('handles no items and refuses a limit below one', async () => {
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
    await expect(mapLimited([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });
});

describe('forEachLimited', () => {
  it('runs every item, at most limit at once, whatever some of them throw', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (n % 2 === 0) throw new Error(`item ${n}`);
      done.push(n);
    });
    expect(done.sort()).toEqual([1, 3, 5]);
    expect(most).toBe(2);
  });
});
