import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ListedObject, ObjectStore, WriteOptions } from '../../src/s3/object-store.js';
import { StoreError, isStoreError, type StoreErrorCode } from '../../src/s3/store-error.js';
import { MemoryStore, compareUtf8 } from '../support/memory-store.js';

const plain: WriteOptions = { metadata: {}, contentType: undefined };
/** Limits small enough that multipart rules apply to a few bytes. */
const tiny = { limits: { minPartSizeBytes: 3, maxPartCount: 5 } };
const md5hex = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  }
  throw new Error('expected a StoreError, but the call succeeded');
}

async function expectCode(promise: Promise<unknown>, code: StoreErrorCode, message?: RegExp): Promise<void> {
  const error = await storeError(promise);
  expect(error.code).toBe(code);
  if (message) expect(error.message).toMatch(message);
}

/** Every page of a listing, following tokens. */
async function listAll(store: ObjectStore, prefix: string, delimiter: '/' | undefined, maxKeys: number) {
  const pages: { objects: string[]; prefixes: string[] }[] = [];
  let token: string | undefined;
  do {
    const page = await store.listPage(prefix, delimiter, token, maxKeys);
    pages.push({ objects: page.objects.map((o) => o.key), prefixes: [...page.prefixes] });
    token = page.nextToken;
  } while (token !== undefined);
  return pages;
}

describe('MemoryStore listing', () => {
  it('rolls keys up into common prefixes exactly as S3 does', async () => {
    const store = new MemoryStore();
    for (const key of ['a/b', 'a/c/d', 'a-', 'a']) store.putObject(key, key);
    const top = await store.listPage('', '/');
    expect(top.objects.map((o) => o.key)).toEqual(['a', 'a-']);
    expect(top.prefixes).toEqual(['a/']);
    expect(top.nextToken).toBeUndefined();

    const inside = await store.listPage('a/', '/');
    expect(inside.objects.map((o) => o.key)).toEqual(['a/b']);
    expect(inside.prefixes).toEqual(['a/c/']);

    const recursive = await store.listPage('', undefined);
    expect(recursive.objects.map((o) => o.key)).toEqual(['a', 'a-', 'a/b', 'a/c/d']);
    expect(recursive.prefixes).toEqual([]);
  });

  it('matches a prefix that is not a directory, and lists a directory marker as an object', async () => {
    const store = new MemoryStore();
    for (const key of ['dir/', 'dir/x', 'dirt', 'do']) store.putObject(key, '');
    const byPrefix = await store.listPage('di', '/');
    expect(byPrefix.objects.map((o) => o.key)).toEqual(['dirt']);
    expect(byPrefix.prefixes).toEqual(['dir/']);
    const inDir = await store.listPage('dir/', '/');
    expect(inDir.objects.map((o) => o.key)).toEqual(['dir/', 'dir/x']);
  });

  it('orders keys by their UTF-8 bytes, not by JavaScript string order', async () => {
    const store = new MemoryStore();
    const halfwidth = '\uFF61'; // UTF-8 EF BD A1, UTF-16 FF61
    const emoji = '\u{1F600}'; // UTF-8 F0 9F 98 80, UTF-16 D83D DE00
    const keys = [emoji, halfwidth, 'Z', 'a', '\u00e9'];
    for (const key of keys) store.putObject(key, key);
    expect([...keys].sort()).toEqual(['Z', 'a', '\u00e9', emoji, halfwidth]);
    const expected = ['Z', 'a', '\u00e9', halfwidth, emoji];
    expect((await store.listPage('', undefined)).objects.map((o) => o.key)).toEqual(expected);
    expect(store.keys()).toEqual(expected);
    expect(compareUtf8(halfwidth, emoji)).toBeLessThan(0);
  });

  it('pages with maxKeys, counting common prefixes and never repeating one across pages', async () => {
    const store = new MemoryStore();
    for (const key of ['a/1', 'a/2', 'a/3', 'b', 'c/1', 'd']) store.putObject(key, '');
    expect(await listAll(store, '', '/', 1)).toEqual([
      { objects: [], prefixes: ['a/'] },
      { objects: ['b'], prefixes: [] },
      { objects: [], prefixes: ['c/'] },
      { objects: ['d'], prefixes: [] },
    ]);
    expect(await listAll(store, '', '/', 2)).toEqual([
      { objects: ['b'], prefixes: ['a/'] },
      { objects: ['d'], prefixes: ['c/'] },
    ]);
    const flat = await listAll(store, '', undefined, 4);
    expect(flat.flatMap((p) => p.objects)).toEqual(['a/1', 'a/2', 'a/3', 'b', 'c/1', 'd']);
    expect(flat).toHaveLength(2);
  });

  it('resumes after the last item, so keys created behind the token are skipped and ones ahead are seen', async () => {
    const store = new MemoryStore();
    for (const key of ['b', 'd', 'f']) store.putObject(key, '');
    const first = await store.listPage('', '/', undefined, 2);
    expect(first.objects.map((o) => o.key)).toEqual(['b', 'd']);
    store.putObject('a', '');
    store.putObject('e', '');
    store.deleteObject('f');
    const second = await store.listPage('', '/', first.nextToken, 2);
    expect(second.objects.map((o) => o.key)).toEqual(['e']);
    expect(second.nextToken).toBeUndefined();
  });

  it('gives sizes, ETags and dates in listings', async () => {
    const store = new MemoryStore({ now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 678) });
    store.putObject('k', 'hello');
    const [object] = (await store.listPage('', '/')).objects as ListedObject[];
    expect(object).toEqual({ key: 'k', sizeBytes: 5, etag: `"${md5hex('hello')}"`, lastModified: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
  });

  it('caps a page at 1000 keys, answers maxKeys 0 with an empty page, and refuses a forged token', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 1001; i++) store.putObject(`k${String(i).padStart(4, '0')}`, '');
    const page = await store.listPage('', '/', undefined, 5000);
    expect(page.objects).toHaveLength(1000);
    expect(page.nextToken).toBeDefined();
    const empty = await store.listPage('', '/', undefined, 0);
    expect(empty).toEqual({ objects: [], prefixes: [], nextToken: undefined });
    await expectCode(store.listPage('', '/', 'not-a-token'), 'InvalidArgument');
    await expectCode(store.listPage('', '/', undefined, -1), 'InvalidArgument');
  });
});

