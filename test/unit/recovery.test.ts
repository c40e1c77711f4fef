// Crash recovery on the in-memory store. A crash is simulated by a fixture that stops without
// closing anything (FsFixture.crash: no upload, nothing deleted, its spool folder's owner dead), and a
// second fixture over the same store and spool dir is the next mount: its recover() must finish each
// record the way docs/SEMANTICS.md says.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { conflictPath } from '../../src/fs/recovery.js';
import type { FsPath } from '../../src/fs/names.js';
import { createLogger, type Logger } from '../../src/log.js';
import { type FsFixture, type FsFixtureOptions, PART_BYTES, errnoOf, gate, patternBytes, settle, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();

/** A logger that keeps its lines, by level. */
function recordingLogger(): { logger: Logger; lines: string[]; at: (level: string) => string[] } {
  const lines: string[] = [];
  const logger = createLogger('debug', (line) => lines.push(line.trimEnd()));
  return { logger, lines, at: (level) => lines.filter((l) => l.includes(` ${level} `)) };
}

/** The next mount after `t` crashed: same bucket, same spool dir, same clock. */
async function nextMount(t: FsFixture, options: FsFixtureOptions = {}): Promise<FsFixture> {
  return fixture({ store: t.store, clock: t.clock, ...options, write: { spoolDir: t.spool.bucketDir, ...options.write } });
}

/** Crashes `t`, starts the next mount, and checks that it recovers `paths` and uploads them; returns it. */
async function recoveredAfterCrash(t: FsFixture, paths: string[]): Promise<FsFixture> {
  await t.crash();
  const next = await nextMount(t);
  expect((await next.fs.recover()).uploading).toEqual(paths);
  expect(await next.fs.syncAll()).toEqual([]);
  return next;
}

/** Spool data files and records anywhere below the spool dir. */
async function spoolRecords(t: FsFixture): Promise<string[]> {
  const entries = await fsp.readdir(t.spool.bucketDir, { recursive: true });
  return entries.filter((e) => e.endsWith('.data') || e.endsWith('.json')).sort();
}

/** The record files of `t`'s own spool folder, parsed. */
async function records(t: FsFixture): Promise<Record<string, unknown>[]> {
  const names = (await t.spoolFiles()).filter((n) => n.endsWith('.json'));
  return Promise.all(names.map(async (n) => JSON.parse(await fsp.readFile(path.join(t.spool.dir, n), 'utf8')) as Record<string, unknown>));
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('recovery of a file being written when the mount died', () => {
  it('uploads it when the object is unchanged since the open, and shows it on the mount meanwhile', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/new.txt', 0o640);
    await t.fs.write(fh, 0, Buffer.from('written before the crash'));
    await t.crash();
    expect(t.store.getObject('new.txt')).toBeUndefined();

    const log = recordingLogger();
    const next = await nextMount(t, { logger: log.logger });
    const held = gate();
    next.store.delayNext('put', held.promise);
    const report = await next.fs.recover();
    expect(report.uploading).toEqual(['/new.txt']);
    // Before the upload lands, the mount shows the recovered bytes.
    expect(await next.fs.getattr('/new.txt')).toMatchObject({ sizeBytes: 24, mode: 0o100640 });
    const reader = await next.fs.open('/new.txt', OpenFlags.O_RDONLY);
    expect((await next.readAll(reader)).toString()).toBe('written before the crash');
    held.open();
    await next.fs.release(reader);
    expect(await next.fs.syncAll()).toEqual([]);
    await waitUntil(async () => (await spoolRecords(next)).length === 0, 'the spool is empty');
    expect(next.body('new.txt')?.toString()).toBe('written before the crash');
    expect(Number(next.store.getObject('new.txt')?.metadata.mode)).toBe(0o100640);
    expect(log.at('WARN')).toEqual([]);
  });

  it('aborts the multipart upload the dead mount had started and uploads the whole file again', async () => {
    const t = await fixture();
    const data = patternBytes(PART_BYTES * 4 + 123, 'big');
    const fh = await t.fs.create('/big.bin', 0o644);
    for (let at = 0; at < data.length; at += 1000) await t.fs.write(fh, at, data.subarray(at, at + 1000));
    // Parts were streamed while writing: the record names the upload they belong to.
    await waitUntil(async () => (await records(t)).some((r) => typeof r.uploadId === 'string'), 'the record names the upload');
    await waitUntil(() => t.store.calls.uploadPart >= 2, 'parts are in flight');
    await t.crash();
    expect(t.store.pendingUploads()).toEqual(['big.bin']);

    const next = await nextMount(t);
    const report = await next.fs.recover();
    expect(report.aborted).toHaveLength(1);
    expect(report.uploading).toEqual(['/big.bin']);
    expect(await next.fs.syncAll()).toEqual([]);
    await waitUntil(() => next.store.pendingUploads().length === 0 && next.body('big.bin') !== undefined, 'the upload completes');
    expect(next.body('big.bin')?.equals(data)).toBe(true);
    expect(next.store.pendingUploads()).toEqual([]);
  });

  it('rebuilds a file changed in place from the base object and the local ranges', async () => {
    const t = await fixture();
    t.store.putObject('f', 'AAAAAAAAAA');
    const fh = await t.fs.open('/f', OpenFlags.O_RDWR);
    await t.fs.write(fh, 2, Buffer.from('XY'));
    const next = await recoveredAfterCrash(t, ['/f']);
    await waitUntil(() => next.body('f')?.toString() === 'AAXYAAAAAA', 'the rebuilt file is uploaded');
  });

  it('records the first write at once and later ones within a second, so a crash after that loses none of them', async () => {
    const t = await fixture();
    t.store.putObject('f', 'AAAAAAAAAA');
    const fh = await t.fs.open('/f', OpenFlags.O_RDWR);
    await t.fs.write(fh, 1, Buffer.from('X'));
    await waitUntil(async () => JSON.stringify((await records(t))[0]?.localRanges) === '[[1,2]]', 'the first write is recorded');
    const firstRecordedAt = Date.now();
    await t.fs.write(fh, 5, Buffer.from('YZ'));
    await waitUntil(async () => JSON.stringify((await records(t))[0]?.localRanges) === '[[1,2],[5,7]]', 'the later write is recorded');
    // The record timer is a second; the rest is room for a loaded machine.
    expect(Date.now() - firstRecordedAt).toBeLessThan(2_000);
    const next = await recoveredAfterCrash(t, ['/f']);
    expect(next.body('f')?.toString()).toBe('AXAAAYZAAA');
  });

  it('keeps the local version as a conflict sibling when another client changed the object, with one WARN line', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/report.txt', 0o644);
    await t.fs.write(fh, 0, Buffer.from('mine'));
    await t.crash();
    t.store.putObject('report.txt', 'theirs');

    const log = recordingLogger();
    const next = await nextMount(t, { logger: log.logger });
    const report = await next.fs.recover();
    expect(report.uploading).toEqual([]);
    expect(report.conflicts).toHaveLength(1);
    const sibling = report.conflicts[0]?.sibling as string;
    expect(sibling).toMatch(/^\/report\.txt\.bucketfs-conflict-\d{8}-\d{6}$/);
    expect(await next.fs.syncAll()).toEqual([]);
    await waitUntil(() => next.body(sibling.slice(1)) !== undefined, 'the sibling is uploaded');
    expect(next.body('report.txt')?.toString()).toBe('theirs');
    expect(next.body(sibling.slice(1))?.toString()).toBe('mine');
    expect(log.at('WARN')).toHaveLength(1);
    expect(log.at('WARN')[0]).toContain(sibling);
  });

  it('keeps a record it cannot rebuild in the spool and names its data file in an ERROR', async () => {
    const t = await fixture();
    t.store.putObject('f', 'AAAAAAAAAA');
    const fh = await t.fs.open('/f', OpenFlags.O_RDWR);
    await t.fs.write(fh, 2, Buffer.from('XY'));
    await t.crash();
    t.store.putObject('f', 'replaced by someone else');

    const log = recordingLogger();
    const next = await nextMount(t, { logger: log.logger });
    const report = await next.fs.recover();
    expect(report.unrecoverable).toHaveLength(1);
    const dataPath = report.unrecoverable[0]?.dataPath as string;
    expect((await fsp.readFile(dataPath)).subarray(2, 4).toString()).toBe('XY');
    expect(log.at('ERROR')).toHaveLength(1);
    expect(log.at('ERROR')[0]).toContain(dataPath);
    expect(next.body('f')?.toString()).toBe('replaced by someone else');

    // It stays for the user: the mount after that one still reports it.
    await next.crash();
    const third = await nextMount(next);
    expect((await third.fs.recover()).unrecoverable).toHaveLength(1);
  });
});

