// The data the workloads need, written with the SDK straight to the server (never through a
// system under test, never through the delay proxy): the read-only fixtures once per server, the
// folder `rm -rf` deletes before each run, and the deterministic tarball (generated once per
// harness run). Also the SDK-side check that a write is in the bucket, which is when a durable
// workload's clock stops.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { forEachLimited, pseudoRandomBytes, uploadPseudoRandom } from '../test/support/fixtures.js';
import { deletePrefix, listObjects } from './sdk-client.js';
import type { Scale } from './scale.js';
import type { TarEntry } from './worker-protocol.js';
import { BIG_FOLDER_OBJECT_BYTES, LAYOUT, type WorkloadId } from './workloads.js';

const PUTS_IN_FLIGHT = 32;

async function putMany(client: S3Client, bucket: string, keys: readonly string[], body: (i: number) => Buffer): Promise<void> {
  const indexed = keys.map((key, i) => ({ key, i }));
  await forEachLimited(indexed, PUTS_IN_FLIGHT, async ({ key, i }) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(i) }));
  });
}

function smallBody(scale: Scale, seed: string): (i: number) => Buffer {
  const pool = pseudoRandomBytes(seed, scale.smallFileBytes * 64);
  return (i) => {
    const start = (i % 64) * scale.smallFileBytes;
    const body = Buffer.from(pool.subarray(start, start + scale.smallFileBytes));
    body.writeUInt32BE(i, 0);
    return body;
  };
}

/** The read-only fixtures the selected workloads need, written in parallel. */
export async function populate(client: S3Client, bucket: string, scale: Scale, workloads: readonly WorkloadId[]): Promise<void> {
  const needs = (...ids: WorkloadId[]) => ids.some((id) => workloads.includes(id));
  if (needs('ls-big')) {
    const keys = Array.from({ length: scale.bigFolderObjects }, (_, i) => `${LAYOUT.bigFolder}/${LAYOUT.bigFolderName(i)}`);
    const body = Buffer.alloc(BIG_FOLDER_OBJECT_BYTES, 'x');
    await putMany(client, bucket, keys, () => body);
  }
  if (needs('ls-files', 'lstat', 'read-small')) {
    const keys = Array.from({ length: scale.smallFiles }, (_, i) => `${LAYOUT.smallFolder}/${LAYOUT.smallName(i)}`);
    await putMany(client, bucket, keys, smallBody(scale, 'small files'));
  }
  if (needs('seq-read', 'par-read', 'rand-read')) {
    await uploadPseudoRandom(client, bucket, LAYOUT.bigFile, 'big file', scale.bigFileBytes);
  }
}

/** Before a run: the folder `rm -rf` deletes (markerless, as another S3 client would leave it). */
export async function prepareRun(client: S3Client, bucket: string, scale: Scale, workload: WorkloadId, tag: string): Promise<void> {
  if (workload !== 'rm-rf') return;
  const dir = LAYOUT.runPath(workload, tag);
  const keys = Array.from({ length: scale.smallFiles }, (_, i) => `${dir}/${LAYOUT.smallName(i)}`);
  await putMany(client, bucket, keys, smallBody(scale, `rm ${tag}`));
}

/**
 * After a run: whatever it wrote (or failed to delete) goes, so the bucket stays as populated.
 * Resolves true when the run had written anything (so the server may have space to reclaim).
 */
export async function cleanRun(client: S3Client, bucket: string, workload: WorkloadId, tag: string): Promise<boolean> {
  const name = LAYOUT.runPath(workload, tag);
  if (name === '') return false;
  await deletePrefix(client, bucket, name);
  return true;
}

const isMarker = (key: string) => key.endsWith('/') || key.endsWith('_$folder$');

/**
 * Is the run's write in the bucket? undefined when yes, else what is still missing. `tarEntries`
 * is the tarball's file list (for untar).
 */
