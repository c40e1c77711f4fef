// Everything a file can be, on a real mount of a real S3 server, driven by the tools that make and
// copy such files: mkfifo, mknod, AF_UNIX sockets, touch -d with nanoseconds, cp -a, rsync -aAX,
// tar --xattrs --acls, setfattr/getfattr, setfacl/getfacl. What lands in the bucket is read with the
// AWS SDK: the headers s3fs-fuse writes and reads, so a bucket moves between the two; and objects
// written the way s3fs writes them read back through the mount exactly.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestDir, mountBucket, mustRun, removeTestDir, runTool, unmountAll, type MountSession } from '../support/mount-session.js';
import { headObject, listKeys, objectBytes } from '../support/s3-objects.js';
import { makeClient } from '../support/s3-server.js';
import { newBucket, s3Server } from '../support/s3-env.js';

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFDIR = 0o040000;
const S_IFBLK = 0o060000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFSOCK = 0o140000;

const server = s3Server();
const client = makeClient(server);
let bucket: string;
let mount: MountSession;
let local: string;

beforeAll(async () => {
  bucket = await newBucket('posix-breadth');
  local = await makeTestDir('posix-breadth-local');
  // Listings trusted for a while: nlink counts the subdirectories the last listing showed.
  mount = await mountBucket({ bucket, s3: server, extraArgs: ['--stat-ttl', '30'] });
});

afterAll(async () => {
  await unmountAll();
  await removeTestDir(local);
  client.destroy();
});

const at = (name: string) => path.join(mount.dir, name);
const sh = (script: string, cwd = mount.dir) => mustRun('sh', ['-c', script], { cwd, timeoutMs: 60_000 });
const statLine = async (format: string, ...files: string[]) => (await mustRun('stat', ['-c', format, ...files])).stdout.trim();
const metadataOf = async (key: string) => (await headObject(client, bucket, key))?.metadata;

describe('special files', () => {
  it('mkfifo, mknod and a bound AF_UNIX socket make nodes of their type, stored as empty objects with the type in x-amz-meta-mode', async () => {
    await sh('mkdir special && cd special && mkfifo fifo && mknod chr c 1 3 && mknod blk b 7 1 && chmod 640 chr');
    await mustRun('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', at('special/sock')]);
    expect((await sh('test -p fifo && test -c chr && test -b blk && test -S sock && echo all', at('special'))).stdout.trim()).toBe('all');
    expect(await statLine('%n %F %t:%T %a', ...['fifo', 'chr', 'blk', 'sock'].map((n) => at(`special/${n}`)))).toBe(
      [`${at('special/fifo')} fifo 0:0 644`, `${at('special/chr')} character special file 1:3 640`, `${at('special/blk')} block special file 7:1 644`, `${at('special/sock')} socket 0:0 755`].join('\n'),
    );
    for (const [name, type] of [['fifo', S_IFIFO], ['chr', S_IFCHR], ['blk', S_IFBLK], ['sock', S_IFSOCK]] as const) {
      const head = await headObject(client, bucket, `special/${name}`);
      expect(head?.sizeBytes, name).toBe(0);
      expect(Number(head?.metadata.mode) & 0o170000, name).toBe(type);
    }
    expect((await metadataOf('special/chr'))?.rdev).toBe('103');
    expect((await metadataOf('special/blk'))?.rdev).toBe('701');
  });

  it('a FIFO on the mount is a pipe the kernel serves, and a bound socket takes connections; a device is refused (the mount is nodev)', async () => {
    await sh('mkfifo pipe');
    const reader = mustRun('cat', [at('pipe')], { timeoutMs: 20_000 });
    await sh('echo through-the-pipe > pipe');
    expect((await reader).stdout).toBe('through-the-pipe\n');
    const echo = 'import socket, sys\ns = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)\nc = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])\na, _ = s.accept(); c.sendall(b"hi"); print(a.recv(2).decode())';
    expect((await mustRun('python3', ['-c', echo, at('live.sock')], { timeoutMs: 20_000 })).stdout.trim()).toBe('hi');
    await sh('mknod null c 1 3');
    const opened = await runTool('cat', [at('null')]);
    expect(opened.code).not.toBe(0);
    expect(opened.stderr).toMatch(/Permission denied/);
    expect((await fsp.readFile('/proc/self/mounts', 'utf8')).split('\n').find((l) => l.includes(` ${mount.dir} `))).toMatch(/\bnodev\b/);
  });

  it('stat, rename, chmod, chown, touch and rm work on special files', async () => {
    await sh('mkfifo f1 && mv f1 f2 && chmod 600 f2 && chown 12:34 f2 && touch -m -d "2001-02-03 04:05:06.5" f2');
    expect(await statLine('%F %a %u %g %y', at('f2'))).toBe('fifo 600 12 34 2001-02-03 04:05:06.500000000 +0000');
    expect(await headObject(client, bucket, 'f1')).toBeUndefined();
    await sh('rm f2');
    expect(await headObject(client, bucket, 'f2')).toBeUndefined();
  });
});

