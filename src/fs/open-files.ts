// OpenFiles: the one owner of what is open. Files open for writing (one OpenFile per path) are
// counted by their users — handles and path operations in progress — and only the release that
// brings the count to zero uploads and closes the file; a path operation (truncate, chmod…) takes a
// use too, so it can never race a release that is closing the file under it. A file whose upload
// failed for a reason that may pass (network, 5xx) stays registered, dirty, and is retried with
// backoff: later opens on this mount join it and see its bytes, and no close loses them.
// Reader handles pin one object version; a file unlinked while readers hold it is a deferred delete.
// Uploads that run with nobody waiting — retries, files recovery adopted from the spool, and under
// write-back every close — go through one queue, at most `backgroundUploads` files at a time. Under
// write-back the last release makes the file durable in the spool (persist) and queues its upload.

import { forEachLimited } from '../concurrency.js';
import type { Logger } from '../log.js';
import { HandleTable } from './handles.js';
import { type FsPath, isSameOrBelow, parentOf } from './names.js';
import type { RemoteObject } from './nodes.js';
import type { ObjectReader } from './object-reader.js';
import type { OpenFile, UploadProgress } from './open-file.js';
import { isTransientFailure, UploadRetries } from './upload-retries.js';

/**
 * A handle that reads one object version. It follows this mount's own changes to its file: it
 * reads through the OpenFile while one exists, and is re-pinned after an upload or a rename.
 */
export interface ReaderHandle {
  readonly kind: 'reader';
  path: FsPath;
  /** The version this handle reads; fstat answers from it, so st_size is stable per handle. */
  object: RemoteObject;
  reader: ObjectReader;
  /** False once the name no longer leads to this version (unlinked, or replaced by a rename). */
  named: boolean;
  /** Set when the file was unlinked while open: its delete waits for the last such reader. */
  deferredKey: string | undefined;
}

export interface WriterHandle {
  readonly kind: 'file';
  readonly file: OpenFile;
  readonly writable: boolean;
  readonly append: boolean;
}

export type Handle = ReaderHandle | WriterHandle;

export interface OpenFilesOptions {
  /** Uploads a file if it is dirty (the filesystem's sync, which also updates caches). */
  readonly sync: (file: OpenFile) => Promise<void>;
  readonly log: Logger;
  /** First retry of a failed upload, ms; doubles up to maxRetryDelayMs. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** close() returns once the data is durable in the spool; the upload runs from the queue. */
  readonly writeBack?: boolean;
  /** Files uploaded at once from the queue. Default 4. */
  readonly backgroundUploads?: number;
}

/** One file open for writing, as `bucketfs status` shows it. */
export interface FileActivity {
  readonly path: string;
  readonly sizeBytes: number;
  readonly users: number;
  /** writing: open and changed; queued: waits for a queue slot; retrying: waits for its retry. */
  readonly state: 'writing' | 'uploading' | 'queued' | 'retrying' | 'clean';
  readonly progress: UploadProgress | undefined;
}

export interface OpenFilesActivity {
  readonly files: readonly FileActivity[];
  /** Reader handles open (files this mount does not write). */
  readonly readers: number;
  readonly queued: number;
  readonly pendingRetries: number;
}

/** Files uploaded at once by syncAll() (unmount, `bucketfs sync`). */
const SYNC_ALL_CONCURRENCY = 16;


export class OpenFiles {
  readonly #sync: (file: OpenFile) => Promise<void>;
  readonly #log: Logger;
  readonly #byPath = new Map<FsPath, OpenFile>();
  /** Paths whose OpenFile is being made: a second acquirer waits instead of making another. */
  readonly #making = new Map<FsPath, Promise<unknown>>();
  readonly #users = new Map<OpenFile, number>();
  readonly #retries: UploadRetries<OpenFile>;
  readonly #writeBack: boolean;
  readonly #backgroundUploads: number;
  /** Files waiting for a queue slot, in order, and those the queue is uploading. */
  readonly #queued = new Set<OpenFile>();
  readonly #uploading = new Map<OpenFile, Promise<void>>();
  readonly handles = new HandleTable<Handle>();
  /**
   * Keys unlinked while a reader had them open, with the ETag unlinked: hidden now, deleted when
   * the last reader closes, unless another client has written the key since.
   */
  readonly #deferredDeletes = new Map<string, string>();

  constructor(options: OpenFilesOptions) {
    this.#sync = options.sync;
    this.#log = options.log;
    this.#retries = new UploadRetries<OpenFile>(options.retryDelayMs ?? 1_000, options.maxRetryDelayMs ?? 60_000);
    this.#writeBack = options.writeBack ?? false;
    this.#backgroundUploads = options.backgroundUploads ?? 4;
  }

  get writeBack(): boolean {
    return this.#writeBack;
  }

  get(path: FsPath): OpenFile | undefined {
    return this.#byPath.get(path);
  }

  has(path: FsPath): boolean {
    return this.#byPath.has(path);
  }

