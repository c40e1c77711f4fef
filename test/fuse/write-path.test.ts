// Mounted write-path tests: the real CLI on a real local S3 server, changed with real tools (cp, dd,
// truncate, touch, chmod, chown, ln, mv, python3) run as child processes; every scenario is checked on the
// mount, in the bucket with the raw SDK (bytes, ETag, s3fs x-amz-meta-* headers), and after a remount.

import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, pseudoRandomChunks, pseudoRandomSha256, sha256 } from '../support/fixtures.js';
import { makeTestDir, mustRun, removeTestDir, runTool, unmountAll, withMount } from '../support/mount-session.js';
import { RemountableMount } from '../support/remountable.js';
import { etagPartCount, headObject, listKeys, objectBytes, objectSha256, s3fsAttrs } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const server = s3Server();
const client = makeClient(server);

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const UID = process.getuid?.() ?? 0;
const GID = process.getgid?.() ?? 0;
/** 5 MiB parts, so a 20 MiB file has four and an edit in one of them leaves three to copy. */
const PART_FLAGS = ['--part-size', '5M'];
/** Errno values python prints. */
const EOPNOTSUPP = 95;
/** s3rver's multipart ETags are not the md5-of-md5s-N form (docs/TEST-SERVERS.md, s3rver defect 6). */
const multipartEtags = server.kind !== 's3rver';

let bucket: string;
let mount: RemountableMount;
let local: string;
const at = (rel: string): string => mount.at(rel);
const remount = (): Promise<void> => mount.remount();

async function stat(format: string, rel: string): Promise<string> {
  return (await mustRun('stat', ['-c', format, at(rel)])).stdout.trim();
}

async function cat(rel: string): Promise<Buffer> {
  return (await mustRun('cat', [at(rel)])).stdoutBytes;
}

/** Writes `text` to `rel` with the shell's `>` or `>>` (open, write, close), as scripts do. */
async function shellWrite(rel: string, text: string, redirect: '>' | '>>' = '>'): Promise<void> {
  await mustRun('sh', ['-c', `cat ${redirect} "$1"`, 'sh', at(rel)], { input: text });
}

/** Runs a python3 script with `args`; returns its stdout. */
async function python(script: string, ...args: string[]): Promise<string> {
  return (await mustRun('python3', ['-c', script, ...args])).stdout;
}

/** HEAD that must find the object. */
async function head(key: string) {
  const found = await headObject(client, bucket, key);
  if (!found) throw new Error(`${key} is not in the bucket`);
  return found;
}

/** A tool run that must fail with `message` on stderr. */
async function expectFailure(message: RegExp, command: string, args: readonly string[]): Promise<void> {
  const result = await runTool(command, args, { cwd: mount.dir });
  expect(result.code, `${command} ${args.join(' ')} should fail`).not.toBe(0);
  expect(result.stderr).toMatch(message);
}

beforeAll(async () => {
  bucket = await newBucket('write-path');
  local = await makeTestDir('write-path-local');
  mount = await RemountableMount.mount({ bucket, s3: server, extraArgs: PART_FLAGS });
});

afterAll(async () => {
  await unmountAll();
  client.destroy();
  if (local) await removeTestDir(local);
});

describe('large files', () => {
  it('cp of a 1 GiB file in and back out keeps its sha256; the object is a multipart upload', async () => {
    const source = path.join(local, '1g.bin');
    const back = path.join(local, '1g-back.bin');
    const size = GiB;
    await pipeline(Readable.from(pseudoRandomChunks('1g.bin', size)), createWriteStream(source));
    const expected = pseudoRandomSha256('1g.bin', size);
    try {
      await mustRun('mkdir', [at('big')]);
      await mustRun('cp', [source, at('big/1g.bin')], { timeoutMs: 170_000 });
      const before = await stat('%s %a %u %g %.3Y', 'big/1g.bin');
      expect(before.split(' ').slice(0, 4)).toEqual([String(size), '644', String(UID), String(GID)]);

      const object = await head('big/1g.bin');
      expect(object.sizeBytes).toBe(size);
      // 5 MiB parts: ceil(1024 / 5) = 205 of them.
      if (multipartEtags) expect(etagPartCount(object.etag)).toBe(205);
      expect(s3fsAttrs(object)).toMatchObject({ mode: S_IFREG | 0o644, uid: UID, gid: GID });
      expect(await objectSha256(client, bucket, 'big/1g.bin')).toBe(expected);

      await remount();
      expect(await stat('%s %a %u %g %.3Y', 'big/1g.bin')).toBe(before);
      await mustRun('cp', [at('big/1g.bin'), back], { timeoutMs: 170_000 });
      expect((await mustRun('sha256sum', [back])).stdout.split(' ')[0]).toBe(expected);
    } finally {
      await fsp.rm(source, { force: true });
      await fsp.rm(back, { force: true });
    }
  }, 400_000);
});