describe('records whose data had reached the bucket', () => {
  it('are dropped silently when the record says the upload finished (a file changed in place: no ETag can prove it)', async () => {
    const t = await fixture();
    t.store.putObject('done.txt', 'AAAAAAAAAA');
    const fh = await t.fs.open('/done.txt', OpenFlags.O_RDWR);
    await t.fs.write(fh, 4, Buffer.from('done'));
    await t.fs.fsync(fh);
    expect(t.body('done.txt')?.toString()).toBe('AAAAdoneAA');
    await t.crash();
    const puts = t.store.calls.put + t.store.calls.copy;

    const log = recordingLogger();
    const next = await nextMount(t, { logger: log.logger });
    const report = await next.fs.recover();
    expect(report.clean).toEqual(['done.txt']);
    expect(report.uploading).toEqual([]);
    expect(next.store.calls.put + next.store.calls.copy).toBe(puts);
    expect(await spoolRecords(next)).toEqual([]);
    expect(log.at('WARN')).toEqual([]);
    expect(log.at('ERROR')).toEqual([]);
  });

  it.each([
    ['a single PUT', 100],
    ['a multipart upload', PART_BYTES * 3 + 7],
  ])('are dropped silently when the crash came after %s completed and before the record said so', async (_how, size) => {
    const t = await fixture();
    const data = patternBytes(size, 'landed');
    const fh = await t.fs.create('/landed.bin', 0o644);
    await t.fs.write(fh, 0, data);
    await t.fs.fsync(fh);
    // Put the record back as it was while the upload ran: the crash came before it was updated.
    const [name] = (await t.spoolFiles()).filter((n) => n.endsWith('.json'));
    const file = path.join(t.spool.dir, name as string);
    const record = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    expect(record.state).toBe('uploaded');
    delete record.uploadedEtag;
    delete record.baseEtag;
    delete record.baseSizeBytes;
    await fsp.writeFile(file, JSON.stringify({ ...record, state: 'uploading', baseLimitBytes: 0 }));
    await t.crash();
    const puts = t.store.calls.put + t.store.calls.createUpload;

    const log = recordingLogger();
    const next = await nextMount(t, { logger: log.logger });
    const report = await next.fs.recover();
    expect(report.clean).toEqual(['landed.bin']);
    expect(next.store.calls.put + next.store.calls.createUpload).toBe(puts);
    expect(await spoolRecords(next)).toEqual([]);
    expect(log.at('WARN')).toEqual([]);
  });

  it('are dropped silently when the name was unlinked before the crash', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/gone', 0o644);
    await t.fs.write(fh, 0, Buffer.from('x'));
    await t.fs.unlink('/gone');
    await settle();
    await t.crash();
    const next = await nextMount(t);
    expect((await next.fs.recover()).clean).toEqual(['gone']);
    expect(next.store.getObject('gone')).toBeUndefined();
    expect(await spoolRecords(next)).toEqual([]);
  });
});

