// Regression tests for data-safety defects real clients found: a release racing the next path
// operation on the same file, appends lost to a failed upload, unlink answering before the delete
// reached the bucket, attributes of the mount root sent to the bucket URL, and a rename leaving
// readers of the replaced file attached to the new one.
import { describe, expect, it } from 'vitest';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { StoreError } from '../../src/s3/store-error.js';
import { type FsFixture, PART_BYTES, errnoOf, gate, patternBytes, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();

describe('a release racing the next operation on the same file', () => {
  it('truncate right after create and close is in the bucket when it returns', async () => {
    const t = await fixture();
    for (let i = 0; i < 20; i++) {
      const name = `/${'n'.repeat(200)}${i}`;
      const fh = await t.fs.create(name, 0o644);
      await t.fs.flush(fh);
      // The kernel sends release after close(2) has returned: the truncate does not wait for it.
      const releasing = t.fs.release(fh);
      await t.fs.truncate(name, 123);
      expect((await t.fs.getattr(name)).sizeBytes).toBe(123);
      await releasing;
      expect(t.body(name.slice(1))?.length).toBe(123);
      await t.fs.unlink(name);
    }
    expect(t.store.keys()).toEqual([]);
    expect(await t.spoolFiles()).toEqual([]);
  });

  it.each([
    ['truncate', (t: FsFixture) => t.fs.truncate('/f', 5), (t: FsFixture) => expect(t.body('f')?.toString()).toBe('hello')],
    ['chmod', (t: FsFixture) => t.fs.chmod('/f', 0o600), (t: FsFixture) => expect(Number(t.store.getObject('f')?.metadata.mode) & 0o777).toBe(0o600)],
  ] as const)('%s while the release is uploading waits its turn and reaches the bucket after it', async (_op, operation, check) => {
    const t = await fixture();
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('hello world'));
    const held = gate();
    t.store.delayNext('put', held.promise);
    const putStarted = t.store.nextCall('put');
    const releasing = t.fs.release(fh);
    await putStarted;
    const changing = operation(t);
    held.open();
    await Promise.all([releasing, changing]);
    check(t);
    expect(await t.spoolFiles()).toEqual([]);
  });
});

describe('appends when an upload fails', () => {
  it('keep the bytes on the mount: the next appender joins them and both reach the bucket', async () => {
    const t = await fixture({ uploadRetryDelayMs: 60_000 });
    t.store.putObject('log', 'line 0\n');
    const first = await t.fs.open('/log', OpenFlags.O_WRONLY | OpenFlags.O_APPEND);
    await t.fs.write(first, 0, Buffer.from('line 1\n'));
    t.store.failNext('put', 'Unreachable');
    expect(await errnoOf(t.fs.flush(first))).toBe('EIO');
    await t.fs.release(first);
    // The failed upload's bytes are what this mount shows, not the older object in the bucket.
    expect((await t.fs.getattr('/log')).sizeBytes).toBe(14);
    const second = await t.fs.open('/log', OpenFlags.O_WRONLY | OpenFlags.O_APPEND);
    await t.fs.write(second, 0, Buffer.from('line 2\n'));
    await t.fs.flush(second);
    await t.fs.release(second);
    expect(t.body('log')?.toString()).toBe('line 0\nline 1\nline 2\n');
    expect(await t.spoolFiles()).toEqual([]);
  });

  it('are retried in the background until the upload succeeds', async () => {
    const t = await fixture({ uploadRetryDelayMs: 5 });
    const fh = await t.fs.create('/f', 0o644);
    await t.fs.write(fh, 0, Buffer.from('kept'));
    t.store.failNext('put', 'ServerError', 2);
    expect(await errnoOf(t.fs.flush(fh))).toBe('EIO');
    const retried = t.store.nextCall('put').then(() => t.store.nextCall('put'));
    await t.fs.release(fh);
    await retried;
    for (let i = 0; i < 100 && t.body('f') === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(t.body('f')?.toString()).toBe('kept');
  });

  it('start a new multipart upload when someone aborted the one in flight (cleanup --all, a lifecycle rule)', async () => {
    const t = await fixture({ uploadRetryDelayMs: 5 });
    const data = patternBytes(2 * PART_BYTES + 100);
    const fh = await t.fs.create('/big', 0o644);
    await t.fs.write(fh, 0, data);
    // Both the close and the release's own attempt fail: only the background retry is left.
    t.store.failNext('complete', new StoreError('NoSuchUpload', 'NoSuchUpload: aborted by another client', { httpStatus: 404 }), 2);
    expect(await errnoOf(t.fs.flush(fh))).toBe('EIO');
    const retried = t.store.nextCall('complete').then(() => t.store.nextCall('complete'));
    await t.fs.release(fh);
    await retried;
    for (let i = 0; i < 100 && t.body('big') === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(t.body('big')?.equals(data)).toBe(true);
    expect(t.store.calls.createUpload).toBe(3);
    expect(t.store.pendingUploads()).toEqual([]);
    // The spool copy goes once the retry has recorded its success.
    for (let i = 0; i < 100 && (await t.spoolFiles()).length > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await t.spoolFiles()).toEqual([]);
  });

  it('fail the close when the object they start from was replaced, and keep the bytes in the spool', async () => {
    const t = await fixture({ cache: { readAheadMaxBytes: 0 } });
    const original = patternBytes(3 * 1024);
    t.store.putObject('f', original);
    const fh = await t.fs.open('/f', OpenFlags.O_WRONLY | OpenFlags.O_APPEND);
    await t.fs.write(fh, 0, Buffer.from('tail'));
    t.store.putObject('f', 'replaced by another client');
    expect(await errnoOf(t.fs.flush(fh))).toBe('EIO');
    await t.fs.release(fh);
    expect(t.body('f')?.toString()).toBe('replaced by another client');
    expect((await t.spoolFiles()).filter((n) => n.endsWith('.json'))).toHaveLength(1);
  });
});

describe('unlink', () => {
  it('returns only once the bucket has deleted the object', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'data');
    const held = gate();
    t.store.delayNext('delete', held.promise);
    const deleteStarted = t.store.nextCall('delete');
    let returned = false;
    const unlinking = t.fs.unlink('/f').then(() => (returned = true));
    await deleteStarted;
    expect(returned).toBe(false);
    expect(await errnoOf(t.fs.getattr('/f'))).toBe('ENOENT');
    held.open();
    await unlinking;
    expect(t.store.keys()).toEqual([]);
  });

  it('fails with EIO when the delete fails, and the file is still there', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'data');
    t.store.failNext('delete', 'ServerError');
    expect(await errnoOf(t.fs.unlink('/f'))).toBe('EIO');
    expect((await t.readFile('/f')).toString()).toBe('data');
  });

  it('of many files at once batches them into one DeleteObjects while a request is in flight', async () => {
    const t = await fixture();
    for (let i = 0; i < 30; i++) t.store.putObject(`f${i}`, 'x');
    await t.names('/');
    const held = gate();
    t.store.delayNext('delete', held.promise);
    const first = t.fs.unlink('/f0');
    await t.store.nextCall('delete');
    const rest = Array.from({ length: 29 }, (_, i) => t.fs.unlink(`/f${i + 1}`));
    await new Promise((r) => setTimeout(r, 5));
    held.open();
    await Promise.all([first, ...rest]);
    expect(t.store.keys()).toEqual([]);
    expect(t.store.calls.delete + t.store.calls.deleteMany).toBeLessThanOrEqual(3);
  });
});

