// The workloads as a user's programs run them on a mounted folder: real `ls`, `tar` and `rm`, and
// plain synchronous syscalls (one at a time, as a shell loop or a simple tool issues them). Each
// checks what it saw (entry counts, sizes, bytes read), so a fast wrong answer is a failure.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pseudoRandomBytes } from '../test/support/fixtures.js';
import { metric, nowMs, type MetricEvent, type WorkerSpec } from './worker-protocol.js';
import { LAYOUT, PARALLEL_READERS, RANDOM_READ_BYTES, READ_CHUNK_BYTES } from './workloads.js';

export type Emit = (event: MetricEvent) => void;

/** Runs a program to completion; resolves with the number of lines it printed on stdout. */
function runCounting(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(lines);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** `ls -l DIR`, checking it printed `expected` entries (plus its "total" line). */
async function lsLong(dir: string, expected: number): Promise<void> {
  const lines = await runCounting('ls', ['-l', dir]);
  if (lines !== expected + 1) throw new Error(`ls -l ${dir} printed ${lines - 1} entries, expected ${expected}`);
}

function readWhole(file: string, buffer: Buffer): number {
  const fd = fs.openSync(file, 'r');
  try {
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return total;
      total += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function readQuarter(file: string, offset: number, length: number): Promise<number> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(READ_CHUNK_BYTES);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - done), offset + done);
      if (bytesRead === 0) throw new Error(`${file} ended at ${offset + done}, expected ${offset + length}`);
      done += bytesRead;
    }
    return done;
  } finally {
    await handle.close();
  }
}

/** A deterministic xorshift generator: every system reads the same offsets. */
export function randomOffsets(seed: number, sizeBytes: number, alignBytes: number): () => number {
  let state = seed >>> 0 || 1;
  const slots = Math.floor(sizeBytes / alignBytes);
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state % slots) * alignBytes;
  };
}

/** A pool of pseudo-random bytes written round and round, each chunk stamped with its index so no two are equal. */
export function writeChunk(pool: Buffer, index: number, chunkBytes: number): Buffer {
  const start = (index * chunkBytes) % pool.length;
  const chunk = pool.subarray(start, start + chunkBytes);
  chunk.writeBigUInt64BE(BigInt(index), 0);
  return chunk;
}

export const WRITE_POOL_BYTES = 8 * 1024 * 1024;

export async function runOnMount(spec: WorkerSpec, root: string, emit: Emit): Promise<void> {
  const { scale } = spec;
  const smallDir = path.join(root, LAYOUT.smallFolder);
  const bigFile = path.join(root, LAYOUT.bigFile);
  const runPath = path.join(root, LAYOUT.runPath(spec.workload, spec.tag));
  switch (spec.workload) {
    case 'ls-big': {
      const dir = path.join(root, LAYOUT.bigFolder);
      let start = nowMs();
      await lsLong(dir, scale.bigFolderObjects);
      emit(metric('ls-big-cold', start));
      start = nowMs();
      await lsLong(dir, scale.bigFolderObjects);
      emit(metric('ls-big-warm', start));
      return;
    }
    case 'ls-files': {
      const start = nowMs();
      await lsLong(smallDir, scale.smallFiles);
      emit(metric('ls-files', start));
      return;
    }
    case 'lstat': {
      const start = nowMs();
      for (let i = 0; i < scale.smallFiles; i++) {
        const st = fs.lstatSync(path.join(smallDir, LAYOUT.smallName(i)));
        if (!st.isFile() || st.size !== scale.smallFileBytes) throw new Error(`lstat ${LAYOUT.smallName(i)}: not a file of ${scale.smallFileBytes} bytes`);
      }
      emit(metric('lstat', start));
      return;
    }
    case 'read-small': {
      const buffer = Buffer.alloc(64 * 1024);
      const start = nowMs();
      for (let i = 0; i < scale.smallFiles; i++) {
        const n = readWhole(path.join(smallDir, LAYOUT.smallName(i)), buffer);
        if (n !== scale.smallFileBytes) throw new Error(`${LAYOUT.smallName(i)}: read ${n} bytes, expected ${scale.smallFileBytes}`);
      }
      emit(metric('read-small', start));
      return;
    }
    case 'seq-read': {
      const start = nowMs();
      const n = readWhole(bigFile, Buffer.alloc(READ_CHUNK_BYTES));
      if (n !== scale.bigFileBytes) throw new Error(`${LAYOUT.bigFile}: read ${n} bytes, expected ${scale.bigFileBytes}`);
      emit(metric('seq-read', start, n));
      return;
    }
    case 'par-read': {
      const quarter = scale.bigFileBytes / PARALLEL_READERS;
      const start = nowMs();
      const done = await Promise.all(Array.from({ length: PARALLEL_READERS }, (_, i) => readQuarter(bigFile, i * quarter, quarter)));
      emit(metric('par-read', start, done.reduce((a, b) => a + b, 0)));
      return;
    }
    case 'rand-read': {
      const next = randomOffsets(7, scale.bigFileBytes, RANDOM_READ_BYTES);
      const buffer = Buffer.alloc(RANDOM_READ_BYTES);
      const start = nowMs();
      const fd = fs.openSync(bigFile, 'r');
      const endAt = start + scale.randomReadSeconds * 1000;
      let reads = 0;
      try {
        while (nowMs() < endAt) {
          const offset = next();
          const n = fs.readSync(fd, buffer, 0, RANDOM_READ_BYTES, offset);
          if (n !== RANDOM_READ_BYTES) throw new Error(`pread at ${offset} returned ${n} bytes`);
          reads++;
        }
      } finally {
        fs.closeSync(fd);
      }
      emit(metric('rand-read', start, reads));
      return;
    }
    case 'seq-write': {
      const pool = pseudoRandomBytes(`write ${spec.tag}`, WRITE_POOL_BYTES);
      const start = nowMs();
      const fd = fs.openSync(runPath, 'w');
      try {
        for (let i = 0; i * READ_CHUNK_BYTES < scale.bigFileBytes; i++) fs.writeSync(fd, writeChunk(pool, i, READ_CHUNK_BYTES));
      } finally {
        fs.closeSync(fd);
      }
      emit(metric('seq-write', start, scale.bigFileBytes));
      return;
    }
    case 'creates': {
      const pool = pseudoRandomBytes(`creates ${spec.tag}`, WRITE_POOL_BYTES);
      const start = nowMs();
      fs.mkdirSync(runPath);
      for (let i = 0; i < scale.smallFiles; i++) fs.writeFileSync(path.join(runPath, LAYOUT.smallName(i)), writeChunk(pool, i, scale.smallFileBytes));
      emit(metric('creates', start));
      return;
    }
    case 'untar': {
      const start = nowMs();
      fs.mkdirSync(runPath);
      await runCounting('tar', ['--no-same-owner', '-xf', spec.tarball, '-C', runPath]);
      emit(metric('untar', start));
      return;
    }
    case 'rm-rf': {
      const start = nowMs();
      await runCounting('rm', ['-rf', runPath]);
      emit(metric('rm-rf', start));
      return;
    }
  }
}