  all(): OpenFile[] {
    return [...this.#byPath.values()];
  }

  /** Open files at or below `dir`. */
  below(dir: FsPath): OpenFile[] {
    return this.all().filter((f) => isSameOrBelow(f.path, dir));
  }

  /** Open files directly inside `dir`. */
  childrenOf(dir: FsPath): OpenFile[] {
    return this.all().filter((f) => f.path !== dir && parentOf(f.path) === dir);
  }

  /** Files whose last upload failed and that wait for a retry. */
  get pendingRetries(): number {
    return this.#retries.size;
  }

  /**
   * Takes a use of the OpenFile at `path`, made by `make` when there is none (concurrent callers
   * share one). Without `make`, undefined when nothing is open there. Pair with release().
   */
  async acquire(path: FsPath, make: () => Promise<OpenFile>): Promise<OpenFile>;
  async acquire(path: FsPath): Promise<OpenFile | undefined>;
  async acquire(path: FsPath, make?: () => Promise<OpenFile>): Promise<OpenFile | undefined> {
    for (;;) {
      const open = this.#byPath.get(path);
      if (open) {
        this.#use(open);
        return open;
      }
      const making = this.#making.get(path);
      if (making) {
        await making.catch(() => undefined);
        continue;
      }
      if (!make) return undefined;
      const made = make();
      this.#making.set(path, made);
      try {
        const file = await made;
        this.#register(file);
        this.#use(file);
        return file;
      } finally {
        this.#making.delete(path);
      }
    }
  }

  /** Runs `work` on the file open at `path` with a use held, or returns undefined when none is. */
  async withOpen<T>(path: FsPath, work: (file: OpenFile) => Promise<T>): Promise<{ value: T } | undefined> {
    const file = await this.acquire(path);
    if (!file) return undefined;
    try {
      return { value: await work(file) };
    } finally {
      await this.release(file);
    }
  }

  usersOf(file: OpenFile): number {
    return this.#users.get(file) ?? 0;
  }

  /**
   * Gives back a use. The last one uploads the file and closes it; if the upload fails for a
   * reason that may pass, the file stays open here and is retried. Never throws.
   */
  async release(file: OpenFile): Promise<void> {
    const users = this.usersOf(file) - 1;
    this.#users.set(file, Math.max(0, users));
    if (users > 0) return;
    if (this.#writeBack && file.dirty && !file.unlinked && this.#byPath.get(file.path) === file) {
      try {
        await file.persist();
        this.#enqueue(file);
        return;
      } catch (e) {
        // The spool cannot hold it durably: upload now rather than promise what the disk cannot keep.
        this.#log.error(`${(e as Error).message}; uploading ${file.path} at once`);
      }
    }
    await this.#settle(file);
  }

  /**
   * A dirty file recovery rebuilt from the spool, with no users: it shows on the mount at once and
   * is uploaded from the queue (then closed), or retried like any other failed upload.
   */
  adopt(file: OpenFile): void {
    if (this.#byPath.has(file.path)) throw new Error(`${file.path} is already open`);
    this.#register(file);
    this.#users.set(file, 0);
    this.#enqueue(file);
  }

  /** The name is gone (unlink, or a rename replaced it): the file keeps its users but never uploads. */
  async detach(file: OpenFile): Promise<void> {
    file.markUnlinked();
    if (this.#byPath.get(file.path) === file) this.#byPath.delete(file.path);
    this.#cancelRetry(file);
    await file.settled();
    if (this.usersOf(file) === 0) await this.#close(file);
  }

  /** The file now lives at `newPath` (a rename). */
  move(file: OpenFile, newPath: FsPath, object: RemoteObject | undefined): void {
    if (this.#byPath.get(file.path) === file) this.#byPath.delete(file.path);
    file.moved(newPath, object);
    this.#byPath.set(newPath, file);
  }

  /**
   * Uploads every open file now (before unmount, or for `sync`), queued and retrying ones included,
   * a bounded number at a time; returns the files that failed, with why.
   */
  async syncAll(): Promise<{ path: string; error: string }[]> {
    const failed: { path: string; error: string }[] = [];
    await forEachLimited(this.all(), SYNC_ALL_CONCURRENCY, async (file) => {
      this.#queued.delete(file);
      try {
        await this.#sync(file);
        if (this.usersOf(file) === 0 && !this.#uploading.has(file)) await this.#settle(file);
      } catch (e) {
        failed.push({ path: file.path, error: (e as Error).message });
      }
    });
    // Uploads the queue was running close their files a moment later: let them finish first.
    await Promise.all(this.#uploading.values());
    return failed;
  }

  /** What is open and what the uploads are doing, for `bucketfs status`. */
  activity(): OpenFilesActivity {
    const files = this.all().map((file): FileActivity => {
      const progress = file.uploadProgress();
      const state = progress
        ? 'uploading'
        : this.#queued.has(file)
          ? 'queued'
          : this.#retries.has(file)
            ? 'retrying'
            : file.dirty
              ? 'writing'
              : 'clean';
      return { path: file.path, sizeBytes: file.sizeBytes, users: this.usersOf(file), state, progress };
    });
    return { files, readers: this.readers().length, queued: this.#queued.size, pendingRetries: this.#retries.size };
  }

  /** Stops retry timers and the queue (unmount). */
  stop(): void {
    this.#retries.cancelAll();
    this.#queued.clear();
  }

  // ---- reader handles and deferred deletes ----

  readers(): ReaderHandle[] {
    return [...this.handles.values()].filter((h): h is ReaderHandle => h.kind === 'reader');
  }

  /** Readers that `path` still leads to. */
  readersOf(path: FsPath): ReaderHandle[] {
    return this.readers().filter((h) => h.named && h.path === path);
  }

  /** `path` was replaced by a rename: its readers keep their version, no longer under that name. */
  orphanReadersOf(path: FsPath): void {
    for (const h of this.readersOf(path)) h.named = false;
  }

  deferDelete(key: string, etag: string, readers: readonly ReaderHandle[]): void {
    for (const h of readers) {
      h.named = false;
      h.deferredKey = key;
    }
    this.#deferredDeletes.set(key, etag);
  }

  /** Deferred deletes of keys below `prefix`. */
  deferredCountBelow(prefix: string): number {
    let count = 0;
    for (const key of this.#deferredDeletes.keys()) if (key.startsWith(prefix)) count++;
    return count;
  }

  /** True for the version of `key` whose delete waits for its readers. */
  isDeferred(key: string, etag: string): boolean {
    return this.#deferredDeletes.get(key) === etag;
  }

  /** Before writing `key`: its deferred delete must not remove the new object. */
  cancelDeferred(key: string): void {
    this.#deferredDeletes.delete(key);
  }

  /** Deferred deletes below `prefix` were carried out by a directory rename. */
  cancelDeferredBelow(prefix: string): void {
    for (const key of [...this.#deferredDeletes.keys()]) if (key.startsWith(prefix)) this.#deferredDeletes.delete(key);
  }

  /**
   * A reader handle closed: when it was the last reader of a deferred delete, returns the key and
   * the ETag to delete (if the key still holds that version).
   */
  takeDeferred(handle: ReaderHandle): { key: string; etag: string } | undefined {
    const key = handle.deferredKey;
    const etag = key === undefined ? undefined : this.#deferredDeletes.get(key);
    if (key === undefined || etag === undefined || this.readers().some((h) => h.deferredKey === key)) return undefined;
    this.#deferredDeletes.delete(key);
    return { key, etag };
  }

  /** Every deferred delete, emptied (unmount: readers cannot keep unlinked files any longer). */
  takeAllDeferred(): string[] {
    const keys = [...this.#deferredDeletes.keys()];
    this.#deferredDeletes.clear();
    return keys;
  }

  // ---- internals ----

  #register(file: OpenFile): void {
    this.#byPath.set(file.path, file);
  }

  #use(file: OpenFile): void {
    this.#users.set(file, this.usersOf(file) + 1);
    this.#cancelRetry(file);
    // Its new user settles it when done.
    this.#queued.delete(file);
  }

  #enqueue(file: OpenFile): void {
    if (this.#uploading.has(file)) return;
    this.#queued.add(file);
    this.#pump();
  }

  #pump(): void {
    while (this.#uploading.size < this.#backgroundUploads && this.#queued.size > 0) {
      const file = this.#queued.values().next().value as OpenFile;
      this.#queued.delete(file);
      const settling = this.#settle(file).finally(() => {
        this.#uploading.delete(file);
        this.#pump();
      });
      this.#uploading.set(file, settling);
    }
  }

  async #settle(file: OpenFile): Promise<void> {
    let failure: unknown;
    try {
      await this.#sync(file);
    } catch (e) {
      failure = e;
    }
    // Another user joined while this one uploaded: the file is not closed after all.
    if (this.usersOf(file) > 0) return;
    const registered = this.#byPath.get(file.path) === file;
    if (failure !== undefined && registered && file.dirty && !file.unlinked && isTransientFailure(failure)) {
      this.#scheduleRetry(file);
      return;
    }
    if (registered) this.#byPath.delete(file.path);
    await this.#close(file);
  }

  async #close(file: OpenFile): Promise<void> {
    this.#users.delete(file);
    this.#cancelRetry(file);
    try {
      await file.close();
    } catch (e) {
      this.#log.error(`closing ${file.path}: ${(e as Error).message}`);
    }
  }

  #scheduleRetry(file: OpenFile): void {
    const delayMs = this.#retries.schedule(file, () => {
      if (this.usersOf(file) > 0) return;
      this.#log.info(`retrying the upload of ${file.path}`);
      // The entry stays (its delay doubles on the next failure) until a user or a success ends it.
      this.#enqueue(file);
    });
    this.#log.warn(`the upload of ${file.path} failed; its bytes stay on this mount and the upload is retried in ${Math.round(delayMs / 1000)} s`);
  }

  #cancelRetry(file: OpenFile): void {
    this.#retries.cancel(file);
  }
}
