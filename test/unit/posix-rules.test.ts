// Everything a file can be, on the in-memory store: special files, owners (callers, setgid
// directories, chown/chmod rules), the three times in nanoseconds, every xattr namespace and POSIX
// ACLs, directory link counts, S3's key limit, directories other tools leave, Content-Type on
// rename, and hard links refused. Each stored form is the one s3fs-fuse writes and reads.

import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/fs/access.js';
import { ACL_ACCESS, ACL_DEFAULT, type AclEntry, AclTag, parseAcl, serializeAcl } from '../../src/fs/acl.js';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID } from '../../src/fs/metadata.js';
import { type FsFixture, GID, UID, errnoOf, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();
const NS = 1_000_000n;
const ALICE = 1001;
const BOB = 1002;
const STAFF = 50;

/** A FUSE caller: uid, primary gid, supplementary groups, umask. */
function caller(uid: number, gid: number, groups: number[] = [], umask = 0o022): Caller {
  return { uid, gid, pid: 4242, umask, groups: async () => [gid, ...groups] };
}
const root = caller(0, 0, [], 0o022);
const alice = caller(ALICE, ALICE, [STAFF]);
const bob = caller(BOB, BOB);

const entry = (tag: number, perm: number, id = 0xffffffff): AclEntry => ({ tag, perm, id });
/** user::rw-, user:ID:PERM, group::r--, mask::MASK, other::OTHER */
function namedUserAcl(id: number, perm: number, mask = 0o6, other = 0): Buffer {
  return serializeAcl([entry(AclTag.USER_OBJ, 6), entry(AclTag.USER, perm, id), entry(AclTag.GROUP_OBJ, 4), entry(AclTag.MASK, mask), entry(AclTag.OTHER, other)]);
}

async function touch(t: FsFixture, path: string, mode = 0o644, who?: Caller): Promise<void> {
  const fh = await t.fs.create(path, mode, who);
  await t.fs.flush(fh);
  await t.fs.release(fh);
}

describe('special files', () => {
  it('mknod stores a FIFO, a socket and devices as empty objects with the type in x-amz-meta-mode and the device in x-amz-meta-rdev', async () => {
    const t = await fixture();
    await t.fs.mknod('/fifo', S_IFIFO | 0o644, 0);
    await t.fs.mknod('/sock', S_IFSOCK | 0o755, 0);
    await t.fs.mknod('/null', S_IFCHR | 0o666, 0x0103);
    await t.fs.mknod('/loop', S_IFBLK | 0o660, 0x0700);
    expect(t.store.calls.put).toBe(4);
    for (const [key, type] of [['fifo', S_IFIFO], ['sock', S_IFSOCK], ['null', S_IFCHR], ['loop', S_IFBLK]] as const) {
      const object = t.store.getObject(key);
      expect(object?.body.length, key).toBe(0);
      expect(Number(object?.metadata.mode) & S_IFMT, key).toBe(type);
    }
    expect(t.store.getObject('null')?.metadata).toMatchObject({ mode: String(S_IFCHR | 0o666), uid: String(UID), gid: String(GID), rdev: '103' });
    expect(t.store.getObject('fifo')?.metadata.rdev).toBeUndefined();
    t.store.putObject('other', 'x');
    expect(await t.fs.getattr('/null')).toMatchObject({ mode: S_IFCHR | 0o666, rdev: 0x0103, sizeBytes: 0 });
    expect(await t.fs.getattr('/loop')).toMatchObject({ mode: S_IFBLK | 0o660, rdev: 0x0700 });
    expect(await t.fs.getattr('/fifo')).toMatchObject({ mode: S_IFIFO | 0o644, rdev: 0 });
    const kinds = Object.fromEntries((await t.fs.readdir('/')).entries.map((e) => [e.name, e.kind]));
    expect(kinds).toMatchObject({ fifo: 'fifo', sock: 'socket', null: 'chardev', loop: 'blockdev' });
  });

  it('reads special files s3fs made (type bits in the mode, no rdev) and keeps their type through chmod, chown, utimens and rename; unlink removes them', async () => {
    const t = await fixture();
    t.store.putObject('pipe', '', { mode: String(S_IFIFO | 0o600), uid: '0', gid: '0', mtime: '1600000000' });
    await t.fs.chmod('/pipe', 0o640);
    await t.fs.chown('/pipe', 7, 8);
    await t.fs.utimens('/pipe', undefined, 1_500_000_000_000_000_001n);
    await t.fs.rename('/pipe', '/moved');
    expect(await t.fs.getattr('/moved')).toMatchObject({ mode: S_IFIFO | 0o640, uid: 7, gid: 8, mtimeNs: 1_500_000_000_000_000_001n });
    expect(t.store.getObject('pipe')).toBeUndefined();
    await t.fs.unlink('/moved');
    expect(t.store.keys()).toEqual([]);
  });

  it('mknod without type bits makes a regular file; a directory or symlink type is EINVAL; an existing name is EEXIST', async () => {
    const t = await fixture();
    await t.fs.mknod('/plain', 0o644, 0);
    expect((await t.fs.getattr('/plain')).mode).toBe(S_IFREG | 0o644);
    expect(await errnoOf(t.fs.mknod('/d', S_IFDIR | 0o755, 0))).toBe('EINVAL');
    expect(await errnoOf(t.fs.mknod('/l', S_IFLNK | 0o777, 0))).toBe('EINVAL');
    expect(await errnoOf(t.fs.mknod('/plain', S_IFIFO | 0o644, 0))).toBe('EEXIST');
    expect(await errnoOf(t.fs.mknod('/nodir/x', S_IFIFO | 0o644, 0))).toBe('ENOENT');
  });
});

describe('owners', () => {
  it('with --allow-other, new nodes belong to their caller, whose umask applies (the kernel leaves it to the filesystem)', async () => {
    const t = await fixture({ allowOther: true });
    await t.fs.mkdir('/pub', 0o777, root);
    await t.fs.chmod('/pub', 0o1777, root);
    await touch(t, '/pub/f', 0o666, alice);
    await t.fs.mkdir('/pub/d', 0o777, alice);
    await t.fs.symlink('f', '/pub/l', alice);
    await t.fs.mknod('/pub/p', S_IFIFO | 0o666, 0, caller(ALICE, ALICE, [], 0o077));
    expect(await t.fs.getattr('/pub/f')).toMatchObject({ uid: ALICE, gid: ALICE, mode: S_IFREG | 0o644 });
    expect(await t.fs.getattr('/pub/d')).toMatchObject({ uid: ALICE, gid: ALICE, mode: S_IFDIR | 0o755 });
    expect(await t.fs.getattr('/pub/l')).toMatchObject({ uid: ALICE, gid: ALICE, mode: S_IFLNK | 0o777 });
    expect(await t.fs.getattr('/pub/p')).toMatchObject({ uid: ALICE, mode: S_IFIFO | 0o600 });
    expect(t.store.getObject('pub/f')?.metadata).toMatchObject({ uid: String(ALICE), gid: String(ALICE) });
  });

  it('without --allow-other, new nodes belong to the mount\'s --uid/--gid (its only user)', async () => {
    const t = await fixture();
    await touch(t, '/f', 0o644, alice);
    expect(await t.fs.getattr('/f')).toMatchObject({ uid: UID, gid: GID });
  });

  it('a setgid directory gives its group to what is made in it, and its setgid bit to subdirectories', async () => {
    const t = await fixture({ allowOther: true });
    await t.fs.mkdir('/shared', 0o775, root);
    await t.fs.chown('/shared', undefined, STAFF, root);
    await t.fs.chmod('/shared', 0o2775, root);
    await touch(t, '/shared/f', 0o664, alice);
    await t.fs.mkdir('/shared/sub', 0o775, alice);
    expect(await t.fs.getattr('/shared/f')).toMatchObject({ uid: ALICE, gid: STAFF, mode: S_IFREG | 0o644 });
    expect(await t.fs.getattr('/shared/sub')).toMatchObject({ uid: ALICE, gid: STAFF, mode: S_IFDIR | S_ISGID | 0o755 });
    // A setgid file made there by someone outside the group loses the bit.
    await touch(t, '/shared/g', 0o2755, caller(BOB, BOB, [], 0));
    expect((await t.fs.getattr('/shared/g')).mode).toBe(S_IFREG | 0o755);
  });

  it('chown follows POSIX: only root gives a file away; its owner may change the group to one of theirs', async () => {
    const t = await fixture({ allowOther: true });
    await t.fs.mkdir('/pub', 0o777, root);
    await touch(t, '/pub/f', 0o644, alice);
    expect(await errnoOf(t.fs.chown('/pub/f', BOB, undefined, alice))).toBe('EPERM');
    expect(await errnoOf(t.fs.chown('/pub/f', undefined, BOB, alice))).toBe('EPERM');
    expect(await errnoOf(t.fs.chown('/pub/f', undefined, STAFF, bob))).toBe('EPERM');
    await t.fs.chown('/pub/f', ALICE, STAFF, alice);
    expect(await t.fs.getattr('/pub/f')).toMatchObject({ uid: ALICE, gid: STAFF });
    await t.fs.chown('/pub/f', BOB, BOB, root);
    expect(await t.fs.getattr('/pub/f')).toMatchObject({ uid: BOB, gid: BOB });
  });

  it('chmod is the owner\'s (or root\'s); a setgid bit asked for by someone outside the group is dropped', async () => {
    const t = await fixture({ allowOther: true });
    await t.fs.mkdir('/pub', 0o777, root);
    await touch(t, '/pub/f', 0o644, alice);
    expect(await errnoOf(t.fs.chmod('/pub/f', 0o600, bob))).toBe('EPERM');
    await t.fs.chown('/pub/f', undefined, 77, root);
    await t.fs.chmod('/pub/f', 0o2755, alice);
    expect((await t.fs.getattr('/pub/f')).mode).toBe(S_IFREG | 0o755);
    await t.fs.chown('/pub/f', undefined, STAFF, alice);
    await t.fs.chmod('/pub/f', 0o2755, alice);
    expect((await t.fs.getattr('/pub/f')).mode).toBe(S_IFREG | S_ISGID | 0o755);
  });
});

describe('times', () => {
  it('keeps nanoseconds and stores atime, mtime and ctime as s3fs does (seconds, 9 fraction digits)', async () => {
    const t = await fixture();
    await touch(t, '/f');
    const created = BigInt(t.clock.nowMs) * NS;
    expect(await t.fs.getattr('/f')).toMatchObject({ atimeNs: created, mtimeNs: created, ctimeNs: created });
    t.clock.advance(1_000);
    await t.fs.utimens('/f', 1_577_934_245_000_000_001n, 1_577_934_245_123_456_789n);
    expect(t.store.getObject('f')?.metadata).toMatchObject({
      atime: '1577934245.000000001',
      mtime: '1577934245.123456789',
      ctime: String(t.clock.nowMs / 1000),
    });
    t.clock.advance(60_000);
    expect(await t.fs.getattr('/f')).toMatchObject({ atimeNs: 1_577_934_245_000_000_001n, mtimeNs: 1_577_934_245_123_456_789n });
  });

  it('moves ctime on chmod, chown, utimens, xattr changes, rename, writes and truncate, and mtime on writes and truncate only', async () => {
    const t = await fixture();
    await touch(t, '/f');
    const ctime = async (path = '/f') => (await t.fs.getattr(path)).ctimeNs;
    const step = () => {
      t.clock.advance(1_000);
      return BigInt(t.clock.nowMs) * NS;
    };
    const mtime = (await t.fs.getattr('/f')).mtimeNs;
    let now = step();
    await t.fs.chmod('/f', 0o600);
    expect(await ctime()).toBe(now);
    now = step();
    await t.fs.chown('/f', 5, 6);
    expect(await ctime()).toBe(now);
    now = step();
    await t.fs.setxattr('/f', 'user.a', Buffer.from('1'), 0);
    expect(await ctime()).toBe(now);
    now = step();
    await t.fs.utimens('/f', undefined, mtime);
    expect(await ctime()).toBe(now);
    now = step();
    await t.fs.rename('/f', '/g');
    expect(await ctime('/g')).toBe(now);
    expect((await t.fs.getattr('/g')).mtimeNs).toBe(mtime);
    now = step();
    await t.fs.truncate('/g', 10);
    expect(await t.fs.getattr('/g')).toMatchObject({ ctimeNs: now, mtimeNs: now });
    now = step();
    const fh = await t.fs.open('/g', OpenFlags.O_WRONLY);
    await t.fs.write(fh, 0, Buffer.from('x'));
    await t.fs.release(fh);
    expect(await t.fs.getattr('/g')).toMatchObject({ ctimeNs: now, mtimeNs: now });
  });

  it('a directory\'s times do not move when entries are made or removed in it, and its marker is not rewritten', async () => {
    const t = await fixture();
    await t.fs.mkdir('/d', 0o755);
    const before = await t.fs.getattr('/d');
    const marker = t.store.getObject('d/')?.etag;
    t.clock.advance(5_000);
    await touch(t, '/d/f');
    await t.fs.mkdir('/d/sub', 0o755);
    await t.fs.rename('/d/f', '/d/g');
    await t.fs.unlink('/d/g');
    await t.fs.rmdir('/d/sub');
    await t.fs.fsyncdir();
    t.clock.advance(60_000);
    expect(await t.fs.getattr('/d')).toMatchObject({ atimeNs: before.atimeNs, mtimeNs: before.mtimeNs, ctimeNs: before.ctimeNs });
    expect(t.store.getObject('d/')?.etag).toBe(marker);
  });

  it('reads do not move atime (noatime) unless --atime, which moves it relatime-style: once, when not after mtime', async () => {
    const quiet = await fixture();
    await touch(quiet, '/f');
    const before = (await quiet.fs.getattr('/f')).atimeNs;
    quiet.clock.advance(5_000);
    await quiet.readFile('/f');
    expect((await quiet.fs.getattr('/f')).atimeNs).toBe(before);
    expect(quiet.store.calls.copy).toBe(0);

    const t = await fixture({ posix: { atime: true } });
    t.store.putObject('f', 'data', { mtime: '1600000000', atime: '1500000000' });
    t.clock.advance(5_000);
    const readAt = BigInt(t.clock.nowMs) * NS;
    await t.readFile('/f');
    await expect.poll(async () => (await t.fs.getattr('/f')).atimeNs).toBe(readAt);
    const copies = t.store.calls.copy;
    t.clock.advance(5_000);
    await t.readFile('/f');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.store.calls.copy).toBe(copies);
    expect((await t.fs.getattr('/f')).atimeNs).toBe(readAt);
  });
});