describe('a spool folder per mount', () => {
  it('another mount of the same bucket leaves a live mount\'s folder alone', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/open.txt', 0o644);
    await t.fs.write(fh, 0, Buffer.from('still open'));
    const other = await nextMount(t);
    const report = await other.fs.recover();
    expect(report.uploading.length + report.clean.length + report.conflicts.length + report.unrecoverable.length).toBe(0);
    expect(t.store.getObject('open.txt')).toBeUndefined();
    await t.fs.flush(fh);
    await t.fs.release(fh);
    expect(t.body('open.txt')?.toString()).toBe('still open');
  });

  it('two mounts that start at once take each dead mount\'s folder once: every file is recovered by one of them', async () => {
    const dead: FsFixture[] = [];
    for (const name of ['a', 'b', 'c']) {
      const t = await (dead[0] ? nextMount(dead[0]) : fixture());
      const fh = await t.fs.create(`/${name}.txt`, 0o644);
      await t.fs.write(fh, 0, Buffer.from(`left by mount ${name}`));
      await t.crash();
      dead.push(t);
    }
    const first = dead[0] as FsFixture;
    const [one, two] = await Promise.all([nextMount(first), nextMount(first)]);
    const reports = await Promise.all([one.fs.recover(), two.fs.recover()]);
    const recovered = reports.flatMap((r) => r.uploading);
    expect(recovered.sort()).toEqual(['/a.txt', '/b.txt', '/c.txt']);
    expect(await one.fs.syncAll()).toEqual([]);
    expect(await two.fs.syncAll()).toEqual([]);
    for (const name of ['a', 'b', 'c']) expect(first.body(`${name}.txt`)?.toString()).toBe(`left by mount ${name}`);
  });

  it('takes over the layout of earlier versions: files/ right in the bucket\'s folder', async () => {
    const t = await fixture();
    const fh = await t.fs.create('/old.txt', 0o644);
    await t.fs.write(fh, 0, Buffer.from('from an earlier version'));
    await t.crash();
    await fsp.rename(t.spool.dir, path.join(t.spool.bucketDir, 'files'));
    await fsp.rm(t.spool.instanceDir, { recursive: true });

    const next = await nextMount(t);
    expect((await next.fs.recover()).uploading).toEqual(['/old.txt']);
    expect(await next.fs.syncAll()).toEqual([]);
    expect(next.body('old.txt')?.toString()).toBe('from an earlier version');
    expect(await fsp.readdir(t.spool.bucketDir)).toEqual([path.basename(next.spool.instanceDir)]);
  });

  it('a clean unmount removes its folder, unless it holds data the next mount must upload', async () => {
    const clean = await fixture();
    await clean.writeFile('/done.txt', 'in the bucket');
    await clean.spool.close();
    await expect(fsp.stat(clean.spool.instanceDir)).rejects.toMatchObject({ code: 'ENOENT' });

    const failing = await fixture();
    failing.store.failNext('put', 'ServerError', 100);
    const fh = await failing.fs.create('/kept.txt', 0o644);
    await failing.fs.write(fh, 0, Buffer.from('not in the bucket'));
    expect(await errnoOf(failing.fs.flush(fh))).toBe('EIO');
    failing.fs.stop();
    await failing.spool.close();
    expect((await failing.spoolFiles()).filter((n) => n.endsWith('.json'))).toHaveLength(1);
  });

  it('is made again when a user removes it under a running mount, and open files keep their data', async () => {
    const t = await fixture();
    const open = await t.fs.create('/open.bin', 0o644);
    await t.fs.write(open, 0, Buffer.from('first half, '));
    await fsp.rm(t.spool.bucketDir, { recursive: true, force: true });

    await t.writeFile('/after.txt', 'written after the removal');
    expect(t.body('after.txt')?.toString()).toBe('written after the removal');
    await t.fs.write(open, 12, Buffer.from('second half'));
    // The data file the user removed is back under its name before the record names it again.
    await waitUntil(async () => (await t.spoolFiles()).some((n) => n.endsWith('.data')), 'the data file is back');
    await t.crash();
    const next = await nextMount(t);
    expect((await next.fs.recover()).uploading).toEqual(['/open.bin']);
    expect(await next.fs.syncAll()).toEqual([]);
    await waitUntil(() => next.body('open.bin') !== undefined, 'the file is uploaded');
    expect(next.body('open.bin')?.toString()).toBe('first half, second half');
  });
});

