// A struggling server under a real mount, driven with real tools (cp, cat, dd, ls, sh appends):
// S3 error answers (503 SlowDown, 500), bodies reset or cut short in both directions, a server that
// goes silent, and one that is down for OUTAGE_S seconds. For each: no operation outlasts the bound
// the retry settings give, a caller gets EIO (or ETIMEDOUT) only when the fault outlasts every
// attempt, nothing written is lost (a close that failed leaves the bytes on the mount and the
// background retry puts them in the bucket, checked with the SDK), and the mount recovers by itself.
// The mount reaches the server through fault-proxy.ts (connections) in front of http-fault-proxy.ts
// (answers), so requests stay signed and untouched.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putObject, pseudoRandomBytes, sha256 } from '../support/fixtures.js';
import { listings, objectGets, puts, startFaultChain, type FaultChain, type HttpFault, type RequestLine } from '../support/http-fault-proxy.js';
import { isAlive, makeTestDir, mountBucket, removeTestDir, runCli, unmountAll, waitFor, type MountSession } from '../support/mount-session.js';
import { headObject, objectBytes, objectSha256 } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';
import { ScriptedWriter } from '../support/scripted-writer.js';
import { readAt, timedTool } from '../support/timed-io.js';
import type { MountStatus } from '../../src/control/status.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const EIO = 5;
const ETIMEDOUT = 110;

/** How long the server is down in the last test: a minute, long enough for several background retries. */
const OUTAGE_S = 60;
/** How long the server stays silent when a stall must outlast every attempt. */
const LONG_STALL_S = 12;
/** A stall the retries ride out: shorter than the attempts' combined timeouts. */
const SHORT_STALL_S = 3;

const ATTEMPTS = 3;
const REQUEST_TIMEOUT_S = 2;
const RETRY_MAX_DELAY_S = 1;
/** One S3 call that keeps failing: every attempt times out, with the longest wait between them. */
const CALL_BOUND_S = ATTEMPTS * (REQUEST_TIMEOUT_S + RETRY_MAX_DELAY_S);
/**
 * What one operation may take when every call fails: a read chains a lookup, a GET and the
 * resumes of its body; a close the calls of its upload (small files here, so the extra time an
 * upload request gets for its size is a fraction of a second). A hang would last until the test's
 * own timeout.
 */
const OPERATION_BOUND_S = 3 * CALL_BOUND_S;
/** The background retry of a failed upload waits 1 s, doubling up to 60 s. */
const BACKGROUND_RETRY_BOUND_MS = 60_000;

const MOUNT_ARGS = [
  ...['--max-attempts', String(ATTEMPTS), '--request-timeout', String(REQUEST_TIMEOUT_S)],
  ...['--connect-timeout', '1', '--retry-delay', '0.2', '--retry-max-delay', String(RETRY_MAX_DELAY_S)],
  // Small caches and no kernel page cache: every read below goes to the server.
  ...['--block-size', '64K', '--read-ahead', '512K', '--cache-size', '1M', '--no-kernel-cache'],
  ...['--part-size', '5M'],
];

const server = s3Server();
const client = makeClient(server);
const data = pseudoRandomBytes('outage data', 4 * MiB);
const writers: ScriptedWriter[] = [];
let chain: FaultChain;
let mount: MountSession;
let bucket: string;
let local: string;

beforeAll(async () => {
  bucket = await newBucket('outage');
  await putObject(client, bucket, 'data.bin', data);
  for (const name of ['a.txt', 'b.txt', 'c.txt']) await putObject(client, bucket, `docs/${name}`, `${name}\n`);
  local = await makeTestDir('outage-local');
  chain = await startFaultChain(server.endpoint);
  mount = await mountBucket({ bucket, s3: { ...server, endpoint: chain.endpoint }, extraArgs: MOUNT_ARGS });
});

afterAll(async () => {
  for (const w of writers) w.kill();
  await unmountAll();
  await chain?.close();
  if (local) await removeTestDir(local);
  client.destroy();
});

/** Every fault injected by a test ends with it, whatever happened. */
function healthy(): void {
  chain.http.clear();
  chain.tcp.setMode('pass');
}

