// `bucketfs cleanup`: lists the incomplete multipart uploads below a bucket (and prefix) and aborts
// those the policy of src/s3/cleanup.ts selects (by default only the ones bucketfs started and no
// live bucketfs still owns). --dry-run only prints the table. Exit 1 when an abort failed.

import type { S3Config } from '../config.js';
import { decide, isBucketfsProcess, UploadCleaner, type CleanupPolicy, type PendingUpload } from '../s3/cleanup.js';
import { diagnose } from '../s3/diagnosis.js';
import { isStoreError } from '../s3/store-error.js';
import { phraseDiagnosis } from './advice.js';
import { formatTable, type TableRow } from './table.js';

export interface CleanupOptions {
  readonly all: boolean;
  readonly olderThanMs: number | undefined;
  readonly dryRun: boolean;
  readonly journalDir: string;
}

function started(u: PendingUpload): string {
  return u.initiated !== undefined ? u.initiated.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?';
}

export async function cleanupCommand(config: S3Config, options: CleanupOptions, write: (text: string) => void): Promise<number> {
  const cleaner = new UploadCleaner(config, options.journalDir);
  try {
    const uploads = await cleaner.list().catch((e: unknown) => {
      // One line that says what to do, as a failed mount does.
      throw isStoreError(e) ? new Error(phraseDiagnosis(diagnose(e, config, 'ListMultipartUploads'))) : e;
    });
    const alive = new Map<number, boolean>();
    for (const u of uploads) if (u.journal !== undefined && !alive.has(u.journal.pid)) alive.set(u.journal.pid, await isBucketfsProcess(u.journal.pid));
    const policy: CleanupPolicy = { all: options.all, olderThanMs: options.olderThanMs, nowMs: Date.now(), bucketfsAlive: (pid) => alive.get(pid) ?? false };
    const rows: TableRow[] = [];
    let aborted = 0;
    let failures = 0;
    for (const u of uploads) {
      const decision = decide(u, policy);
      let action: string = decision.action === 'abort' ? (options.dryRun ? `would abort (${decision.reason})` : 'aborted') : `kept: ${decision.reason}`;
      if (decision.action === 'abort' && !options.dryRun) {
        try {
          await cleaner.abort(u);
          aborted++;
        } catch (e) {
          if (!isStoreError(e)) throw e;
          failures++;
          action = `FAILED: ${e.message}`;
        }
      }
      rows.push({ cells: [u.key, started(u), u.journal !== undefined ? `bucketfs (pid ${u.journal.pid})` : 'another client', action] });
    }
    if (!options.dryRun) await cleaner.forgetFinished(uploads, isBucketfsProcess);
    const where = `s3://${config.bucket}/${config.prefix}`;
    if (uploads.length === 0) {
      write(`no incomplete uploads in ${where}\n`);
      return 0;
    }
    write(formatTable(['KEY', 'STARTED', 'BY', 'ACTION'], rows));
    const selected = uploads.filter((u) => decide(u, policy).action === 'abort').length;
    write(options.dryRun ? `\n${selected} of ${uploads.length} incomplete uploads would be aborted (dry run)\n` : `\naborted ${aborted} of ${uploads.length} incomplete uploads in ${where}${failures > 0 ? `; ${failures} failed` : ''}\n`);
    return failures > 0 ? 1 : 0;
  } finally {
    cleaner.close();
  }
}