describe('cp -a and mv of folders', () => {
  it('cp -a keeps modes and (sub-second) mtimes of files, directories and symlinks', async () => {
    const src = path.join(local, 'cpa');
    await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
    await fsp.writeFile(path.join(src, 'one.txt'), 'one\n');
    await fsp.writeFile(path.join(src, 'sub', 'two.txt'), 'two\n');
    await fsp.symlink('sub/two.txt', path.join(src, 'link'));
    await fsp.chmod(path.join(src, 'one.txt'), 0o751);
    await fsp.chmod(path.join(src, 'sub', 'two.txt'), 0o600);
    await fsp.chmod(path.join(src, 'sub'), 0o711);
    await mustRun('touch', ['-h', '-d', '@1286705410.123', path.join(src, 'one.txt'), path.join(src, 'link')]);
    await mustRun('touch', ['-d', '@1293840000', path.join(src, 'sub', 'two.txt'), path.join(src, 'sub')]);
    const entries = ['', 'one.txt', 'sub', 'sub/two.txt', 'link'];
    const format = '%F %a %.3Y';
    const expected = await Promise.all(entries.map(async (e) => (await mustRun('stat', ['-c', format, path.join(src, e)])).stdout.trim()));

    await mustRun('cp', ['-a', src, at('cpa')]);
    const onMount = async () => Promise.all(entries.map((e) => stat(format, path.join('cpa', e))));
    expect(await onMount()).toEqual(expected);

    const one = await head('cpa/one.txt');
    expect(s3fsAttrs(one)).toEqual({ mode: S_IFREG | 0o751, uid: UID, gid: GID, mtimeMs: 1_286_705_410_123 });
    expect(one.metadata.mtime).toBe('1286705410.123000000');
    expect(await objectBytes(client, bucket, 'cpa/one.txt')).toEqual(Buffer.from('one\n'));
    expect(s3fsAttrs(await head('cpa/sub/'))).toMatchObject({ mode: S_IFDIR | 0o711, mtimeMs: 1_293_840_000_000 });
    expect(s3fsAttrs(await head('cpa/link'))).toMatchObject({ mode: S_IFLNK | 0o777, mtimeMs: 1_286_705_410_123 });
    expect((await objectBytes(client, bucket, 'cpa/link')).toString()).toBe('sub/two.txt');

    await remount();
    expect(await onMount()).toEqual(expected);
    expect((await cat('cpa/link')).toString()).toBe('two\n');
  });

  it('mv of a folder of 200 files moves every object and leaves nothing under the old prefix', async () => {
    const src = path.join(local, 'two-hundred');
    await fsp.mkdir(src);
    const names = Array.from({ length: 200 }, (_, i) => `file-${String(i).padStart(3, '0')}.txt`);
    for (const name of names) await fsp.writeFile(path.join(src, name), `content of ${name}\n`);
    await fsp.chmod(path.join(src, names[7] as string), 0o600);
    await mustRun('cp', ['-r', '--preserve=mode', src, at('d200')]);
    const movedMode = s3fsAttrs(await head(`d200/${names[7]}`)).mode;
    expect(movedMode).toBe(S_IFREG | 0o600);

    await mustRun('mv', [at('d200'), at('moved200')]);
    const checkMoved = async () => {
      const { stdout } = await mustRun('ls', ['-1', at('moved200')]);
      expect(stdout.split('\n').filter(Boolean)).toEqual(names);
      const sums = (await mustRun('sha256sum', names, { cwd: at('moved200') })).stdout.trim().split('\n');
      expect(sums).toEqual(names.map((n) => `${sha256(`content of ${n}\n`)}  ${n}`));
      expect(await stat('%a', `moved200/${names[7]}`)).toBe('600');
      const gone = await runTool('ls', [at('d200')]);
      expect(gone.stderr).toMatch(/No such file or directory/);
    };
    await checkMoved();
    expect(await listKeys(client, bucket, 'd200/')).toEqual([]);
    expect((await listKeys(client, bucket, 'moved200/')).sort()).toEqual(['moved200/', ...names.map((n) => `moved200/${n}`)].sort());
    expect(s3fsAttrs(await head(`moved200/${names[7]}`)).mode).toBe(movedMode);

    await remount();
    await checkMoved();
  });
});

