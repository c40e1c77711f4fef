// Types for the parts of fuse-native (2.2.6, patched: see patches/) that src/fs/fuse/ uses.
declare module 'fuse-native' {
  type Cb<T extends unknown[] = []> = (err: number, ...result: T) => void;

  export interface FuseStat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    dev?: number;
    nlink: number;
    ino: number;
    rdev?: number;
    blksize: number;
    blocks: number;
    /** Patched: a bigint is nanoseconds since the epoch (a number is milliseconds). */
    atime: bigint | number | Date;
    mtime: bigint | number | Date;
    ctime: bigint | number | Date;
  }

  /** Patched: who made the request being dispatched (fuse_get_context()). */
  export interface FuseCaller {
    readonly uid: number;
    readonly gid: number;
    /** The calling thread's id. */
    readonly pid: number;
    /** Only for create, mkdir and mknod, which get their mode before it (FUSE_CAP_DONT_MASK). */
    readonly umask: number;
  }

  export interface FuseStatfs {
    bsize: number;
    frsize: number;
    blocks: number;
    bfree: number;
    bavail: number;
    files: number;
    ffree: number;
    favail: number;
    fsid: number;
    flag: number;
    namemax: number;
  }

  export interface FuseOps {
    init?(cb: Cb): void;
    access?(path: string, mode: number, cb: Cb): void;
    statfs?(path: string, cb: Cb<[FuseStatfs?]>): void;
    getattr?(path: string, cb: Cb<[FuseStat?]>): void;
    fgetattr?(path: string, fd: number, cb: Cb<[FuseStat?]>): void;
    flush?(path: string, fd: number, cb: Cb): void;
    fsync?(path: string, datasync: number, fd: number, cb: Cb): void;
    fsyncdir?(path: string, datasync: number, fd: number, cb: Cb): void;
    readdir?(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void;
    truncate?(path: string, size: number, cb: Cb): void;
    ftruncate?(path: string, fd: number, size: number, cb: Cb): void;
    readlink?(path: string, cb: Cb<[string?]>): void;
    chown?(path: string, uid: number, gid: number, cb: Cb): void;
    chmod?(path: string, mode: number, cb: Cb): void;
    mknod?(path: string, mode: number, dev: number, cb: Cb): void;
    setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Cb): void;
    getxattr?(path: string, name: string, position: number, cb: (err: number, value?: Buffer | null) => void): void;
    listxattr?(path: string, cb: (err: number, list?: string[]) => void): void;
    removexattr?(path: string, name: string, cb: Cb): void;
    open?(path: string, flags: number, cb: Cb<[number?]>): void;
    opendir?(path: string, flags: number, cb: Cb<[number?]>): void;
    read?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (result: number) => void): void;
    write?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (result: number) => void): void;
    release?(path: string, fd: number, cb: Cb): void;
    releasedir?(path: string, fd: number, cb: Cb): void;
    create?(path: string, mode: number, cb: Cb<[number?]>): void;
    /** Patched: nanoseconds since the epoch; undefined for UTIME_OMIT (UTIME_NOW arrives as now). */
    utimens?(path: string, atime: bigint | undefined, mtime: bigint | undefined, cb: Cb): void;
    unlink?(path: string, cb: Cb): void;
    rename?(src: string, dest: string, cb: Cb): void;
    link?(src: string, dest: string, cb: Cb): void;
    symlink?(target: string, path: string, cb: Cb): void;
    mkdir?(path: string, mode: number, cb: Cb): void;
    rmdir?(path: string, cb: Cb): void;
  }

  export type OpName = keyof FuseOps;

  export interface FuseOptions {
    /** ms per operation, or false for none; an object sets it per operation name. */
    timeout?: number | false | ({ default?: number } & Partial<Record<OpName, number | false>>);
    force?: boolean;
    mkdir?: boolean;
    debug?: boolean;
    allowOther?: boolean;
    autoUnmount?: boolean;
    defaultPermissions?: boolean;
    fsname?: string;
    subtype?: string;
    entryTimeout?: number;
    attrTimeout?: number;
    maxRead?: number;
    /** libfuse auto_cache: keep the page cache at open when size and mtime are unchanged. */
    autoCache?: boolean;
    /** Added by patches/fuse-native: writes of up to 128 KiB instead of 4 KiB. */
    bigWrites?: boolean;
    /** Added by patches/fuse-native: st_ino from getattr/readdir is used as the inode number. */
    useIno?: boolean;
    /** Added by patches/fuse-native: the noatime mount flag. */
    noatime?: boolean;
  }

  export default class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOptions);
    readonly mnt: string;
    /**
     * Added by patches/fuse-native: the caller of the operation being dispatched. Valid while the
     * op handler runs synchronously; read it at the handler's start.
     */
    readonly caller: FuseCaller | undefined;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    /** Added by patches/fuse-native: the patch version of index.js and of the loaded addon. */
    static readonly bucketfsPatch?: { readonly js: number; readonly native: number | undefined };
  }
}