describe('times', () => {
  it('touch -d with nanoseconds stats back exactly, and is stored in s3fs\'s 9-digit form', async () => {
    await sh("touch -d '2020-01-02 03:04:05.123456789' ns && touch -a -d '2019-05-06 07:08:09.000000001' ns");
    expect(await statLine('%y|%x', at('ns'))).toBe('2020-01-02 03:04:05.123456789 +0000|2019-05-06 07:08:09.000000001 +0000');
    expect(await metadataOf('ns')).toMatchObject({ mtime: '1577934245.123456789', atime: '1557126489.000000001' });
  });

  it('chmod moves ctime, not mtime; reading moves no time (noatime)', async () => {
    await sh("echo x > ct && touch -d '2020-01-01' ct");
    const [mtime, ctime, atime] = (await statLine('%Y %Z %X', at('ct'))).split(' ').map(Number);
    await new Promise((r) => setTimeout(r, 1100));
    await sh('chmod 600 ct && cat ct > /dev/null');
    const after = (await statLine('%Y %Z %X', at('ct'))).split(' ').map(Number);
    expect(after[0]).toBe(mtime);
    expect(after[1]).toBeGreaterThan(ctime as number);
    expect(after[2]).toBe(atime);
    expect((await fsp.readFile('/proc/self/mounts', 'utf8')).split('\n').find((l) => l.includes(` ${mount.dir} `))).toMatch(/\bnoatime\b/);
  });

  it('cp -a and rsync -a of files with nanosecond times: the copies match to the nanosecond, and rsync sees nothing to do', async () => {
    const src = path.join(local, 'times');
    await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
    const script = "echo a > a && echo b > sub/b && ln -s a link && touch -h -d '2021-03-04 05:06:07.987654321' a sub/b link sub && touch -d '1999-12-31 23:59:59.000000007' .";
    await sh(script, src);
    const listing = async (dir: string) => (await mustRun('find', ['.', '-printf', '%P %y %m %T@\n'], { cwd: dir })).stdout.split('\n').sort().join('\n');
    await mustRun('cp', ['-a', src, at('cpa')]);
    expect(await listing(at('cpa'))).toBe(await listing(src));
    await mustRun('rsync', ['-a', `${src}/`, at('rs/')]);
    expect(await listing(at('rs'))).toBe(await listing(src));
    expect((await mustRun('rsync', ['-ani', `${src}/`, at('rs/')])).stdout).toBe('');
  });
});