describe('changing files in place', () => {
  it('>> appends to a closed file, and truncate -s shrinks and grows it (zeros)', async () => {
    await mustRun('mkdir', ['-p', at('edit')]);
    await shellWrite('edit/grow.txt', 'hello\n');
    await shellWrite('edit/grow.txt', 'world\n', '>>');
    expect((await cat('edit/grow.txt')).toString()).toBe('hello\nworld\n');
    expect((await objectBytes(client, bucket, 'edit/grow.txt')).toString()).toBe('hello\nworld\n');

    await mustRun('truncate', ['-s', '3', at('edit/grow.txt')]);
    expect((await cat('edit/grow.txt')).toString()).toBe('hel');
    await mustRun('truncate', ['-s', '10', at('edit/grow.txt')]);
    const expected = Buffer.concat([Buffer.from('hel'), Buffer.alloc(7)]);
    expect(await cat('edit/grow.txt')).toEqual(expected);
    expect(await objectBytes(client, bucket, 'edit/grow.txt')).toEqual(expected);
    expect(s3fsAttrs(await head('edit/grow.txt'))).toMatchObject({ mode: S_IFREG | 0o644, uid: UID, gid: GID });

    // Growing past one part makes a multipart object of mostly zeros.
    await mustRun('truncate', ['-s', String(11 * MiB), at('edit/grow.txt')]);
    const grown = Buffer.concat([expected, Buffer.alloc(11 * MiB - 10)]);
    expect(sha256(await cat('edit/grow.txt'))).toBe(sha256(grown));
    if (multipartEtags) expect(etagPartCount((await head('edit/grow.txt')).etag)).toBe(3);
    const mtime = await stat('%.3Y', 'edit/grow.txt');

    await remount();
    expect(sha256(await cat('edit/grow.txt'))).toBe(sha256(grown));
    expect(await stat('%s %a %.3Y', 'edit/grow.txt')).toBe(`${11 * MiB} 644 ${mtime}`);
  });

  it('dd conv=notrunc into the middle of a 20 MiB file uploads one part and copies three server-side', async () => {
    const size = 20 * MiB;
    const original = pseudoRandomBytes('notrunc.bin', size);
    const patch = pseudoRandomBytes('patch', 100_000);
    const offset = 12 * MiB + 7;
    await fsp.writeFile(path.join(local, 'notrunc.bin'), original);
    await fsp.writeFile(path.join(local, 'patch'), patch);
    await mustRun('mkdir', ['-p', at('edit')]);
    await mustRun('cp', [path.join(local, 'notrunc.bin'), at('edit/notrunc.bin')]);
    if (multipartEtags) expect(etagPartCount((await head('edit/notrunc.bin')).etag)).toBe(4);

    const expected = Buffer.from(original);
    patch.copy(expected, offset);
    // A mount of its own with --debug: its log names each S3 request of the upload.
    await withMount({ bucket, s3: server, extraArgs: [...PART_FLAGS, '--debug'] }, async (debug) => {
      await mustRun('dd', [`if=${path.join(local, 'patch')}`, `of=${path.join(debug.dir, 'edit/notrunc.bin')}`, 'bs=100000', `seek=${offset}`, 'oflag=seek_bytes', 'conv=notrunc', 'status=none']);
      const requests = (name: string) => (debug.log().match(new RegExp(`s3 ${name} "edit/notrunc\\.bin" 200 `, 'g')) ?? []).length;
      expect(requests('UPLOAD-PART')).toBe(server.kind === 'ceph' ? 1 : 4);
      // s3rver answers UploadPartCopy with 501 (docs/TEST-SERVERS.md, s3rver defect 4): bucketfs then sends the bytes.
      if (server.kind === 'ceph') expect(requests('UPLOAD-PART-COPY')).toBe(3);
    });
    if (multipartEtags) expect(etagPartCount((await head('edit/notrunc.bin')).etag)).toBe(4);
    expect(await objectSha256(client, bucket, 'edit/notrunc.bin')).toBe(sha256(expected));
    expect(sha256(await cat('edit/notrunc.bin'))).toBe(sha256(expected));

    await remount();
    expect(sha256(await cat('edit/notrunc.bin'))).toBe(sha256(expected));
    expect(await stat('%s', 'edit/notrunc.bin')).toBe(String(size));
  });

  it("an editor's save (temp file, fsync, rename over the original) replaces content and keeps the mode", async () => {
    await mustRun('mkdir', ['-p', at('edit')]);
    await shellWrite('edit/notes.txt', 'first draft\n');
    await mustRun('chmod', ['640', at('edit/notes.txt')]);
    const save = [
      'import os, sys',
      'd, name = sys.argv[1], sys.argv[2]',
      'target, tmp = os.path.join(d, name), os.path.join(d, "." + name + ".swp")',
      'mode = os.stat(target).st_mode & 0o7777',
      'fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)',
      'os.write(fd, b"second draft\\n")',
      'os.fsync(fd)',
      'os.close(fd)',
      'os.chmod(tmp, mode)',
      'os.replace(tmp, target)',
      'dfd = os.open(d, os.O_RDONLY)',
      'os.fsync(dfd)',
      'os.close(dfd)',
    ].join('\n');
    await python(save, at('edit'), 'notes.txt');
    const check = async () => {
      expect((await cat('edit/notes.txt')).toString()).toBe('second draft\n');
      expect(await stat('%a %s', 'edit/notes.txt')).toBe('640 13');
      expect((await mustRun('ls', ['-A', at('edit')])).stdout.split('\n')).not.toContain('.notes.txt.swp');
    };
    await check();
    expect(await headObject(client, bucket, 'edit/.notes.txt.swp')).toBeUndefined();
    expect((await objectBytes(client, bucket, 'edit/notes.txt')).toString()).toBe('second draft\n');
    expect(s3fsAttrs(await head('edit/notes.txt')).mode).toBe(S_IFREG | 0o640);

    await remount();
    await check();
  });
});

