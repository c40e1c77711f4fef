// At mount: multipart uploads that a bucketfs of this machine started on this bucket and that its
// process, now dead, never completed or aborted (a SIGKILL, even between CreateMultipartUpload and
// the record that would name the upload id) cost storage until aborted. The upload journal names
// them; only those are aborted, never another client's, and never one a live bucketfs may finish.

import type { S3Config } from '../config.js';
import { decide, isBucketfsProcess, UploadCleaner } from './cleanup.js';
import { endpointLabel } from './s3-object-store.js';
import { UploadJournal } from './upload-journal.js';

/** Aborts what dead bucketfs processes left; returns how many uploads it aborted. Sends nothing when the journal names none. */
export async function abortOrphanedUploads(config: S3Config, journalDir: string): Promise<number> {
  const entries = await UploadJournal.entries(journalDir, endpointLabel(config), config.bucket);
  const dead: boolean[] = await Promise.all(entries.map(async (e) => e.pid !== process.pid && !(await isBucketfsProcess(e.pid))));
  if (!dead.some(Boolean)) return 0;
  const cleaner = new UploadCleaner(config, journalDir);
  try {
    const listed = await cleaner.list();
    const alive = new Map<number, boolean>();
    for (const [i, e] of entries.entries()) alive.set(e.pid, !dead[i]);
    let aborted = 0;
    for (const upload of listed) {
      if (upload.journal === undefined) continue;
      const decision = decide(upload, { all: false, olderThanMs: undefined, nowMs: Date.now(), bucketfsAlive: (pid) => alive.get(pid) ?? false });
      if (decision.action !== 'abort') continue;
      await cleaner.abort(upload);
      aborted++;
    }
    await cleaner.forgetFinished(listed, async (pid) => pid === process.pid || (await isBucketfsProcess(pid)));
    return aborted;
  } finally {
    cleaner.close();
  }
}
