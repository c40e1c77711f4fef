// A local record of the multipart uploads this machine's bucketfs started and has not completed or
// aborted: one small JSON file per upload. S3 lists incomplete uploads without any metadata, so this
// is how `bucketfs cleanup` tells its own leftovers (a daemon killed mid-upload) from other clients'
// uploads. The record is written before CreateMultipartUpload (an intent: key, time, pid) and gets
// the upload id once the server answers, so a crash in between still leaves a trace. A journal that
// cannot be written never fails an upload; the upload is then only unknown to cleanup.

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface UploadJournalEntry {
  /** The record's own id (its file name without .json). */
  readonly id: string;
  /** The endpoint URL, or `aws`. */
  readonly endpoint: string;
  readonly bucket: string;
  /** The full key in the bucket (prefix included). */
  readonly key: string;
  /** Undefined while CreateMultipartUpload has not answered (or never did). */
  readonly uploadId: string | undefined;
  /** ISO time just before CreateMultipartUpload. */
  readonly startedAt: string;
  /** The process that started it: while it lives, the upload may still complete. */
  readonly pid: number;
}

type Stored = Omit<UploadJournalEntry, 'id'>;

function isStored(v: unknown): v is Stored {
  const e = v as Partial<Stored> | null;
  return (
    typeof e === 'object' && e !== null &&
    typeof e.endpoint === 'string' && typeof e.bucket === 'string' && typeof e.key === 'string' &&
    (e.uploadId === undefined || typeof e.uploadId === 'string') && typeof e.startedAt === 'string' && typeof e.pid === 'number'
  );
}

export class UploadJournal {
  readonly dir: string;
  readonly #endpoint: string;
  readonly #log: ((line: string) => void) | undefined;

  constructor(dir: string, endpoint: string, log?: (line: string) => void) {
    this.dir = dir;
    this.#endpoint = endpoint;
    this.#log = log;
  }

  /** Records the intent to start an upload of `key`; returns the record's id. */
  async begin(bucket: string, key: string): Promise<string> {
    const id = `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
    await this.#write(id, { endpoint: this.#endpoint, bucket, key, uploadId: undefined, startedAt: new Date().toISOString(), pid: process.pid });
    return id;
  }

  /** Adds the upload id the server gave to the record `id`. */
  async started(id: string, bucket: string, key: string, uploadId: string): Promise<void> {
    const startedAt = await this.#read(id).then((s) => s?.startedAt ?? new Date().toISOString());
    await this.#write(id, { endpoint: this.#endpoint, bucket, key, uploadId, startedAt, pid: process.pid });
  }

  /** The upload completed, was aborted or never started: nothing is left to clean up. */
  async forget(id: string): Promise<void> {
    await UploadJournal.remove(this.dir, { id });
  }

  /** Every record in `dir` for this endpoint and bucket; unreadable files are skipped. */
  static async entries(dir: string, endpoint: string, bucket: string): Promise<UploadJournalEntry[]> {
    const names = await fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    const out: UploadJournalEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const stored = await readStored(path.join(dir, name));
      if (stored !== undefined && stored.endpoint === endpoint && stored.bucket === bucket) out.push({ id: name.slice(0, -'.json'.length), ...stored });
    }
    return out;
  }

  static async remove(dir: string, entry: Pick<UploadJournalEntry, 'id'>): Promise<void> {
    await fsp.rm(path.join(dir, `${entry.id}.json`), { force: true }).catch(() => undefined);
  }

  async #read(id: string): Promise<Stored | undefined> {
    return readStored(path.join(this.dir, `${id}.json`));
  }

  async #write(id: string, stored: Stored): Promise<void> {
    const file = path.join(this.dir, `${id}.json`);
    try {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      // Written whole, then renamed: a reader never sees half a record.
      await fsp.writeFile(`${file}.tmp`, `${JSON.stringify(stored)}\n`, { mode: 0o600 });
      await fsp.rename(`${file}.tmp`, file);
    } catch (e) {
      this.#log?.(`upload journal: cannot record an upload of ${stored.key} in ${this.dir}: ${(e as Error).message}`);
    }
  }
}

async function readStored(file: string): Promise<Stored | undefined> {
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    return isStored(parsed) ? parsed : undefined;
  } catch {
    // Being written or removed right now, or not ours.
    return undefined;
  }
}