describe('write-back', () => {
  it('close returns once the data and its record are in the spool; the upload follows; sync waits for it', async () => {
    const t = await fixture({ write: { writeBack: true } });
    const held = gate();
    t.store.delayNext('put', held.promise);
    const fh = await t.fs.create('/wb.txt', 0o600);
    await t.fs.write(fh, 0, Buffer.from('write-back'));
    await t.fs.flush(fh);
    expect(await records(t)).toEqual([expect.objectContaining({ key: 'wb.txt', state: 'queued', sizeBytes: 10, localRanges: [[0, 10]] })]);
    await t.fs.release(fh);
    expect(t.store.getObject('wb.txt')).toBeUndefined();
    expect((await t.readFile('/wb.txt')).toString()).toBe('write-back');
    const syncing = t.fs.syncAll();
    held.open();
    expect(await syncing).toEqual([]);
    expect(t.body('wb.txt')?.toString()).toBe('write-back');
    await waitUntil(async () => (await t.spoolFiles()).length === 0, 'the spool is empty');
  });

  it('fsync returns once the data and its record are durable in the spool, before the upload', async () => {
    const t = await fixture({ write: { writeBack: true } });
    const fh = await t.fs.create('/db', 0o600);
    await t.fs.write(fh, 0, Buffer.from('a page'));
    await t.fs.fsync(fh);
    expect(await records(t)).toEqual([expect.objectContaining({ key: 'db', state: 'queued', sizeBytes: 6 })]);
    expect(t.store.getObject('db')).toBeUndefined();
    const next = await recoveredAfterCrash(t, ['/db']);
    expect(next.body('db')?.toString()).toBe('a page');
  });

  it('writes back only file contents: mkdir, rename, unlink, chmod and truncate of closed files reach the bucket before they return', async () => {
    const t = await fixture({ write: { writeBack: true } });
    t.store.putObject('a', 'AAAAAAAA');
    t.store.putObject('b', 'BBBB');
    await t.fs.mkdir('/d', 0o755);
    expect(t.store.getObject('d/')).toBeDefined();
    await t.fs.rename('/a', '/d/a');
    expect(t.store.keys()).toEqual(['b', 'd/', 'd/a']);
    await t.fs.chmod('/d/a', 0o600);
    expect(Number(t.store.getObject('d/a')?.metadata.mode) & 0o777).toBe(0o600);
    await t.fs.truncate('/d/a', 3);
    expect(t.body('d/a')?.toString()).toBe('AAA');
    await t.fs.unlink('/b');
    expect(t.store.getObject('b')).toBeUndefined();
  });

  it('a file queued when the mount died is uploaded by the next mount', async () => {
    const t = await fixture({ write: { writeBack: true } });
    // Its upload is in flight, and never answered, when the mount dies.
    t.store.delayNext('put', new Promise(() => undefined));
    const putStarted = t.store.nextCall('put');
    const fh = await t.fs.create('/queued.txt', 0o644);
    await t.fs.write(fh, 0, Buffer.from('queued'));
    await t.fs.flush(fh);
    await t.fs.release(fh);
    await putStarted;
    const next = await recoveredAfterCrash(t, ['/queued.txt']);
    expect(next.body('queued.txt')?.toString()).toBe('queued');
  });

  it('uploads at most backgroundUploads files at once', async () => {
    const t = await fixture({ write: { writeBack: true, backgroundUploads: 2 } });
    const held = gate();
    for (let i = 0; i < 5; i++) t.store.delayNext('put', held.promise);
    for (let i = 0; i < 5; i++) await t.writeFile(`/f${i}`, `file ${i}`);
    await settle();
    expect(t.store.calls.put).toBe(2);
    expect(t.fs.activity()).toMatchObject({ queued: 3 });
    held.open();
    expect(await t.fs.syncAll()).toEqual([]);
    expect(t.store.keys()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });
});

describe('conflict names', () => {
  it('keep within 255 bytes and tell attempts apart', () => {
    const at = new Date('2026-12-02T16:52:59Z');
    expect(conflictPath('/d/a.txt' as FsPath, at)).toBe('/d/a.txt.bucketfs-conflict-20261202-165259');
    expect(conflictPath('/a.txt' as FsPath, at, 2)).toBe('/a.txt.bucketfs-conflict-20261202-165259-2');
    const long = conflictPath(`/${'é'.repeat(127)}` as FsPath, at);
    expect(Buffer.byteLength(long.slice(1))).toBeLessThanOrEqual(255);
  });
});
