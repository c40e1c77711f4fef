import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decide, ownerFinder, type CleanupPolicy, type PendingUpload } from '../../src/s3/cleanup.js';
import { UploadJournal } from '../../src/s3/upload-journal.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-journal-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('UploadJournal', () => {
  it('records an intent before the upload id, then the id, and forgets it', async () => {
    const journal = new UploadJournal(path.join(dir, 'uploads'), 'http://s3:9000');
    const id = await journal.begin('bkt', 'p/key');
    expect(await UploadJournal.entries(journal.dir, 'http://s3:9000', 'bkt')).toEqual([
      { id, endpoint: 'http://s3:9000', bucket: 'bkt', key: 'p/key', uploadId: undefined, startedAt: expect.any(String), pid: process.pid },
    ]);
    await journal.started(id, 'bkt', 'p/key', 'UP1');
    const [entry] = await UploadJournal.entries(journal.dir, 'http://s3:9000', 'bkt');
    expect(entry?.uploadId).toBe('UP1');
    expect(await UploadJournal.entries(journal.dir, 'http://s3:9000', 'other')).toEqual([]);
    expect(await UploadJournal.entries(journal.dir, 'aws', 'bkt')).toEqual([]);
    await journal.forget(id);
    expect(await UploadJournal.entries(journal.dir, 'http://s3:9000', 'bkt')).toEqual([]);
  });

  it('never fails an upload when it cannot write: it says so once per record', async () => {
    const blocked = path.join(dir, 'file');
    await fsp.writeFile(blocked, 'not a directory');
    const lines: string[] = [];
    const journal = new UploadJournal(path.join(blocked, 'uploads'), 'aws', (line) => lines.push(line));
    const id = await journal.begin('bkt', 'k');
    await journal.forget(id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^upload journal: cannot record an upload of k in /);
    expect(await UploadJournal.entries(path.join(dir, 'missing'), 'aws', 'bkt')).toEqual([]);
  });
});

describe('cleanup policy', () => {
  const nowMs = Date.UTC(2026, 0, 2);
  const policy: CleanupPolicy = { all: false, olderThanMs: undefined, nowMs, bucketfsAlive: (pid) => pid === 4242 };
  const upload = (over: Partial<PendingUpload> = {}): PendingUpload => ({ key: 'k', uploadId: 'U', initiated: new Date(nowMs - 3_600_000), journal: undefined, ...over });
  const journal = (pid: number) => ({ id: 'j', endpoint: 'aws', bucket: 'b', key: 'k', uploadId: 'U', startedAt: new Date(nowMs - 3_600_000).toISOString(), pid });

  it('aborts what a dead bucketfs started, keeps what a live one may still complete', () => {
    expect(decide(upload({ journal: journal(999_999) }), policy)).toEqual({ action: 'abort', reason: 'started by bucketfs' });
    expect(decide(upload({ journal: journal(4242) }), policy)).toEqual({ action: 'keep', reason: 'bucketfs pid 4242 is still running' });
    expect(decide(upload({ journal: journal(4242) }), { ...policy, all: true }).action).toBe('keep');
  });

  it('keeps other clients’ uploads unless --all, and young ones under --older-than', () => {
    expect(decide(upload(), policy)).toEqual({ action: 'keep', reason: 'not started by bucketfs here (--all aborts it)' });
    expect(decide(upload(), { ...policy, all: true })).toEqual({ action: 'abort', reason: '--all' });
    expect(decide(upload(), { ...policy, all: true, olderThanMs: 2 * 3_600_000 })).toEqual({ action: 'keep', reason: 'newer than --older-than' });
    expect(decide(upload({ initiated: undefined }), { ...policy, all: true, olderThanMs: 2 * 3_600_000 }).action).toBe('abort');
  });
});

describe('matching journal records to listed uploads', () => {
  const t0 = Date.UTC(2026, 0, 2, 12);
  const entry = (id: string, key: string, uploadId: string | undefined, atMs: number) => ({ id, endpoint: 'aws', bucket: 'b', key, uploadId, startedAt: new Date(atMs).toISOString(), pid: 1 });

  it('by upload id, or for a process killed before CreateMultipartUpload answered, by key and time', () => {
    const owner = ownerFinder([entry('a', 'k1', 'U1', t0), entry('b', 'k2', undefined, t0)]);
    expect(owner('k1', 'U1', new Date(t0))?.id).toBe('a');
    expect(owner('k1', 'U9', new Date(t0))).toBeUndefined();
    // Another key, or a start far from the record's, is someone else's upload.
    expect(owner('k3', 'U2', new Date(t0))).toBeUndefined();
    expect(owner('k2', 'U3', new Date(t0 + 3_600_000))).toBeUndefined();
    expect(owner('k2', 'U4', new Date(t0 + 2_000))?.id).toBe('b');
    // One intent stands for one upload.
    expect(owner('k2', 'U5', new Date(t0 + 3_000))).toBeUndefined();
  });
});
