import { describe, expect, it } from 'vitest';
import { FsError } from '../../src/fs/errno.js';
import { ROOT, baseName, childPath, dirPrefix, fileKey, isName, nameProblem, parentOf, rebase, toFsPath, type Name } from '../../src/fs/names.js';

describe('names', () => {
  it('maps paths to keys and directory prefixes', () => {
    const p = toFsPath('/a/b.txt');
    expect(fileKey(p)).toBe('a/b.txt');
    expect(dirPrefix(toFsPath('/a'))).toBe('a/');
    expect(dirPrefix(ROOT)).toBe('');
    expect(parentOf(p)).toBe('/a');
    expect(parentOf(toFsPath('/a'))).toBe('/');
    expect(baseName(p)).toBe('b.txt');
    expect(childPath(ROOT, 'x' as Name)).toBe('/x');
    expect(childPath(toFsPath('/d'), 'x' as Name)).toBe('/d/x');
  });

  it('refuses names that cannot be file names', () => {
    expect(nameProblem('')).toBe('empty segment');
    expect(nameProblem('.')).toBe('dot segment');
    expect(nameProblem('..')).toBe('dot segment');
    expect(isName('a'.repeat(255))).toBe(true);
    expect(nameProblem('a'.repeat(256))).toBe('longer than 255 bytes');
    // 128 two-byte characters are 256 bytes: the limit is in bytes, not characters.
    expect(nameProblem('é'.repeat(128))).toBe('longer than 255 bytes');
    expect(() => toFsPath(`/${'x'.repeat(256)}`)).toThrow(FsError);
    expect(() => toFsPath('relative')).toThrow(FsError);
  });

  it('rebases paths below a renamed directory', () => {
    expect(rebase(toFsPath('/a/b/c'), toFsPath('/a'), toFsPath('/z'))).toBe('/z/b/c');
    expect(rebase(toFsPath('/a'), toFsPath('/a'), toFsPath('/z/y'))).toBe('/z/y');
  });
});