const on = (name: string) => path.join(mount.dir, name);

/** A local source file of pseudo-random bytes. */
async function source(name: string, sizeBytes: number): Promise<{ file: string; data: Buffer }> {
  const bytes = pseudoRandomBytes(name, sizeBytes);
  const file = path.join(local, name);
  await fsp.writeFile(file, bytes);
  return { file, data: bytes };
}

function writer(): ScriptedWriter {
  const w = new ScriptedWriter();
  writers.push(w);
  return w;
}

/** Waits until the bucket holds exactly `bytes` under `key` (another S3 client's view). */
async function reachesBucket(key: string, bytes: Buffer, timeoutMs = BACKGROUND_RETRY_BOUND_MS): Promise<boolean> {
  const want = sha256(bytes);
  return waitFor(async () => (await objectSha256(client, bucket, key).catch(() => '')) === want, timeoutMs, 500);
}

/** `cat FILE`: its exit code, the sha256 of what it printed, its stderr and its wall time. */
async function cat(file: string) {
  const r = await timedTool('cat', [file], { timeoutMs: 120_000 });
  return { code: r.code, digest: sha256(r.stdoutBytes), stderr: r.stderr, seconds: r.seconds };
}

/** What the daemon says of its uploads, from `bucketfs status --json`. */
async function uploads(): Promise<MountStatus['uploads']> {
  const r = await runCli(['status', '--json', mount.dir], { XDG_CACHE_HOME: path.join(path.dirname(mount.dir), 'cache') });
  const m = (JSON.parse(r.stdout) as { mounts: MountStatus[] }).mounts[0];
  if (!m) throw new Error(`bucketfs status: ${r.stdout} ${r.stderr}`);
  return m.uploads;
}

/**
 * Waits until the upload of `name` failed and waits for its background retry. A test that then
 * lets the server heal knows the retry is what uploads the file: the close failed, and so did the
 * upload of the release the kernel sends after it.
 */
async function untilRetrying(name: string): Promise<void> {
  const retrying = async () => (await uploads()).pending.some((p) => p.path === `/${name}` && p.state === 'retrying');
  if (!(await waitFor(retrying, 60_000, 200))) throw new Error(`no retry of ${name} pending:\n${mount.log().slice(-3000)}`);
}

/**
 * Appends `line N` to `file` with sh's `>>` every `everyMs`, `count` times, and reports the lines
 * whose `>>` succeeded (sh ignores an error of close, as most programs do: those bytes must still
 * reach the bucket).
 */
async function shAppends(file: string, count: number, everyMs: number): Promise<{ ok: string[]; failed: number; seconds: number }> {
  const script = `for i in $(seq 1 ${count}); do if echo "line $i" >> "$1"; then echo "ok line $i"; else echo "failed line $i"; fi; sleep ${everyMs / 1000}; done`;
  const r = await timedTool('sh', ['-c', script, 'sh', file], { timeoutMs: 300_000 });
  const out = r.stdout.trim().split('\n');
  return { ok: out.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3)), failed: out.filter((l) => l.startsWith('failed ')).length, seconds: r.seconds };
}

/** Runs `work` with `fault` on every request `match` picks; the fault ends with `work`. */
async function during<T>(fault: HttpFault, match: ((r: RequestLine) => boolean) | undefined, work: () => Promise<T>): Promise<T> {
  chain.http.inject({ fault, match });
  try {
    return await work();
  } finally {
    healthy();
  }
}

const slowDown: HttpFault = { kind: 'status', status: 503, code: 'SlowDown' };
const internalError: HttpFault = { kind: 'status', status: 500, code: 'InternalError' };

