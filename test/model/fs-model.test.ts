// Reference-model test: random FUSE operations, and changes by another client of the bucket, run on
// S3Filesystem and on a tiny model (path → dir | file, FIFOs from mknod included; files are shared
// inodes, so handles survive unlink and rename). Every answer matches the model; every file no
// handle holds open is in the bucket.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toErrno, type ErrnoName } from '../../src/fs/errno.js';
import { OpenFlags } from '../../src/fs/filesystem.js';
import { S_IFDIR, S_IFIFO, S_IFMT, S_IFREG } from '../../src/fs/metadata.js';
import { type FsFixture, type FsFixtureOptions, PART_BYTES, patternBytes, useFsFixtures } from '../support/fs-fixture.js';

const fixture = useFsFixtures();

/** A file's content, shared by every name and handle that refers to it. */
interface Inode {
  bytes: Buffer;
  /** Bumped by every change of the bytes. */
  version: number;
  /** Made by mknod as a FIFO: stat says so, through renames and writes, until another client replaces it. */
  readonly fifo?: true;
}

type Entry = { readonly kind: 'dir' } | { readonly kind: 'file'; readonly inode: Inode };

interface Handle {
  readonly fh: number;
  readonly inode: Inode;
  readonly writable: boolean;
  readonly append: boolean;
  /** Opened read-only while no other handle held the file open for writing: the fs pins the object version. */
  readonly pinned: boolean;
}

interface Model {
  /** Every path that exists, the root included. */
  readonly entries: Map<string, Entry>;
  readonly handles: Handle[];
  /** Keys unlinked while a pinned reader had them open: they stay in the bucket until it closes. */
  readonly deferred: Map<string, Inode>;
}

type Real = FsFixture;
type Outcome = ErrnoName | 'ok';
type Command = fc.AsyncCommand<Model, Real>;

const PATHS = ['/a', '/b', '/c', '/a/a', '/a/b', '/b/a', '/a/a/a', '/a/a/b'] as const;
type TestPath = (typeof PATHS)[number];

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function isBelow(path: string, ancestor: string): boolean {
  return path.startsWith(`${ancestor}/`);
}

function childNames(m: Model, dir: string): string[] {
  return [...m.entries.keys()]
    .filter((p) => p !== '/' && parentOf(p) === dir)
    .map((p) => p.slice(p.lastIndexOf('/') + 1))
    .sort();
}

/** The kernel resolves every ancestor before it calls the filesystem: only the last name may be missing. */
function parentIsDir(m: Model, path: string): boolean {
  return m.entries.get(parentOf(path))?.kind === 'dir';
}

function fileAt(m: Model, path: string): Inode | undefined {
  const entry = m.entries.get(path);
  return entry?.kind === 'file' ? entry.inode : undefined;
}

function isOpen(m: Model, inode: Inode): boolean {
  return m.handles.some((h) => h.inode === inode);
}

function pathOf(m: Model, inode: Inode): string | undefined {
  for (const [path, entry] of m.entries) if (entry.kind === 'file' && entry.inode === inode) return path;
  return undefined;
}

function writeAt(inode: Inode, offset: number, data: Buffer): void {
  inode.version++;
  const end = offset + data.length;
  if (end > inode.bytes.length) inode.bytes = Buffer.concat([inode.bytes, Buffer.alloc(end - inode.bytes.length)]);
  data.copy(inode.bytes, offset);
}

function resize(inode: Inode, sizeBytes: number): void {
  // The filesystem ignores a truncate to the size the file already has.
  if (sizeBytes === inode.bytes.length) return;
  inode.version++;
  inode.bytes = sizeBytes <= inode.bytes.length ? Buffer.from(inode.bytes.subarray(0, sizeBytes)) : Buffer.concat([inode.bytes, Buffer.alloc(sizeBytes - inode.bytes.length)]);
}

async function outcomeOf(operation: Promise<unknown>): Promise<Outcome> {
  try {
    await operation;
    return 'ok';
  } catch (e) {
    return toErrno(e).name;
  }
}

/** What another client of the bucket reads under the key of `path`. */
function expectInBucket(r: Real, path: string, inode: Inode, when: string): void {
  const body = r.body(path.slice(1));
  expect(body, `${when}: ${path} in the bucket`).toBeDefined();
  expect((body as Buffer).equals(inode.bytes), `${when}: bytes of ${path} in the bucket`).toBe(true);
}