describe('the mount root', () => {
  it('takes chmod, utimens and xattrs without sending anything to the bucket', async () => {
    const t = await fixture();
    const before = { ...t.store.calls };
    await t.fs.utimens('/', undefined, 1_600_000_000_000_000_000n);
    await t.fs.chmod('/', 0o700);
    await t.fs.setxattr('/', 'user.note', Buffer.from('root'), 0);
    const stat = await t.fs.getattr('/');
    expect(stat.mtimeNs).toBe(1_600_000_000_000_000_000n);
    expect(stat.mode & 0o7777).toBe(0o700);
    expect((await t.fs.getxattr('/', 'user.note')).toString()).toBe('root');
    expect(t.store.calls).toEqual(before);
    expect(t.store.keys()).toEqual([]);
  });
});

describe('rename over a file a reader has open', () => {
  it('leaves the reader on its version, so unlinking the new file deletes it', async () => {
    const t = await fixture({ cache: { statTtlMs: 0, negativeTtlMs: 0 } });
    t.store.putObject('a', patternBytes(4096));
    t.store.putObject('c', 'x');
    const reader = await t.fs.open('/a', OpenFlags.O_RDONLY);
    await t.fs.rename('/c', '/a');
    await t.fs.unlink('/a');
    expect(t.store.keys()).toEqual([]);
    await t.fs.release(reader);
  });
});

describe('a name whose file is deleted while a reader holds it', () => {
  it('can be made a directory at once, and opens as one', async () => {
    const t = await fixture({ cache: { statTtlMs: 0, negativeTtlMs: 0 } });
    t.store.putObject('b', patternBytes(4096));
    const reader = await t.fs.open('/b', OpenFlags.O_RDONLY);
    await t.fs.unlink('/b');
    await t.fs.mkdir('/b', 0o755);
    expect(await errnoOf(t.fs.open('/b', OpenFlags.O_RDONLY))).toBe('EISDIR');
    expect(await t.names('/')).toEqual(['b']);
    await t.fs.release(reader);
    expect(t.store.keys()).toEqual(['b/']);
  });
});

describe('a directory whose last file is unlinked while a reader holds it', () => {
  it('is empty: rmdir removes it, and a rename may replace it', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    await t.writeFile('/d/f', 'kept for the reader');
    const reader = await t.fs.open('/d/f', OpenFlags.O_RDONLY);
    await t.fs.unlink('/d/f');
    await t.fs.mkdir('/e', 0o755);
    await t.fs.rename('/e', '/d');
    expect(await t.names('/d')).toEqual([]);
    await t.fs.rmdir('/d');
    expect((await t.fs.read(reader, 0, 100)).toString()).toBe('kept for the reader');
    await t.fs.release(reader);
    expect(t.store.keys()).toEqual([]);
  });
});
