// Regression tests for races and corner cases found by review and by the model test: each names
// the bug it pins (uploads racing opens, unlinks and renames; readers following this mount's own
// changes; delete batching reusing names; metadata and spool limits).
import { expect, it } from 'vitest';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { errnoOf, gate, patternBytes, useFsFixtures } from '../support/fs-fixture.js';
const fixture = useFsFixtures();

it('A: a handle opened while the last close is uploading keeps the data', async () => {
  const t = await fixture();
  const fh = await t.fs.create('/f', 0o644);
  await t.fs.write(fh, 0, Buffer.from('hello'));
  let open!: () => void;
  t.store.delayNext('put', new Promise<void>((r) => (open = r)));
  const putStarted = t.store.nextCall('put');
  const closing = t.fs.release(fh);
  await putStarted;
  const fh2 = await t.fs.open('/f', OpenFlags.O_RDWR);
  open();
  await closing;
  expect((await t.fs.read(fh2, 0, 100)).toString()).toBe('hello');
  await t.fs.write(fh2, 5, Buffer.from('!'));
  await t.fs.release(fh2);
  expect(t.body('f')?.toString()).toBe('hello!');
});

it('B: rename of a directory onto a file being written is ENOTDIR', async () => {
  const t = await fixture();
  await t.fs.mkdir('/d', 0o755);
  const fh = await t.fs.create('/f', 0o644);
  expect(await errnoOf(t.fs.rename('/d', '/f'))).toBe('ENOTDIR');
  await t.fs.release(fh);
});

it('C: a file named like an extension is not typed by it', async () => {
  const t = await fixture();
  await t.writeFile('/json', 'not json');
  expect(t.store.getObject('json')?.contentType).toBe('application/octet-stream');
});

it('D: unlink leaves a reader that already read the file able to read it again', async () => {
  const t = await fixture();
  await t.writeFile('/f', 'contents');
  const fh = await t.fs.open('/f', OpenFlags.O_RDONLY);
  expect((await t.fs.read(fh, 0, 100)).toString()).toBe('contents');
  await t.fs.unlink('/f');
  await t.fs.fsyncdir();
  expect((await t.fs.read(fh, 0, 100)).toString()).toBe('contents');
  await t.fs.release(fh);
});

it('E: chmod of a big file does not break a reader of it', async () => {
  const t = await fixture({ cache: { readAheadMaxBytes: 0 } });
  const data = patternBytes(3 * 4096);
  await t.writeFile('/big', data);
  const fh = await t.fs.open('/big', OpenFlags.O_RDONLY);
  expect((await t.fs.read(fh, 0, 10)).equals(data.subarray(0, 10))).toBe(true);
  await t.fs.chmod('/big', 0o600);
  expect((await t.fs.read(fh, 8192, 10)).equals(data.subarray(8192, 8202))).toBe(true);
  await t.fs.release(fh);
});

it('G: a reader opened before a truncate by this mount reads the truncated file', async () => {
  const t = await fixture();
  t.store.putObject('f', 'abc');
  const reader = await t.fs.open('/f', OpenFlags.O_RDONLY);
  await t.fs.truncate('/f', 0);
  expect((await t.fs.read(reader, 0, 10)).length).toBe(0);
  await t.fs.release(reader);
});

it('H: a reader opened before a writer on this mount sees its writes', async () => {
  const t = await fixture();
  t.store.putObject('f', 'abc');
  const reader = await t.fs.open('/f', OpenFlags.O_RDONLY);
  const writer = await t.fs.open('/f', OpenFlags.O_RDWR);
  await t.fs.write(writer, 0, Buffer.from('X'));
  expect((await t.fs.read(reader, 0, 10)).toString()).toBe('Xbc');
  await t.fs.flush(writer);
  expect((await t.fs.read(reader, 0, 10)).toString()).toBe('Xbc');
  await t.fs.release(writer);
  await t.fs.release(reader);
});