function handleOf(m: Model, index: number): Handle | undefined {
  return m.handles.length === 0 ? undefined : m.handles[index % m.handles.length];
}

const bytesArb = fc.record({ length: fc.integer({ min: 1, max: 3000 }), seed: fc.nat({ max: 1000 }) }).map(({ length, seed }) => patternBytes(length, `w${seed}`));
/** Objects other clients put: small ones, and ones of several parts that writes then patch by part copies. */
const objectArb = fc.oneof(bytesArb, fc.integer({ min: PART_BYTES, max: 3 * PART_BYTES }).map((length) => patternBytes(length, `o${length}`)));
const pathArb = fc.constantFrom(...PATHS);

/** An operation on one path whose parent is a directory: the kernel resolves every ancestor first. */
abstract class PathCommand implements Command {
  abstract readonly op: string;
  constructor(readonly path: TestPath) {}
  check(m: Model): boolean {
    return parentIsDir(m, this.path);
  }
  abstract run(m: Model, r: Real): Promise<void>;
  toString(): string {
    return `${this.op}(${this.path})`;
  }
}

/** An operation on one of the open handles, picked by index modulo their number. */
abstract class HandleCommand implements Command {
  abstract readonly op: string;
  constructor(readonly handle: number) {}
  check(m: Model): boolean {
    return handleOf(m, this.handle) !== undefined;
  }
  abstract run(m: Model, r: Real): Promise<void>;
  toString(): string {
    return `${this.op}(#${this.handle})`;
  }
}

class Create extends PathCommand {
  readonly op = 'create';
  override check(m: Model): boolean {
    return parentIsDir(m, this.path) && !m.entries.has(this.path);
  }
  async run(m: Model, r: Real): Promise<void> {
    const fh = await r.fs.create(this.path, 0o644);
    const inode: Inode = { bytes: Buffer.alloc(0), version: 0 };
    m.entries.set(this.path, { kind: 'file', inode });
    m.handles.push({ fh, inode, writable: true, append: false, pinned: false });
  }
}

/** mknod(S_IFIFO): an empty object whose mode carries the type; otherwise a file like any other. */
class Mkfifo extends PathCommand {
  readonly op = 'mkfifo';
  override check(m: Model): boolean {
    return parentIsDir(m, this.path) && !m.entries.has(this.path);
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.fs.mknod(this.path, S_IFIFO | 0o644, 0);
    m.entries.set(this.path, { kind: 'file', inode: { bytes: Buffer.alloc(0), version: 0, fifo: true } });
  }
}

const OPEN_MODES = {
  rdonly: OpenFlags.O_RDONLY,
  rdwr: OpenFlags.O_RDWR,
  trunc: OpenFlags.O_WRONLY | OpenFlags.O_TRUNC,
  append: OpenFlags.O_WRONLY | OpenFlags.O_APPEND,
} as const;

class Open implements Command {
  constructor(
    readonly path: TestPath,
    readonly mode: keyof typeof OPEN_MODES,
  ) {}
  check(m: Model): boolean {
    return parentIsDir(m, this.path) && m.entries.has(this.path);
  }
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path) as Entry;
    const result = r.fs.open(this.path, OPEN_MODES[this.mode]);
    if (entry.kind === 'dir') {
      expect(await outcomeOf(result)).toBe('EISDIR');
      return;
    }
    const fh = await result;
    // Unless a handle that is not itself pinned holds the file open, a read-only open pins the object.
    const pinned = this.mode === 'rdonly' && !m.handles.some((h) => h.inode === entry.inode && !h.pinned);
    if (this.mode === 'trunc') resize(entry.inode, 0);
    const { inode } = entry;
    m.handles.push({ fh, inode, writable: this.mode !== 'rdonly', append: this.mode === 'append', pinned });
  }
  toString(): string {
    return `open(${this.path}, ${this.mode})`;
  }
}

class Write implements Command {
  constructor(
    readonly handle: number,
    readonly offset: number,
    readonly data: Buffer,
  ) {}
  check(m: Model): boolean {
    return handleOf(m, this.handle)?.writable === true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = handleOf(m, this.handle) as Handle;
    expect(await r.fs.write(h.fh, this.offset, this.data)).toBe(this.data.length);
    writeAt(h.inode, h.append ? h.inode.bytes.length : this.offset, this.data);
  }
  toString(): string {
    return `write(#${this.handle}, ${this.offset}, ${this.data.length} bytes)`;
  }
}