describe('extended attributes and ACLs', () => {
  it('stores user.*, trusted.* and security.* in x-amz-meta-xattr; other namespaces are EOPNOTSUPP', async () => {
    const t = await fixture();
    await touch(t, '/f');
    for (const name of ['user.a', 'trusted.b', 'security.c']) await t.fs.setxattr('/f', name, Buffer.from(name), 0);
    expect((await t.fs.listxattr('/f')).sort()).toEqual(['security.c', 'trusted.b', 'user.a']);
    expect((await t.fs.getxattr('/f', 'trusted.b')).toString()).toBe('trusted.b');
    expect(decodeURIComponent(t.store.getObject('f')?.metadata.xattr ?? '')).toBe('{"security.c":"c2VjdXJpdHkuYw==","trusted.b":"dHJ1c3RlZC5i","user.a":"dXNlci5h"}');
    expect(await errnoOf(t.fs.setxattr('/f', 'system.nfs4_acl', Buffer.from('x'), 0))).toBe('EOPNOTSUPP');
  });

  it('hides trusted.* from callers other than root with --allow-other', async () => {
    const t = await fixture({ allowOther: true });
    await touch(t, '/f', 0o644, root);
    await t.fs.setxattr('/f', 'trusted.t', Buffer.from('x'), 0, root);
    await t.fs.setxattr('/f', 'user.u', Buffer.from('y'), 0, root);
    expect(await t.fs.listxattr('/f', alice)).toEqual(['user.u']);
    expect(await errnoOf(t.fs.getxattr('/f', 'trusted.t', alice))).toBe('ENODATA');
    expect((await t.fs.listxattr('/f', root)).sort()).toEqual(['trusted.t', 'user.u']);
  });

  it('past 2 KiB of metadata: ENOSPC, and the object is untouched', async () => {
    const t = await fixture();
    await touch(t, '/f');
    await t.fs.setxattr('/f', 'user.fits', Buffer.alloc(1000, 1), 0);
    const before = t.store.getObject('f');
    expect(await errnoOf(t.fs.setxattr('/f', 'user.big', Buffer.alloc(800, 1), 0))).toBe('ENOSPC');
    expect(t.store.getObject('f')).toEqual(before);
    expect(await t.fs.listxattr('/f')).toEqual(['user.fits']);
  });

  it('an access ACL sets the mode (its mask as the group bits), is stored only when it says more, and follows chmod', async () => {
    const t = await fixture();
    await touch(t, '/f', 0o644);
    await t.fs.setxattr('/f', ACL_ACCESS, namedUserAcl(BOB, 0o6, 0o6, 0), 0);
    expect((await t.fs.getattr('/f')).mode).toBe(S_IFREG | 0o660);
    expect(parseAcl(await t.fs.getxattr('/f', ACL_ACCESS))).toContainEqual(entry(AclTag.USER, 6, BOB));
    await t.fs.chmod('/f', 0o640);
    const acl = parseAcl(await t.fs.getxattr('/f', ACL_ACCESS)) ?? [];
    expect(acl.find((e) => e.tag === AclTag.MASK)?.perm).toBe(4);
    expect(acl.find((e) => e.tag === AclTag.USER)?.perm).toBe(6);
    // Base entries only: that is the mode, nothing is stored.
    await t.fs.setxattr('/f', ACL_ACCESS, serializeAcl([entry(AclTag.USER_OBJ, 7), entry(AclTag.GROUP_OBJ, 5), entry(AclTag.OTHER, 0)]), 0);
    expect((await t.fs.getattr('/f')).mode).toBe(S_IFREG | 0o750);
    expect(await errnoOf(t.fs.getxattr('/f', ACL_ACCESS))).toBe('ENODATA');
    // With no ACL stored, base entries that change the mode ask for chmod (the kernel would keep
    // showing its cached mode after an xattr); cp -a and setfacl then chmod. Equal ones are a no-op.
    const base = (user: number) => serializeAcl([entry(AclTag.USER_OBJ, user), entry(AclTag.GROUP_OBJ, 5), entry(AclTag.OTHER, 0)]);
    expect(await errnoOf(t.fs.setxattr('/f', ACL_ACCESS, base(6), 0))).toBe('EOPNOTSUPP');
    await t.fs.setxattr('/f', ACL_ACCESS, base(7), 0);
    expect((await t.fs.getattr('/f')).mode).toBe(S_IFREG | 0o750);
    expect(await errnoOf(t.fs.setxattr('/f', ACL_ACCESS, Buffer.from('garbage!'), 0))).toBe('EINVAL');
    expect(await errnoOf(t.fs.setxattr('/f', ACL_DEFAULT, namedUserAcl(BOB, 6), 0))).toBe('EACCES');
  });

  it('a directory\'s default ACL replaces the umask for what is made in it, and passes on to subdirectories', async () => {
    const t = await fixture({ allowOther: true });
    await t.fs.mkdir('/d', 0o755, root);
    await t.fs.setxattr('/d', ACL_DEFAULT, serializeAcl([entry(AclTag.USER_OBJ, 7), entry(AclTag.USER, 7, BOB), entry(AclTag.GROUP_OBJ, 5), entry(AclTag.MASK, 7), entry(AclTag.OTHER, 5)]), 0, root);
    await touch(t, '/d/f', 0o666, caller(0, 0, [], 0o077));
    expect((await t.fs.getattr('/d/f')).mode).toBe(S_IFREG | 0o664);
    expect(parseAcl(await t.fs.getxattr('/d/f', ACL_ACCESS))).toEqual([
      entry(AclTag.USER_OBJ, 6),
      entry(AclTag.USER, 7, BOB),
      entry(AclTag.GROUP_OBJ, 5),
      entry(AclTag.MASK, 6),
      entry(AclTag.OTHER, 4),
    ]);
    await t.fs.mkdir('/d/sub', 0o777, caller(0, 0, [], 0o077));
    expect((await t.fs.getattr('/d/sub')).mode).toBe(S_IFDIR | 0o775);
    expect(await t.fs.getxattr('/d/sub', ACL_DEFAULT)).toEqual(await t.fs.getxattr('/d', ACL_DEFAULT));
  });

  it('with --allow-other, ACLs narrow access: a named user\'s entry and an ancestor\'s refuse what the mode would allow', async () => {
    const t = await fixture({ allowOther: true });
    await t.fs.mkdir('/d', 0o755, root);
    await touch(t, '/d/f', 0o644, root);
    expect((await t.readFile('/d/f')).length).toBe(0);
    const fh = await t.fs.open('/d/f', OpenFlags.O_RDONLY, bob);
    await t.fs.release(fh);
    await t.fs.setxattr('/d/f', ACL_ACCESS, namedUserAcl(BOB, 0, 0o4, 0o4), 0, root);
    expect(await errnoOf(t.fs.open('/d/f', OpenFlags.O_RDONLY, bob))).toBe('EACCES');
    await t.fs.release(await t.fs.open('/d/f', OpenFlags.O_RDONLY, alice));
    await t.fs.setxattr('/d', ACL_ACCESS, serializeAcl([entry(AclTag.USER_OBJ, 7), entry(AclTag.USER, 0, ALICE), entry(AclTag.GROUP_OBJ, 5), entry(AclTag.MASK, 5), entry(AclTag.OTHER, 5)]), 0, root);
    expect(await errnoOf(t.fs.getattr('/d/f', alice))).toBe('EACCES');
    expect(await errnoOf(t.fs.create('/d/new', 0o644, alice))).toBe('EACCES');
    expect(await t.fs.getattr('/d/f', root)).toMatchObject({ uid: 0 });
    // Only the owner sets ACLs.
    expect(await errnoOf(t.fs.setxattr('/d/f', ACL_ACCESS, namedUserAcl(BOB, 6), 0, bob))).toBe('EPERM');
  });
});