describe('S3 error answers', () => {
  it('a few 503 SlowDown and 500 answers are retried: cp, cat and ls succeed and the bucket holds the bytes', async () => {
    const src = await source('retried.bin', 3 * MiB + 11);
    const before = chain.http.faulted;
    try {
      chain.http.inject({ fault: slowDown, match: puts, count: ATTEMPTS - 1 });
      const cp = await timedTool('cp', [src.file, on('retried.bin')]);
      expect(cp.code, cp.stderr).toBe(0);
      expect(await objectSha256(client, bucket, 'retried.bin')).toBe(sha256(src.data));

      chain.http.inject({ fault: internalError, match: objectGets, count: ATTEMPTS - 1 });
      const read = await cat(on('data.bin'));
      expect(read.code, read.stderr).toBe(0);
      expect(read.digest).toBe(sha256(data));

      chain.http.inject({ fault: slowDown, match: listings, count: ATTEMPTS - 1 });
      const ls = await timedTool('ls', [on('docs')]);
      expect(ls.code, ls.stderr).toBe(0);
      expect(ls.stdout.split('\n').filter(Boolean)).toEqual(['a.txt', 'b.txt', 'c.txt']);
    } finally {
      healthy();
    }
    // Every fault was met, and answered by a retry.
    expect(chain.http.faulted - before).toBe(3 * (ATTEMPTS - 1));
  });

  it('500 on every request for a while: cat and ls fail with EIO within the bound, and work again afterwards', async () => {
    const [read, ls] = await during(internalError, undefined, async () => [await cat(on('data.bin')), await timedTool('ls', [on('docs')])]);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toMatch(/Input\/output error/);
    expect(read.seconds).toBeLessThan(OPERATION_BOUND_S);
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toMatch(/Input\/output error/);
    expect(ls.seconds).toBeLessThan(OPERATION_BOUND_S);
    expect(isAlive(mount.pid)).toBe(true);
    expect((await cat(on('data.bin'))).digest).toBe(sha256(data));
    expect((await timedTool('ls', [on('docs')])).stdout).toBe('a.txt\nb.txt\nc.txt\n');
  });

  it('SlowDown on every PUT for a while: cp fails with EIO at close, the bytes stay on the mount and reach the bucket by themselves', async () => {
    const src = await source('throttled.bin', 200 * KiB);
    await during(slowDown, puts, async () => {
      const cp = await timedTool('cp', [src.file, on('throttled.bin')]);
      expect(cp.code).not.toBe(0);
      expect(cp.stderr).toMatch(/Input\/output error/);
      expect(cp.seconds).toBeLessThan(OPERATION_BOUND_S);
      // On the mount, whole, though not in the bucket.
      expect((await cat(on('throttled.bin'))).digest).toBe(sha256(src.data));
      await untilRetrying('throttled.bin');
      expect(await headObject(client, bucket, 'throttled.bin')).toBeUndefined();
    });
    expect(await reachesBucket('throttled.bin', src.data), mount.log().slice(-3000)).toBe(true);
    expect(await waitFor(async () => (await uploads()).pendingRetries === 0, 10_000)).toBe(true);
  });

  it('sh >> appends while every PUT answers 503: each line sh wrote reaches the bucket, in order', async () => {
    await putObject(client, bucket, 'log.txt', 'line 0\n');
    const appends = await during(slowDown, puts, async () => {
      const appended = await shAppends(on('log.txt'), 12, 300);
      await untilRetrying('log.txt');
      expect((await objectBytes(client, bucket, 'log.txt')).toString()).toBe('line 0\n');
      return appended;
    });
    // Opens need no PUT, so every >> succeeds; the closes that failed leave their lines on the mount.
    expect(appends.failed).toBe(0);
    const want = ['line 0', ...appends.ok].join('\n') + '\n';
    expect(await reachesBucket('log.txt', Buffer.from(want)), (await objectBytes(client, bucket, 'log.txt')).toString()).toBe(true);
    expect(await fsp.readFile(on('log.txt'), 'utf8')).toBe(want);
  });
});