export async function missingFromBucket(
  client: S3Client,
  bucket: string,
  scale: Scale,
  workload: WorkloadId,
  tag: string,
  tarEntries: readonly TarEntry[],
): Promise<string | undefined> {
  const name = LAYOUT.runPath(workload, tag);
  switch (workload) {
    case 'seq-write': {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: name }));
        return head.ContentLength === scale.bigFileBytes ? undefined : `${name} has ${head.ContentLength} of ${scale.bigFileBytes} bytes`;
      } catch (e) {
        if ((e as { name?: string }).name === 'NotFound') return `${name} is not in the bucket`;
        throw e;
      }
    }
    case 'creates': {
      const objects = await listObjects(client, bucket, `${name}/`);
      const complete = objects.filter((o) => !isMarker(o.Key ?? '') && o.Size === scale.smallFileBytes).length;
      return complete === scale.smallFiles ? undefined : `${complete} of ${scale.smallFiles} files in the bucket`;
    }
    case 'untar': {
      const sizes = new Map((await listObjects(client, bucket, `${name}/`)).map((o) => [o.Key ?? '', o.Size ?? -1]));
      const missing = tarEntries.filter((e) => sizes.get(`${name}/${e.path}`) !== e.sizeBytes).length;
      return missing === 0 ? undefined : `${missing} of ${tarEntries.length} files not (fully) in the bucket`;
    }
    case 'rm-rf': {
      const left = (await listObjects(client, bucket, `${name}/`)).length;
      return left === 0 ? undefined : `${left} keys left below ${name}/`;
    }
    default:
      return undefined;
  }
}

/**
 * A source-tree-like tarball of `fileCount` files: about 20 files per folder, three levels deep,
 * sizes from 100 bytes to 64 KiB (most small), contents and sizes from a fixed seed, and tar run
 * with sorted names, fixed owner and time: the same bytes on every machine.
 */
export function makeTarball(dir: string, fileCount: number): { tarball: string; tree: string; manifest: string; entries: TarEntry[] } {
  const tree = path.join(dir, 'tree-src');
  const top = 'tree';
  fs.rmSync(tree, { recursive: true, force: true });
  let state = createHash('sha256').update('tarball').digest().readUInt32BE(0) || 1;
  const random = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
  const pool = pseudoRandomBytes('tarball contents', 1024 * 1024);
  for (let i = 0; i < fileCount; i++) {
    const folder = Math.floor(i / 20);
    const rel = path.join(top, `d${Math.floor(folder / 100)}`, `d${Math.floor(folder / 10) % 10}`, `d${folder % 10}`, `file${i}.txt`);
    const size = Math.round(100 * Math.pow(655.36, random() * random()));
    const start = Math.floor(random() * (pool.length - size));
    fs.mkdirSync(path.join(tree, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(tree, rel), pool.subarray(start, start + size));
  }
  const tarball = path.join(dir, 'tree.tar');
  const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000', '-cf', tarball, '-C', tree, top], {
    encoding: 'utf8',
  });
  if (tar.status !== 0) throw new Error(`tar -cf failed: ${tar.stderr}`);
  const listing = spawnSync('tar', ['-tvf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (listing.status !== 0) throw new Error(`tar -tvf failed: ${listing.stderr}`);
  // Lines look like "-rw-r--r-- 0/0  1234 2023-11-14 22:13 tree/d0/d0/d0/file0.txt"; folders start with 'd'.
  const entries: TarEntry[] = listing.stdout
    .split('\n')
    .filter((line) => line.startsWith('-'))
    .map((line) => {
      const fields = line.split(/\s+/);
      return { sizeBytes: Number(fields[2]), path: fields.slice(5).join(' ') };
    });
  if (entries.length !== fileCount) throw new Error(`the tarball lists ${entries.length} files, expected ${fileCount}`);
  const manifest = path.join(dir, 'tree.json');
  fs.writeFileSync(manifest, JSON.stringify(entries));
  return { tarball, tree, manifest, entries };
}
