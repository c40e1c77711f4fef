// Spool: the folder where written bytes wait for their upload, one sparse data file per open file
// plus a JSON sidecar naming the bucket key it belongs to. A data file is deleted only after its
// content is in the bucket; a failed upload leaves both files behind, named in the log, so nothing
// written is lost. Capacity is accounted in bytes held locally, and a write past it is ENOSPC.

import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { FsError } from './errno.js';

export interface SpoolRecord {
  readonly bucket: string;
  readonly key: string;
  /** ETag of the object the unchanged ranges come from, if any. */
  readonly baseEtag: string | undefined;
  readonly sizeBytes: number;
  /** Byte ranges held in the data file; the rest is in the base object. */
  readonly localRanges: readonly [number, number][];
  readonly state: 'writing' | 'upload-failed';
  readonly updatedAt: string;
  readonly error?: string;
}

export class Spool {
  readonly dir: string;
  readonly #capacityBytes: number;
  readonly #log: Logger;
  #usedBytes = 0;

  constructor(dir: string, capacityBytes: number, log: Logger) {
    this.dir = dir;
    this.#capacityBytes = capacityBytes;
    this.#log = log;
  }

  /** Creates the folder and reports files an earlier run left behind. */
  async init(): Promise<string[]> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const leftovers = (await fsp.readdir(this.dir)).filter((n) => n.endsWith('.data'));
    for (const name of leftovers) {
      const data = path.join(this.dir, name);
      this.#log.warn(`spool: ${data} holds data of an earlier run that may not have reached the bucket (its key is in ${data.replace(/\.data$/, '.json')})`);
    }
    return leftovers.map((n) => path.join(this.dir, n));
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** Claims room for bytes about to be held locally; ENOSPC when the spool is full. */
  reserve(bytes: number): void {
    if (bytes <= 0) return;
    if (this.#usedBytes + bytes > this.#capacityBytes) {
      throw new FsError('ENOSPC', `the spool ${this.dir} is full (${this.#capacityBytes} bytes): raise --spool-size or close files`);
    }
    this.#usedBytes += bytes;
  }

  /** Accounts bytes already written (a race made them larger than reserved): never fails. */
  reserveAnyway(bytes: number): void {
    if (bytes > 0) this.#usedBytes += bytes;
  }

  unreserve(bytes: number): void {
    this.#usedBytes = Math.max(0, this.#usedBytes - bytes);
  }

  async create(): Promise<SpoolFile> {
    const id = randomUUID();
    const dataPath = path.join(this.dir, `${id}.data`);
    const handle = await fsp.open(dataPath, 'w+', 0o600);
    return new SpoolFile(this, dataPath, path.join(this.dir, `${id}.json`), handle);
  }
}

export class SpoolFile {
  readonly #spool: Spool;
  readonly dataPath: string;
  readonly metaPath: string;
  readonly #handle: fsp.FileHandle;
  #closed = false;

  constructor(spool: Spool, dataPath: string, metaPath: string, handle: fsp.FileHandle) {
    this.#spool = spool;
    this.dataPath = dataPath;
    this.metaPath = metaPath;
    this.#handle = handle;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.#handle.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  /** Reads [offset, offset+length); bytes past the data file's end read as zeros (sparse holes). */
  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out;
  }

  async truncate(sizeBytes: number): Promise<void> {
    await this.#handle.truncate(sizeBytes);
  }

  /** Makes the data durable on local disk before the sidecar claims it is there. */
  async sync(): Promise<void> {
    await this.#handle.datasync();
  }

  async writeRecord(record: SpoolRecord): Promise<void> {
    const tmp = `${this.metaPath}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(record, null, 2));
    await fsp.rename(tmp, this.metaPath);
  }

  /** The content is in the bucket (or was never wanted): delete the files. */
  async discard(reservedBytes: number): Promise<void> {
    await this.#close();
    await fsp.rm(this.dataPath, { force: true });
    await fsp.rm(this.metaPath, { force: true });
    this.#spool.unreserve(reservedBytes);
  }

  /** Keeps the files for recovery after a failed upload. */
  async keep(reservedBytes: number): Promise<void> {
    await this.#close();
    this.#spool.unreserve(reservedBytes);
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}