describe('bodies cut short', () => {
  const cuts: Extract<HttpFault, { kind: 'reset-response-body' | 'truncate-response-body' }>[] = [
    { kind: 'reset-response-body', afterBytes: 10_000 },
    { kind: 'truncate-response-body', afterBytes: 10_000 },
  ];

  it.each(cuts)('GET bodies cut a few times ($kind) are fetched again: cat gives the right bytes', async (fault) => {
    const before = chain.http.faulted;
    chain.http.inject({ fault, match: objectGets, count: 2 });
    try {
      const read = await cat(on('data.bin'));
      expect(read.code, read.stderr).toBe(0);
      expect(read.digest).toBe(sha256(data));
    } finally {
      healthy();
    }
    expect(chain.http.faulted - before).toBe(2);
  });

  it.each(cuts)('a listing cut short ($kind) is fetched again: ls shows every name', async (fault) => {
    const before = chain.http.faulted;
    chain.http.inject({ fault: { ...fault, afterBytes: 100 }, match: listings, count: 1 });
    try {
      const ls = await timedTool('ls', [on('docs')]);
      expect(ls.stderr).toBe('');
      expect(ls.stdout).toBe('a.txt\nb.txt\nc.txt\n');
    } finally {
      healthy();
    }
    expect(chain.http.faulted - before).toBe(1);
  });

  it('GET bodies cut on every attempt: cat fails with EIO within the bound, and reads again afterwards', async () => {
    const read = await during({ kind: 'reset-response-body', afterBytes: 10_000 }, objectGets, () => cat(on('data.bin')));
    expect(read.code).not.toBe(0);
    expect(read.stderr).toMatch(/Input\/output error/);
    expect(read.seconds).toBeLessThan(OPERATION_BOUND_S);
    expect((await cat(on('data.bin'))).digest).toBe(sha256(data));
  });

  it('PUT bodies reset a few times are sent again: cp succeeds and the bucket holds the bytes', async () => {
    const src = await source('reset-put.bin', 3 * MiB + 5);
    chain.http.inject({ fault: { kind: 'reset-request-body', afterBytes: 100_000 }, match: puts, count: ATTEMPTS - 1 });
    try {
      const cp = await timedTool('cp', [src.file, on('reset-put.bin')]);
      expect(cp.code, cp.stderr).toBe(0);
    } finally {
      healthy();
    }
    expect(await objectSha256(client, bucket, 'reset-put.bin')).toBe(sha256(src.data));
  });

  it('PUT bodies reset on every attempt: dd conv=fsync fails with EIO, and the bytes reach the bucket once the link holds', async () => {
    const src = await source('reset-always.bin', 150 * KiB);
    await during({ kind: 'reset-request-body', afterBytes: 50_000 }, puts, async () => {
      const dd = await timedTool('dd', [`if=${src.file}`, `of=${on('reset-always.bin')}`, 'bs=64K', 'conv=fsync', 'status=none']);
      expect(dd.code).not.toBe(0);
      expect(dd.stderr).toMatch(/Input\/output error/);
      expect(dd.seconds).toBeLessThan(OPERATION_BOUND_S);
      await untilRetrying('reset-always.bin');
      expect(await headObject(client, bucket, 'reset-always.bin')).toBeUndefined();
    });
    expect(await reachesBucket('reset-always.bin', src.data), mount.log().slice(-3000)).toBe(true);
  });
});

describe('a server that stops answering', () => {
  it(`silent for ${SHORT_STALL_S} s: cat and ls started during the stall succeed once it answers`, async () => {
    chain.tcp.setMode('blackhole');
    const stallEnds = new Promise<void>((resolve) => setTimeout(resolve, SHORT_STALL_S * 1000)).then(healthy);
    try {
      const [read, ls] = await Promise.all([cat(on('data.bin')), timedTool('ls', [on('docs')])]);
      expect(read.code, read.stderr).toBe(0);
      expect(read.digest).toBe(sha256(data));
      expect(ls.code, ls.stderr).toBe(0);
      expect(ls.stdout).toBe('a.txt\nb.txt\nc.txt\n');
    } finally {
      await stallEnds;
    }
  });

  it(`silent for ${LONG_STALL_S} s: reads fail with ETIMEDOUT or EIO and a close with EIO, within the bound; the bytes reach the bucket once it answers`, async () => {
    const src = await source('stalled.bin', 100 * KiB);
    const w = writer();
    expect(await w.send(`open f ${on('stalled.bin')}`)).toBe('ok open');
    expect(await w.send(`write f ${src.file}`)).toBe('ok write');
    chain.tcp.setMode('blackhole');
    const stallEnds = new Promise<void>((resolve) => setTimeout(resolve, LONG_STALL_S * 1000));
    try {
      const startedMs = Date.now();
      const [read, closed] = await Promise.all([readAt(on('data.bin'), 3 * MiB, 64 * KiB), w.send('close f')]);
      expect([EIO, ETIMEDOUT]).toContain(read.errno);
      expect(read.seconds).toBeLessThan(OPERATION_BOUND_S);
      expect(closed).toBe(`errno ${EIO} close`);
      expect((Date.now() - startedMs) / 1000).toBeLessThan(OPERATION_BOUND_S);
      await untilRetrying('stalled.bin');
    } finally {
      await stallEnds;
      healthy();
    }
    expect(await reachesBucket('stalled.bin', src.data), mount.log().slice(-3000)).toBe(true);
    expect((await readAt(on('data.bin'), 3 * MiB, 64 * KiB)).digest).toBe(sha256(data.subarray(3 * MiB, 3 * MiB + 64 * KiB)));
  });
});