describe('attributes of closed files', () => {
  it('touch -d sets the mtime and stores it as x-amz-meta-mtime (s3fs: 9 fraction digits)', async () => {
    await mustRun('mkdir', ['-p', at('attrs')]);
    await shellWrite('attrs/timed.txt', 'timed\n');
    await mustRun('touch', ['-d', '@981173106.789', at('attrs/timed.txt')]);
    expect(await stat('%.3Y', 'attrs/timed.txt')).toBe('981173106.789');
    const object = await head('attrs/timed.txt');
    expect(object.metadata.mtime).toBe('981173106.789000000');
    expect(await objectBytes(client, bucket, 'attrs/timed.txt')).toEqual(Buffer.from('timed\n'));

    await remount();
    expect(await stat('%.3Y %s', 'attrs/timed.txt')).toBe('981173106.789 6');
  });

  it('touch -m -d sets only the mtime (atime UTIME_OMIT), as tar x does', async () => {
    await mustRun('mkdir', ['-p', at('attrs')]);
    await shellWrite('attrs/mtime-only.txt', 'mtime only\n');
    await mustRun('touch', ['-m', '-d', '@981173106.5', at('attrs/mtime-only.txt')]);
    expect(await stat('%.3Y', 'attrs/mtime-only.txt')).toBe('981173106.500');
    expect((await head('attrs/mtime-only.txt')).metadata.mtime).toBe('981173106.500000000');
    await remount();
    expect(await stat('%.3Y', 'attrs/mtime-only.txt')).toBe('981173106.500');
  });

  it('chmod and chown (numeric) change a closed file and a directory, content untouched', async () => {
    await mustRun('mkdir', ['-p', at('attrs/dir')]);
    await shellWrite('attrs/owned.txt', 'owned\n');
    const etagBefore = (await head('attrs/owned.txt')).etag;
    await mustRun('chmod', ['0751', at('attrs/owned.txt')]);
    await mustRun('chown', ['1234:4321', at('attrs/owned.txt')]);
    await mustRun('chmod', ['0705', at('attrs/dir')]);
    await mustRun('chown', ['2345:5432', at('attrs/dir')]);
    const check = async () => {
      expect(await stat('%a %u %g %s', 'attrs/owned.txt')).toBe('751 1234 4321 6');
      expect(await stat('%F %a %u %g', 'attrs/dir')).toBe('directory 705 2345 5432');
      expect((await cat('attrs/owned.txt')).toString()).toBe('owned\n');
    };
    await check();
    const object = await head('attrs/owned.txt');
    expect(s3fsAttrs(object)).toMatchObject({ mode: S_IFREG | 0o751, uid: 1234, gid: 4321 });
    // A metadata change is a copy onto itself: same bytes, so the same single-part ETag.
    expect(object.etag).toBe(etagBefore);
    expect(s3fsAttrs(await head('attrs/dir/'))).toMatchObject({ mode: S_IFDIR | 0o705, uid: 2345, gid: 5432 });

    await remount();
    await check();
  });

  it('extended attributes user.* are stored in x-amz-meta-xattr; namespaces s3fs does not store are refused', async () => {
    await mustRun('mkdir', ['-p', at('attrs')]);
    await shellWrite('attrs/tagged.txt', 'tagged\n');
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    await python(
      [
        'import os, sys',
        'p = sys.argv[1]',
        'os.setxattr(p, "user.color", b"blue")',
        'os.setxattr(p, "user.binary", bytes.fromhex(sys.argv[2]))',
        'os.setxattr(p, "user.gone", b"x")',
        'os.removexattr(p, "user.gone")',
      ].join('\n'),
      at('attrs/tagged.txt'),
      binary.toString('hex'),
    );
    const read = async () =>
      JSON.parse(
        await python(
          [
            'import json, os, sys',
            'p = sys.argv[1]',
            'print(json.dumps({n: os.getxattr(p, n).hex() for n in sorted(os.listxattr(p))}))',
          ].join('\n'),
          at('attrs/tagged.txt'),
        ),
      ) as Record<string, string>;
    const expected = { 'user.binary': binary.toString('hex'), 'user.color': Buffer.from('blue').toString('hex') };
    expect(await read()).toEqual(expected);
    const refused = await python(
      [
        'import os, sys',
        'try:',
        '    os.setxattr(sys.argv[1], "system.nfs4_acl", b"red")',
        '    print("stored")',
        'except OSError as e:',
        '    print(e.errno)',
      ].join('\n'),
      at('attrs/tagged.txt'),
    );
    expect(refused.trim()).toBe(String(EOPNOTSUPP));

    const stored = (await head('attrs/tagged.txt')).metadata.xattr;
    expect(stored).toBeDefined();
    expect(JSON.parse(decodeURIComponent(stored as string))).toEqual({ 'user.binary': binary.toString('base64'), 'user.color': 'Ymx1ZQ==' });

    await remount();
    expect(await read()).toEqual(expected);
    expect((await cat('attrs/tagged.txt')).toString()).toBe('tagged\n');
  });
});