describe('MemoryStore objects', () => {
  it('answers HEAD with quoted md5 ETags, lower-case metadata, a default content type and whole seconds', async () => {
    let nowMs = Date.UTC(2024, 5, 1, 12, 0, 0, 999);
    const store = new MemoryStore({ now: () => nowMs });
    const { etag } = await store.put('f', Buffer.from('hello'), { metadata: { 'X-Mode': '33188' }, contentType: undefined });
    expect(etag).toBe('"5d41402abc4b2a76b9719d911017c592"');
    expect(await store.head('f')).toEqual({
      key: 'f',
      sizeBytes: 5,
      etag,
      lastModified: new Date(Date.UTC(2024, 5, 1, 12, 0, 0)),
      contentType: 'binary/octet-stream',
      metadata: { 'x-mode': '33188' },
    });
    nowMs += 1000;
    await store.put('g', Buffer.from(''), { metadata: {}, contentType: 'text/plain' });
    expect((await store.head('g'))?.contentType).toBe('text/plain');
    expect(await store.head('missing')).toBeUndefined();
  });

  it('refuses keys and metadata S3 cannot store', async () => {
    const store = new MemoryStore({ bucketPrefix: 'p/' });
    await expectCode(store.put('x'.repeat(1023), Buffer.alloc(0), plain), 'InvalidArgument', /KeyTooLong/);
    await store.put('x'.repeat(1022), Buffer.alloc(0), plain);
    const big = { metadata: { m: 'v'.repeat(2048) }, contentType: undefined };
    await expectCode(store.put('m', Buffer.alloc(0), big), 'InvalidArgument', /MetadataTooLarge/);
  });

  it('keeps its own copy of the bytes written and read', async () => {
    const store = new MemoryStore();
    const body = Buffer.from('abc');
    await store.put('k', body, plain);
    body.fill(0);
    const read = await store.getRange('k', { startByte: 0, endByteExclusive: 3 });
    read.fill(0);
    expect(store.getObject('k')?.body.toString()).toBe('abc');
  });

  it('serves ranges, clamped at the end of the object', async () => {
    const store = new MemoryStore();
    store.putObject('k', '0123456789');
    expect((await store.getRange('k', { startByte: 2, endByteExclusive: 5 })).toString()).toBe('234');
    expect((await store.getRange('k', { startByte: 8, endByteExclusive: 100 })).toString()).toBe('89');
    await expectCode(store.getRange('k', { startByte: 10, endByteExclusive: 11 }), 'InvalidRange');
    expect(await store.getRange('k', { startByte: 3, endByteExclusive: 3 })).toHaveLength(0);
    await expectCode(store.getRange('k', { startByte: 4, endByteExclusive: 3 }), 'InvalidArgument');
    await expectCode(store.getRange('k', { startByte: -1, endByteExclusive: 3 }), 'InvalidArgument');
    await expectCode(store.getRange('missing', { startByte: 0, endByteExclusive: 1 }), 'NotFound');
  });

  it('reads an empty object from offset 0 but nowhere else', async () => {
    const store = new MemoryStore();
    store.putObject('empty', '');
    expect(await store.getRange('empty', { startByte: 0, endByteExclusive: 1024 })).toHaveLength(0);
    await expectCode(store.getRange('empty', { startByte: 1, endByteExclusive: 1024 }), 'InvalidRange');
  });

  it('fails a read with a stale If-Match, as when another client rewrote the object', async () => {
    const store = new MemoryStore();
    const old = store.putObject('k', 'v1');
    const range = { startByte: 0, endByteExclusive: 2 };
    expect((await store.getRange('k', range, old)).toString()).toBe('v1');
    store.putObject('k', 'v2');
    await expectCode(store.getRange('k', range, old), 'PreconditionFailed');
    expect((await store.getRange('k', range, '*')).toString()).toBe('v2');
  });

  it('deletes one key or a batch, treating missing keys as deleted', async () => {
    const store = new MemoryStore({ limits: { maxDeleteBatch: 3 } });
    for (const key of ['a', 'b', 'c']) store.putObject(key, '');
    await store.delete('a');
    await store.delete('a');
    expect(await store.deleteMany(['b', 'missing'])).toEqual({ failed: [] });
    expect(store.keys()).toEqual(['c']);
    await expectCode(store.deleteMany(['1', '2', '3', '4']), 'InvalidArgument');
    expect(await store.deleteMany([])).toEqual({ failed: [] });
  });

  it('binds keys to its bucket prefix and hides the rest of the bucket', async () => {
    const store = new MemoryStore({ bucketPrefix: 'mnt/' });
    store.putObject('mnt/a', 'in');
    store.putObject('outside', 'out');
    store.putObject('mnt/d/x', 'in');
    await store.put('b', Buffer.from('new'), plain);
    expect(store.keys()).toEqual(['mnt/a', 'mnt/b', 'mnt/d/x', 'outside']);
    const page = await store.listPage('', '/');
    expect(page.objects.map((o) => o.key)).toEqual(['a', 'b']);
    expect(page.prefixes).toEqual(['d/']);
    expect((await store.head('a'))?.key).toBe('a');
    expect(await store.head('outside')).toBeUndefined();
    expect(store.description).toContain('mnt/');
  });
});

