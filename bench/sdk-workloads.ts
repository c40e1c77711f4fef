// The direct-SDK bound: the same work as each mounted workload, done the best way a program that
// talks S3 itself could (listing pages instead of per-name stats, parallel ranged GETs, a multipart
// upload with parts in flight, DeleteObjects batches). Operations a filesystem receives one at a
// time from its caller (stat, open/read/close, create, tar's files) stay one at a time here too.

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pseudoRandomBytes } from '../test/support/fixtures.js';
import { WRITE_POOL_BYTES, randomOffsets, writeChunk, type Emit } from './fs-workloads.js';
import { deletePrefix, listPages } from './sdk-client.js';
import { metric, nowMs, type TarEntry, type WorkerSpec } from './worker-protocol.js';
import {
  LAYOUT,
  PARALLEL_READERS,
  RANDOM_READ_BYTES,
  READ_CHUNK_BYTES,
  SDK_PART_BYTES,
  SDK_PARTS_IN_FLIGHT,
  SDK_RANGE_BYTES,
  SDK_RANGES_IN_FLIGHT,
} from './workloads.js';

async function drain(body: unknown): Promise<number> {
  let n = 0;
  for await (const chunk of body as Readable) n += (chunk as Buffer).length;
  return n;
}

async function listCount(client: S3Client, bucket: string, prefix: string, expected: number): Promise<void> {
  let n = 0;
  for await (const page of listPages(client, bucket, prefix, '/')) n += page.objects.length + page.prefixes;
  if (n !== expected) throw new Error(`listing ${prefix} gave ${n} entries, expected ${expected}`);
}

async function getRange(client: S3Client, bucket: string, key: string, offset: number, length: number): Promise<number> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
  const n = await drain(out.Body);
  if (n !== length) throw new Error(`GET ${key} ${offset}+${length} returned ${n} bytes`);
  return n;
}

/** Reads [offset, offset+length) with `inFlight` ranged GETs at a time. */
async function readRanges(client: S3Client, bucket: string, key: string, offset: number, length: number, inFlight: number): Promise<number> {
  let next = offset;
  let total = 0;
  const lane = async (): Promise<void> => {
    while (next < offset + length) {
      const at = next;
      const size = Math.min(SDK_RANGE_BYTES, offset + length - at);
      next += size;
      // Not `total += await ...`: that reads `total` before the await and loses other lanes' bytes.
      const n = await getRange(client, bucket, key, at, size);
      total += n;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total;
}

export async function runOnSdk(spec: WorkerSpec, client: S3Client, bucket: string, emit: Emit): Promise<void> {
  const { scale } = spec;
  const small = (i: number) => `${LAYOUT.smallFolder}/${LAYOUT.smallName(i)}`;
  const runKey = LAYOUT.runPath(spec.workload, spec.tag);
  switch (spec.workload) {
    case 'ls-big': {
      for (const name of ['ls-big-cold', 'ls-big-warm']) {
        const start = nowMs();
        await listCount(client, bucket, `${LAYOUT.bigFolder}/`, scale.bigFolderObjects);
        emit(metric(name, start));
      }
      return;
    }
    case 'ls-files': {
      const start = nowMs();
      await listCount(client, bucket, `${LAYOUT.smallFolder}/`, scale.smallFiles);
      emit(metric('ls-files', start));
      return;
    }
    case 'lstat': {
      const start = nowMs();
      for (let i = 0; i < scale.smallFiles; i++) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: small(i) }));
        if (head.ContentLength !== scale.smallFileBytes) throw new Error(`HEAD ${small(i)}: ${head.ContentLength} bytes`);
      }
      emit(metric('lstat', start));
      return;
    }
    case 'read-small': {
      const start = nowMs();
      for (let i = 0; i < scale.smallFiles; i++) {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: small(i) }));
        const n = await drain(out.Body);
        if (n !== scale.smallFileBytes) throw new Error(`GET ${small(i)}: ${n} bytes`);
      }
      emit(metric('read-small', start));
      return;
    }
    case 'seq-read': {
      const start = nowMs();
      const n = await readRanges(client, bucket, LAYOUT.bigFile, 0, scale.bigFileBytes, SDK_RANGES_IN_FLIGHT);
      if (n !== scale.bigFileBytes) throw new Error(`read ${n} bytes of ${LAYOUT.bigFile}, expected ${scale.bigFileBytes}`);
      emit(metric('seq-read', start, n));
      return;
    }
    case 'par-read': {
      const quarter = scale.bigFileBytes / PARALLEL_READERS;
      const perReader = Math.max(1, SDK_RANGES_IN_FLIGHT / PARALLEL_READERS);
      const start = nowMs();
      const done = await Promise.all(
        Array.from({ length: PARALLEL_READERS }, (_, i) => readRanges(client, bucket, LAYOUT.bigFile, i * quarter, quarter, perReader)),
      );
      const n = done.reduce((a, b) => a + b, 0);
      if (n !== scale.bigFileBytes) throw new Error(`read ${n} bytes of ${LAYOUT.bigFile}, expected ${scale.bigFileBytes}`);
      emit(metric('par-read', start, n));
      return;
    }
    case 'rand-read': {
      const next = randomOffsets(7, scale.bigFileBytes, RANDOM_READ_BYTES);
      const start = nowMs();
      const endAt = start + scale.randomReadSeconds * 1000;
      let reads = 0;
      while (nowMs() < endAt) {
        await getRange(client, bucket, LAYOUT.bigFile, next(), RANDOM_READ_BYTES);
        reads++;
      }
      emit(metric('rand-read', start, reads));
      return;
    }
    case 'seq-write': {
      const pool = pseudoRandomBytes(`write ${spec.tag}`, WRITE_POOL_BYTES);
      const chunks = function* (): Generator<Buffer> {
        // Copies: the uploader may still hold a chunk when the pool comes round to its bytes again.
        for (let i = 0; i * READ_CHUNK_BYTES < scale.bigFileBytes; i++) yield Buffer.from(writeChunk(pool, i, READ_CHUNK_BYTES));
      };
      const start = nowMs();
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: runKey, Body: Readable.from(chunks()) },
        partSize: SDK_PART_BYTES,
        queueSize: SDK_PARTS_IN_FLIGHT,
      });
      await upload.done();
      emit(metric('seq-write', start, scale.bigFileBytes));
      return;
    }
    case 'creates': {
      const pool = pseudoRandomBytes(`creates ${spec.tag}`, WRITE_POOL_BYTES);
      const start = nowMs();
      for (let i = 0; i < scale.smallFiles; i++) {
        const body = writeChunk(pool, i, scale.smallFileBytes);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${runKey}/${LAYOUT.smallName(i)}`, Body: body }));
      }
      emit(metric('creates', start));
      return;
    }
    case 'untar': {
      const entries = JSON.parse(fs.readFileSync(spec.tarManifest, 'utf8')) as TarEntry[];
      const start = nowMs();
      for (const entry of entries) {
        const body = fs.readFileSync(path.join(spec.tarTree, entry.path));
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${runKey}/${entry.path}`, Body: body }));
      }
      emit(metric('untar', start));
      return;
    }
    case 'rm-rf': {
      const start = nowMs();
      const deleted = await deletePrefix(client, bucket, `${runKey}/`);
      if (deleted !== scale.smallFiles) throw new Error(`deleted ${deleted} keys below ${runKey}/, expected ${scale.smallFiles}`);
      emit(metric('rm-rf', start));
      return;
    }
  }
}
