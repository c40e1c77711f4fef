// Renaming a directory on S3 is a copy of every object below it and a delete of the originals.
// Before the first copy, a journal naming every key is written to local disk; it is removed only
// when all copies and deletes are done. A rename cut short (crash, kill, network) is finished from
// the journal at the next mount, so the tree is never left half in both places without a record.

import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ObjectStore, PutResult } from '../s3/object-store.js';
import { isStoreError } from '../s3/store-error.js';
import { mapLimited } from '../concurrency.js';
import type { Logger } from '../log.js';
import { FsError } from './errno.js';

interface JournalEntry {
  readonly key: string;
  readonly sizeBytes: number;
  /** Unlinked already (its delete waited for readers): deleted with the rest, never copied. */
  readonly unlinked?: true;
}

interface Journal {
  readonly fromPrefix: string;
  readonly toPrefix: string;
  readonly keys: readonly JournalEntry[];
  readonly startedAt: string;
}

const COPY_CONCURRENCY = 8;

export class DirRenamer {
  readonly #store: ObjectStore;
  readonly #dir: string;
  readonly #log: Logger;
  readonly #maxKeyBytes: number;

  /** `maxKeyBytes`: the longest key the store takes (S3: 1,024 bytes, less the mount prefix). */
  constructor(store: ObjectStore, journalDir: string, log: Logger, maxKeyBytes = 1024) {
    this.#store = store;
    this.#dir = journalDir;
    this.#log = log;
    this.#maxKeyBytes = maxKeyBytes;
  }

  /**
   * Moves every object from `fromPrefix` to `toPrefix`; returns the new ETag of each new key.
   * Objects `unlinked(key, etag)` calls gone are deleted but not copied: they must not come back.
   */
  async rename(fromPrefix: string, toPrefix: string, unlinked: (key: string, etag: string) => boolean): Promise<Map<string, PutResult>> {
    const keys: JournalEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.#store.listPage(fromPrefix, undefined, token);
      for (const o of page.objects) keys.push({ key: o.key, sizeBytes: o.sizeBytes, ...(unlinked(o.key, o.etag) ? { unlinked: true as const } : {}) });
      token = page.nextToken;
    } while (token);
    // A key the server would refuse (400) must stop the rename before anything is copied.
    const growth = Buffer.byteLength(toPrefix) - Buffer.byteLength(fromPrefix);
    const tooLong = keys.find((k) => Buffer.byteLength(k.key) + growth > this.#maxKeyBytes);
    if (tooLong) throw new FsError('ENAMETOOLONG', `renaming ${fromPrefix} to ${toPrefix} would make ${tooLong.key} longer than ${this.#maxKeyBytes} bytes`);
    const journal: Journal = { fromPrefix, toPrefix, keys, startedAt: new Date().toISOString() };
    await fsp.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.#dir, `${randomUUID()}.json`);
    await fsp.writeFile(`${file}.tmp`, JSON.stringify(journal));
    await fsp.rename(`${file}.tmp`, file);
    const results = await this.#apply(journal);
    await fsp.rm(file, { force: true });
    return results;
  }

  /** Finishes renames an earlier run left unfinished; returns a line per journal for the log. */
  async resume(): Promise<string[]> {
    const names = await fsp.readdir(this.#dir).catch(() => [] as string[]);
    const done: string[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(this.#dir, name);
      const journal = JSON.parse(await fsp.readFile(file, 'utf8')) as Journal;
      try {
        await this.#apply(journal, true);
        await fsp.rm(file, { force: true });
        done.push(`finished the interrupted rename of ${journal.fromPrefix} to ${journal.toPrefix} (${journal.keys.length} objects)`);
      } catch (e) {
        done.push(`could not finish the interrupted rename of ${journal.fromPrefix} to ${journal.toPrefix}: ${(e as Error).message}; journal kept in ${file}`);
      }
    }
    for (const line of done) this.#log.warn(line);
    return done;
  }

  async #apply(journal: Journal, resuming = false): Promise<Map<string, PutResult>> {
    const results = new Map<string, PutResult>();
    await mapLimited(journal.keys.filter((k) => !k.unlinked), COPY_CONCURRENCY, async ({ key, sizeBytes }) => {
      const target = journal.toPrefix + key.slice(journal.fromPrefix.length);
      try {
        results.set(target, await this.#store.copy(key, target, { sourceSizeBytes: sizeBytes }));
      } catch (e) {
        // Resuming: a key whose copy and delete both happened before the crash is simply gone.
        if (resuming && isStoreError(e, 'NotFound')) return;
        throw new FsError('EIO', `renaming ${key} to ${target} failed: ${(e as Error).message}`, { cause: e });
      }
    });
    const batch = this.#store.limits.maxDeleteBatch;
    for (let i = 0; i < journal.keys.length; i += batch) {
      const { failed } = await this.#store.deleteMany(journal.keys.slice(i, i + batch).map((k) => k.key));
      if (failed.length > 0) {
        throw new FsError('EIO', `deleting ${failed.length} renamed objects failed, e.g. ${failed[0]?.key}: ${failed[0]?.message}`);
      }
    }
    return results;
  }
}
