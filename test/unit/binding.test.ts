// The FUSE adapter's own rules, without a mount: what libfuse's conventions (`.` and `..`, type bits
// with 0 for "unknown", -1 for "leave the owner", fh 0 for "no handle", 32-bit statvfs counts, the
// request's caller, nanosecond times) become in the core's plain-data calls.
import { describe, expect, it } from 'vitest';
import type { FuseCaller, FuseStat, FuseStatfs } from 'fuse-native';
import { callerFrom, createOps, groupsFromStatus } from '../../src/fs/fuse/binding.js';
import { silentLogger } from '../../src/log.js';
import { useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();

/** Calls a callback-style op and resolves with the callback's arguments. */
function call<A extends unknown[]>(invoke: (cb: (...args: A) => void) => void): Promise<A> {
  return new Promise((resolve) => invoke((...args) => resolve(args)));
}

describe('the fuse-native adapter', () => {
  it('adds . and .. to readdir and gives known types their mode bits, unknown ones 0', async () => {
    const t = await fixture();
    t.store.putObject('d/small', 'x');
    t.store.putObject('d/big', Buffer.alloc(10_000));
    t.store.putObject('d/sub/x', 'x');
    const ops = createOps(t.fs, silentLogger);
    const [errno, names, stats] = await call<[number, string[]?, FuseStat[]?]>((cb) => ops.readdir?.('/d', cb as never));
    expect(errno).toBe(0);
    expect(names).toEqual(['.', '..', 'big', 'small', 'sub']);
    const mode = (name: string) => stats?.[names?.indexOf(name) ?? -1]?.mode;
    expect([mode('.'), mode('..'), mode('big'), mode('small'), mode('sub')]).toEqual([0o040000, 0o040000, 0o100000, 0, 0o040000]);
    expect(stats?.[0]?.ino).toBe((await t.fs.getattr('/d')).ino);
    expect(stats?.[1]?.ino).toBe((await t.fs.getattr('/')).ino);
  });

  it('passes -1 and 0xffffffff in chown as "leave unchanged"', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'x');
    const ops = createOps(t.fs, silentLogger);
    expect(await call<[number]>((cb) => ops.chown?.('/f', 7, -1, cb))).toEqual([0]);
    expect(await call<[number]>((cb) => ops.chown?.('/f', 0xffffffff, 8, cb))).toEqual([0]);
    const stat = await t.fs.getattr('/f');
    expect([stat.uid, stat.gid]).toEqual([7, 8]);
  });

  it('answers fgetattr with fh 0 from the path, and an unknown handle with EBADF', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'abc');
    const ops = createOps(t.fs, silentLogger);
    const [errno, stat] = await call<[number, FuseStat?]>((cb) => ops.fgetattr?.('/f', 0, cb as never));
    expect([errno, stat?.size]).toEqual([0, 3]);
    expect((await call<[number]>((cb) => ops.fgetattr?.('/f', 999, cb as never)))[0]).toBe(-9);
  });

  it('fits a petabyte of statfs capacity into 32-bit block counts', async () => {
    const t = await fixture({ posix: { capacityBytes: 2 ** 50 } });
    const ops = createOps(t.fs, silentLogger);
    const [errno, s] = await call<[number, FuseStatfs?]>((cb) => ops.statfs?.('/', cb as never));
    expect(errno).toBe(0);
    expect(s && s.blocks * s.bsize).toBe(2 ** 50);
    expect(s && s.blocks < 2 ** 32 && s.files < 2 ** 32).toBe(true);
  });

  it('passes times as nanoseconds both ways, UTIME_OMIT as undefined, and device numbers in stat', async () => {
    const t = await fixture();
    await t.writeFile('/f', 'x');
    const ops = createOps(t.fs, silentLogger);
    expect(await call<[number]>((cb) => ops.utimens?.('/f', 1_500_000_000_000_000_001n, 1_577_934_245_123_456_789n, cb))).toEqual([0]);
    expect(await call<[number]>((cb) => ops.utimens?.('/f', undefined, 1_600_000_000_000_000_002n, cb))).toEqual([0]);
    const [, stat] = await call<[number, FuseStat?]>((cb) => ops.getattr?.('/f', cb as never));
    expect([stat?.atime, stat?.mtime]).toEqual([1_500_000_000_000_000_001n, 1_600_000_000_000_000_002n]);
    expect(await call<[number]>((cb) => ops.mknod?.('/null', 0o020666, 0x0103, cb))).toEqual([0]);
    const [, dev] = await call<[number, FuseStat?]>((cb) => ops.getattr?.('/null', cb as never));
    expect([dev?.mode, dev?.rdev]).toEqual([0o020666, 0x0103]);
  });

  it('gives each operation its caller: the umask shapes new modes, and --allow-other makes the caller the owner', async () => {
    const t = await fixture({ allowOther: true });
    let who: FuseCaller | undefined = { uid: 0, gid: 0, pid: process.pid, umask: 0o022 };
    const ops = createOps(t.fs, silentLogger, () => who);
    expect(await call<[number]>((cb) => ops.mkdir?.('/pub', 0o777, cb))).toEqual([0]);
    expect(await call<[number]>((cb) => ops.chmod?.('/pub', 0o1777, cb))).toEqual([0]);
    who = { uid: 1234, gid: 1234, pid: process.pid, umask: 0o077 };
    expect(await call<[number]>((cb) => ops.mkdir?.('/pub/mine', 0o777, cb))).toEqual([0]);
    expect(await t.fs.getattr('/pub/mine')).toMatchObject({ uid: 1234, gid: 1234, mode: 0o040700 });
    // A non-root caller cannot give a directory away (EPERM).
    expect(await call<[number]>((cb) => ops.chown?.('/pub/mine', 0, -1, cb))).toEqual([-1]);
  });

  it('reads a caller\'s groups from /proc/PID/status once, and falls back to its gid when the process is gone', async () => {
    expect(groupsFromStatus('Name:\tsh\nGroups:\t4 24 27 \nNgid:\t0\n')).toEqual([4, 24, 27]);
    expect(groupsFromStatus('Groups:\n')).toEqual([]);
    const own = callerFrom({ uid: 1, gid: 99_999, pid: process.pid, umask: 0 });
    expect((await own.groups())[0]).toBe(99_999);
    expect(own.groups()).toBe(own.groups());
    const gone = callerFrom({ uid: 1, gid: 77, pid: 2 ** 30, umask: 0 });
    expect(await gone.groups()).toEqual([77]);
  });
});