describe('extended attributes and ACLs', () => {
  it('setfattr and getfattr in the user, trusted and security namespaces; past 2 KiB of metadata, ENOSPC', async () => {
    await sh('echo x > xa && setfattr -n user.color -v blue xa && setfattr -n trusted.t -v 1 xa && setfattr -n security.s -v 2 xa');
    expect((await mustRun('getfattr', ['--absolute-names', '-d', '-m', '-', at('xa')])).stdout).toContain('security.s="2"\ntrusted.t="1"\nuser.color="blue"');
    const tooBig = await runTool('setfattr', ['-n', 'user.big', '-v', 'x'.repeat(2500), at('xa')]);
    expect(tooBig.stderr).toMatch(/No space left on device/);
    expect((await mustRun('getfattr', ['--absolute-names', '-m', '-', at('xa')])).stdout).not.toContain('user.big');
    expect(decodeURIComponent((await metadataOf('xa'))?.xattr ?? '')).toBe('{"security.s":"Mg==","trusted.t":"MQ==","user.color":"Ymx1ZQ=="}');
  });

  it('setfacl and getfacl: the mask is the group bits, chmod edits the ACL, and a default ACL passes to new files', async () => {
    await sh('mkdir acl && echo x > acl/f && chmod 640 acl/f && setfacl -m u:65534:rw acl/f && setfacl -d -m u:65534:rx acl');
    expect((await mustRun('getfacl', ['-c', at('acl/f')])).stdout).toBe('user::rw-\nuser:nobody:rw-\ngroup::r--\nmask::rw-\nother::---\n\n');
    expect(await statLine('%a', at('acl/f'))).toBe('660');
    await sh('chmod 640 acl/f');
    expect((await mustRun('getfacl', ['-c', at('acl/f')])).stdout).toContain('user:nobody:rw-\t#effective:r--');
    await sh('touch acl/new');
    expect((await mustRun('getfacl', ['-c', at('acl/new')])).stdout).toContain('user:nobody:r-x');
  });

  it('rsync -aAX and tar --xattrs --acls copy xattrs and ACLs onto the mount and back unchanged', async () => {
    const src = path.join(local, 'rich');
    await fsp.mkdir(path.join(src, 'dir'), { recursive: true });
    await sh('echo a > f && mkfifo p && ln -s f l && setfattr -n user.k -v v f && setfattr -n trusted.k -v t f && setfacl -m u:65534:rw,g:100:r f && setfacl -d -m g:100:rx dir && setfacl -m u:65534:rwx dir', src);
    const attrs = async (dir: string) => {
      const acls = (await mustRun('getfacl', ['-R', '-p', '.'], { cwd: dir })).stdout.split('\n\n').sort().join('\n\n');
      const xattrs = (await mustRun('getfattr', ['-R', '-h', '-d', '-m', '-', '.'], { cwd: dir })).stdout.split('\n\n').sort().join('\n\n');
      return `${acls}\n${xattrs}`;
    };
    const expected = await attrs(src);
    await mustRun('rsync', ['-aAX', `${src}/`, at('rsx/')]);
    expect(await attrs(at('rsx'))).toBe(expected);
    const back = path.join(local, 'rich-back');
    await mustRun('rsync', ['-aAX', `${at('rsx')}/`, `${back}/`]);
    expect(await attrs(back)).toBe(expected);
    const archive = path.join(local, 'rich.tar');
    await mustRun('tar', ['--xattrs', "--xattrs-include=*", '--acls', '-cf', archive, '-C', src, '.']);
    await fsp.mkdir(at('tarx'));
    await mustRun('tar', ['--xattrs', "--xattrs-include=*", '--acls', '-xpf', archive, '-C', at('tarx')]);
    expect(await attrs(at('tarx'))).toBe(expected);
    const again = path.join(local, 'rich-again.tar');
    await mustRun('tar', ['--xattrs', "--xattrs-include=*", '--acls', '-cf', again, '-C', at('tarx'), '.']);
    const out = path.join(local, 'rich-tar-back');
    await fsp.mkdir(out);
    await mustRun('tar', ['--xattrs', "--xattrs-include=*", '--acls', '-xpf', again, '-C', out]);
    expect(await attrs(out)).toBe(expected);
  });
});

describe('directories, names and refusals', () => {
  it('a directory\'s link count is 2 plus the subdirectories its listing shows', async () => {
    await sh('mkdir -p nl/a nl/b nl/c && touch nl/file && ls nl > /dev/null');
    expect(await statLine('%h', at('nl'))).toBe('5');
  });

  it('a path whose key would pass 1,024 bytes is ENAMETOOLONG at once, and so is a name of 256 bytes', async () => {
    const deep = ['a', 'b', 'c', 'd'].map((c) => c.repeat(250)).join('/');
    await mustRun('mkdir', ['-p', at(deep)]);
    const requestsBefore = mount.log().length;
    const made = await runTool('touch', [at(`${deep}/${'f'.repeat(30)}`)]);
    expect(made.stderr).toMatch(/File name too long/);
    expect(mount.log().slice(requestsBefore)).not.toMatch(/\b400\b|EIO/);
    expect((await runTool('touch', [at('n'.repeat(256))])).stderr).toMatch(/File name too long/);
  });

  it('ln (a hard link) is refused with EPERM', async () => {
    await sh('echo x > target');
    expect((await runTool('ln', [at('target'), at('hard')])).stderr).toMatch(/Operation not permitted/);
  });

  it('mv gives the object the Content-Type of its new name', async () => {
    await sh('echo "{}" > data.txt && mv data.txt data.json');
    expect((await headObject(client, bucket, 'data.json'))?.contentType).toBe('application/json');
  });

  it('old s3fs directory objects (no slash, application/x-directory) and Hadoop dir_$folder$ markers show as directories and go with rmdir', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'legacy/olddir', Body: Buffer.alloc(0), ContentType: 'application/x-directory', Metadata: { mode: String(S_IFDIR | 0o750), uid: '7', gid: '8', mtime: '1500000000' } }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'legacy/hadoop_$folder$', Body: Buffer.alloc(0) }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'legacy/olddir/inside.txt', Body: Buffer.from('in') }));
    expect((await mustRun('ls', ['-1', at('legacy')])).stdout).toBe('hadoop\nolddir\n');
    expect(await statLine('%F %a %u %g %Y', at('legacy/olddir'))).toBe('directory 750 7 8 1500000000');
    expect(await statLine('%F', at('legacy/hadoop'))).toBe('directory');
    expect((await fsp.readFile(at('legacy/olddir/inside.txt'), 'utf8'))).toBe('in');
    await sh('rmdir legacy/hadoop && rm -r legacy/olddir');
    expect(await listKeys(client, bucket, 'legacy/')).toEqual([]);
  });
});