it('I: a reader keeps reading a file this mount renamed', async () => {
  const t = await fixture();
  t.store.putObject('f', 'abc');
  const reader = await t.fs.open('/f', OpenFlags.O_RDONLY);
  await t.fs.rename('/f', '/g');
  expect((await t.fs.read(reader, 0, 10)).toString()).toBe('abc');
  await t.fs.release(reader);
});

it('J: unlink while the upload is in flight leaves no object behind', async () => {
  const t = await fixture();
  const fh = await t.fs.create('/f', 0o644);
  await t.fs.write(fh, 0, Buffer.from('data'));
  const g = gate();
  t.store.delayNext('put', g.promise);
  const putStarted = t.store.nextCall('put');
  const flushing = t.fs.flush(fh);
  await putStarted;
  // unlink waits for the upload in flight, so the delete is sent after it lands.
  const unlinking = t.fs.unlink('/f');
  g.open();
  await unlinking;
  await flushing.catch(() => undefined);
  await t.fs.release(fh);
  await t.fs.fsyncdir();
  expect(t.store.keys()).toEqual([]);
  expect(await t.names('/')).toEqual([]);
});

it('K: a flush during a directory rename is not lost', async () => {
  const t = await fixture();
  await t.fs.mkdir('/d', 0o755);
  const fh = await t.fs.create('/d/f', 0o644);
  await t.fs.write(fh, 0, Buffer.from('a'));
  const g = gate();
  t.store.delayNext('copy', g.promise);
  const copyStarted = t.store.nextCall('copy');
  const renaming = t.fs.rename('/d', '/e');
  await copyStarted;
  await t.fs.write(fh, 1, Buffer.from('b'));
  const flushing = t.fs.flush(fh);
  g.open();
  await renaming;
  await flushing;
  await t.fs.release(fh);
  await t.fs.fsyncdir();
  const keys = t.store.keys();
  const where = keys.filter((k) => k.endsWith('/f'));
  expect(where.map((k) => [k, t.body(k)?.toString()])).toEqual([['e/f', 'ab']]);
});

it('N: mkdir over a name whose delete is still queued stays visible after the delete is sent', async () => {
  const t = await fixture();
  await t.writeFile('/c', 'x');
  await t.fs.unlink('/c');
  await t.fs.mkdir('/c', 0o755);
  await t.fs.fsyncdir();
  expect((await t.fs.getattr('/c')).mode & 0o170000).toBe(0o040000);
});

it('N2: a directory renamed over a name whose delete is still queued stays visible', async () => {
  const t = await fixture();
  await t.fs.mkdir('/c', 0o755);
  await t.writeFile('/b', 'x');
  await t.fs.unlink('/b');
  await t.fs.rename('/c', '/b');
  await t.fs.fsyncdir();
  expect((await t.fs.getattr('/b')).mode & 0o170000).toBe(0o040000);
});

it('O3: an oversized xattr set on an open file does not keep its data out of the bucket', async () => {
  const t = await fixture();
  const fh = await t.fs.create('/f', 0o644);
  await t.fs.write(fh, 0, Buffer.from('data'));
  await t.fs.setxattr('/f', 'user.big', Buffer.alloc(3000, 1), 0).catch(() => undefined);
  await t.fs.flush(fh);
  await t.fs.release(fh);
  expect(t.body('f')?.toString()).toBe('data');
});

it('O: setxattr past the 2 KiB metadata limit on an open file is ENOSPC, and the file still uploads', async () => {
  const t = await fixture();
  const fh = await t.fs.create('/f', 0o644);
  await t.fs.write(fh, 0, Buffer.from('data'));
  const outcome = await errnoOf(t.fs.setxattr('/f', 'user.big', Buffer.alloc(3000, 1), 0)).catch(() => 'ok');
  expect(outcome).toBe('ENOSPC');
  await t.fs.flush(fh);
  await t.fs.release(fh);
  expect(t.body('f')?.toString()).toBe('data');
});

it('O2: setxattr past the limit on a closed file is ENOSPC', async () => {
  const t = await fixture();
  await t.writeFile('/f', 'data');
  expect(await errnoOf(t.fs.setxattr('/f', 'user.big', Buffer.alloc(3000, 1), 0))).toBe('ENOSPC');
});

