// Assertions on StoreError outcomes, shared by the store tests (integration, contract, unit).

import { expect } from 'vitest';
import { StoreError, type StoreErrorCode } from '../../src/s3/store-error.js';

/** Awaits `promise`, expects it to reject with a StoreError of `code`, and returns that error. */
export async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected a StoreError ${code}`).toBeInstanceOf(StoreError);
  expect((e as StoreError).code, (e as StoreError).message).toBe(code);
  return e as StoreError;
}
