// What names cost: the S3 requests each lookup pattern sends, counted on the in-memory store.
// A listing answers existence, kind, size and ETag; HEADs are only for s3fs metadata and go out
// ahead of `ls -l`; a name missing from a fresh listing costs nothing; local changes keep the
// listing right instead of throwing it away.
import { describe, expect, it } from 'vitest';
import { ChangeLog } from '../../src/fs/change-log.js';
import { InodeTable } from '../../src/fs/nodes.js';
import { type FsPath } from '../../src/fs/names.js';
import { type FsFixture, errnoOf, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();

/** Requests sent by `work`, by store method (zeros left out). */
async function requestsOf(t: FsFixture, work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = { ...t.store.calls };
  await work();
  const out: Record<string, number> = {};
  for (const [method, count] of Object.entries(t.store.calls)) {
    const delta = count - (before[method as keyof typeof before] ?? 0);
    if (delta > 0) out[method] = delta;
  }
  return out;
}

/** `ls -l`: the kernel's lookup of the folder, readdir, then one stat per entry in listing order. */
async function lsLong(t: FsFixture, dir: string): Promise<void> {
  await t.fs.getattr(dir);
  const names = await t.names(dir);
  for (const name of names) await t.fs.getattr(`${dir === '/' ? '' : dir}/${name}`);
}

function fill(t: FsFixture, dir: string, count: number, metadata: Record<string, string> = {}): void {
  for (let i = 0; i < count; i++) t.store.putObject(`${dir}/f${String(i).padStart(5, '0')}`, 'x'.repeat(10), metadata);
}

describe('ls -l of a folder', () => {
  it('costs one LIST per 1,000 entries and one HEAD per entry, no LIST per entry', async () => {
    const t = await fixture({ cache: { maxStatEntries: 10_000 } });
    fill(t, 'big', 2500, { mode: String(0o100600) });
    const requests = await requestsOf(t, () => lsLong(t, '/big'));
    // The folder itself: a HEAD that misses and a one-key LIST (it has no marker).
    expect(requests).toEqual({ listPage: 1 + 3, head: 1 + 2500 });
    expect((await t.fs.getattr('/big/f00042')).mode & 0o777).toBe(0o600);
  });

  it('reads ahead a bounded window past the entry being stat’ed, so answers are fresh however slow the stat calls', async () => {
    const t = await fixture({ cache: { maxStatEntries: 10_000, statTtlMs: 5_000 } });
    fill(t, 'big', 1000, { mode: String(0o100600) });
    await t.fs.getattr('/big');
    const names = await t.names('/big');
    const headsBefore = t.store.calls.head;
    await t.fs.getattr('/big/f00000');
    await t.fs.getattr('/big/f00001');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    // Not the whole folder: at most four rounds of 32 HEADs past the entry asked for.
    expect(t.store.calls.head - headsBefore).toBeLessThanOrEqual(2 + 4 * 32);
    // The stat calls take 10 s in all, twice --stat-ttl: still one HEAD per entry, and still read
    // ahead once the listing has expired.
    for (const [i, name] of names.entries()) {
      if (i < 2) continue;
      t.clock.advance(10);
      expect((await t.fs.getattr(`/big/${name}`)).mode & 0o777).toBe(0o600);
      if (i === 700) {
        for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
        expect(t.store.calls.head - headsBefore).toBeGreaterThan(700 + 32);
      }
    }
    expect(t.store.calls.head - headsBefore).toBe(1000);
  });

  it('costs only the LISTs with stat answered from listings', async () => {
    const t = await fixture({ cache: { maxStatEntries: 10_000, statFromListing: true } });
    fill(t, 'big', 2500);
    const requests = await requestsOf(t, () => lsLong(t, '/big'));
    expect(requests).toEqual({ listPage: 1 + 3, head: 1 });
    const stat = await t.fs.getattr('/big/f00001');
    expect(stat.sizeBytes).toBe(10);
    expect(stat.mode & 0o777).toBe(0o644);
  });

  it('again while the listing is fresh costs nothing', async () => {
    const t = await fixture();
    fill(t, 'd', 20);
    await lsLong(t, '/d');
    expect(await requestsOf(t, () => lsLong(t, '/d'))).toEqual({});
  });

  it('shows subfolders with their marker metadata, read ahead like files', async () => {
    const t = await fixture();
    for (let i = 0; i < 5; i++) {
      t.store.putObject(`top/sub${i}/`, '', { mode: String(0o040700) });
      t.store.putObject(`top/sub${i}/x`, 'x');
    }
    const requests = await requestsOf(t, () => lsLong(t, '/top'));
    expect(requests).toEqual({ listPage: 1 + 1, head: 1 + 5 });
    expect((await t.fs.getattr('/top/sub3')).mode & 0o777).toBe(0o700);
  });
});

describe('lookups', () => {
  it('of a name a fresh listing does not hold send nothing', async () => {
    const t = await fixture();
    fill(t, 'd', 3);
    await t.names('/d');
    const requests = await requestsOf(t, async () => {
      for (let i = 0; i < 50; i++) await t.fs.getattr(`/d/missing${i}`).catch(() => undefined);
    });
    expect(requests).toEqual({});
  });

  it('of a name another client made after a listing find it once that listing is --stat-ttl old', async () => {
    const t = await fixture({ cache: { statTtlMs: 5_000, negativeTtlMs: 1_000 } });
    fill(t, 'd', 3);
    await t.names('/d');
    t.store.putObject('d/theirs', 'made by another client');
    t.clock.advance(4_000);
    expect(await errnoOf(t.fs.getattr('/d/theirs'))).toBe('ENOENT');
    t.clock.advance(1_001);
    expect((await t.fs.getattr('/d/theirs')).sizeBytes).toBe(22);
    expect(await t.names('/d')).toContain('theirs');
  });

  it('of a file no listing covers is one HEAD', async () => {
    const t = await fixture();
    t.store.putObject('a/b/file', 'data');
    expect(await requestsOf(t, () => t.fs.getattr('/a/b/file'))).toEqual({ head: 1 });
  });

  it('of a directory no listing covers is a HEAD that misses, then a one-key LIST', async () => {
    const t = await fixture();
    t.store.putObject('a/b/file', 'data');
    expect(await requestsOf(t, () => t.fs.getattr('/a'))).toEqual({ head: 1, listPage: 1 });
  });
});

describe('creating and removing in a listed folder', () => {
  it('a new file costs one PUT', async () => {
    const t = await fixture();
    fill(t, 'd', 3);
    await lsLong(t, '/d');
    expect(await requestsOf(t, () => t.writeFile('/d/new', 'hello'))).toEqual({ put: 1 });
    expect(await t.names('/d')).toContain('new');
  });

  it('files in a folder made on this mount cost one PUT each', async () => {
    const t = await fixture();
    await t.fs.mkdir('/fresh', 0o755);
    const requests = await requestsOf(t, async () => {
      for (let i = 0; i < 10; i++) await t.writeFile(`/fresh/f${i}`, 'x');
    });
    expect(requests).toEqual({ put: 10 });
  });

  it('rm -rf of a folder without a marker sends one delete per file, no marker, one LIST for rmdir', async () => {
    const t = await fixture();
    fill(t, 'gone', 30);
    await t.fs.getattr('/gone');
    const requests = await requestsOf(t, async () => {
      for (const name of await t.names('/gone')) {
        await t.fs.getattr(`/gone/${name}`);
        await t.fs.unlink(`/gone/${name}`);
      }
      await t.fs.rmdir('/gone');
      await t.fs.fsyncdir();
    });
    // The listing, rmdir's emptiness check; a DeleteObject per file and one for the (absent) marker.
    expect(requests).toEqual({ listPage: 2, head: 30, delete: 31 });
    expect(t.store.keys()).toEqual([]);
  });
});

describe('ChangeLog', () => {
  const a = '/d/a' as FsPath;

  it('keeps a fetch that started before a change of its path from caching', () => {
    const log = new ChangeLog(1000);
    const fetch = log.startFetch();
    log.changed(a);
    expect(log.changedSince(a, fetch.tick)).toBe(true);
    expect(log.changedSince('/d/b' as FsPath, fetch.tick)).toBe(false);
    // The parent's listing changed too.
    expect(log.changedSince('/d' as FsPath, fetch.tick)).toBe(true);
    fetch.done();
  });

  it('lets a fetch that started after the change cache', () => {
    const log = new ChangeLog(1000);
    const running = log.startFetch();
    log.changed(a);
    const later = log.startFetch();
    expect(log.changedSince(a, later.tick)).toBe(false);
    running.done();
    later.done();
  });

  it('sees a subtree change from every path below it', () => {
    let now = 0;
    const log = new ChangeLog(1000, () => now);
    const tick = log.tick;
    log.changed('/d' as FsPath, true);
    expect(log.subtreeChangedSince('/d/x/y' as FsPath, tick)).toBe(true);
    expect(log.subtreeChangedSince('/e' as FsPath, tick)).toBe(false);
    now = 2000;
    log.changed('/other' as FsPath, true);
    // Older than any cache entry can live: dropped.
    expect(log.subtreeChangedSince('/d/x' as FsPath, tick)).toBe(false);
  });
});

describe('InodeTable', () => {
  it('moves a directory’s numbers with it in one step and forgets unlinked names', () => {
    const inodes = new InodeTable();
    const file = inodes.ino('/a/b/c' as FsPath);
    const dir = inodes.ino('/a/b' as FsPath);
    inodes.rename('/a' as FsPath, '/z' as FsPath);
    expect(inodes.ino('/z/b/c' as FsPath)).toBe(file);
    expect(inodes.ino('/z/b' as FsPath)).toBe(dir);
    expect(inodes.ino('/a/b/c' as FsPath)).not.toBe(file);
    inodes.forget('/z/b/c' as FsPath);
    expect(inodes.ino('/z/b/c' as FsPath)).not.toBe(file);
  });
});

describe('dates from listings', () => {
  it('are cut to whole seconds, as HEAD gives them, so an mtime never moves when a HEAD follows', async () => {
    const { fromListing } = await import('../../src/fs/nodes.js');
    const node = fromListing({ key: 'k', sizeBytes: 1, etag: '"e"', lastModified: new Date('2026-01-02T03:04:05.678Z') });
    expect(node.lastModified.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });
});
