// Spool: where written bytes wait for their upload, one sparse data file per open file plus a JSON
// record naming the bucket key and everything its upload needs (never credentials). A data file is
// deleted only after its content is in the bucket; otherwise the next mount finishes it (recovery.ts).
// Each mount owns a folder of its own, SPOOL_DIR/BUCKET-ID/mount-BOOT-PID-START-RANDOM/, whose name
// says whether its owner still runs (spool-owner.ts): another mount of the same bucket never cleans
// it while the owner lives, and takes it over (claimDeadFolders) once the owner is gone. A folder a
// user removes under a running mount is recreated, and a data file removed while open is copied
// back from its open descriptor, so writes keep working. Capacity is accounted in local bytes.

import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { FsError } from './errno.js';
import { isMissing, SpoolFile } from './spool-file.js';

import { currentOwner, holdHere, instanceName, ownerAlive, releaseHere } from './spool-owner.js';

/** Where a spool file's upload stands; recovery.ts decides from it what a crash left to do. */
export type SpoolState =
  /** Being written; ranges and size are as of the last record update (open, flush, every second). */
  | 'writing'
  /** An upload started with exactly this content. */
  | 'uploading'
  /** Write-back: close() returned; this content is durable here and waits for its upload. */
  | 'queued'
  /** The last upload failed (`error`); exactly this content is still to upload. */
  | 'upload-failed'
  /** This content is in the bucket as `uploadedEtag`; nothing is left to do. */
  | 'uploaded'
  /** The name was unlinked: the bytes must never reach the bucket. */
  | 'unlinked';

export const SPOOL_RECORD_VERSION = 2;

export interface SpoolRecord {
  readonly version: number;
  readonly bucket: string;
  /** Key relative to the mount prefix (the bucket folder is per bucket, prefix and endpoint). */
  readonly key: string;
  /** ETag of the object the unchanged ranges come from; absent for a new file. */
  readonly baseEtag?: string;
  readonly baseSizeBytes?: number;
  /** Bytes below this that are not local come from the base object; every byte past it is local. */
  readonly baseLimitBytes: number;
  readonly sizeBytes: number;
  /** Byte ranges held in the data file; the rest is in the base object. */
  readonly localRanges: readonly (readonly [number, number])[];
  /** False when only attributes changed: the upload is a metadata copy of the base. */
  readonly contentChanged: boolean;
  /** User metadata of the upload (x-amz-meta-* without the prefix: mode, uid, gid, mtime, xattr...). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  /** The first part size of the upload's layout, so a multipart ETag can be checked against the bytes. */
  readonly partSizeBytes: number;
  /** The multipart upload in progress, aborted by recovery if the mount died before finishing it. */
  readonly uploadId?: string;
  readonly uploadedEtag?: string;
  readonly state: SpoolState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly error?: string;
}

export interface SpoolOptions {
  /** SPOOL_DIR/BUCKET-ID: each mount of the bucket, prefix and endpoint has its folder below it. */
  readonly bucketDir: string;
  readonly capacityBytes: number;
  readonly log: Logger;
  /** Written to the folder's `owner` file (JSON) for people who look into it: mountpoint, store. */
  readonly description?: Readonly<Record<string, string>>;
}

/** Folders of the layout before per-mount folders (SPOOL_DIR/BUCKET-ID/files and /renames). */
const LEGACY_FOLDERS = ['files', 'renames'];



/** True when some .data or .json file lies below `dir`. */
export async function holdsRecords(dir: string): Promise<boolean> {
  const entries = await fsp.readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.some((e) => e.endsWith('.data') || e.endsWith('.json'));
}

export class Spool {
  readonly bucketDir: string;
  /** This mount's folder. */
  readonly instanceDir: string;
  /** Data files and records of this mount's open files. */
  readonly dir: string;
  /** Directory-rename journals of this mount. */
  readonly journalDir: string;
  /** Folders of dead mounts taken over by this one, until recovery has finished them. */
  readonly adoptedDir: string;
  readonly #capacityBytes: number;
  readonly #log: Logger;
  readonly #description: Readonly<Record<string, string>>;
  readonly #open = new Set<SpoolFile>();
  #usedBytes = 0;
  #closed = false;

  private constructor(options: SpoolOptions, instanceDir: string) {
    this.bucketDir = options.bucketDir;
    this.instanceDir = instanceDir;
    this.dir = path.join(instanceDir, 'files');
    this.journalDir = path.join(instanceDir, 'renames');
    this.adoptedDir = path.join(instanceDir, 'adopted');
    this.#capacityBytes = options.capacityBytes;
    this.#log = options.log;
    this.#description = options.description ?? {};
  }

