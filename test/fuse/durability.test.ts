// The durability contract: when the bucket goes away mid-write, fsync() and close() answer EIO and the
// bytes stay in the spool (.data equal to what was written, .json naming the key), through the unmount
// too; a write past --spool-size is ENOSPC. The failure uses an S3 server of its own, stopped by PID.

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, sha256 } from '../support/fixtures.js';
import { makeTestDir, mountBucket, mustRun, removeTestDir, runTool, unmountAll, waitFor, withMount, type MountSession } from '../support/mount-session.js';
import { headObject } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { createBucket, makeClient, startS3Server, type S3ServerHandle } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const BUCKET = 'durability';
/** More than two 8 MiB parts: some are streamed while the server is up, the tail is not. */
const SIZE_BYTES = 20 * MiB + 4321;
const EIO = 5;

/** Writes argv[1]'s bytes to argv[2], says so, waits for a line on stdin, then fsyncs and closes. */
const WRITER = [
  'import os, sys',
  'data = open(sys.argv[1], "rb").read()',
  'fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)',
  'done = 0',
  'while done < len(data):',
  '    done += os.write(fd, data[done:done + 1048576])',
  'print("written", done, flush=True)',
  'sys.stdin.readline()',
  'for name, call in (("fsync", lambda: os.fsync(fd)), ("close", lambda: os.close(fd))):',
  '    try:',
  '        call()',
  '        print(name, 0, flush=True)',
  '    except OSError as e:',
  '        print(name, e.errno, flush=True)',
].join('\n');

let server: S3ServerHandle;
let session: MountSession;
let local: string;
let spoolDir: string;

/** Every file below `dir`, recursively. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

beforeAll(async () => {
  local = await makeTestDir('durability-local');
  spoolDir = path.join(local, 'spool');
  server = await startS3Server('s3rver', path.join(local, 's3rver'));
  await createBucket(server, BUCKET);
  session = await mountBucket({
    bucket: BUCKET,
    s3: server,
    extraArgs: ['--spool-dir', spoolDir, '--max-attempts', '2', '--request-timeout', '2'],
  });
});

afterAll(async () => {
  await unmountAll();
  await server?.stop();
  if (local) await removeTestDir(local);
});

describe('the server stops while a file is open for writing', () => {
  it('fsync and close answer EIO; the spool keeps the bytes and names the key, after the unmount too', async () => {
    const data = pseudoRandomBytes('durability', SIZE_BYTES);
    const source = path.join(local, 'source.bin');
    await fsp.writeFile(source, data);

    const writer = spawn('python3', ['-c', WRITER, source, path.join(session.dir, 'lost.bin')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    writer.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    writer.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => writer.on('close', (code) => resolve(code)));
    try {
      expect(await waitFor(() => stdout.includes('written') || writer.exitCode !== null, 120_000), 'the writer finished writing').toBe(true);
      expect(stdout, stderr).toBe(`written ${SIZE_BYTES}\n`);
      await server.stop();
      writer.stdin.end('\n');
      expect(await exited, stderr).toBe(0);
    } finally {
      if (writer.exitCode === null && writer.pid !== undefined) process.kill(writer.pid, 'SIGKILL');
    }
    expect(stdout.split('\n').slice(1, 3)).toEqual([`fsync ${EIO}`, `close ${EIO}`]);

    await session.unmount();
    const files = await filesBelow(spoolDir);
    const records = files.filter((f) => f.endsWith('.json'));
    expect(records, files.join('\n')).toHaveLength(1);
    const recordPath = records[0] as string;
    const record = JSON.parse(await fsp.readFile(recordPath, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ bucket: BUCKET, key: 'lost.bin', sizeBytes: SIZE_BYTES, state: 'upload-failed', localRanges: [[0, SIZE_BYTES]] });
    const dataPath = recordPath.replace(/\.json$/, '.data');
    expect(files).toContain(dataPath);
    const kept = await fsp.readFile(dataPath);
    expect(kept.length).toBe(SIZE_BYTES);
    expect(sha256(kept)).toBe(sha256(data));
    // The log tells the user where the data is.
    expect(session.log()).toContain(dataPath);
  });
});

describe('--spool-size', () => {
  it('a write that would pass the spool capacity fails with ENOSPC; the spool is free again after close', async () => {
    const shared = s3Server();
    const bucket = await newBucket('spool-size');
    const client = makeClient(shared);
    try {
      await withMount({ bucket, s3: shared, extraArgs: ['--spool-size', '10M', '--spool-dir', path.join(local, 'small-spool')] }, async (small) => {
        const full = await runTool('dd', ['if=/dev/zero', `of=${path.join(small.dir, 'too-big.bin')}`, 'bs=1M', 'count=20', 'status=none']);
        expect(full.code).not.toBe(0);
        expect(full.stderr).toMatch(/No space left on device/);
        // What was written before the spool filled up is saved like any other data.
        expect((await headObject(client, bucket, 'too-big.bin'))?.sizeBytes).toBe(10 * MiB);
        await mustRun('dd', ['if=/dev/zero', `of=${path.join(small.dir, 'fits.bin')}`, 'bs=1M', 'count=8', 'status=none']);
        expect((await headObject(client, bucket, 'fits.bin'))?.sizeBytes).toBe(8 * MiB);
      });
      expect(await filesBelow(path.join(local, 'small-spool'))).toEqual([]);
    } finally {
      client.destroy();
    }
  });
});
