import { describe, expect, it } from 'vitest';
import { MemoryBudget, type Lease } from '../../src/cache/memory-budget.js';

/** Follows a promise so a test can ask whether it has settled yet. */
function track(promise: Promise<Lease>): { readonly lease: Lease | undefined; readonly error: unknown } {
  const state: { lease: Lease | undefined; error: unknown } = { lease: undefined, error: undefined };
  promise.then(
    (lease) => void (state.lease = lease),
    (error: unknown) => void (state.error = error),
  );
  return state;
}

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MemoryBudget', () => {
  it('grants at once what is free and counts it', async () => {
    const budget = new MemoryBudget(100);
    const a = await budget.acquire(60);
    const b = await budget.acquire(40);
    expect([a.bytes, b.bytes]).toEqual([60, 40]);
    expect(budget.usedBytes).toBe(100);
    expect(budget.availableBytes).toBe(0);
    a.release();
    b.release();
    expect(budget.usedBytes).toBe(0);
  });

  it('makes a request wait until enough is released', async () => {
    const budget = new MemoryBudget(100);
    const held = await budget.acquire(80);
    const waiter = track(budget.acquire(30));
    await settle();
    expect(waiter.lease).toBeUndefined();
    expect(budget.waiting).toBe(1);
    held.release();
    await settle();
    expect(waiter.lease?.bytes).toBe(30);
    expect(budget.waiting).toBe(0);
    expect(budget.usedBytes).toBe(30);
  });

  it('serves waiters in arrival order: small requests cannot overtake a big one', async () => {
    const budget = new MemoryBudget(100);
    const held = await budget.acquire(50);
    const big = track(budget.acquire(80));
    const small = track(budget.acquire(10)); // would fit now, but the big one came first
    await settle();
    expect(big.lease).toBeUndefined();
    expect(small.lease).toBeUndefined();
    expect(budget.tryAcquire(10)).toBeUndefined();

    held.release();
    await settle();
    expect(big.lease?.bytes).toBe(80);
    expect(small.lease?.bytes).toBe(10);
    expect(budget.usedBytes).toBe(90);
  });

  it('wakes several waiters with one release when they all fit', async () => {
    const budget = new MemoryBudget(100);
    const held = await budget.acquire(100);
    const waiters = [track(budget.acquire(30)), track(budget.acquire(30)), track(budget.acquire(50))];
    held.release();
    await settle();
    expect(waiters.map((w) => w.lease?.bytes)).toEqual([30, 30, undefined]);
    expect(budget.waiting).toBe(1);
  });

  it('clamps a request larger than the capacity so it runs once the budget is idle', async () => {
    const budget = new MemoryBudget(100);
    const held = await budget.acquire(1);
    const huge = track(budget.acquire(1_000));
    await settle();
    expect(huge.lease).toBeUndefined();
    held.release();
    await settle();
    expect(huge.lease?.bytes).toBe(100);
    expect(budget.usedBytes).toBe(100);
  });

  it('releases a lease only once', async () => {
    const budget = new MemoryBudget(100);
    const a = await budget.acquire(40);
    const b = await budget.acquire(40);
    a.release();
    a.release();
    expect(budget.usedBytes).toBe(40);
    b.release();
    expect(budget.usedBytes).toBe(0);
  });

  it('tryAcquire grants only what is free now, without clamping', async () => {
    const budget = new MemoryBudget(100);
    expect(budget.tryAcquire(101)).toBeUndefined();
    const lease = budget.tryAcquire(70);
    expect(lease?.bytes).toBe(70);
    expect(budget.tryAcquire(31)).toBeUndefined();
    expect(budget.tryAcquire(30)?.bytes).toBe(30);
    expect(budget.usedBytes).toBe(100);
  });

  it('removes an aborted waiter, rejects it with the reason, and lets the next one in', async () => {
    const budget = new MemoryBudget(100);
    const held = await budget.acquire(50);
    const controller = new AbortController();
    const blocked = track(budget.acquire(80, controller.signal));
    const behind = track(budget.acquire(20));
    await settle();
    expect(behind.lease).toBeUndefined();

    const reason = new Error('closed');
    controller.abort(reason);
    await settle();
    expect(blocked.error).toBe(reason);
    expect(blocked.lease).toBeUndefined();
    expect(behind.lease?.bytes).toBe(20);
    expect(budget.waiting).toBe(0);
    expect(budget.usedBytes).toBe(70);
    held.release();
    expect(budget.usedBytes).toBe(20);
  });

  it('rejects at once with a signal already aborted, and ignores an abort after the grant', async () => {
    const budget = new MemoryBudget(100);
    await expect(budget.acquire(10, AbortSignal.abort(new Error('early')))).rejects.toThrow('early');
    expect(budget.usedBytes).toBe(0);

    const controller = new AbortController();
    const lease = await budget.acquire(10, controller.signal);
    controller.abort();
    expect(budget.usedBytes).toBe(10);
    lease.release();
    expect(budget.usedBytes).toBe(0);
  });

  it('rejects nonsensical sizes', async () => {
    expect(() => new MemoryBudget(0)).toThrow(RangeError);
    const budget = new MemoryBudget(10);
    await expect(budget.acquire(-1)).rejects.toThrow(RangeError);
    expect(() => budget.tryAcquire(1.5)).toThrow(RangeError);
  });
});
