// Path ↔ key rules. A FUSE path `/a/b` is the key `a/b` (relative to the mount prefix); the
// directory `/a` is the prefix `a/` (and its optional marker object `a/`). Keys that cannot be shown
// as a file name — empty segments (`a//b`), `.` or `..` segments, segments over 255 bytes — are not
// visible; docs/SEMANTICS.md lists each rule. The branded types keep unchecked strings out of the core.

import { FsError } from './errno.js';

/** A validated, '/'-free, non-empty name of at most NAME_MAX bytes, not '.' or '..'. */
export type Name = string & { readonly __brand: 'Name' };
/** A normalised absolute FUSE path: '/' or '/seg/seg' where each segment is a Name. */
export type FsPath = string & { readonly __brand: 'FsPath' };

export const NAME_MAX_BYTES = 255;
export const ROOT = '/' as FsPath;

/** Why a listed name is not shown, or undefined when it is a valid Name. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'empty segment';
  if (name === '.' || name === '..') return 'dot segment';
  if (name.includes('/')) return 'contains /';
  if (name.includes('\0')) return 'contains NUL';
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX_BYTES) return 'longer than 255 bytes';
  return undefined;
}

export function isName(name: string): name is Name {
  return nameProblem(name) === undefined;
}

/** Checks a path from FUSE (the kernel already split and normalised it). */
export function toFsPath(path: string): FsPath {
  if (path === '/') return ROOT;
  if (!path.startsWith('/')) throw new FsError('EINVAL', `not an absolute path: ${path}`);
  for (const segment of path.slice(1).split('/')) {
    const problem = nameProblem(segment);
    if (problem === 'longer than 255 bytes') throw new FsError('ENAMETOOLONG', path);
    if (problem) throw new FsError('EINVAL', `${path}: ${problem}`);
  }
  return path as FsPath;
}

/** The object key of a file at this path. */
export function fileKey(path: FsPath): string {
  return path.slice(1);
}

/** The listing prefix (and marker key) of a directory at this path: '' for the root. */
export function dirPrefix(path: FsPath): string {
  return path === ROOT ? '' : `${path.slice(1)}/`;
}

export function parentOf(path: FsPath): FsPath {
  const i = path.lastIndexOf('/');
  return (i <= 0 ? ROOT : path.slice(0, i)) as FsPath;
}

export function baseName(path: FsPath): Name {
  return path.slice(path.lastIndexOf('/') + 1) as Name;
}

export function childPath(dir: FsPath, name: Name): FsPath {
  return (dir === ROOT ? `/${name}` : `${dir}/${name}`) as FsPath;
}

/** True when `path` is `ancestor` or lies below it. */
export function isSameOrBelow(path: FsPath, ancestor: FsPath): boolean {
  return ancestor === ROOT || path === ancestor || path.startsWith(`${ancestor}/`);
}

/** Replaces the `from` ancestor of `path` by `to` (for directory renames). */
export function rebase(path: FsPath, from: FsPath, to: FsPath): FsPath {
  if (path === from) return to;
  return (to === ROOT ? path.slice(from.length) : to + path.slice(from.length)) as FsPath;
}