describe('names: symlinks, directories, hard links refused', () => {
  it('ln -s makes an s3fs symlink (body = target) that readlink returns', async () => {
    await mustRun('mkdir', ['-p', at('names')]);
    await shellWrite('names/target.txt', 'target\n');
    await mustRun('ln', ['-s', 'target.txt', at('names/rel-link')]);
    await mustRun('ln', ['-s', '/no/such/place', at('names/dangling')]);
    const check = async () => {
      expect((await mustRun('readlink', [at('names/rel-link')])).stdout).toBe('target.txt\n');
      expect((await mustRun('readlink', [at('names/dangling')])).stdout).toBe('/no/such/place\n');
      expect(await stat('%F %a', 'names/rel-link')).toBe('symbolic link 777');
      expect((await cat('names/rel-link')).toString()).toBe('target\n');
    };
    await check();
    expect((await objectBytes(client, bucket, 'names/dangling')).toString()).toBe('/no/such/place');
    expect(s3fsAttrs(await head('names/dangling'))).toMatchObject({ mode: S_IFLNK | 0o777, uid: UID, gid: GID });

    await remount();
    await check();
  });

  it('mkdir of an empty directory survives a remount (marker object with its mode)', async () => {
    await mustRun('mkdir', ['-p', at('names')]);
    await mustRun('mkdir', ['-m', '0700', at('names/empty')]);
    expect(s3fsAttrs(await head('names/empty/'))).toMatchObject({ mode: S_IFDIR | 0o700, uid: UID, gid: GID });

    await remount();
    expect(await stat('%F %a', 'names/empty')).toBe('directory 700');
    expect((await mustRun('ls', ['-A', at('names/empty')])).stdout).toBe('');
  });

  it('rmdir of a non-empty directory fails with ENOTEMPTY and removes nothing', async () => {
    await mustRun('mkdir', ['-p', at('names/full')]);
    await shellWrite('names/full/child.txt', 'child\n');
    await expectFailure(/Directory not empty/, 'rmdir', [at('names/full')]);
    expect((await cat('names/full/child.txt')).toString()).toBe('child\n');
    expect(await headObject(client, bucket, 'names/full/child.txt')).toBeDefined();

    await remount();
    expect((await cat('names/full/child.txt')).toString()).toBe('child\n');
  });

  it('hard links are refused with EPERM and leave no object (FIFOs, sockets and devices: posix-breadth)', async () => {
    await mustRun('mkdir', ['-p', at('names')]);
    await shellWrite('names/linked.txt', 'linked\n');
    await expectFailure(/Operation not permitted/, 'ln', [at('names/linked.txt'), at('names/hard')]);
    expect(await headObject(client, bucket, 'names/hard')).toBeUndefined();
    expect((await mustRun('ls', ['-A', at('names')])).stdout.split('\n')).not.toContain('hard');

    await remount();
    expect((await cat('names/linked.txt')).toString()).toBe('linked\n');
  });
});

