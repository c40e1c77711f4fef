// Crash recovery: at mount, this mount takes over the spool folders of dead mounts of the same bucket,
// prefix and endpoint (Spool.claimDeadFolders) and finishes each record they left:
//   1. a multipart upload the record names is aborted (a new upload starts from the spool if needed);
//   2. 'uploaded' and 'unlinked' records are done: dropped silently;
//   3. when every byte is local and the object already holds exactly them (size, MD5 or multipart
//      ETag over the local bytes), the upload had finished before the crash: dropped silently (or,
//      if only attributes differ, their metadata copy is redone);
//   4. when the object is unchanged since the open (ETag == the record's base ETag, or no object
//      and no base), the file is rebuilt from the record and its data file and handed to OpenFiles
//      as a dirty file with no users: it shows on the mount at once and uploads from the queue;
//   5. otherwise another client changed the object: the local version is kept as a sibling
//      NAME.bucketfs-conflict-YYYYMMDD-HHMMSS (one WARN line) when all its bytes are local; when
//      it also needs the old version's bytes (gone: S3 keeps one version of a key), it stays in the
//      spool and an ERROR names its data file.
// Directory renames a dead mount left are finished by DirRenamer from the journals moved here.

import { forEachLimited } from '../concurrency.js';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { PosixConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { ObjectInfo, ObjectStore } from '../s3/object-store.js';
import type { DirRenamer } from './dir-rename.js';
import { etagMatchesFile } from './local-etag.js';
import { attrsFromMetadata, objectType } from './metadata.js';
import { type FsPath, NAME_MAX_BYTES, fileKey, toFsPath } from './names.js';
import type { RemoteObject } from './nodes.js';
import { OpenFile, type OpenFileContext } from './open-file.js';
import type { OpenFiles } from './open-files.js';
import { type SpoolRecord, type SpoolState, type Spool } from './spool.js';

export interface RecoveryDeps {
  readonly store: ObjectStore;
  readonly spool: Spool;
  readonly files: OpenFiles;
  readonly fileContext: OpenFileContext;
  readonly posix: PosixConfig;
  readonly dirRenamer: DirRenamer;
  /** This mount's journal folder: adopted journals move here before DirRenamer.resume(). */
  readonly journalDir: string;
  readonly log: Logger;
}

export interface RecoveryReport {
  /** Paths whose bytes are being uploaded (the original name, unchanged since the open). */
  readonly uploading: string[];
  /** Records whose content was in the bucket already, or that had nothing left to do. */
  readonly clean: string[];
  readonly conflicts: { readonly path: string; readonly sibling: string }[];
  /** Records kept in the spool: their data file, and why. */
  readonly unrecoverable: { readonly key: string; readonly dataPath: string; readonly reason: string }[];
  /** Multipart upload ids aborted. */
  readonly aborted: string[];
  /** One line per directory rename journal finished (or not). */
  readonly renames: string[];
}

const RECORD_CONCURRENCY = 8;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
const STATES: readonly SpoolState[] = ['writing', 'uploading', 'queued', 'upload-failed', 'uploaded', 'unlinked'];

/** A record as written by this version or the one before (which had fewer fields), or undefined. */
export function parseRecord(text: string): SpoolRecord | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || typeof raw.key !== 'string' || typeof raw.sizeBytes !== 'number') return undefined;
  if (!STATES.includes(raw.state as SpoolState) || !Array.isArray(raw.localRanges)) return undefined;
  const ranges = (raw.localRanges as unknown[]).filter(
    (r): r is [number, number] => Array.isArray(r) && typeof r[0] === 'number' && typeof r[1] === 'number' && r[0] < r[1],
  );
  const baseEtag = typeof raw.baseEtag === 'string' ? raw.baseEtag : undefined;
  const updatedAt = typeof raw.updatedAt === 'string' ? raw.updatedAt : new Date(0).toISOString();
  return {
    version: typeof raw.version === 'number' ? raw.version : 1,
    bucket: typeof raw.bucket === 'string' ? raw.bucket : '',
    key: raw.key,
    ...(baseEtag === undefined ? {} : { baseEtag }),
    ...(typeof raw.baseSizeBytes === 'number' ? { baseSizeBytes: raw.baseSizeBytes } : {}),
    // Version 1 did not say how much of the base was used: all of the file's size.
    baseLimitBytes: typeof raw.baseLimitBytes === 'number' ? raw.baseLimitBytes : baseEtag === undefined ? 0 : raw.sizeBytes,
    sizeBytes: raw.sizeBytes,
    localRanges: ranges,
    contentChanged: raw.contentChanged !== false,
    metadata: typeof raw.metadata === 'object' && raw.metadata !== null ? (raw.metadata as Record<string, string>) : {},
    contentType: typeof raw.contentType === 'string' ? raw.contentType : undefined,
    partSizeBytes: typeof raw.partSizeBytes === 'number' ? raw.partSizeBytes : DEFAULT_PART_BYTES,
    ...(typeof raw.uploadId === 'string' ? { uploadId: raw.uploadId } : {}),
    ...(typeof raw.uploadedEtag === 'string' ? { uploadedEtag: raw.uploadedEtag } : {}),
    state: raw.state as SpoolState,
    createdAt: typeof raw.createdAt === 'string' ? raw.createdAt : updatedAt,
    updatedAt,
    ...(typeof raw.error === 'string' ? { error: raw.error } : {}),
  };
}