describe('the server down and back', () => {
  it(`the server down for ${OUTAGE_S} s and back: the write that failed reaches the bucket by itself, every appended line too, and the mount works without a remount`, { timeout: (OUTAGE_S + 180) * 1000 }, async () => {
    // A multipart file: its first parts leave while the server is up, the rest when it is down.
    const big = await source('outage-big.bin', 12 * MiB + 77);
    await putObject(client, bucket, 'outage.log', 'line 0\n');
    const w = writer();
    expect(await w.send(`open big ${on('outage-big.bin')}`)).toBe('ok open');
    expect(await w.send(`write big ${big.file}`)).toBe('ok write');

    // sh appends a line every second from just before the outage to a few seconds past it: the
    // first close that fails keeps the file open on the mount, and later appends join it there.
    const appending = shAppends(on('outage.log'), OUTAGE_S + 8, 1000);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    chain.tcp.setMode('refuse');
    const downAtMs = Date.now();
    const backAt = new Promise<void>((resolve) => setTimeout(resolve, OUTAGE_S * 1000)).then(healthy);
    try {
      expect(await w.send('close big')).toBe(`errno ${EIO} close`);
      expect((Date.now() - downAtMs) / 1000).toBeLessThan(OPERATION_BOUND_S);
      const failures = await Promise.all([cat(on('data.bin')), timedTool('ls', [on('docs')]), timedTool('cp', [big.file, on('during-outage.bin')])]);
      for (const failed of failures) {
        expect(failed.code).not.toBe(0);
        expect(failed.stderr).toMatch(/Input\/output error/);
        expect(failed.seconds).toBeLessThan(OPERATION_BOUND_S);
      }
      // The file whose close failed is still on the mount, whole, and only a retry can upload it.
      expect((await cat(on('outage-big.bin'))).digest).toBe(sha256(big.data));
      await untilRetrying('outage-big.bin');
    } finally {
      await backAt;
    }
    const appends = await appending;
    expect(isAlive(mount.pid)).toBe(true);

    // Nothing written is lost: the background retry uploads it, and every line sh wrote is there.
    expect(await reachesBucket('outage-big.bin', big.data), mount.log().slice(-3000)).toBe(true);
    // An append whose open failed wrote nothing; every other one is in the bucket, in order.
    const want = ['line 0', ...appends.ok].join('\n') + '\n';
    expect(appends.ok.length).toBeGreaterThan(0);
    expect(await reachesBucket('outage.log', Buffer.from(want)), (await objectBytes(client, bucket, 'outage.log')).toString()).toBe(true);
    expect(await waitFor(async () => (await uploads()).pendingRetries === 0, 30_000)).toBe(true);

    // And the mount works again by itself: ls, cat, cp.
    expect((await timedTool('ls', [on('docs')])).stdout).toBe('a.txt\nb.txt\nc.txt\n');
    expect((await cat(on('data.bin'))).digest).toBe(sha256(data));
    const after = await source('after-outage.bin', 1 * MiB);
    expect((await timedTool('cp', [after.file, on('after-outage.bin')])).code).toBe(0);
    expect(await objectSha256(client, bucket, 'after-outage.bin')).toBe(sha256(after.data));
  });
});