class Read implements Command {
  constructor(
    readonly handle: number,
    readonly offset: number,
    readonly length: number,
  ) {}
  check(m: Model): boolean {
    // A handle whose name is gone may need bytes from a deleted object: not modelled here.
    const h = handleOf(m, this.handle);
    const path = h && pathOf(m, h.inode);
    return h !== undefined && path !== undefined;
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = handleOf(m, this.handle) as Handle;
    const got = await r.fs.read(h.fh, this.offset, this.length);
    expect(got.equals(h.inode.bytes.subarray(this.offset, this.offset + this.length))).toBe(true);
  }
  toString(): string {
    return `read(#${this.handle}, ${this.offset}, ${this.length})`;
  }
}

class Fsync extends HandleCommand {
  readonly op = 'fsync';
  async run(m: Model, r: Real): Promise<void> {
    const h = handleOf(m, this.handle) as Handle;
    await r.fs.fsync(h.fh);
    const path = pathOf(m, h.inode);
    if (path !== undefined && h.writable) expectInBucket(r, path, h.inode, 'after fsync');
  }
}

/**
 * close(2): flush, then release. The kernel sends release after close has returned, so the
 * caller's next operation may reach the filesystem while the release is still running: the
 * detached form starts the release and goes on without waiting for it.
 */
class Close implements Command {
  constructor(
    readonly handle: number,
    readonly detached = false,
  ) {}
  check(m: Model): boolean {
    return handleOf(m, this.handle) !== undefined;
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = handleOf(m, this.handle) as Handle;
    m.handles.splice(m.handles.indexOf(h), 1);
    await r.fs.flush(h.fh);
    const releasing = r.fs.release(h.fh);
    if (this.detached) r.inFlight.push(releasing);
    else await releasing;
    for (const [key, inode] of m.deferred) {
      if (inode === h.inode && !m.handles.some((other) => other.inode === inode && other.pinned)) m.deferred.delete(key);
    }
    const path = pathOf(m, h.inode);
    // A new file nobody wrote to is created by its release, which a detached close does not wait for.
    const untouchedNew = h.inode.version === 0 && h.inode.bytes.length === 0;
    if (this.detached && untouchedNew) return;
    if (path !== undefined && !isOpen(m, h.inode)) expectInBucket(r, path, h.inode, 'after the last close');
  }
  toString(): string {
    return `close(#${this.handle}${this.detached ? ', release in the background' : ''})`;
  }
}

class Truncate implements Command {
  constructor(
    readonly path: TestPath,
    readonly sizeBytes: number,
  ) {}
  check(m: Model): boolean {
    return parentIsDir(m, this.path);
  }
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path);
    const outcome = await outcomeOf(r.fs.truncate(this.path, this.sizeBytes));
    expect(outcome).toBe(entry === undefined ? 'ENOENT' : entry.kind === 'dir' ? 'EISDIR' : 'ok');
    if (entry?.kind !== 'file') return;
    resize(entry.inode, this.sizeBytes);
    if (!isOpen(m, entry.inode)) expectInBucket(r, this.path, entry.inode, 'after truncate of a closed file');
  }
  toString(): string {
    return `truncate(${this.path}, ${this.sizeBytes})`;
  }
}

class Unlink extends PathCommand {
  readonly op = 'unlink';
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path);
    expect(await outcomeOf(r.fs.unlink(this.path))).toBe(entry === undefined ? 'ENOENT' : entry.kind === 'dir' ? 'EISDIR' : 'ok');
    if (entry?.kind === 'file') {
      m.entries.delete(this.path);
      const { inode } = entry;
      if (m.handles.some((h) => h.inode === inode && h.pinned)) m.deferred.set(this.path.slice(1), inode);
    }
  }
}

class Mkdir extends PathCommand {
  readonly op = 'mkdir';
  async run(m: Model, r: Real): Promise<void> {
    const exists = m.entries.has(this.path);
    expect(await outcomeOf(r.fs.mkdir(this.path, 0o755))).toBe(exists ? 'EEXIST' : 'ok');
    if (!exists) m.entries.set(this.path, { kind: 'dir' });
  }
}