describe('MemoryStore copy', () => {
  it('copies bytes and metadata, or replaces the metadata', async () => {
    const store = new MemoryStore();
    const etag = store.putObject('src', 'data', { Mode: '1' }, 'text/plain');
    await expect(store.copy('src', 'dst', { sourceSizeBytes: 4 })).resolves.toEqual({ etag });
    expect(await store.head('dst')).toMatchObject({ etag, metadata: { mode: '1' }, contentType: 'text/plain' });
    await store.copy('src', 'dst2', { sourceSizeBytes: 4, replace: { metadata: { Mode: '2' }, contentType: undefined } });
    expect(await store.head('dst2')).toMatchObject({ metadata: { mode: '2' }, contentType: 'binary/octet-stream' });
  });

  it('refuses to copy an object onto itself unless the metadata is replaced', async () => {
    const store = new MemoryStore();
    store.putObject('k', 'data', { mode: '1' });
    await expectCode(store.copy('k', 'k', { sourceSizeBytes: 4 }), 'InvalidArgument', /itself/);
    await store.copy('k', 'k', { sourceSizeBytes: 4, replace: { metadata: { mode: '2' }, contentType: undefined } });
    expect(store.getObject('k')?.metadata).toEqual({ mode: '2' });
  });

  it('copies only while the source still has the ETag asked for, and fails on a missing source', async () => {
    const store = new MemoryStore();
    const old = store.putObject('src', 'v1');
    store.putObject('src', 'v2');
    await expectCode(store.copy('src', 'dst', { sourceSizeBytes: 2, ifMatch: old }), 'PreconditionFailed');
    expect(store.getObject('dst')).toBeUndefined();
    await expectCode(store.copy('missing', 'dst', { sourceSizeBytes: 0 }), 'NotFound');
  });

  it('copies objects over the single-copy limit in parts, and refuses a single copy of one', async () => {
    const store = new MemoryStore({ limits: { maxSingleCopyBytes: 4, minPartSizeBytes: 4 } });
    store.putObject('big', '0123456789');
    const { etag } = await store.copy('big', 'copy', { sourceSizeBytes: 10 });
    const parts = ['0123', '4567', '89'].map((p) => createHash('md5').update(p).digest());
    expect(etag).toBe(`"${md5hex(Buffer.concat(parts))}-3"`);
    expect(store.getObject('copy')?.body.toString()).toBe('0123456789');
    await expectCode(store.copy('big', 'copy2', { sourceSizeBytes: 4 }), 'InvalidArgument', /larger than/);
  });
});

