// docs/SEMANTICS.md names, for each rule, the test that checks it, as a code span `file › title`
// (`file › describe › it` for a nested test). This test fails when a named file or title does not
// exist, so the document cannot drift from the suite: rename a test and the rule must follow.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/mount-session.js';

const TEST_DIRS = ['test/unit', 'test/model', 'test/integration', 'test/fuse'];

/** Test file stem (`data-safety`) → its source (the sources of every tier with that stem). */
async function testSources(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const dir of TEST_DIRS) {
    for (const name of await fsp.readdir(path.join(REPO_ROOT, dir))) {
      if (!name.endsWith('.test.ts')) continue;
      // A stem in two tiers (test/unit/x and test/fuse/x) names both files.
      const stem = name.slice(0, -'.test.ts'.length);
      out.set(stem, (out.get(stem) ?? '') + (await fsp.readFile(path.join(REPO_ROOT, dir, name), 'utf8')));
    }
  }
  return out;
}

/** Every `file › title` code span of a Markdown text. */
export function testReferences(markdown: string): { file: string; titles: string[] }[] {
  const refs: { file: string; titles: string[] }[] = [];
  for (const match of markdown.matchAll(/`([a-z0-9-]+ › [^`\n]+)`/g)) {
    const [file, ...titles] = (match[1] as string).split(' › ').map((s) => s.trim());
    refs.push({ file: file as string, titles });
  }
  return refs;
}

/** Does `source` hold `title` as a string literal (the way it(), describe() and it.each() take it)? */
function holdsTitle(source: string, title: string): boolean {
  return [`'${title.replace(/'/g, "\\'")}'`, `"${title}"`, `\`${title}\``].some((literal) => source.includes(literal));
}

describe('docs/SEMANTICS.md', () => {
  it('names only tests that exist', async () => {
    const doc = await fsp.readFile(path.join(REPO_ROOT, 'docs', 'SEMANTICS.md'), 'utf8');
    const sources = await testSources();
    const refs = testReferences(doc);
    expect(refs.length).toBeGreaterThan(0);
    const missing = refs.flatMap(({ file, titles }) => {
      const source = sources.get(file);
      if (source === undefined) return [`${file}: no such test file`];
      return titles.filter((t) => !holdsTitle(source, t)).map((t) => `${file} › ${t}: no such test title`);
    });
    expect(missing).toEqual([]);
  });

  it('reads references the way the document writes them', () => {
    expect(testReferences('a `data-safety › unlink › returns once` b `plain code` c `x › y`')).toEqual([
      { file: 'data-safety', titles: ['unlink', 'returns once'] },
      { file: 'x', titles: ['y'] },
    ]);
  });
});
