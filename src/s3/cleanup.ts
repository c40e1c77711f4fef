// `bucketfs cleanup`: incomplete multipart uploads cost storage until someone aborts them. S3 lists
// them without any metadata, so the upload journal (upload-journal.ts) tells which ones bucketfs on
// this machine started. By default only those are aborted, and never one whose bucketfs process is
// still alive (it may yet complete it); --all takes every other client's uploads too.

import { promises as fsp } from 'node:fs';
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import { S3Context } from './context.js';
import { endpointLabel } from './s3-object-store.js';
import { isStoreError } from './store-error.js';
import { UploadJournal, type UploadJournalEntry } from './upload-journal.js';

export interface PendingUpload {
  /** The full key in the bucket. */
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: Date | undefined;
  /** The journal entry when bucketfs on this machine started it. */
  readonly journal: UploadJournalEntry | undefined;
}

export type CleanupDecision =
  | { readonly action: 'abort'; readonly reason: string }
  | { readonly action: 'keep'; readonly reason: string };

export interface CleanupPolicy {
  /** Abort uploads of other clients too. */
  readonly all: boolean;
  /** Only uploads started longer ago than this, ms; undefined: any age. */
  readonly olderThanMs: number | undefined;
  readonly nowMs: number;
  /** Whether a pid is a bucketfs process that is still running. */
  readonly bucketfsAlive: (pid: number) => boolean;
}

/** What to do with one pending upload, and why, in words for the table. */
export function decide(upload: PendingUpload, policy: CleanupPolicy): CleanupDecision {
  const owner = upload.journal;
  if (owner !== undefined && owner.pid !== process.pid && policy.bucketfsAlive(owner.pid)) {
    return { action: 'keep', reason: `bucketfs pid ${owner.pid} is still running` };
  }
  if (policy.olderThanMs !== undefined) {
    const ageMs = upload.initiated !== undefined ? policy.nowMs - upload.initiated.getTime() : Infinity;
    if (ageMs < policy.olderThanMs) return { action: 'keep', reason: 'newer than --older-than' };
  }
  if (owner !== undefined) return { action: 'abort', reason: 'started by bucketfs' };
  return policy.all ? { action: 'abort', reason: '--all' } : { action: 'keep', reason: 'not started by bucketfs here (--all aborts it)' };
}

/** A live process whose command line names bucketfs (a recycled pid of something else is not). */
export async function isBucketfsProcess(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return /bucketfs/.test(cmdline);
}

/** How far a server's Initiated may be from the journal's clock and still be the same upload. */
const INTENT_WINDOW_MS = 10 * 60_000;

/**
 * Matches listed uploads to journal records: by upload id, or, for a record whose process died
 * before CreateMultipartUpload answered, by key and a start time near the record's.
 */
export function ownerFinder(entries: readonly UploadJournalEntry[]): (key: string, uploadId: string, initiated: Date | undefined) => UploadJournalEntry | undefined {
  const byId = new Map(entries.filter((e) => e.uploadId !== undefined).map((e) => [e.uploadId, e]));
  const intents = entries.filter((e) => e.uploadId === undefined);
  return (key, uploadId, initiated) => {
    const known = byId.get(uploadId);
    if (known !== undefined) return known;
    const i = intents.findIndex((e) => e.key === key && initiated !== undefined && Math.abs(initiated.getTime() - Date.parse(e.startedAt)) < INTENT_WINDOW_MS);
    return i < 0 ? undefined : intents.splice(i, 1)[0];
  };
}

/** Lists and aborts the incomplete uploads below one bucket and prefix. */
export class UploadCleaner {
  readonly #ctx: S3Context;
  readonly #journalDir: string;
  readonly #endpoint: string;

  constructor(config: S3Config, journalDir: string) {
    this.#ctx = S3Context.create(config);
    this.#journalDir = journalDir;
    this.#endpoint = endpointLabel(config);
  }

  /** Every incomplete upload below the prefix, oldest first, with its journal entry if any. */
  async list(): Promise<PendingUpload[]> {
    const ctx = this.#ctx;
    const ownerOf = ownerFinder(await UploadJournal.entries(this.#journalDir, this.#endpoint, ctx.bucket));
    const out: PendingUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await ctx.request('LIST-UPLOADS', '', () =>
        ctx.clients.main.send(new ListMultipartUploadsCommand({ Bucket: ctx.bucket, Prefix: ctx.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined) continue;
        out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated, journal: ownerOf(u.Key, u.UploadId, u.Initiated) });
      }
      if (page.IsTruncated !== true || (page.NextKeyMarker === keyMarker && page.NextUploadIdMarker === uploadIdMarker)) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    return out.sort((a, b) => (a.initiated?.getTime() ?? 0) - (b.initiated?.getTime() ?? 0));
  }

  /** Aborts one upload (already gone counts as done) and forgets its journal entry. */
  async abort(upload: PendingUpload): Promise<void> {
    const ctx = this.#ctx;
    try {
      await ctx.request('ABORT-UPLOAD', upload.key.slice(ctx.prefix.length), () => ctx.clients.main.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: upload.key, UploadId: upload.uploadId })));
    } catch (e) {
      if (!isStoreError(e, 'NoSuchUpload') && !isStoreError(e, 'NotFound')) throw e;
    }
    if (upload.journal !== undefined) await UploadJournal.remove(this.#journalDir, upload.journal);
  }

  /** Journal entries of this bucket that match no listed upload and whose process is gone. */
  async forgetFinished(listed: readonly PendingUpload[], alive: (pid: number) => Promise<boolean>): Promise<number> {
    const matched = new Set(listed.map((u) => u.journal?.id));
    let forgotten = 0;
    for (const entry of await UploadJournal.entries(this.#journalDir, this.#endpoint, this.#ctx.bucket)) {
      if (matched.has(entry.id) || !entry.key.startsWith(this.#ctx.prefix) || (await alive(entry.pid))) continue;
      await UploadJournal.remove(this.#journalDir, entry);
      forgotten++;
    }
    return forgotten;
  }

  close(): void {
    this.#ctx.clients.destroy();
  }
}
