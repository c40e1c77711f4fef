// The fuse-native adapter: the only file that knows FUSE's callback shapes. Every operation goes
// through one promise → callback helper that turns errors into -errno (src/fs/errno.ts) and logs the
// unexpected ones. Operations bucketfs does not support are listed with their errno on purpose,
// because fuse-native otherwise answers a silent -1 (EPERM). Per-operation timeouts are chosen here:
// none where an upload may be finishing, a bound from the S3 retry budget elsewhere.
// Each operation passes the core its caller (uid, gid, pid, umask from the patched fuse-native) and
// times travel as nanoseconds (bigint) both ways.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type Fuse from 'fuse-native';
import type { FuseCaller, FuseOps, FuseOptions, FuseStat, FuseStatfs, OpName } from 'fuse-native';
import type { Logger } from '../../log.js';
import { toErrno } from '../errno.js';
import type { Caller, StatFs } from '../filesystem.js';
import { typeBits } from '../metadata.js';
import type { FilesystemOperations } from '../operations.js';
import type { Stat } from '../stat.js';
import { loadFuse } from './native.js';

export interface BindingOptions {
  readonly mountpoint: string;
  readonly fsName: string;
  readonly allowOther: boolean;
  /** Reads store access times; without it the mount says noatime. */
  readonly atime: boolean;
  readonly debugFuse: boolean;
  /** Upper bound for one lookup/read/list, ms: the S3 layer gives up before this. */
  readonly boundedOpTimeoutMs: number;
  /** Kernel caching of attributes and names, seconds. */
  readonly attrTimeoutSec: number;
  /** Keep a file's page cache across opens while its size and mtime are unchanged (auto_cache). */
  readonly keepPageCache: boolean;
}

/** One answered FUSE operation, published on FUSE_OP_CHANNEL (for metrics, see src/metrics). */
export interface FuseOpEvent {
  readonly op: string;
  readonly durationMs: number;
  /** The errno name answered (ENOENT...), undefined on success. */
  readonly errno: string | undefined;
  /** Bytes a read returned or a write took. */
  readonly bytes: number | undefined;
}

/** diagnostics_channel name of FuseOpEvent. */
export const FUSE_OP_CHANNEL = 'bucketfs:fuse:op';
const opChannel = diagnosticsChannel.channel(FUSE_OP_CHANNEL);

/** chown(2)'s "leave unchanged", as fuse-native passes it: -1, or its 32-bit unsigned form. */
const UNCHANGED_IDS: ReadonlySet<number> = new Set([-1, 0xffffffff]);

function idOrUnchanged(id: number): number | undefined {
  return UNCHANGED_IDS.has(id) ? undefined : id;
}

/** statvfs counts are 32-bit in fuse-native: the block size grows until the capacity fits. */
function toFuseStatfs(s: StatFs): FuseStatfs {
  const UINT32_MAX = 2 ** 32 - 1;
  let blockSizeBytes = 4096;
  while (s.capacityBytes / blockSizeBytes > UINT32_MAX) blockSizeBytes *= 2;
  const blocks = Math.floor(s.capacityBytes / blockSizeBytes);
  const free = Math.floor(s.freeBytes / blockSizeBytes);
  const files = Math.min(s.files, UINT32_MAX);
  const freeFiles = Math.min(s.freeFiles, UINT32_MAX);
  return {
    bsize: blockSizeBytes,
    frsize: blockSizeBytes,
    blocks,
    bfree: free,
    bavail: free,
    files,
    ffree: freeFiles,
    favail: freeFiles,
    fsid: 0,
    flag: 0,
    namemax: s.nameMaxBytes,
  };
}

function toFuseStat(stat: Stat): FuseStat {
  return {
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.sizeBytes,
    nlink: stat.nlink,
    ino: stat.ino,
    rdev: stat.rdev,
    blksize: stat.blockSizeBytes,
    blocks: stat.blocks,
    atime: stat.atimeNs,
    mtime: stat.mtimeNs,
    ctime: stat.ctimeNs,
  };
}

/** The `Groups:` of /proc/PID/status (the supplementary groups), or none when the caller is gone. */
export function groupsFromStatus(status: string): number[] {
  const line = /^Groups:(.*)$/m.exec(status)?.[1] ?? '';
  return line.split(/\s+/).filter((g) => /^\d+$/.test(g)).map(Number);
}

/** The core's Caller for a FUSE request: its groups are read from /proc, once, when a rule needs them. */
export function callerFrom(who: FuseCaller): Caller {
  let groups: Promise<readonly number[]> | undefined;
  return {
    uid: who.uid,
    gid: who.gid,
    pid: who.pid,
    umask: who.umask,
    groups: () =>
      (groups ??= readFile(`/proc/${who.pid}/status`, 'utf8').then(
        (status) => [...new Set([who.gid, ...groupsFromStatus(status)])],
        () => [who.gid],
      )),
  };
}

