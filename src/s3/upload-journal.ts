// A local record of the multipart uploads this machine's bucketfs started and has not completed or
// aborted: one small JSON file per upload. S3 lists incomplete uploads without any metadata, so this
// is how `bucketfs cleanup` tells its own leftovers (a daemon killed mid-upload) from other
// clients' uploads. A journal that cannot be written never fails an upload; it only forgets it.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface UploadJournalEntry {
  /** The endpoint URL, or `aws`. */
  readonly endpoint: string;
  readonly bucket: string;
  /** The full key in the bucket (prefix included). */
  readonly key: string;
  readonly uploadId: string;
  /** ISO time of CreateMultipartUpload. */
  readonly startedAt: string;
  /** The process that started it: while it lives, the upload may still complete. */
  readonly pid: number;
}

function isEntry(v: unknown): v is UploadJournalEntry {
  const e = v as Partial<UploadJournalEntry> | null;
  return (
    typeof e === 'object' && e !== null &&
    typeof e.endpoint === 'string' && typeof e.bucket === 'string' && typeof e.key === 'string' &&
    typeof e.uploadId === 'string' && typeof e.startedAt === 'string' && typeof e.pid === 'number'
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

  async record(upload: { bucket: string; key: string; uploadId: string }): Promise<void> {
    const entry: UploadJournalEntry = { endpoint: this.#endpoint, ...upload, startedAt: new Date().toISOString(), pid: process.pid };
    const file = this.#file(upload.bucket, upload.uploadId);
    try {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      // Written whole, then renamed: a reader never sees half a record.
      await fsp.writeFile(`${file}.tmp`, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      await fsp.rename(`${file}.tmp`, file);
    } catch (e) {
      this.#log?.(`upload journal: cannot record ${upload.uploadId} in ${this.dir}: ${(e as Error).message}`);
    }
  }

  async forget(bucket: string, uploadId: string): Promise<void> {
    await UploadJournal.remove(this.dir, { endpoint: this.#endpoint, bucket, uploadId });
  }

  /** Every entry of `dir` for this endpoint and bucket; unreadable files are skipped. */
  static async entries(dir: string, endpoint: string, bucket: string): Promise<UploadJournalEntry[]> {
    const names = await fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    const out: UploadJournalEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const entry: unknown = JSON.parse(await fsp.readFile(path.join(dir, name), 'utf8'));
        if (isEntry(entry) && entry.endpoint === endpoint && entry.bucket === bucket) out.push(entry);
      } catch {
        // Being written or removed right now, or not ours.
      }
    }
    return out;
  }

  static async remove(dir: string, entry: Pick<UploadJournalEntry, 'endpoint' | 'bucket' | 'uploadId'>): Promise<void> {
    await fsp.rm(path.join(dir, fileName(entry.endpoint, entry.bucket, entry.uploadId)), { force: true }).catch(() => undefined);
  }

  #file(bucket: string, uploadId: string): string {
    return path.join(this.dir, fileName(this.#endpoint, bucket, uploadId));
  }
}

function fileName(endpoint: string, bucket: string, uploadId: string): string {
  return `${createHash('sha256').update(`${endpoint}\n${bucket}\n${uploadId}`).digest('hex').slice(0, 32)}.json`;
}
