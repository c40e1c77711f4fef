// The demo (`npm run demo`): a local s3rver holding a `demo` bucket of sample files, mounted by the
// real CLI in the foreground. Ctrl-C or SIGTERM unmounts first, then stops the server, both by PID.
// `--check` mounts, prints `ls -l` and the README read through the mount, and exits 0 only if they are right.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { forEachLimited, pseudoRandomBytes, putObject, sha256 } from './fixtures.js';
import { makeTestDir, mountBucket, mustRun, removeTestDir, type MountSession } from './mount-session.js';
import { createBucket, makeClient, startS3Server, type S3ServerHandle } from './s3-server.js';

const BUCKET = 'demo';
const README = `Welcome to bucketfs.

This folder is the S3 bucket "${BUCKET}" on a local s3rver, mounted with FUSE by the real bucketfs CLI.
Every file here is an S3 object: ls, cat, find, grep, cp and your editor work as on any folder.
Writes go to the bucket when a file is closed.
`;
const RANDOM_BYTES = 4 * 1024 * 1024;
const RANDOM = pseudoRandomBytes('demo random', RANDOM_BYTES);
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** A small gradient image in binary PPM, which any image viewer opens. */
function ppm(width: number, height: number, hue: number): Buffer {
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`, 'ascii');
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (hue * 40 + (x * 255) / width) & 255;
      pixels[i + 1] = ((y * 255) / height) & 255;
      pixels[i + 2] = (255 - hue * 30) & 255;
    }
  }
  return Buffer.concat([header, pixels]);
}

async function uploadSamples(client: S3Client): Promise<void> {
  const day = Date.UTC(2024, 6, 1) / 1000;
  const objects: [string, Buffer | string, Record<string, string>?][] = [
    ['README.txt', README],
    ['docs/changelog.txt', '0.1.0 first demo\n'],
    ['docs/guide/intro.md', '# Intro\n\nMount a bucket: `bucketfs mount BUCKET DIR`.\n'],
    ['docs/guide/advanced/tips.md', '# Tips\n\nUse `bucket:prefix` to mount part of a bucket.\n'],
    ['data/random-4MiB.bin', RANDOM],
    // Stored with s3fs-style metadata, so `ls -l photos` shows camera dates and a private mode.
    ...Array.from({ length: 6 }, (_, i): [string, Buffer, Record<string, string>] => [
      `photos/sunset-${String(i + 1).padStart(2, '0')}.ppm`,
      ppm(320, 240, i),
      { mtime: String(day + i * 86_400), mode: String(S_IFREG | 0o600) },
    ]),
    ['latest-photo', 'photos/sunset-06.ppm', { mode: String(S_IFLNK | 0o777) }],
  ];
  await forEachLimited(objects, 4, ([key, body, metadata]) => putObject(client, BUCKET, key, body, metadata));
}

function instructions(server: S3ServerHandle, serverPid: string, session: MountSession): string {
  const d = session.dir;
  return [
    '',
    `bucketfs demo: s3://${BUCKET} on ${server.endpoint} (s3rver${serverPid}) is mounted at`,
    `  ${d}   (bucketfs daemon pid ${session.pid})`,
    '',
    'Try, in another terminal:',
    `  ls -l ${d}`,
    `  cat ${d}/README.txt`,
    `  find ${d}/docs`,
    `  ls -l ${d}/photos            (dates and modes come from x-amz-meta-mtime / -mode)`,
    `  readlink ${d}/latest-photo   (a symlink stored the way s3fs stores them)`,
    `  sha256sum ${d}/data/random-4MiB.bin   (expect ${sha256(RANDOM)})`,
    `  echo hi > ${d}/note.txt && cat ${d}/note.txt`,
    '',
    'Press Ctrl-C to unmount and stop the server.',
    '',
  ].join('\n');
}

/** `--check`: the README and the listing read through the mount must be what was uploaded. */
async function check(session: MountSession): Promise<boolean> {
  const listing = (await mustRun('ls', ['-l', session.dir])).stdout;
  const readme = (await mustRun('cat', [path.join(session.dir, 'README.txt')])).stdout;
  process.stdout.write(`$ ls -l ${session.dir}\n${listing}\n$ cat ${path.join(session.dir, 'README.txt')}\n${readme}`);
  const names = ['README.txt', 'data', 'docs', 'latest-photo', 'photos'];
  const missing = names.filter((name) => !new RegExp(` ${name.replace('.', '\\.')}( ->.*)?$`, 'm').test(listing));
  if (missing.length > 0) process.stderr.write(`demo check: ls -l lacks ${missing.join(', ')}\n`);
  if (readme !== README) process.stderr.write('demo check: README.txt read through the mount differs from the uploaded one\n');
  return missing.length === 0 && readme === README;
}

async function main(): Promise<number> {
  // The SDK's multi-line Node-version notice would bury the instructions (the CLI silences it too).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const checkOnly = process.argv.slice(2).includes('--check');
  // Listening from the start: a Ctrl-C during set-up must still lead to the clean-up below.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('Ctrl-C'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const root = await makeTestDir('demo');
  const server = await startS3Server('s3rver', path.join(root, 's3'));
  // Should the demo die without its finally (an uncaught error), the server must not outlive it; the
  // mount session has the same last resort. A closed stdout (`| head`) must not stop the clean-up.
  process.once('exit', () => server.stopSync());
  process.stdout.on('error', () => undefined);
  const serverPid = await fsp
    .readFile(path.join(root, 's3', 's3rver.pid'), 'utf8')
    .then((t) => `, pid ${t.trim()}`)
    .catch(() => '');
  let session: MountSession | undefined;
  try {
    const client = makeClient(server);
    try {
      await createBucket(server, BUCKET);
      await uploadSamples(client);
    } finally {
      client.destroy();
    }
    session = await mountBucket({ bucket: BUCKET, s3: server, extraArgs: ['--stat-ttl', '1', '--negative-ttl', '1'] });
    process.stdout.write(`mounted s3://${BUCKET} at ${session.dir} (bucketfs pid ${session.pid}; s3rver${serverPid})\n`);
    if (checkOnly) return (await check(session)) ? 0 : 1;

    process.stdout.write(instructions(server, serverPid, session));
    const daemon = session;
    const reason = await Promise.race([stopRequested, daemon.ended.then(() => 'the bucketfs daemon exited')]);
    process.stdout.write(`\n${reason}: unmounting and stopping the server\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    return 1;
  } finally {
    try {
      if (session) await session.unmount();
    } finally {
      await server.stop();
      await removeTestDir(root);
    }
    process.stdout.write('demo: unmounted and stopped\n');
  }
}

process.exitCode = await main();