/** True when the ranges cover [0, end). */
function covers(ranges: readonly (readonly [number, number])[], end: number): boolean {
  let at = 0;
  for (const [start, stop] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start > at) break;
    at = Math.max(at, stop);
  }
  return at >= end;
}

/** `name.bucketfs-conflict-20261202-165259` (UTC), the stem shortened if the name would pass 255 bytes. */
export function conflictPath(filePath: FsPath, at: Date, attempt = 0): FsPath {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix = `.bucketfs-conflict-${stamp}${attempt > 0 ? `-${attempt}` : ''}`;
  const slash = filePath.lastIndexOf('/');
  let stem = filePath.slice(slash + 1);
  while (Buffer.byteLength(stem + suffix) > NAME_MAX_BYTES) stem = [...stem].slice(0, -1).join('');
  return `${filePath.slice(0, slash + 1)}${stem}${suffix}` as FsPath;
}

/** Attribute metadata the same, apart from mtime (a multipart upload carries the mtime of its start). */
function sameAttributes(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const strip = (m: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(m).filter(([k]) => k !== 'mtime').sort(([x], [y]) => (x < y ? -1 : 1)));
  return strip(a) === strip(b);
}

function remote(info: ObjectInfo): RemoteObject {
  return { key: info.key, sizeBytes: info.sizeBytes, etag: info.etag, lastModified: info.lastModified, metadata: info.metadata, contentType: info.contentType };
}

interface Found {
  readonly record: SpoolRecord;
  readonly metaPath: string;
  readonly dataPath: string;
}

