// The ObjectStore contract: one suite of behaviour that both MemoryStore (the fake the unit and model
// tests trust) and S3ObjectStore on a real server must show, so the fake cannot drift from the real
// thing. Run by test/unit/memory-store-contract.test.ts and test/integration/s3-store-contract.test.ts.
// Each test gets a store bound to a fresh, empty prefix. Quirks of a lenient server (s3rver) that the
// store cannot hide skip only the assertions they would fail, and name the quirk.

import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ObjectStore, PartRef, WriteOptions } from '../../src/s3/object-store.js';
import { StoreError } from '../../src/s3/store-error.js';
import { expectStoreError } from './store-errors.js';

export interface ContractQuirks {
  /** Listings come in readdir order and miss common prefixes two levels down (s3rver). */
  readonly looseListings?: boolean;
  /** Multipart ETags are not md5-of-part-md5s-N (s3rver). */
  readonly otherMultipartEtags?: boolean;
  /** AbortMultipartUpload answers 405 (s3rver). */
  readonly noAbort?: boolean;
  /** Completing accepts small parts before the last and crashes on a part never uploaded (s3rver). */
  readonly lenientComplete?: boolean;
  /** A copy the server did not pin still writes its destination before the store notices (s3rver). */
  readonly unpinnedCopyWrites?: boolean;
}

export interface ContractTarget {
  readonly name: string;
  /** A store bound to a fresh prefix no other test uses; `close` frees it. */
  open(): Promise<{ readonly store: ObjectStore; close(): void }>;
  readonly quirks?: ContractQuirks;
}

const MiB = 1024 * 1024;
const plain: WriteOptions = { metadata: {}, contentType: undefined };
const md5 = (data: Uint8Array): Buffer => createHash('md5').update(data).digest();

/** Every page of a listing, following tokens: the keys, the common prefixes and the page count. */
export async function allPages(store: ObjectStore, prefix: string, delimiter: '/' | undefined, maxKeys?: number) {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let pages = 0;
  let token: string | undefined;
  do {
    const page = await store.listPage(prefix, delimiter, token, maxKeys);
    keys.push(...page.objects.map((o) => o.key));
    prefixes.push(...page.prefixes);
    token = page.nextToken;
    pages++;
  } while (token !== undefined);
  return { keys, prefixes, pages };
}