describe('interop with s3fs-fuse', () => {
  it('objects with the headers s3fs writes read back identically: modes, owners, nanosecond times, special files, xattrs, symlinks, directories', async () => {
    const put = (Key: string, Metadata: Record<string, string>, body = '', ContentType?: string) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Buffer.from(body), Metadata, ContentType }));
    const times = { atime: '1600000001', mtime: '1600000000.123456789', ctime: '1600000002' };
    await put('s3fs/file', { mode: String(S_IFREG | 0o640), uid: '1001', gid: '1002', ...times, xattr: '%7B%22user.a%22%3A%22YmFy%22%7D' }, 'data');
    await put('s3fs/link', { mode: String(S_IFLNK | 0o777), uid: '1001', gid: '1002', ...times }, 'file');
    await put('s3fs/fifo', { mode: String(S_IFIFO | 0o600), uid: '0', gid: '0', ...times });
    // s3fs stores no device number: its devices read as 0:0.
    await put('s3fs/chr', { mode: String(S_IFCHR | 0o600), uid: '0', gid: '0', ...times });
    await put('s3fs/dir/', { mode: String(S_IFDIR | 0o710), uid: '1001', gid: '1002', ...times }, '', 'application/x-directory');
    expect(await statLine('%n|%F|%a|%u|%g|%X|%Y|%Z|%y|%s', ...['file', 'link', 'fifo', 'chr', 'dir'].map((n) => at(`s3fs/${n}`)))).toBe(
      [
        `${at('s3fs/file')}|regular file|640|1001|1002|1600000001|1600000000|1600000002|2020-09-13 12:26:40.123456789 +0000|4`,
        `${at('s3fs/link')}|symbolic link|777|1001|1002|1600000001|1600000000|1600000002|2020-09-13 12:26:40.123456789 +0000|4`,
        `${at('s3fs/fifo')}|fifo|600|0|0|1600000001|1600000000|1600000002|2020-09-13 12:26:40.123456789 +0000|0`,
        `${at('s3fs/chr')}|character special file|600|0|0|1600000001|1600000000|1600000002|2020-09-13 12:26:40.123456789 +0000|0`,
        `${at('s3fs/dir')}|directory|710|1001|1002|1600000001|1600000000|1600000002|2020-09-13 12:26:40.123456789 +0000|4096`,
      ].join('\n'),
    );
    expect(await fsp.readlink(at('s3fs/link'))).toBe('file');
    expect((await mustRun('getfattr', ['--absolute-names', '-n', 'user.a', '--only-values', at('s3fs/file')])).stdout).toBe('bar');
  });

  it('what bucketfs writes carries exactly the headers s3fs reads, in its formats', async () => {
    await sh("mkdir out && echo hello > out/file && chmod 600 out/file && touch -d '2020-01-02 03:04:05.5' out/file && ln -s file out/link && setfattr -n user.k -v v out/file");
    const decimal = /^\d+$/;
    const seconds = /^\d+(\.\d{9})?$/;
    for (const key of ['out/file', 'out/link', 'out/']) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const m = head.Metadata ?? {};
      expect(Object.keys(m).sort(), key).toEqual(key === 'out/file' ? ['atime', 'ctime', 'gid', 'mode', 'mtime', 'uid', 'xattr'] : ['atime', 'ctime', 'gid', 'mode', 'mtime', 'uid']);
      for (const name of ['mode', 'uid', 'gid']) expect(m[name], `${key} ${name}`).toMatch(decimal);
      for (const name of ['atime', 'mtime', 'ctime']) expect(m[name], `${key} ${name}`).toMatch(seconds);
    }
    const file = await metadataOf('out/file');
    expect(file).toMatchObject({ mode: String(S_IFREG | 0o600), mtime: '1577934245.500000000', xattr: '%7B%22user.k%22%3A%22dg%3D%3D%22%7D' });
    expect(Number((await metadataOf('out/link'))?.mode)).toBe(S_IFLNK | 0o777);
    expect((await objectBytes(client, bucket, 'out/link')).toString()).toBe('file');
    expect(Number((await metadataOf('out/'))?.mode) & 0o170000).toBe(S_IFDIR);
  });
});
