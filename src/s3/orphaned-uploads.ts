// At mount: multipart uploads that a bucketfs of this machine started on this bucket and that its
// process, now dead, never completed or aborted (a SIGKILL, even between CreateMultipartUpload and
// the record that would name the upload id) cost storage until aborted. The upload journal names
// them; only those are aborted, never another client's, and never one a live bucketfs may finish.
//
// The uploads are listed before this mount starts any upload of its own: a dead process's record
// that never got its upload id is matched to a listed upload by key and time, and an upload this
// mount starts for the same key (recovery re-uploads exactly those files) must never be mistaken
// for it. Aborting can then run in the background.

import type { S3Config } from '../config.js';
import { decide, isBucketfsProcess, UploadCleaner, type PendingUpload } from './cleanup.js';
import { endpointLabel } from './s3-object-store.js';
import { UploadJournal } from './upload-journal.js';

export interface OrphanedUploads {
  /** The uploads dead bucketfs processes left, as listed before this call returned. */
  readonly uploads: readonly PendingUpload[];
  /** Aborts them and forgets the journal records of uploads that are gone; returns how many it aborted. */
  abort(): Promise<number>;
}

/** Lists what dead bucketfs processes left; sends nothing when the journal names no dead process. */
export async function findOrphanedUploads(config: S3Config, journalDir: string): Promise<OrphanedUploads> {
  const entries = await UploadJournal.entries(journalDir, endpointLabel(config), config.bucket);
  const alive = new Map<number, boolean>();
  for (const e of entries) {
    if (!alive.has(e.pid)) alive.set(e.pid, e.pid === process.pid || (await isBucketfsProcess(e.pid)));
  }
  if (![...alive.values()].some((a) => !a)) return { uploads: [], abort: () => Promise.resolve(0) };
  const cleaner = new UploadCleaner(config, journalDir);
  let listed: PendingUpload[];
  try {
    listed = await cleaner.list();
  } catch (e) {
    cleaner.close();
    throw e;
  }
  const policy = { all: false, olderThanMs: undefined, nowMs: Date.now(), bucketfsAlive: (pid: number) => alive.get(pid) ?? false };
  const orphans = listed.filter((u) => u.journal !== undefined && u.journal.pid !== process.pid && decide(u, policy).action === 'abort');
  return {
    uploads: orphans,
    abort: async () => {
      try {
        for (const upload of orphans) await cleaner.abort(upload);
        await cleaner.forgetFinished(listed, async (pid) => pid === process.pid || (await isBucketfsProcess(pid)));
        return orphans.length;
      } finally {
        cleaner.close();
      }
    },
  };
}

/** Lists and aborts at once (when nothing of this process can be uploading yet, or in tests). */
export async function abortOrphanedUploads(config: S3Config, journalDir: string): Promise<number> {
  return (await findOrphanedUploads(config, journalDir)).abort();
}