class Rmdir extends PathCommand {
  readonly op = 'rmdir';
  override check(m: Model): boolean {
    return parentIsDir(m, this.path);
  }
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path);
    const expected: Outcome =
      entry === undefined ? 'ENOENT' : entry.kind === 'file' ? 'ENOTDIR' : childNames(m, this.path).length > 0 ? 'ENOTEMPTY' : 'ok';
    expect(await outcomeOf(r.fs.rmdir(this.path))).toBe(expected);
    if (expected === 'ok') m.entries.delete(this.path);
  }
}

class Rename implements Command {
  constructor(
    readonly from: TestPath,
    readonly to: TestPath,
  ) {}
  check(m: Model): boolean {
    return this.from !== this.to && parentIsDir(m, this.from) && m.entries.has(this.from) && parentIsDir(m, this.to);
  }
  expected(m: Model): Outcome {
    const source = m.entries.get(this.from) as Entry;
    const target = m.entries.get(this.to);
    if (isBelow(this.to, this.from)) return 'EINVAL';
    if (source.kind === 'file') return target?.kind === 'dir' ? 'EISDIR' : 'ok';
    if (target?.kind === 'file') return 'ENOTDIR';
    if (target && childNames(m, this.to).length > 0) return 'ENOTEMPTY';
    return 'ok';
  }
  async run(m: Model, r: Real): Promise<void> {
    const expected = this.expected(m);
    expect(await outcomeOf(r.fs.rename(this.from, this.to))).toBe(expected);
    if (expected !== 'ok') return;
    const moved = [...m.entries].filter(([p]) => p === this.from || isBelow(p, this.from));
    m.entries.delete(this.to);
    for (const [p] of moved) m.entries.delete(p);
    for (const [p, entry] of moved) m.entries.set(this.to + p.slice(this.from.length), entry);
  }
  toString(): string {
    return `rename(${this.from}, ${this.to})`;
  }
}

class Readdir implements Command {
  constructor(readonly path: TestPath | '/') {}
  check(m: Model): boolean {
    return this.path === '/' || parentIsDir(m, this.path);
  }
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path);
    if (entry?.kind !== 'dir') {
      expect(await outcomeOf(r.fs.readdir(this.path))).toBe(entry ? 'ENOTDIR' : 'ENOENT');
      return;
    }
    expect(await r.names(this.path)).toEqual(childNames(m, this.path));
  }
  toString(): string {
    return `readdir(${this.path})`;
  }
}

class Stat extends PathCommand {
  readonly op = 'stat';
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path);
    if (!entry) {
      expect(await outcomeOf(r.fs.getattr(this.path))).toBe('ENOENT');
      return;
    }
    const stat = await r.fs.getattr(this.path);
    expect(stat.mode & S_IFMT).toBe(entry.kind === 'dir' ? S_IFDIR : entry.inode.fifo ? S_IFIFO : S_IFREG);
    if (entry.kind === 'file') expect(stat.sizeBytes).toBe(entry.inode.bytes.length);
  }
}

class ReadFile extends PathCommand {
  readonly op = 'readFile';
  async run(m: Model, r: Real): Promise<void> {
    const entry = m.entries.get(this.path);
    if (entry?.kind !== 'file') {
      expect(await outcomeOf(r.readFile(this.path))).toBe(entry ? 'EISDIR' : 'ENOENT');
      return;
    }
    expect((await r.readFile(this.path)).equals(entry.inode.bytes)).toBe(true);
  }
}

/** Another client puts an object: allowed where no handle of ours holds the file open. */
class OtherPut implements Command {
  constructor(
    readonly path: TestPath,
    readonly data: Buffer,
  ) {}
  check(m: Model): boolean {
    const entry = m.entries.get(this.path);
    return parentIsDir(m, this.path) && entry?.kind !== 'dir' && !(entry && isOpen(m, entry.inode));
  }
  async run(m: Model, r: Real): Promise<void> {
    // Our releases and deletes finish within milliseconds; the other client comes later than that.
    await r.settleInFlight();
    await r.fs.fsyncdir();
    r.store.putObject(this.path.slice(1), this.data);
    m.entries.set(this.path, { kind: 'file', inode: { bytes: Buffer.from(this.data), version: 0 } });
  }
  toString(): string {
    return `otherClientPut(${this.path}, ${this.data.length} bytes)`;
  }
}

class OtherDelete extends PathCommand {
  readonly op = 'otherClientDelete';
  override check(m: Model): boolean {
    const inode = fileAt(m, this.path);
    return inode !== undefined && !isOpen(m, inode);
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.settleInFlight();
    await r.fs.fsyncdir();
    r.store.deleteObject(this.path.slice(1));
    m.entries.delete(this.path);
  }
}