export class Recovery {
  readonly #d: RecoveryDeps;
  readonly #report: {
    uploading: string[];
    clean: string[];
    conflicts: { path: string; sibling: string }[];
    unrecoverable: { key: string; dataPath: string; reason: string }[];
    aborted: string[];
    renames: string[];
  } = { uploading: [], clean: [], conflicts: [], unrecoverable: [], aborted: [], renames: [] };

  constructor(deps: RecoveryDeps) {
    this.#d = deps;
  }

  async run(): Promise<RecoveryReport> {
    const { spool } = this.#d;
    await spool.claimDeadFolders();
    const files = await fsp.readdir(spool.adoptedDir, { recursive: true }).catch(() => [] as string[]);
    const found: Found[] = [];
    for (const rel of files.sort()) {
      const full = path.join(spool.adoptedDir, rel);
      const folder = path.basename(path.dirname(full));
      if (folder === 'renames' && rel.endsWith('.json')) {
        await this.#adoptJournal(full);
      } else if (folder === 'files' && rel.endsWith('.json.tmp')) {
        await fsp.rm(full, { force: true });
      } else if (folder === 'files' && rel.endsWith('.json')) {
        const record = parseRecord(await fsp.readFile(full, 'utf8').catch(() => ''));
        const dataPath = full.replace(/\.json$/, '.data');
        if (record) found.push({ record, metaPath: full, dataPath });
        else this.#unrecoverable('?', dataPath, `its record ${full} cannot be read`);
      } else if (folder === 'files' && rel.endsWith('.data')) {
        await this.#orphanData(full, files);
      }
    }
    this.#report.renames.push(...(await this.#d.dirRenamer.resume()));
    await this.#finishRecords(found);
    await spool.pruneAdopted();
    return this.#report;
  }

  /** Records in time order; those of one key one after the other (a later one sees the earlier's upload). */
  async #finishRecords(found: readonly Found[]): Promise<void> {
    const byKey = new Map<string, Found[]>();
    for (const f of [...found].sort((a, b) => a.record.updatedAt.localeCompare(b.record.updatedAt))) {
      byKey.set(f.record.key, [...(byKey.get(f.record.key) ?? []), f]);
    }
    // One key's records in order (oldest first); different keys at once.
    await forEachLimited([...byKey.values()], RECORD_CONCURRENCY, async (group) => {
      for (const f of group) {
        try {
          await this.#finish(f);
        } catch (e) {
          this.#unrecoverable(f.record.key, f.dataPath, (e as Error).message);
        }
      }
    });
  }

  /** One record's fate. Long on purpose: the decision table of docs/SEMANTICS.md (Crashes), case by case in order. */
  async #finish({ record, metaPath, dataPath }: Found): Promise<void> {
    const { store, log } = this.#d;
    if (record.uploadId !== undefined && store.abortUpload) {
      try {
        await store.abortUpload(record.key, record.uploadId);
        this.#report.aborted.push(record.uploadId);
      } catch (e) {
        log.warn(`could not abort the multipart upload ${record.uploadId} of ${record.key} a crashed mount left: ${(e as Error).message}`);
      }
    }
    const discard = async (): Promise<void> => {
      await fsp.rm(dataPath, { force: true });
      await fsp.rm(metaPath, { force: true });
    };
    if (record.state === 'uploaded' || record.state === 'unlinked') {
      log.debug(`spool: ${record.key} needs nothing more (${record.state})`);
      this.#report.clean.push(record.key);
      return discard();
    }
    const dataBytes = await fsp.stat(dataPath).then((s) => s.size, () => undefined);
    if (dataBytes === undefined) {
      log.error(`the spool record ${metaPath} of ${record.key} has no data file (it was removed): nothing to recover`);
      await fsp.rm(metaPath, { force: true });
      return;
    }
    const filePath = toFsPath(`/${record.key}`);
    const allLocal = record.baseEtag === undefined || record.baseLimitBytes === 0 || covers(record.localRanges, Math.min(record.baseLimitBytes, record.sizeBytes));
    // A file written from empty: its data file is exactly its content, even if the record is older.
    const selfContained = record.baseEtag === undefined || record.baseLimitBytes === 0;
    const sizeBytes = record.state === 'writing' && selfContained ? dataBytes : record.sizeBytes;
    const head = await store.head(record.key);

    if (allLocal && head && head.sizeBytes === sizeBytes && (await etagMatchesFile(head.etag, dataPath, sizeBytes, record.partSizeBytes, store.limits))) {
      if (sameAttributes(head.metadata, record.metadata)) {
        log.debug(`spool: ${record.key} was in the bucket already`);
        this.#report.clean.push(record.key);
        return discard();
      }
      // The bytes made it, the attributes did not: redo the metadata copy only.
      const copyOnly = { ...record, baseEtag: head.etag, baseSizeBytes: head.sizeBytes, baseLimitBytes: sizeBytes, contentChanged: false };
      await this.#adopt(filePath, copyOnly, head, dataPath, metaPath, sizeBytes);
      this.#report.uploading.push(filePath);
      return;
    }

    const unchanged = !this.#d.files.has(filePath) && (head ? head.etag === record.baseEtag : record.baseEtag === undefined);
    if (unchanged) {
      await this.#adopt(filePath, record, head, dataPath, metaPath, sizeBytes);
      log.info(`recovery: uploading ${filePath} (${sizeBytes} bytes) that a mount which stopped without unmounting left in the spool`);
      this.#report.uploading.push(filePath);
      return;
    }
    if (!allLocal) {
      this.#unrecoverable(
        record.key,
        dataPath,
        `another client ${head ? 'replaced' : 'deleted'} it after this mount opened it, and the spool holds only the ranges written here (the rest was in the old version, which is gone)`,
      );
      return;
    }
    const sibling = await this.#freeSibling(filePath, new Date(record.updatedAt));
    await this.#adopt(sibling, { ...record, key: fileKey(sibling) }, undefined, dataPath, metaPath, sizeBytes);
    log.warn(`recovery: ${filePath} was ${head ? 'changed' : 'deleted'} by another client before the bytes written here reached the bucket; they are kept as ${sibling}`);
    this.#report.conflicts.push({ path: filePath, sibling });
  }

  async #adopt(filePath: FsPath, record: SpoolRecord, head: ObjectInfo | undefined, dataPath: string, metaPath: string, sizeBytes: number): Promise<void> {
    const { fileContext, posix, spool, files } = this.#d;
    const base = head && record.baseEtag !== undefined ? remote(head) : undefined;
    const metadata = record.version < 2 && head ? { ...head.metadata, ...record.metadata } : record.metadata;
    const attrs = attrsFromMetadata(metadata, objectType(metadata), posix, new Date(record.updatedAt));
    const spoolFile = await spool.openExisting(dataPath, metaPath);
    const localRanges = base ? record.localRanges : [[0, sizeBytes] as const];
    const file = OpenFile.restore(fileContext, { path: filePath, base, record: { ...record, metadata }, spoolFile, sizeBytes, localRanges, attrs });
    files.adopt(file);
  }

  /** A sibling name no object and no open file has. */
  async #freeSibling(filePath: FsPath, at: Date): Promise<FsPath> {
    for (let attempt = 0; ; attempt++) {
      const candidate = conflictPath(filePath, Number.isNaN(at.getTime()) ? new Date() : at, attempt);
      if (!this.#d.files.has(candidate) && !(await this.#d.store.head(fileKey(candidate)))) return candidate;
    }
  }

  async #adoptJournal(file: string): Promise<void> {
    await fsp.mkdir(this.#d.journalDir, { recursive: true, mode: 0o700 });
    await fsp.rename(file, path.join(this.#d.journalDir, path.basename(file)));
  }

  /** A data file without a record: made just before a crash, before its first byte (empty), or its record was removed. */
  async #orphanData(dataPath: string, siblings: readonly string[]): Promise<void> {
    const rel = path.relative(this.#d.spool.adoptedDir, dataPath).replace(/\.data$/, '.json');
    if (siblings.includes(rel)) return;
    const size = await fsp.stat(dataPath).then((s) => s.size, () => 0);
    if (size === 0) {
      await fsp.rm(dataPath, { force: true });
      return;
    }
    this.#unrecoverable('?', dataPath, 'it has no record naming its key');
  }

  #unrecoverable(key: string, dataPath: string, reason: string): void {
    this.#d.log.error(`recovery: cannot finish ${key === '?' ? 'a spool file' : key}: ${reason}; the bytes written here stay in ${dataPath}`);
    this.#report.unrecoverable.push({ key, dataPath, reason });
  }
}