/** Operations that may wait for a multipart upload or a long server-side copy: never time out. */
const UNBOUNDED: readonly OpName[] = [
  'flush', 'fsync', 'release', 'write', 'create', 'rename', 'truncate', 'ftruncate', 'unlink', 'rmdir',
  'chmod', 'chown', 'utimens', 'setxattr', 'removexattr', 'open', 'mkdir', 'symlink', 'mknod', 'fsyncdir',
];

/**
 * Every FUSE callback as one line of a table. Long on purpose: the whole mapping is one object so
 * each operation's translation sits beside the others. `callerOf`: who made the request being
 * dispatched, read synchronously at each handler's start.
 */
export function createOps(fs: FilesystemOperations, log: Logger, callerOf: () => FuseCaller | undefined = () => undefined): FuseOps {
  const caller = (): Caller | undefined => {
    const who = callerOf();
    return who && callerFrom(who);
  };
  /** Runs one operation and answers FUSE exactly once. */
  const run = <T>(op: string, path: string, work: (who: Caller | undefined) => Promise<T>, reply: (errno: number, value?: T) => void) => {
    const started = performance.now();
    const publish = (errno: string | undefined, value?: T): void => {
      if (!opChannel.hasSubscribers) return;
      const bytes = op === 'read' && Buffer.isBuffer(value) ? value.length : op === 'write' && typeof value === 'number' ? value : undefined;
      const event: FuseOpEvent = { op, durationMs: performance.now() - started, errno, bytes };
      opChannel.publish(event);
    };
    // The caller is the dispatched request's only until the handler returns: read it first.
    work(caller()).then(
      (value) => {
        publish(undefined, value);
        reply(0, value);
      },
      (error: unknown) => {
        const { errno, name, unexpected } = toErrno(error);
        if (unexpected) {
          const requestId = (error as { requestId?: string }).requestId;
          log.error(`${op} ${path}: ${name}: ${(error as Error)?.message ?? String(error)}${requestId ? ` (request id ${requestId})` : ''}`);
        } else if (log.debugEnabled) {
          log.debug(`${op} ${path}: ${name}`);
        }
        publish(name);
        reply(-errno);
      },
    );
  };
  const plain = (cb: (err: number) => void) => (errno: number) => cb(errno);

  return {
    init: (cb) => cb(0),
    getattr: (path, cb) => run('getattr', path, (who) => fs.getattr(path, who), (e, st) => cb(e, st && toFuseStat(st))),
    readdir: (path, cb) =>
      run('readdir', path, (who) => fs.readdir(path, who), (e, dir) => {
        if (e || !dir) return cb(e);
        const entries = [
          { name: '.', kind: 'dir' as const, ino: dir.ino },
          { name: '..', kind: 'dir' as const, ino: dir.parentIno },
          ...dir.entries,
        ];
        // Type bits 0 are DT_UNKNOWN: the kernel asks getattr.
        const stats = entries.map((entry) => ({ mode: entry.kind ? typeBits(entry.kind) : 0, ino: entry.ino }) as FuseStat);
        cb(0, entries.map((entry) => entry.name), stats);
      }),
    open: (path, flags, cb) => run('open', path, (who) => fs.open(path, flags, who), (e, fh) => cb(e, fh)),
    read: (path, fd, buffer, length, position, cb) =>
      run('read', path, () => fs.read(fd, position, length), (e, data) => {
        if (e || !data) return cb(e);
        cb(data.copy(buffer, 0, 0, Math.min(length, data.length)));
      }),
    release: (path, fd, cb) => run('release', path, () => fs.release(fd), plain(cb)),
    readlink: (path, cb) => run('readlink', path, (who) => fs.readlink(path, who), (e, target) => cb(e, target)),
    getxattr: (path, name, _position, cb) => run('getxattr', path, (who) => fs.getxattr(path, name, who), (e, v) => cb(e, v)),
    listxattr: (path, cb) => run('listxattr', path, (who) => fs.listxattr(path, who), (e, list) => cb(e, list)),
    access: (path, mode, cb) => run('access', path, () => fs.access(path, mode), plain(cb)),
    statfs: (path, cb) => run('statfs', path, () => fs.statfs(path), (e, s) => cb(e, s && toFuseStatfs(s))),
    // fh 0 is libfuse's "no handle": answer from the path.
    fgetattr: (path, fd, cb) =>
      run('fgetattr', path, () => (fd === 0 ? fs.getattr(path) : fs.fgetattr(fd)), (e, st) => cb(e, st && toFuseStat(st))),
    create: (path, mode, cb) => run('create', path, (who) => fs.create(path, mode, who), (e, fh) => cb(e, fh)),
    write: (path, fd, buffer, length, position, cb) =>
      // `buffer` is fuse-native's and valid until we answer; the core is done with it by then.
      run('write', path, () => fs.write(fd, position, buffer.subarray(0, length)), (e, n) => cb(e || (n ?? 0))),
    flush: (path, fd, cb) => run('flush', path, () => fs.flush(fd), plain(cb)),
    fsync: (path, _datasync, fd, cb) => run('fsync', path, () => fs.fsync(fd), plain(cb)),
    // restic and borg fsync directories: wait for queued deletes, then 0.
    fsyncdir: (path, _datasync, _fd, cb) => run('fsyncdir', path, () => fs.fsyncdir(path), plain(cb)),
    truncate: (path, size, cb) => run('truncate', path, (who) => fs.truncate(path, size, who), plain(cb)),
    ftruncate: (path, fd, size, cb) => run('ftruncate', path, () => fs.ftruncate(fd, size), plain(cb)),
    unlink: (path, cb) => run('unlink', path, (who) => fs.unlink(path, who), plain(cb)),
    rename: (from, to, cb) => run('rename', from, (who) => fs.rename(from, to, who), plain(cb)),
    mkdir: (path, mode, cb) => run('mkdir', path, (who) => fs.mkdir(path, mode, who), plain(cb)),
    rmdir: (path, cb) => run('rmdir', path, (who) => fs.rmdir(path, who), plain(cb)),
    symlink: (target, path, cb) => run('symlink', path, (who) => fs.symlink(target, path, who), plain(cb)),
    mknod: (path, mode, dev, cb) => run('mknod', path, (who) => fs.mknod(path, mode, dev, who), plain(cb)),
    chmod: (path, mode, cb) => run('chmod', path, (who) => fs.chmod(path, mode, who), plain(cb)),
    chown: (path, uid, gid, cb) => run('chown', path, (who) => fs.chown(path, idOrUnchanged(uid), idOrUnchanged(gid), who), plain(cb)),
    utimens: (path, atime, mtime, cb) => run('utimens', path, (who) => fs.utimens(path, atime, mtime, who), plain(cb)),
    setxattr: (path, name, value, _position, flags, cb) => run('setxattr', path, (who) => fs.setxattr(path, name, value, flags, who), plain(cb)),
    removexattr: (path, name, cb) => run('removexattr', path, (who) => fs.removexattr(path, name, who), plain(cb)),
    // Hard links: link(2)'s EPERM for a filesystem without them.
    link: (from, to, cb) => run('link', to, () => fs.link(from, to), plain(cb)),
  };
}