/** The bucket holds exactly the model: every closed file with its bytes, no key the model lacks. */
class CheckBucket implements Command {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.settleInFlight();
    await r.fs.fsyncdir();
    const allowed = new Set<string>();
    for (const [path, entry] of m.entries) {
      if (path === '/') continue;
      if (entry.kind === 'dir') {
        allowed.add(`${path.slice(1)}/`);
      } else {
        allowed.add(path.slice(1));
        if (!isOpen(m, entry.inode)) expectInBucket(r, path, entry.inode, 'bucket check');
      }
    }
    for (const key of m.deferred.keys()) allowed.add(key);
    expect(r.store.keys().filter((k) => !allowed.has(k))).toEqual([]);
  }
  toString(): string {
    return 'checkBucket()';
  }
}

const handleArb = fc.nat({ max: 7 });
const create = pathArb.map((p) => new Create(p));
const open = fc.tuple(pathArb, fc.constantFrom(...(Object.keys(OPEN_MODES) as (keyof typeof OPEN_MODES)[]))).map(([p, mode]) => new Open(p, mode));
const write = fc.tuple(handleArb, fc.nat({ max: 3 * PART_BYTES }), bytesArb).map(([h, offset, data]) => new Write(h, offset, data));
const read = fc.tuple(handleArb, fc.nat({ max: 3 * PART_BYTES }), fc.integer({ min: 1, max: 5000 })).map(([h, offset, length]) => new Read(h, offset, length));
const rename = fc.tuple(pathArb, pathArb).map(([from, to]) => new Rename(from, to));
const mkdir = pathArb.map((p) => new Mkdir(p));
/** Repeated entries are drawn more often: file I/O and renames are where the state is. */
const localCommands = [
  create,
  create,
  open,
  open,
  write,
  write,
  write,
  read,
  read,
  rename,
  rename,
  rename,
  mkdir,
  mkdir,
  pathArb.map((p) => new Mkfifo(p)),
  handleArb.map((h) => new Fsync(h)),
  handleArb.map((h) => new Close(h)),
  handleArb.map((h) => new Close(h, true)),
  handleArb.map((h) => new Close(h, true)),
  fc.tuple(pathArb, fc.nat({ max: 3 * PART_BYTES })).map(([p, size]) => new Truncate(p, size)),
  pathArb.map((p) => new Unlink(p)),
  pathArb.map((p) => new Rmdir(p)),
  fc.oneof(fc.constant('/' as const), pathArb).map((p) => new Readdir(p)),
  pathArb.map((p) => new Stat(p)),
  pathArb.map((p) => new ReadFile(p)),
  fc.constant(new CheckBucket()),
];
const otherClientCommands = [fc.tuple(pathArb, objectArb).map(([p, data]) => new OtherPut(p, data)), pathArb.map((p) => new OtherDelete(p))];

async function runModel(cmds: Iterable<Command>, options: FsFixtureOptions): Promise<void> {
  const real = await fixture(options);
  const model: Model = { entries: new Map([['/', { kind: 'dir' }]]), handles: [], deferred: new Map() };
  try {
    await fc.asyncModelRun(() => ({ model, real }), cmds);
    // With every handle closed, the bucket must hold the whole model.
    while (model.handles.length > 0) await new Close(0).run(model, real);
    await new CheckBucket().run(model, real);
  } finally {
    await real.settleInFlight().catch(() => undefined);
    for (const h of model.handles.splice(0)) await real.fs.release(h.fh).catch(() => undefined);
    await real.fs.fsyncdir();
  }
}

describe('S3Filesystem against a model of a directory tree', () => {
  it('agrees with the model while another client changes the bucket (no stat caching)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands([...localCommands, ...otherClientCommands], { maxCommands: 150, size: 'max' }), (cmds) =>
        runModel(cmds, { cache: { statTtlMs: 0, negativeTtlMs: 0 } }),
      ),
      { numRuns: Number(process.env.MODEL_RUNS ?? 150) },
    );
  });

  it('agrees with the model with long stat and negative caching: every local change invalidates what it touches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(localCommands, { maxCommands: 150, size: 'max' }), (cmds) =>
        runModel(cmds, { cache: { statTtlMs: 3_600_000, negativeTtlMs: 3_600_000 } }),
      ),
      { numRuns: Number(process.env.MODEL_RUNS ?? 150) },
    );
  });
});
