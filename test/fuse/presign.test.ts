// `bucketfs url`: a presigned GET of a file in a mount, fetched with a real curl, gives its bytes; a
// presigned PUT (--put) taken by curl -T replaces (or creates) the object, and the new bytes read back
// through the mount. A directory, a path outside every mount and an expiry past 7 days are refused
// in one line each; the daemon signs, so the CLI needs no credentials of its own.

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETFS_BIN, cliEnv, makeTestDir, mountBucket, mustRun, removeTestDir, runCli, runTool, unmountAll, waitFor, type MountSession } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';

const server = s3Server();
let session: MountSession;
let local: string;

beforeAll(async () => {
  session = await mountBucket({ bucket: await newBucket('presign'), s3: server });
  local = await makeTestDir('presign');
});

afterAll(async () => {
  await unmountAll();
  if (local) await removeTestDir(local);
});

/** `bucketfs url ARGS` as the mount's user, without any S3 keys: only the daemon has them. */
function url(args: readonly string[]) {
  const env = cliEnv(server, path.dirname(session.dir), { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
  return runCli(['url', ...args], env, 60_000);
}

describe('bucketfs url', () => {
  it('prints a presigned GET URL that curl downloads the file with', async () => {
    const data = randomBytes(300_000);
    await fsp.mkdir(path.join(session.dir, 'docs'));
    await fsp.writeFile(path.join(session.dir, 'docs', 'report 1.bin'), data);
    const r = await url([path.join(session.dir, 'docs', 'report 1.bin'), '--expires', '10m']);
    expect(r.code, r.stderr).toBe(0);
    const link = r.stdout.trim();
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.+X-Amz-Expires=600/);
    expect(r.stdout.split('\n')).toHaveLength(2);
    const got = await mustRun('curl', ['-sS', '--fail', link]);
    expect(got.stdoutBytes.equals(data)).toBe(true);
    // A relative path works too, from the folder it is relative to.
    const env = { ...process.env, ...cliEnv(server, path.dirname(session.dir)) };
    const relative = await runTool(process.execPath, [BUCKETFS_BIN, 'url', 'report 1.bin'], { cwd: path.join(session.dir, 'docs'), env });
    expect(relative.code, relative.stderr).toBe(0);
    expect((await mustRun('curl', ['-sS', '--fail', relative.stdout.trim()])).stdoutBytes.equals(data)).toBe(true);
  });

  it('--put gives a URL that curl -T uploads new bytes with, which then read back through the mount', async () => {
    const target = path.join(session.dir, 'docs', 'uploaded.bin');
    const source = path.join(local, 'upload.bin');
    const data = randomBytes(200_000);
    await fsp.writeFile(source, data);
    const created = await url([target, '--put']);
    expect(created.code, created.stderr).toBe(0);
    expect((await runTool('curl', ['-sS', '--fail', '-T', source, created.stdout.trim()])).code).toBe(0);
    expect((await fsp.readFile(target)).equals(data)).toBe(true);

    // Again over the file that now exists: a new version replaces it.
    const replaced = Buffer.from('a new version\n');
    await fsp.writeFile(source, replaced);
    const again = await url([target, '--put', '--expires', '90s']);
    expect(again.code, again.stderr).toBe(0);
    expect((await runTool('curl', ['-sS', '--fail', '-T', source, again.stdout.trim()])).code).toBe(0);
    // Another client's change: the mount sees it once the kernel's attribute cache (1 s) has expired.
    expect(await waitFor(async () => (await fsp.readFile(target, 'utf8')) === 'a new version\n', 10_000, 250)).toBe(true);
  });

  it('refuses a directory, a path outside every mount, a missing file and an expiry past 7 days, in one line each', async () => {
    const cases: [string[], RegExp][] = [
      [[session.dir], /is a directory: a presigned URL is for one file's object$/],
      [[path.join(session.dir, 'docs')], /is a directory/],
      [[path.join(local, 'upload.bin')], /is not inside a bucketfs mount of this user \(bucketfs status lists them\)$/],
      [[path.join(session.dir, 'nothing-here.bin')], /no such file \(--put makes a URL that creates it\)$/],
      [[path.join(session.dir, 'docs', 'uploaded.bin'), '--expires', '8d'], /--expires 8d is longer than S3 allows for a presigned URL: 7d at most$/],
      [[path.join(session.dir, 'docs', 'uploaded.bin'), '--expires', 'soon'], /--expires 'soon' is not a duration/],
    ];
    for (const [args, message] of cases) {
      const r = await url(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
    // Seven days exactly is S3's limit, and allowed.
    const longest = await url([path.join(session.dir, 'docs', 'uploaded.bin'), '--expires', '7d']);
    expect(longest.code, longest.stderr).toBe(0);
    expect(longest.stdout).toMatch(/X-Amz-Expires=604800/);
  });
});