describe('MemoryStore multipart uploads', () => {
  it('assembles the listed parts in order, with a multipart ETag and the date the upload began', async () => {
    let nowMs = Date.UTC(2024, 0, 1, 0, 0, 0);
    const store = new MemoryStore({ ...tiny, now: () => nowMs });
    const upload = await store.createUpload('k', { metadata: { Mode: '1' }, contentType: 'text/plain' });
    expect(store.pendingUploads()).toEqual(['k']);
    nowMs += 60_000;
    const second = await upload.uploadPart(2, Buffer.from('def'));
    const first = await upload.uploadPart(1, Buffer.from('xyz'));
    const replaced = await upload.uploadPart(1, Buffer.from('abc')); // a retried part: last upload wins
    await upload.uploadPart(4, Buffer.from('never listed'));
    const third = await upload.uploadPart(3, Buffer.from('g'));
    expect(first.etag).not.toBe(replaced.etag);

    const { etag } = await upload.complete([replaced, second, third]);
    const digests = ['abc', 'def', 'g'].map((p) => createHash('md5').update(p).digest());
    expect(etag).toBe(`"${md5hex(Buffer.concat(digests))}-3"`);
    expect(store.getObject('k')).toMatchObject({ etag, contentType: 'text/plain', metadata: { mode: '1' } });
    expect(store.getObject('k')?.body.toString()).toBe('abcdefg');
    expect(store.getObject('k')?.lastModified).toEqual(new Date(Date.UTC(2024, 0, 1, 0, 0, 0)));
    expect(store.pendingUploads()).toEqual([]);
  });

  it('sorts the parts it is given, and refuses unknown or stale parts and small parts before the last', async () => {
    const store = new MemoryStore(tiny);
    const upload = await store.createUpload('k', plain);
    const p1 = await upload.uploadPart(1, Buffer.from('ab'));
    const p2 = await upload.uploadPart(2, Buffer.from('cde'));
    // Sorted and de-duplicated first, as the real store does: these fail only on p1's size.
    await expectCode(upload.complete([p2, p1]), 'InvalidArgument', /EntityTooSmall/);
    await expectCode(upload.complete([p1, p2, p1]), 'InvalidArgument', /EntityTooSmall/);
    await expectCode(upload.complete([p1, { partNumber: 3, etag: p1.etag }]), 'InvalidArgument', /InvalidPart\b/);
    await expectCode(upload.complete([{ partNumber: 1, etag: p2.etag }]), 'InvalidArgument', /InvalidPart\b/);
    await expectCode(upload.complete([p1, p2]), 'InvalidArgument', /EntityTooSmall/);
    await expectCode(upload.complete([]), 'InvalidArgument');
    // A single small part is fine: it is the last one.
    await expect(upload.complete([p1])).resolves.toBeDefined();
  });

  it('accepts ETags without quotes when completing', async () => {
    const store = new MemoryStore(tiny);
    const upload = await store.createUpload('k', plain);
    const part = await upload.uploadPart(1, Buffer.from('abc'));
    await upload.complete([{ partNumber: 1, etag: part.etag.replaceAll('"', '') }]);
    expect(store.getObject('k')?.body.toString()).toBe('abc');
  });

  it('refuses part numbers outside 1..maxPartCount and parts over the size limit', async () => {
    const store = new MemoryStore({ limits: { maxPartCount: 5, maxPartSizeBytes: 4 } });
    const upload = await store.createUpload('k', plain);
    await expectCode(upload.uploadPart(0, Buffer.from('a')), 'InvalidArgument');
    await expectCode(upload.uploadPart(6, Buffer.from('a')), 'InvalidArgument');
    await expectCode(upload.uploadPart(1, Buffer.from('abcde')), 'EntityTooLarge');
    await expectCode(store.put('k', Buffer.from('abcde'), plain), 'EntityTooLarge');
  });

  it('copies parts from ranges of other objects, checking their ETag', async () => {
    const store = new MemoryStore(tiny);
    const etag = store.putObject('src', '0123456789');
    const upload = await store.createUpload('dst', plain);
    const a = await upload.uploadPartCopy(1, 'src', { startByte: 5, endByteExclusive: 10 }, etag);
    const b = await upload.uploadPartCopy(2, 'src', { startByte: 0, endByteExclusive: 2 });
    await expectCode(upload.uploadPartCopy(3, 'src', { startByte: 8, endByteExclusive: 11 }), 'InvalidArgument');
    await expectCode(upload.uploadPartCopy(3, 'missing', { startByte: 0, endByteExclusive: 1 }), 'NotFound');
    store.putObject('src', 'changed');
    await expectCode(upload.uploadPartCopy(3, 'src', { startByte: 0, endByteExclusive: 1 }, etag), 'PreconditionFailed');
    await upload.complete([a, b]);
    expect(store.getObject('dst')?.body.toString()).toBe('5678901');
  });

  it('forgets an aborted upload: its parts are gone, further calls fail, a second abort is harmless', async () => {
    const store = new MemoryStore(tiny);
    const upload = await store.createUpload('k', plain);
    const part = await upload.uploadPart(1, Buffer.from('abc'));
    await upload.abort();
    expect(store.pendingUploads()).toEqual([]);
    await expectCode(upload.uploadPart(2, Buffer.from('abc')), 'NoSuchUpload');
    await expectCode(upload.complete([part]), 'NoSuchUpload');
    await upload.abort();
    expect(store.getObject('k')).toBeUndefined();
  });

  it('keeps concurrent uploads of one key apart', async () => {
    const store = new MemoryStore(tiny);
    const one = await store.createUpload('k', plain);
    const two = await store.createUpload('k', plain);
    expect(one.uploadId).not.toBe(two.uploadId);
    await one.complete([await one.uploadPart(1, Buffer.from('one'))]);
    await two.complete([await two.uploadPart(1, Buffer.from('two'))]);
    expect(store.getObject('k')?.body.toString()).toBe('two');
  });
});