describe('directories', () => {
  it('nlink is 2 plus the subdirectories a listing showed', async () => {
    const t = await fixture();
    for (const key of ['d/a/x', 'd/b/', 'd/c/y/z', 'd/file']) t.store.putObject(key, key.endsWith('/') ? '' : 'x');
    await t.fs.readdir('/d');
    expect((await t.fs.getattr('/d')).nlink).toBe(5);
    expect((await t.fs.getattr('/d/b')).nlink).toBe(2);
    expect((await t.fs.getattr('/d/file')).nlink).toBe(1);
  });

  it('old s3fs directory objects without a slash (application/x-directory, or S_IFDIR) are directories, with their attributes', async () => {
    const t = await fixture();
    t.store.putObject('old', '', { mode: String(S_IFDIR | 0o750), uid: '5', gid: '6', mtime: '1500000000' }, 'application/x-directory');
    t.store.putObject('typed', '', { uid: '9' }, 'application/x-directory');
    t.store.putObject('typed/inner', 'x');
    expect(await t.fs.getattr('/old')).toMatchObject({ mode: S_IFDIR | 0o750, uid: 5, gid: 6, mtimeNs: 1_500_000_000_000_000_000n });
    expect(await t.fs.getattr('/typed')).toMatchObject({ mode: S_IFDIR | 0o755, uid: 9 });
    expect(await t.names('/typed')).toEqual(['inner']);
    await t.fs.readdir('/');
    expect((await t.fs.getattr('/')).nlink).toBe(4);
    // Listed as an object and a prefix: the object still gives the directory its attributes.
    t.clock.advance(2_000);
    await t.fs.readdir('/');
    expect((await t.fs.getattr('/typed')).uid).toBe(9);
    // Our marker replaces it at the first change; rmdir removes both.
    await t.fs.chmod('/old', 0o700);
    expect(t.store.keys().filter((k) => k.startsWith('old'))).toEqual(['old/']);
    expect(await t.fs.getattr('/old')).toMatchObject({ mode: S_IFDIR | 0o700, uid: 5 });
    t.clock.advance(2_000);
    t.store.putObject('gone', '', {}, 'httpd/unix-directory');
    await t.fs.getattr('/gone');
    await t.fs.rmdir('/gone');
    expect(t.store.getObject('gone')).toBeUndefined();
  });

  it('a renamed old s3fs directory arrives with our marker, and nothing is left at the old name', async () => {
    const t = await fixture();
    t.store.putObject('old', '', { mode: String(S_IFDIR | 0o750) }, 'application/x-directory');
    await t.fs.rename('/old', '/new');
    expect(t.store.keys()).toEqual(['new/']);
    expect((await t.fs.getattr('/new')).mode).toBe(S_IFDIR | 0o750);
  });

  it('Hadoop dir_$folder$ markers are directories (the marker is not shown) and go with rmdir', async () => {
    const t = await fixture();
    t.store.putObject('empty_$folder$', '');
    t.store.putObject('full_$folder$', '');
    t.store.putObject('full/x', 'x');
    expect(await t.names('/')).toEqual(['empty', 'full']);
    expect((await t.fs.getattr('/empty')).mode).toBe(S_IFDIR | 0o755);
    await t.fs.rmdir('/empty');
    expect(t.store.getObject('empty_$folder$')).toBeUndefined();
    expect(await t.names('/')).toEqual(['full']);
  });

  it('implicit directories take --dir-mode (0755 by default, what s3fs gives them with umask 022)', async () => {
    const t = await fixture({ posix: { dirMode: 0o750 } });
    t.store.putObject('imp/x', 'x');
    expect((await t.fs.getattr('/imp')).mode).toBe(S_IFDIR | 0o750);
  });
});

