// SpoolFile: one data file of the spool and the JSON record beside it. Every operation on the
// descriptor counts itself in, so the rare copy of a data file a user removed from under us
// (relink) runs alone and loses no write; record writes go out one at a time, in call order.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Spool, SpoolRecord } from './spool.js';

export function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** fsync of a directory, so a rename into it survives a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * One data file and its record. Every operation on the descriptor counts itself in, so the rare copy
 * of a data file removed from under us (relink) runs alone and loses no write.
 */
export class SpoolFile {
  readonly #spool: Spool;
  readonly dataPath: string;
  readonly metaPath: string;
  #handle: fsp.FileHandle;
  #closed = false;
  /** Record writes run one at a time, in call order, so an older record never replaces a newer one. */
  #records: Promise<void> = Promise.resolve();
  #running = 0;
  #idle: (() => void)[] = [];
  #exclusive: Promise<void> | undefined;

  constructor(spool: Spool, dataPath: string, metaPath: string, handle: fsp.FileHandle) {
    this.#spool = spool;
    this.dataPath = dataPath;
    this.metaPath = metaPath;
    this.#handle = handle;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await this.#op(async (handle) => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    });
  }

  /** Reads [offset, offset+length); bytes past the data file's end read as zeros (sparse holes). */
  async read(offset: number, length: number): Promise<Buffer> {
    return this.#op(async (handle) => {
      const out = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out;
    });
  }

  async truncate(sizeBytes: number): Promise<void> {
    await this.#op((handle) => handle.truncate(sizeBytes));
  }

  /** Length of the data file. */
  async sizeBytes(): Promise<number> {
    return this.#op(async (handle) => (await handle.stat()).size);
  }

  /** Makes the data durable on local disk before a record claims it is there. */
  async sync(): Promise<void> {
    await this.#op((handle) => handle.datasync());
  }

  /**
   * Replaces the record (write to a temporary file, rename). `durable`: fsync'd, and the folder too,
   * so the record survives a power cut. A no-op once the file is discarded or kept.
   */
  writeRecord(record: SpoolRecord, durable = false): Promise<void> {
    const run = this.#records.then(() => (this.#closed ? undefined : this.#writeRecordNow(record, durable)));
    this.#records = run.catch(() => undefined);
    return run;
  }

  /** The content is in the bucket (or was never wanted): delete the files. */
  async discard(reservedBytes: number): Promise<void> {
    await this.#close();
    await fsp.rm(this.dataPath, { force: true });
    await fsp.rm(this.metaPath, { force: true });
    this.#spool.unreserve(reservedBytes);
  }

  /** Keeps the files for the next mount after a failed upload. */
  async keep(reservedBytes: number): Promise<void> {
    await this.#close();
    this.#spool.unreserve(reservedBytes);
  }

  /** Closes the descriptor as a crash would: no record update, nothing deleted. */
  async abandon(): Promise<void> {
    // Records already asked for land (as they would a moment before a crash); later ones never do.
    await this.#records;
    this.#closed = true;
    await this.#records;
    await this.#handle.close().catch(() => undefined);
    this.#spool.forget(this);
  }

  async #writeRecordNow(record: SpoolRecord, durable: boolean): Promise<void> {
    await this.#relinkIfRemoved();
    const text = `${JSON.stringify(record, null, 2)}\n`;
    const tmp = `${this.metaPath}.tmp`;
    const write = async (): Promise<void> => {
      const handle = await fsp.open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text);
        if (durable) await handle.datasync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, this.metaPath);
      if (durable) await syncDir(path.dirname(this.metaPath));
    };
    try {
      await write();
    } catch (e) {
      if (!isMissing(e)) throw e;
      await this.#spool.ensureFolder(path.dirname(this.metaPath));
      await write();
    }
  }

  /**
   * A user removed the data file (or its folder) while it was open: the descriptor still reads it,
   * but nothing on disk names it, so a crash would lose it. Copy it back under its name.
   */
  async #relinkIfRemoved(): Promise<void> {
    if ((await this.#handle.stat()).nlink > 0) return;
    await this.#alone(async () => {
      if ((await this.#handle.stat()).nlink > 0) return;
      await this.#spool.ensureFolder(path.dirname(this.dataPath));
      const fresh = await fsp.open(this.dataPath, 'w+', 0o600);
      try {
        const sizeBytes = (await this.#handle.stat()).size;
        const chunk = Buffer.alloc(Math.min(sizeBytes, 1024 * 1024));
        for (let at = 0; at < sizeBytes; ) {
          const { bytesRead } = await this.#handle.read(chunk, 0, Math.min(chunk.length, sizeBytes - at), at);
          if (bytesRead === 0) break;
          await fresh.write(chunk, 0, bytesRead, at);
          at += bytesRead;
        }
        await fresh.truncate(sizeBytes);
      } catch (e) {
        await fresh.close();
        throw e;
      }
      const old = this.#handle;
      this.#handle = fresh;
      await old.close().catch(() => undefined);
    });
  }

  async #op<T>(work: (handle: fsp.FileHandle) => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    this.#running++;
    try {
      return await work(this.#handle);
    } finally {
      if (--this.#running === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  async #alone(work: () => Promise<void>): Promise<void> {
    while (this.#exclusive) await this.#exclusive;
    let done: () => void = () => undefined;
    this.#exclusive = new Promise<void>((resolve) => (done = resolve));
    try {
      while (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      await work();
    } finally {
      this.#exclusive = undefined;
      done();
    }
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#records;
    await this.#handle.close();
    this.#spool.forget(this);
  }
}