describe('MemoryStore test hooks', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts calls per method, failed ones included', async () => {
    const store = new MemoryStore();
    await store.head('a');
    await store.head('b');
    await store.getRange('a', { startByte: 0, endByteExclusive: 1 }).catch(() => undefined);
    const upload = await store.createUpload('k', plain);
    await upload.abort();
    expect(store.calls).toMatchObject({ head: 2, getRange: 1, createUpload: 1, abort: 1, put: 0 });
  });

  it('fails the next N calls of a method with the injected error, then recovers', async () => {
    const store = new MemoryStore();
    store.putObject('k', 'v');
    const throttled = new StoreError('Throttled', 'slow down', { httpStatus: 503 });
    store.failNext('head', throttled, 2);
    await expect(store.head('k')).rejects.toBe(throttled);
    await expect(store.head('k')).rejects.toBe(throttled);
    await expect(store.head('k')).resolves.toBeDefined();

    store.failNext('put', 'ServerError');
    const error = await storeError(store.put('other', Buffer.from('x'), plain));
    expect(isStoreError(error, 'ServerError')).toBe(true);
    // The failed put left no trace.
    expect(store.getObject('other')).toBeUndefined();
  });

  it('fails a method of an upload in progress', async () => {
    const store = new MemoryStore(tiny);
    const upload = await store.createUpload('k', plain);
    store.failNext('uploadPart', 'Timeout');
    await expectCode(upload.uploadPart(1, Buffer.from('abc')), 'Timeout');
    await expect(upload.uploadPart(1, Buffer.from('abc'))).resolves.toBeDefined();
  });

  it('holds a call until its gate opens, then runs it against the state of that moment', async () => {
    const store = new MemoryStore();
    store.putObject('k', 'old');
    let open!: () => void;
    store.delayNext('getRange', new Promise<void>((resolve) => (open = resolve)));
    let result: string | undefined;
    const read = store.getRange('k', { startByte: 0, endByteExclusive: 3 }).then((b) => (result = b.toString()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(result).toBeUndefined();
    store.putObject('k', 'new');
    open();
    await read;
    expect(result).toBe('new');
  });

  it('delays a call by a number of milliseconds', async () => {
    vi.useFakeTimers();
    const store = new MemoryStore();
    store.delayNext('head', 5_000);
    let done = false;
    const head = store.head('k').then(() => (done = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await head;
    expect(done).toBe(true);
  });

  it('records that it was closed', () => {
    const store = new MemoryStore();
    expect(store.closed).toBe(false);
    store.close();
    expect(store.closed).toBe(true);
  });
});