  /** Makes this mount's folder. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const name = instanceName(await currentOwner());
    const spool = new Spool(options, path.join(options.bucketDir, name));
    holdHere(name);
    try {
      await spool.ensureFolder(spool.dir);
    } catch (e) {
      releaseHere(name);
      throw e;
    }
    return spool;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get capacityBytes(): number {
    return this.#capacityBytes;
  }

  /** Claims room for bytes about to be held locally; ENOSPC when the spool is full. */
  reserve(bytes: number): void {
    if (bytes <= 0) return;
    if (this.#usedBytes + bytes > this.#capacityBytes) {
      throw new FsError('ENOSPC', `the spool ${this.dir} is full (${this.#capacityBytes} bytes): raise --spool-size or close files`);
    }
    this.#usedBytes += bytes;
  }

  /** Accounts bytes already written (a race made them larger than reserved, or recovery): never fails. */
  reserveAnyway(bytes: number): void {
    if (bytes > 0) this.#usedBytes += bytes;
  }

  unreserve(bytes: number): void {
    this.#usedBytes = Math.max(0, this.#usedBytes - bytes);
  }

  /**
   * Creates `dir` (below this mount's folder) again if a user removed it. This mount's folder name
   * holds its owner, so the new folder is as much this mount's as the old one.
   */
  async ensureFolder(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // Not a .json file: only records and journals are (tools and tests count them).
    const owner = path.join(this.instanceDir, 'owner');
    if (await fsp.access(owner).then(() => true, () => false)) return;
    const text = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), ...this.#description }, null, 2);
    await fsp.writeFile(owner, text, { mode: 0o600 }).catch(() => undefined);
  }

  async create(): Promise<SpoolFile> {
    const id = randomUUID();
    const dataPath = path.join(this.dir, `${id}.data`);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(dataPath, 'w+', 0o600);
    } catch (e) {
      if (!isMissing(e)) throw e;
      this.#log.warn(`the spool folder ${this.dir} was removed while mounted: created it again`);
      await this.ensureFolder(this.dir);
      handle = await fsp.open(dataPath, 'w+', 0o600);
    }
    return this.#track(new SpoolFile(this, dataPath, path.join(this.dir, `${id}.json`), handle));
  }

  /** Opens the data file of a record an earlier run left (recovery). */
  async openExisting(dataPath: string, metaPath: string): Promise<SpoolFile> {
    const handle = await fsp.open(dataPath, 'r+');
    return this.#track(new SpoolFile(this, dataPath, metaPath, handle));
  }

  /**
   * Moves the folders of dead mounts of this bucket (and the pre-per-mount layout) below this mount's
   * `adopted/` folder, so no other mount works on them, and returns their new paths. A rename is
   * atomic: when two mounts start at once, each folder goes to exactly one of them.
   */
  async claimDeadFolders(): Promise<string[]> {
    const names = await fsp.readdir(this.bucketDir).catch(() => [] as string[]);
    const claimed: string[] = [];
    for (const name of names) {
      const from = path.join(this.bucketDir, name);
      if (from === this.instanceDir) continue;
      const alive = await ownerAlive(name);
      if (alive === true || (alive === undefined && !LEGACY_FOLDERS.includes(name))) continue;
      // A legacy folder keeps its name (files/, renames/) inside a folder of its own.
      const to = alive === undefined ? path.join(this.adoptedDir, `legacy-${randomUUID().slice(0, 8)}`, name) : path.join(this.adoptedDir, name);
      await this.ensureFolder(path.dirname(to));
      try {
        await fsp.rename(from, to);
      } catch (e) {
        // Another mount claimed it first.
        if (isMissing(e)) continue;
        throw e;
      }
      claimed.push(alive === undefined ? path.dirname(to) : to);
    }
    return claimed;
  }

  /** Removes adopted folders that hold no data or record any more. */
  async pruneAdopted(): Promise<void> {
    const names = await fsp.readdir(this.adoptedDir).catch(() => [] as string[]);
    for (const name of names) {
      const dir = path.join(this.adoptedDir, name);
      if (!(await holdsRecords(dir))) await fsp.rm(dir, { recursive: true, force: true });
    }
    if (names.length > 0 && (await fsp.readdir(this.adoptedDir).catch(() => [])).length === 0) await fsp.rm(this.adoptedDir, { recursive: true, force: true });
  }

  /** Clean unmount: this mount's folder goes away unless it still holds data for the next mount. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pruneAdopted();
    if (!(await holdsRecords(this.instanceDir))) await fsp.rm(this.instanceDir, { recursive: true, force: true });
    releaseHere(path.basename(this.instanceDir));
  }

  /** What a crash leaves (tests): descriptors closed, nothing deleted, the folder no longer held. */
  async abandon(): Promise<void> {
    this.#closed = true;
    for (const file of [...this.#open]) await file.abandon();
    releaseHere(path.basename(this.instanceDir));
  }

  /** @internal SpoolFile tells its spool when it closes. */
  forget(file: SpoolFile): void {
    this.#open.delete(file);
  }

  #track(file: SpoolFile): SpoolFile {
    this.#open.add(file);
    return file;
  }
}
