// What users feel, counted: the exact S3 requests `ls -l`, `stat`, creates and `rm -rf` send through
// a real mount of a real server, read from the daemon's --debug log (one `s3 OP "key" STATUS` line
// per request). A request per entry where a listing already answered is a bug these tests catch.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountBucket, mustRun, unmountAll, type MountSession } from '../support/mount-session.js';
import { listKeys } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const server = s3Server();
const client = makeClient(server);
const FILES = 2500;

let bucket: string;
let mount: MountSession;
/** Trusted for the whole test, as a user's default mount would within its TTL. */
const CACHING = ['--stat-ttl', '60', '--negative-ttl', '60', '--debug'];

/** Requests logged after `from` (a length of the log), by operation. */
function requestsSince(from: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of mount.log().slice(from).matchAll(/ s3 ([A-Z-]+) "/g)) {
    const op = match[1] as string;
    counts[op] = (counts[op] ?? 0) + 1;
  }
  return counts;
}

async function counted(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const from = mount.log().length;
  await work();
  return requestsSince(from);
}

async function putMany(prefix: string, count: number, metadata: Record<string, string> = {}): Promise<void> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}f${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 64) {
    await Promise.all(keys.slice(i, i + 64).map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x', Metadata: metadata }))));
  }
}

beforeAll(async () => {
  bucket = await newBucket('request-counts');
  await putMany('big/', FILES, { mode: String(0o100640), uid: '0', gid: '0', mtime: '1600000000' });
  await putMany('plain/', 1000);
  await putMany('doomed/', 300);
  mount = await mountBucket({ bucket, s3: server, extraArgs: CACHING });
});

afterAll(async () => {
  await unmountAll();
});

describe('request counts on a mount', () => {
  it(`ls -l of ${FILES} files with s3fs headers: ${Math.ceil(FILES / 1000)} LISTs and one HEAD per file, no LIST per file`, async () => {
    const dir = path.join(mount.dir, 'big');
    const requests = await counted(async () => {
      const out = await mustRun('ls', ['-l', dir]);
      expect(out.stdout.trim().split('\n')).toHaveLength(FILES + 1);
      expect(out.stdout).toMatch(/^-rw-r----- 1 root root 1 Sep 13 {2}2020 f00000$/m);
    });
    // The folder's own lookup: a HEAD that misses, a one-key LIST, a HEAD of its (absent) marker.
    expect(requests.LIST).toBe(1 + Math.ceil(FILES / 1000));
    expect(requests.HEAD).toBeLessThanOrEqual(FILES + 2);
    expect(requests.HEAD).toBeGreaterThanOrEqual(FILES);
    expect(Object.keys(requests).sort()).toEqual(['HEAD', 'LIST']);
  });

  it('ls -l again within the TTL sends nothing', async () => {
    const requests = await counted(() => mustRun('ls', ['-l', path.join(mount.dir, 'big')]));
    expect(requests).toEqual({});
  });

  it('stat of names the fresh listing does not hold sends nothing', async () => {
    const requests = await counted(async () => {
      for (let i = 0; i < 20; i++) {
        const result = await mustRun('sh', ['-c', 'stat "$1" 2>/dev/null; true', 'sh', path.join(mount.dir, 'big', `nope-${i}`)]);
        expect(result.stdout).toBe('');
      }
    });
    expect(requests).toEqual({});
  });

  it('a file created in a listed folder costs one PUT', async () => {
    const requests = await counted(() => fsp.writeFile(path.join(mount.dir, 'big', 'new-file'), 'new'));
    expect(requests).toEqual({ PUT: 1 });
  });

  it('100 files created in a folder made on the mount cost a PUT each and the marker', async () => {
    const requests = await counted(async () => {
      await fsp.mkdir(path.join(mount.dir, 'made'));
      for (let i = 0; i < 100; i++) await fsp.writeFile(path.join(mount.dir, 'made', `f${i}`), `file ${i}`);
    });
    // mkdir: a HEAD and a LIST to see the name is free, then the marker.
    expect(requests).toEqual({ HEAD: 1, LIST: 1, PUT: 101 });
  });

  it('rm -rf of 300 files: one listing, a HEAD and a DeleteObject per file, no marker written', async () => {
    const requests = await counted(() => mustRun('rm', ['-rf', path.join(mount.dir, 'doomed')]));
    expect(requests.PUT ?? 0).toBe(0);
    expect(requests.DELETE).toBe(300 + 1);
    expect(requests.LIST).toBeLessThanOrEqual(4);
    expect(await listKeys(client, bucket, 'doomed/')).toEqual([]);
  });
});