it('P10: overwriting bytes already in the spool needs no more room, and shrinking gives room back', async () => {
  const t = await fixture({ write: { spoolSizeBytes: 8192 } });
  const fh = await t.fs.create('/f', 0o644);
  await t.fs.write(fh, 0, Buffer.alloc(6000, 1));
  await t.fs.write(fh, 0, Buffer.alloc(6000, 2));
  await t.fs.ftruncate(fh, 0);
  await t.fs.write(fh, 0, Buffer.alloc(7000, 3));
  await t.fs.release(fh);
  expect(t.body('f')?.length).toBe(7000);
});

it('P2: a rename whose copy fails changes nothing', async () => {
  const t = await fixture();
  await t.writeFile('/a', 'A');
  await t.writeFile('/b', 'B');
  t.store.failNext('copy', 'ServerError');
  expect(await errnoOf(t.fs.rename('/a', '/b'))).toBe('EIO');
  expect((await t.readFile('/a')).toString()).toBe('A');
  expect((await t.readFile('/b')).toString()).toBe('B');
});

it('two opens for writing that race share one open file, so neither loses its writes', async () => {
  // No stat caching, so each open asks the store and the held HEAD keeps both in flight.
  const t = await fixture({ cache: { statTtlMs: 0, negativeTtlMs: 0 } });
  await t.writeFile('/f', Buffer.from('0123456789'));
  const g = gate();
  t.store.delayNext('head', g.promise);
  const headStarted = t.store.nextCall('head');
  const first = t.fs.open('/f', OpenFlags.O_RDWR);
  await headStarted;
  const second = t.fs.open('/f', OpenFlags.O_RDWR);
  g.open();
  const [a, b] = await Promise.all([first, second]);
  await t.fs.write(a, 0, Buffer.from('A'));
  await t.fs.write(b, 1, Buffer.from('B'));
  await t.fs.release(a);
  await t.fs.release(b);
  expect(t.body('f')?.toString()).toBe('AB23456789');
});

it('fstat of a read handle keeps the size of the version it reads when another client replaces the file', async () => {
  const t = await fixture({ cache: { statTtlMs: 0, negativeTtlMs: 0 } });
  await t.writeFile('/f', Buffer.from('short'));
  const fh = await t.fs.open('/f', OpenFlags.O_RDONLY);
  expect((await t.fs.read(fh, 0, 100)).toString()).toBe('short');
  t.store.putObject('f', Buffer.from('a much longer body'));
  expect((await t.fs.getattr('/f')).sizeBytes).toBe(18);
  expect((await t.fs.fgetattr(fh)).sizeBytes).toBe(5);
  // The cached block of the pinned version still serves it.
  expect((await t.fs.read(fh, 0, 100)).toString()).toBe('short');
  await t.fs.release(fh);
});

it('a file unlinked while a reader has it does not come back when its directory is renamed', async () => {
  const t = await fixture();
  await t.fs.mkdir('/d', 0o755);
  await t.writeFile('/d/f', 'gone');
  const reader = await t.fs.open('/d/f', OpenFlags.O_RDONLY);
  await t.fs.unlink('/d/f');
  await t.fs.rename('/d', '/e');
  expect(await t.names('/e')).toEqual([]);
  await t.fs.release(reader);
  await t.fs.fsyncdir();
  expect(t.store.keys()).toEqual(['e/']);
});

it('a name re-created over a deferred delete and unlinked again leaves no object behind', async () => {
  const t = await fixture();
  await t.writeFile('/a', 'old');
  const reader = await t.fs.open('/a', OpenFlags.O_RDONLY);
  await t.fs.unlink('/a');
  const fh = await t.fs.create('/a', 0o644);
  await t.fs.unlink('/a');
  await t.fs.release(fh);
  await t.fs.release(reader);
  await t.fs.fsyncdir();
  expect(t.store.keys()).toEqual([]);
});