export function fuseOptions(options: BindingOptions): FuseOptions {
  const timeout: Record<string, number | false> = { default: options.boundedOpTimeoutMs };
  for (const op of UNBOUNDED) timeout[op] = false;
  return {
    fsname: options.fsName,
    subtype: 'bucketfs',
    allowOther: options.allowOther,
    // Other users get in only with --allow-other: then the kernel must enforce the stored modes.
    defaultPermissions: options.allowOther,
    debug: options.debugFuse,
    useIno: true,
    bigWrites: true,
    noatime: !options.atime,
    attrTimeout: options.attrTimeoutSec,
    entryTimeout: options.attrTimeoutSec,
    // libfuse checks size and mtime at each open (via getattr, at most attrTimeout old) and keeps
    // the kernel's pages when both are unchanged, so a re-read costs no request. max_read is left
    // alone: with libfuse 2 the kernel caps a read request at 32 pages (128 KiB) and max_read can
    // only lower that (measured: max_read=1M still gives 128 KiB reads).
    autoCache: options.keepPageCache,
    timeout,
  };
}

/** Mounts and resolves once the kernel has sent init. */
export function mount(fs: FilesystemOperations, log: Logger, options: BindingOptions): Promise<Fuse> {
  const FuseNative = loadFuse();
  // The ops read the caller from the instance, once it exists (no op runs before mount).
  const fuse: Fuse = new FuseNative(options.mountpoint, createOps(fs, log, () => fuse.caller), fuseOptions(options));
  return new Promise((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve(fuse))));
}

export function unmount(fuse: Fuse): Promise<void> {
  return new Promise((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
}

/**
 * Detaches a FUSE mount, also one whose daemon is gone, without loading fuse-native (it may be the
 * broken part): `fusermount -uz` is what fuse-native itself runs. Rejects with fusermount's message.
 */
export function unmountPath(mountpoint: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('fusermount', ['-uz', mountpoint], (err, _stdout, stderr) =>
      err ? reject(new Error(stderr.trim() || err.message)) : resolve(),
    ),
  );
}
