// Smaller POSIX promises of docs/SEMANTICS.md, on a real mount: locks are the kernel's and local to
// the mount (flock excludes a second process here; nothing is stored in S3), and statfs reports
// --disk-size with everything free, since S3 has no capacity of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountBucket, mustRun, runTool, unmountAll, waitFor, type MountSession } from '../support/mount-session.js';
import { listKeys } from '../support/s3-objects.js';
import { makeClient } from '../support/s3-server.js';
import { newBucket, s3Server } from '../support/s3-env.js';

let mount: MountSession;
let bucket: string;

beforeAll(async () => {
  bucket = await newBucket('posix-misc');
  mount = await mountBucket({ bucket, s3: s3Server(), extraArgs: ['--disk-size', '2T'] });
});
afterAll(unmountAll);

describe('locks', () => {
  it('flock on a file of the mount excludes a second local process', async () => {
    const file = `${mount.dir}/locked`;
    await mustRun('sh', ['-c', `echo data > '${file}'`]);
    // The holder keeps the lock for 3 s; the contender tries without blocking meanwhile.
    const holder = runTool('flock', ['--exclusive', file, 'sleep', '3']);
    let contended = await runTool('flock', ['--exclusive', '--nonblock', file, 'true']);
    for (let i = 0; i < 20 && contended.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      contended = await runTool('flock', ['--exclusive', '--nonblock', file, 'true']);
    }
    expect(contended.code).toBe(1);
    expect((await holder).code).toBe(0);
    expect((await runTool('flock', ['--exclusive', '--nonblock', file, 'true'])).code).toBe(0);
  });
});

describe('statfs', () => {
  it('df reports the --disk-size capacity, all of it free', async () => {
    const { stdout } = await mustRun('df', ['--block-size=1', '--output=size,avail', mount.dir]);
    const [size, avail] = (stdout.trim().split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
    expect(size).toBe(2 * 1024 ** 4);
    expect(avail).toBe(size);
  });
});

describe('unlink of an open file', () => {
  it('keeps its data readable through the open handle, and leaves nothing in the bucket after close', async () => {
    const file = `${mount.dir}/held`;
    await mustRun('sh', ['-c', `echo 'keep me' > '${file}'`]);
    const script = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])
print(os.path.exists(sys.argv[1]), os.pread(fd, 100, 0).decode().strip(), os.fstat(fd).st_size)
os.close(fd)
`;
    const { stdout } = await mustRun('python3', ['-c', script, file]);
    expect(stdout.trim()).toBe('False keep me 8');
    // libfuse hid the file under .fuse_hidden* until the close (release comes after close returns),
    // then bucketfs deleted it.
    const leftovers = async () => (await listKeys(makeClient(s3Server()), bucket, '')).filter((k) => k === 'held' || k.startsWith('.fuse_hidden'));
    await waitFor(async () => (await leftovers()).length === 0, 10_000);
    expect(await leftovers()).toEqual([]);
  });
});