describe('--read-only', () => {
  it('every change fails with "Read-only file system" and the bucket stays as it was', async () => {
    await mustRun('mkdir', ['-p', at('ro/dir')]);
    await shellWrite('ro/file.txt', 'keep me\n');
    const etags = async () => {
      const keys = (await listKeys(client, bucket)).sort();
      const heads = await Promise.all(keys.filter((k) => k.startsWith('ro/')).map(async (k) => `${k} ${(await head(k)).etag}`));
      return [...keys, ...heads];
    };
    const before = await etags();
    await withMount({ bucket, s3: server, extraArgs: ['--read-only'] }, async (ro) => {
      const changes: [string, string[]][] = [
        ['touch', ['ro/new.txt']],
        ['touch', ['ro/file.txt']],
        ['mkdir', ['ro/newdir']],
        ['rm', ['-f', 'ro/file.txt']],
        ['rmdir', ['ro/dir']],
        ['mv', ['ro/file.txt', 'ro/moved.txt']],
        ['chmod', ['600', 'ro/file.txt']],
        ['chown', ['1234', 'ro/file.txt']],
        ['truncate', ['-s', '0', 'ro/file.txt']],
        ['ln', ['-s', 'file.txt', 'ro/link']],
        ['sh', ['-c', 'echo more >> ro/file.txt']],
        ['cp', ['ro/file.txt', 'ro/copy.txt']],
      ];
      for (const [tool, args] of changes) {
        const result = await runTool(tool, args, { cwd: ro.dir });
        expect(result.code, `${tool} ${args.join(' ')}`).not.toBe(0);
        expect(result.stderr, `${tool} ${args.join(' ')}`).toMatch(/Read-only file system/);
      }
      expect((await mustRun('cat', [path.join(ro.dir, 'ro/file.txt')])).stdout).toBe('keep me\n');
    });
    expect(await etags()).toEqual(before);
  });
});
