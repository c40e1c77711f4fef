// Trees for mounted write tests: a real source tree on local disk (this repo's src/ and docs/ plus odd
// names, symlinks, empty dirs, varied modes and sub-second mtimes) and a comparable snapshot of any tree.
// Only async fs is used, so a tree on a mount is read without blocking on the daemon.

import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pseudoRandomBytes } from './fixtures.js';
import { REPO_ROOT } from './mount-session.js';

const MiB = 1024 * 1024;

/** Entries the source tree holds besides the copies of src/ and docs/ (relative path → what). */
export const ODD_ENTRIES = {
  space: 'odd names/sp ace.txt',
  unicode: 'odd names/ünï cödé.txt',
  shellChars: "odd names/quote'\"&;#$.txt",
  copyChars: 'odd names/plus+at@eq=,semi;.txt',
  longName: `odd names/${'n'.repeat(200)}.txt`,
  empty: 'odd names/empty-file',
  dotfile: 'odd names/.hidden',
  emptyDir: 'empty dir',
  deepEmptyDir: 'nested/a/b/c',
  symlink: 'links/semantics',
  danglingSymlink: 'links/dangling',
  dirSymlink: 'links/to-src',
  multipart: 'data/blob.bin',
  readOnly: 'data/read-only.txt',
  executable: 'data/run.sh',
  privateDir: 'private',
  privateFile: 'private/secret.txt',
  oldFile: 'data/old.txt',
} as const;

/** Size of ODD_ENTRIES.multipart: more than one 5 MiB part. */
export const MULTIPART_FILE_BYTES = 6 * MiB + 12_345;

/**
 * Builds the source tree under `root` (created); modes and mtimes are set last. Without
 * `copySourceUnsafeNames` the names with `& ; # $ + @ = ,` are left out: s3rver cannot rename
 * them (it decodes x-amz-copy-source with decodeURI; docs/TEST-SERVERS.md, s3rver defect 5), Ceph RGW can.
 */
export async function makeSourceTree(root: string, options: { copySourceUnsafeNames: boolean }): Promise<void> {
  await fsp.mkdir(root, { recursive: true });
  for (const dir of ['src', 'docs']) {
    await fsp.cp(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true, preserveTimestamps: true });
  }
  const files: [string, string | Buffer, number][] = [
    [ODD_ENTRIES.space, 'a space in the name\n', 0o644],
    [ODD_ENTRIES.unicode, 'unicode name\n', 0o640],
    [ODD_ENTRIES.longName, 'a 204-byte name\n', 0o644],
    [ODD_ENTRIES.empty, '', 0o644],
    [ODD_ENTRIES.dotfile, 'hidden\n', 0o644],
    [ODD_ENTRIES.multipart, pseudoRandomBytes(ODD_ENTRIES.multipart, MULTIPART_FILE_BYTES), 0o644],
    [ODD_ENTRIES.readOnly, 'read only\n', 0o444],
    [ODD_ENTRIES.executable, '#!/bin/sh\necho hello\n', 0o755],
    [ODD_ENTRIES.privateFile, 'private\n', 0o600],
    [ODD_ENTRIES.oldFile, 'from 2001, with milliseconds\n', 0o644],
  ];
  if (options.copySourceUnsafeNames) {
    files.push(
      [ODD_ENTRIES.shellChars, 'shell characters\n', 0o600],
      [ODD_ENTRIES.copyChars, 'characters that need encoding in x-amz-copy-source\n', 0o644],
    );
  }
  for (const [rel, body] of files) {
    await fsp.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fsp.writeFile(path.join(root, rel), body);
  }
  await fsp.mkdir(path.join(root, ODD_ENTRIES.emptyDir));
  await fsp.mkdir(path.join(root, ODD_ENTRIES.deepEmptyDir), { recursive: true });
  await fsp.mkdir(path.join(root, 'links'));
  await fsp.symlink('../docs/SEMANTICS.md', path.join(root, ODD_ENTRIES.symlink));
  await fsp.symlink('../no/such/target', path.join(root, ODD_ENTRIES.danglingSymlink));
  await fsp.symlink('../src', path.join(root, ODD_ENTRIES.dirSymlink));
  for (const [rel, , mode] of files) await fsp.chmod(path.join(root, rel), mode);
  await fsp.chmod(path.join(root, ODD_ENTRIES.emptyDir), 0o700);
  await fsp.chmod(path.join(root, ODD_ENTRIES.privateDir), 0o750);
  // Whole seconds, sub-second (ms), and a time long ago.
  await fsp.utimes(path.join(root, ODD_ENTRIES.oldFile), 981_173_106.789, 981_173_106.789);
  await fsp.utimes(path.join(root, ODD_ENTRIES.space), 1_600_000_000, 1_600_000_000);
  await fsp.utimes(path.join(root, ODD_ENTRIES.emptyDir), 1_500_000_000.5, 1_500_000_000.5);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface TreeEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits, octal. */
  readonly perms: string;
  readonly owner: string;
  /** Whole milliseconds: the mount's precision. */
  readonly mtimeMs: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
}

/**
 * Every path below `root` ('.' is the root itself) with its type, permission bits, owner, mtime,
 * and size + sha256 for files or the target for symlinks. Symlinks are not followed.
 */
export async function snapshotTree(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  const visit = async (rel: string): Promise<void> => {
    const full = path.join(root, rel);
    const st = await fsp.lstat(full, { bigint: true });
    const common = {
      perms: (Number(st.mode) & 0o7777).toString(8),
      owner: `${st.uid}:${st.gid}`,
      mtimeMs: Number(st.mtimeNs / 1_000_000n),
    };
    if (st.isSymbolicLink()) {
      out[rel] = { type: 'symlink', ...common, target: await fsp.readlink(full) };
    } else if (st.isDirectory()) {
      out[rel] = { type: 'dir', ...common };
      for (const name of (await fsp.readdir(full)).sort()) await visit(rel === '.' ? name : path.join(rel, name));
    } else if (st.isFile()) {
      out[rel] = { type: 'file', ...common, size: Number(st.size), sha256: await sha256File(full) };
    } else {
      out[rel] = { type: 'other', ...common };
    }
  };
  await visit('.');
  return out;
}