describe('names and keys', () => {
  it('a path whose key would pass S3\'s 1,024 bytes is ENAMETOOLONG at once, with no request', async () => {
    const t = await fixture();
    const deep = `/${Array.from({ length: 5 }, () => 'd'.repeat(200)).join('/')}`;
    const before = { ...t.store.calls };
    expect(await errnoOf(t.fs.getattr(`${deep}/${'f'.repeat(20)}`))).toBe('ENAMETOOLONG');
    expect(await errnoOf(t.fs.create(`${deep}/${'f'.repeat(20)}`, 0o644))).toBe('ENAMETOOLONG');
    expect(t.store.calls).toEqual(before);
    expect(await errnoOf(t.fs.getattr(`/${'n'.repeat(256)}`))).toBe('ENAMETOOLONG');
  });

  it('a directory\'s key has its slash: a name that fits as a file can be too long as a directory', async () => {
    const t = await fixture({ maxKeyBytes: 100 });
    await touch(t, `/${'f'.repeat(100)}`);
    expect(await errnoOf(t.fs.mkdir(`/${'d'.repeat(100)}`, 0o755))).toBe('ENAMETOOLONG');
    await t.fs.mkdir(`/${'d'.repeat(99)}`, 0o755);
  });

  it('a directory rename that would push a key below it past the limit is ENAMETOOLONG, before any copy', async () => {
    const t = await fixture({ maxKeyBytes: 100 });
    t.store.putObject(`a/${'x'.repeat(90)}`, 'x');
    const copies = t.store.calls.copy;
    expect(await errnoOf(t.fs.rename('/a', `/${'b'.repeat(20)}`))).toBe('ENAMETOOLONG');
    expect(t.store.calls.copy).toBe(copies);
    expect(t.store.keys()).toEqual([`a/${'x'.repeat(90)}`]);
  });

  it('hard links are refused with link(2)\'s EPERM', async () => {
    const t = await fixture();
    await touch(t, '/f');
    expect(await errnoOf(t.fs.link('/f', '/g'))).toBe('EPERM');
  });

  it('a rename gives the object the Content-Type of its new name, unless both names have the same type', async () => {
    const t = await fixture();
    await t.writeFile('/notes.txt', 'hello');
    await t.fs.rename('/notes.txt', '/notes.json');
    expect(t.store.getObject('notes.json')?.contentType).toBe('application/json');
    t.store.putObject('page.html', '<p>', {}, 'text/html; charset=utf-8');
    await t.fs.rename('/page.html', '/other.html');
    expect(t.store.getObject('other.html')?.contentType).toBe('text/html; charset=utf-8');
    expect(t.store.getObject('other.html')?.body.toString()).toBe('<p>');
  });
});