export function storeContract(target: ContractTarget): void {
  const quirks = target.quirks ?? {};
  /** Runs `test` on a fresh store and closes it whatever happens. */
  const withStore = (test: (store: ObjectStore) => Promise<void>) => async (): Promise<void> => {
    const { store, close } = await target.open();
    try {
      await test(store);
    } finally {
      close();
    }
  };

  describe(`ObjectStore contract: ${target.name}`, () => {
    describe('put and head', () => {
      it('head of a missing key is undefined; checkAccess passes', withStore(async (store) => {
        expect(await store.head('missing')).toBeUndefined();
        await store.checkAccess();
      }));

      it('head returns what put stored: size, the quoted md5 ETag, type, lower-cased metadata, a date', withStore(async (store) => {
        const body = randomBytes(1234);
        const { etag } = await store.put('dir/file', body, { metadata: { Mode: '33188', uid: '1000' }, contentType: 'text/plain' });
        expect(etag).toBe(`"${md5(body).toString('hex')}"`);
        const info = await store.head('dir/file');
        expect(info).toMatchObject({ key: 'dir/file', sizeBytes: 1234, etag, contentType: 'text/plain', metadata: { mode: '33188', uid: '1000' } });
        expect(Math.abs(info!.lastModified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      }));

      it('stores only the bytes of a subarray view, and an empty object', withStore(async (store) => {
        const backing = Buffer.from('xxxxMIDDLEyyyy');
        const { etag } = await store.put('view', backing.subarray(4, 10), plain);
        expect((await store.getRange('view', { startByte: 0, endByteExclusive: 100 }, etag)).toString()).toBe('MIDDLE');
        await store.put('empty', new Uint8Array(0), plain);
        expect((await store.head('empty'))?.sizeBytes).toBe(0);
      }));
    });

    describe('listPage', () => {
      it('splits by delimiter into objects and common prefixes, in UTF-8 byte order', withStore(async (store) => {
        for (const key of ['top', 'dir/B', 'dir/a', 'dir/é', 'dir/sub/c', 'dir2/x', 'dirt']) await store.put(key, Buffer.from(key), plain);
        const root = await store.listPage('', '/');
        const dir = await store.listPage('dir/', '/');
        const recursive = await store.listPage('dir/', undefined);
        const byPrefix = await store.listPage('di', '/');
        const sorted = (xs: readonly string[]) => (quirks.looseListings ? [...xs].sort() : [...xs]);
        expect(sorted(root.objects.map((o) => o.key))).toEqual(['dirt', 'top']);
        expect(sorted(root.prefixes)).toEqual(['dir/', 'dir2/']);
        expect(sorted(dir.objects.map((o) => o.key))).toEqual(['dir/B', 'dir/a', 'dir/é']);
        expect(dir.prefixes).toEqual(['dir/sub/']);
        expect(sorted(recursive.objects.map((o) => o.key))).toEqual(['dir/B', 'dir/a', 'dir/sub/c', 'dir/é']);
        expect(recursive.prefixes).toEqual([]);
        expect(sorted(byPrefix.objects.map((o) => o.key))).toEqual(['dirt']);
        expect(sorted(byPrefix.prefixes)).toEqual(['dir/', 'dir2/']);
        const listed = dir.objects.find((o) => o.key === 'dir/a')!;
        expect(listed).toMatchObject({ sizeBytes: 5, etag: `"${md5(Buffer.from('dir/a')).toString('hex')}"` });
        expect(listed.lastModified).toBeInstanceOf(Date);
        expect(await store.listPage('nothing/', '/')).toEqual({ objects: [], prefixes: [], nextToken: undefined });
      }));

      it('pages with maxKeys and continuation tokens, every key exactly once', withStore(async (store) => {
        const keys = Array.from({ length: 7 }, (_, i) => `p/k${i}`);
        for (const key of keys) await store.put(key, Buffer.from('x'), plain);
        await store.put('p/sub/deep', Buffer.from('x'), plain);
        const flat = await allPages(store, 'p/', undefined, 3);
        expect(flat.pages).toBe(3);
        expect(flat.keys.sort()).toEqual([...keys, 'p/sub/deep'].sort());
        const byDir = await allPages(store, 'p/', '/', 3);
        expect(byDir.keys.sort()).toEqual(keys);
        expect(byDir.prefixes).toEqual(['p/sub/']);
        expect(byDir.pages).toBe(3);
      }));
    });

    describe('getRange', () => {
      it('returns exactly the bytes asked for, clamped at the end; a range that starts there is InvalidRange', withStore(async (store) => {
        const body = randomBytes(1000);
        await store.put('r', body, plain);
        expect(await store.getRange('r', { startByte: 0, endByteExclusive: 10 })).toEqual(body.subarray(0, 10));
        expect(await store.getRange('r', { startByte: 990, endByteExclusive: 2000 })).toEqual(body.subarray(990));
        expect(await store.getRange('r', { startByte: 7, endByteExclusive: 7 })).toEqual(Buffer.alloc(0));
        await expectStoreError(store.getRange('r', { startByte: 1000, endByteExclusive: 1010 }), 'InvalidRange');
        await expectStoreError(store.getRange('missing', { startByte: 0, endByteExclusive: 1 }), 'NotFound');
      }));

      it('a read pinned to a version: its bytes while it lasts, PreconditionFailed once replaced', withStore(async (store) => {
        const old = await store.put('v', Buffer.from('version one'), plain);
        expect((await store.getRange('v', { startByte: 0, endByteExclusive: 7 }, old.etag)).toString()).toBe('version');
        expect((await store.getRange('v', { startByte: 8, endByteExclusive: 11 }, { etag: old.etag, sizeBytes: 11 })).toString()).toBe('one');
        expect((await store.getRange('v', { startByte: 0, endByteExclusive: 7 }, old.etag.replace(/"/g, ''))).toString()).toBe('version');
        await expectStoreError(store.getRange('v', { startByte: 0, endByteExclusive: 7 }, { etag: old.etag, sizeBytes: 12 }), 'PreconditionFailed');
        await store.put('v', Buffer.from('VERSION TWO, LONGER'), plain);
        await expectStoreError(store.getRange('v', { startByte: 0, endByteExclusive: 11 }, old.etag), 'PreconditionFailed');
        await expectStoreError(store.getRange('v', { startByte: 0, endByteExclusive: 11 }, { etag: old.etag, sizeBytes: 11 }), 'PreconditionFailed');
      }));
    });

    describe('copy', () => {
      it('copies metadata by default, replaces it when asked, and may rewrite an object in place', withStore(async (store) => {
        const src = await store.put('src', Buffer.from('payload'), { metadata: { mode: '33188' }, contentType: 'text/plain' });
        const kept = await store.copy('src', 'kept', { sourceSizeBytes: 7 });
        expect(kept.etag).toBe(src.etag);
        expect(await store.head('kept')).toMatchObject({ etag: src.etag, contentType: 'text/plain', metadata: { mode: '33188' } });
        await store.copy('src', 'replaced', { sourceSizeBytes: 7, ifMatch: src.etag, replace: { metadata: { mode: '33261' }, contentType: 'application/x-sh' } });
        expect(await store.head('replaced')).toMatchObject({ sizeBytes: 7, contentType: 'application/x-sh', metadata: { mode: '33261' } });
        await store.copy('src', 'src', { sourceSizeBytes: 7, replace: { metadata: { mode: '33152' }, contentType: 'text/plain' } });
        expect((await store.head('src'))?.metadata).toEqual({ mode: '33152' });
        expect((await store.getRange('src', { startByte: 0, endByteExclusive: 7 })).toString()).toBe('payload');
      }));

      it('a copy pinned to a replaced source fails with PreconditionFailed; a missing source is NotFound', withStore(async (store) => {
        const old = await store.put('moving', Buffer.from('v1'), plain);
        await store.put('moving', Buffer.from('v2!'), plain);
        await expectStoreError(store.copy('moving', 'dst', { sourceSizeBytes: 2, ifMatch: old.etag }), 'PreconditionFailed');
        if (!quirks.unpinnedCopyWrites) expect(await store.head('dst')).toBeUndefined();
        await expectStoreError(store.copy('missing', 'dst', { sourceSizeBytes: 1 }), 'NotFound');
      }));
    });

    describe('delete', () => {
      it('deletes one key or many, counting missing keys as deleted; nothing to delete is no error', withStore(async (store) => {
        for (const key of ['a', 'b b', 'c+c', 'ü']) await store.put(key, Buffer.from(key), plain);
        await store.delete('a');
        await store.delete('a');
        expect(await store.head('a')).toBeUndefined();
        expect(await store.deleteMany(['b b', 'c+c', 'ü', 'missing'])).toEqual({ failed: [] });
        expect((await store.listPage('', undefined)).objects).toEqual([]);
        expect(await store.deleteMany([])).toEqual({ failed: [] });
      }));
    });

    describe('multipart upload', () => {
      it('completes parts given in any order, a re-sent part number winning', withStore(async (store) => {
        const a = randomBytes(5 * MiB);
        const stale = randomBytes(5 * MiB);
        const b = randomBytes(5 * MiB + 17);
        const c = Buffer.from('tail');
        const upload = await store.createUpload('mp', { metadata: { mode: '33188' }, contentType: 'application/zip' });
        expect(upload.key).toBe('mp');
        const parts: PartRef[] = [await upload.uploadPart(2, stale), await upload.uploadPart(1, a), await upload.uploadPart(3, c)];
        parts.push(await upload.uploadPart(2, b));
        const { etag } = await upload.complete(parts);
        if (!quirks.otherMultipartEtags) expect(etag).toBe(`"${md5(Buffer.concat([a, b, c].map(md5))).toString('hex')}-3"`);
        expect(await store.head('mp')).toMatchObject({ etag, sizeBytes: a.length + b.length + c.length, contentType: 'application/zip', metadata: { mode: '33188' } });
        const whole = await store.getRange('mp', { startByte: 0, endByteExclusive: a.length + b.length + c.length }, etag);
        expect(whole.equals(Buffer.concat([a, b, c]))).toBe(true);
      }));

      it('copies a part from a range of another object, pinned to its version', withStore(async (store) => {
        const source = randomBytes(6 * MiB);
        const { etag } = await store.put('source', source, plain);
        const upload = await store.createUpload('spliced', plain);
        const parts = [await upload.uploadPartCopy(1, 'source', { startByte: MiB, endByteExclusive: 6 * MiB }, etag), await upload.uploadPart(2, Buffer.from('end'))];
        // A range past the source's end: AWS answers InvalidArgument, Ceph RGW InvalidRange.
        const pastEnd = await upload.uploadPartCopy(3, 'source', { startByte: 5 * MiB, endByteExclusive: 7 * MiB }, etag).catch((e: unknown) => e);
        expect(pastEnd).toBeInstanceOf(StoreError);
        expect(['InvalidArgument', 'InvalidRange']).toContain((pastEnd as StoreError).code);
        await upload.complete(parts);
        const joined = Buffer.concat([source.subarray(MiB), Buffer.from('end')]);
        expect((await store.getRange('spliced', { startByte: 0, endByteExclusive: joined.length })).equals(joined)).toBe(true);
        await store.put('source', Buffer.from('replaced'), plain);
        const late = await store.createUpload('late', plain);
        await expectStoreError(late.uploadPartCopy(1, 'source', { startByte: 0, endByteExclusive: 5 }, etag), 'PreconditionFailed');
        await late.abort().catch(() => undefined);
      }));

      it.skipIf(quirks.lenientComplete)('refuses a small part before the last one, and a part never uploaded', withStore(async (store) => {
        const upload = await store.createUpload('refused', plain);
        const small = await upload.uploadPart(1, Buffer.from('small'));
        const last = await upload.uploadPart(2, Buffer.from('last'));
        await expectStoreError(upload.complete([small, last]), 'InvalidArgument');
        await expectStoreError(upload.complete([small, { partNumber: 3, etag: '"0123456789abcdef0123456789abcdef"' }]), 'InvalidArgument');
        expect(await store.head('refused')).toBeUndefined();
        await upload.abort().catch(() => undefined);
      }));

      it.skipIf(quirks.noAbort)('aborts: no object appears, the upload is gone, and a second abort is harmless', withStore(async (store) => {
        const upload = await store.createUpload('aborted', plain);
        await upload.uploadPart(1, Buffer.from('part'));
        await upload.abort();
        await upload.abort();
        await expectStoreError(upload.uploadPart(2, Buffer.from('more')), 'NoSuchUpload');
        expect(await store.head('aborted')).toBeUndefined();
      }));
    });

    it('every failure is a StoreError', withStore(async (store) => {
      // Started one at a time: a rejection nobody awaits yet would be reported as unhandled.
      const failures = [() => store.getRange('missing', { startByte: 0, endByteExclusive: 1 }), () => store.copy('missing', 'x', { sourceSizeBytes: 1 })];
      for (const f of failures) await expect(f()).rejects.toBeInstanceOf(StoreError);
    }));
  });
}
