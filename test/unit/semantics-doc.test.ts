// docs/SEMANTICS.md names, for each rule, the tests that check it, each as a code span
// `file › title`, or `file › describe › it` for a nested test (any describe may be left out):
// `file` is the test file's name without `.test.ts`, in any tier, and each title is written exactly
// as the source writes it (an it.each title with its `%s`). This test keeps the document and the
// suite in step; it fails when
//  (a) a named file or title does not exist, or a named describe does not come before its test in
//      the source (rename a test and the rule must follow);
//  (b) a reference uses an old form: a code span holding only a test file (`recovery`, whether a
//      `›` follows it or not) or a path to one (`test/fuse/x.test.ts`, `test/unit/prefetch`), or a
//      code span crosses a line (a reference in it would go unread);
//  (c) a rule names no test. What is a rule is decided by shape alone:
//      - every body row of every table (the header row and the `|---|` line are not rules);
//      - every top-level bullet: a line starting with `- `, with the indented lines after it.
//      Headings and paragraphs are background — they introduce a section or define its words — so
//      behaviour is written as a bullet or a row, never in a paragraph only.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/mount-session.js';

const TEST_DIRS = ['test/unit', 'test/model', 'test/integration', 'test/fuse'];
const DOC = path.join(REPO_ROOT, 'docs', 'SEMANTICS.md');

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

/**
 * Where `source` holds `title` as the first argument of a call, the way it(), describe(),
 * it.each(…)() and it.skipIf(…)() take it, at or after `from`; -1 if nowhere. A string that only
 * appears elsewhere (a file name, an expected value) is not a title.
 */
export function titleAt(source: string, title: string, from = 0): number {
  const literals = [`'${title.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`, `"${title}"`, `\`${title}\``];
  const positions = literals.flatMap((literal) => {
    for (let at = source.indexOf(literal, from); at >= 0; at = source.indexOf(literal, at + 1)) {
      const opensCall = /\(\s*$/.test(source.slice(Math.max(0, at - 100), at));
      const firstArgument = /^\s*,/.test(source.slice(at + literal.length, at + literal.length + 100));
      if (opensCall && firstArgument) return [at];
    }
    return [];
  });
  return positions.length === 0 ? -1 : Math.min(...positions);
}

/** The titles of `file › describe › it` that `source` lacks, or holds above the describe named before them. */
export function missingTitles(source: string, titles: readonly string[]): string[] {
  const missing: string[] = [];
  let from = 0;
  for (const [i, title] of titles.entries()) {
    const at = titleAt(source, title, from);
    if (at >= 0) from = at + 1;
    else missing.push(titleAt(source, title) < 0 ? title : `${title} (not below ${titles[i - 1]})`);
  }
  return missing;
}

/** A rule of the document: its first line number and its text (a bullet with its continuation). */
export interface Rule {
  readonly line: number;
  readonly text: string;
}

const TABLE_SEPARATOR = /^\|(\s*:?-+:?\s*\|)+\s*$/;

/** The rules of a Markdown text: every table body row and every top-level `- ` bullet. */
export function rules(markdown: string): Rule[] {
  const lines = markdown.split('\n');
  const out: Rule[] = [];
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || line.startsWith('```')) continue;
    if (line.startsWith('|')) {
      const isHeader = TABLE_SEPARATOR.test(lines[i + 1] ?? '');
      if (!isHeader && !TABLE_SEPARATOR.test(line)) out.push({ line: i + 1, text: line });
    } else if (line.startsWith('- ')) {
      let end = i + 1;
      while (end < lines.length && /^ +\S/.test(lines[end] as string)) end++;
      out.push({ line: i + 1, text: lines.slice(i, end).join('\n') });
      i = end - 1;
    }
  }
  return out;
}

/** Code spans that name a test file without a title: a bare stem, or a path under test/. */
export function oldForms(markdown: string, stems: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const [i, line] of markdown.split('\n').entries()) {
    for (const match of line.matchAll(/`([^`]+)`/g)) {
      const span = match[1] as string;
      const isPath = /^test\/(unit|model|integration|fuse)\//.test(span) || span.includes('.test.ts');
      if (isPath || stems.has(span)) out.push(`line ${i + 1}: \`${span}\``);
    }
  }
  return out;
}

/** Lines with an odd number of backticks: a code span that crosses a line would hide a reference. */
export function brokenSpans(markdown: string): string[] {
  return markdown
    .split('\n')
    .flatMap((line, i) => ((line.match(/`/g)?.length ?? 0) % 2 === 1 ? [`line ${i + 1}`] : []));
}

describe('docs/SEMANTICS.md', async () => {
  const doc = await fsp.readFile(DOC, 'utf8');
  const sources = await testSources();

  it('names only tests that exist', () => {
    const refs = testReferences(doc);
    expect(refs.length).toBeGreaterThan(0);
    const missing = refs.flatMap(({ file, titles }) => {
      const source = sources.get(file);
      if (source === undefined) return [`${file}: no such test file`];
      return missingTitles(source, titles).map((t) => `${file} › ${t}: no such test title`);
    });
    expect(missing).toEqual([]);
  });

  it('names tests only in the checked form', () => {
    expect(oldForms(doc, new Set(sources.keys()))).toEqual([]);
    expect(brokenSpans(doc)).toEqual([]);
  });

  it('names a test in every rule: every table body row and every top-level bullet', () => {
    const found = rules(doc);
    expect(found.length).toBeGreaterThan(100);
    const untested = found
      .filter((rule) => testReferences(rule.text).length === 0)
      .map((rule) => `line ${rule.line}: ${rule.text.slice(0, 100)}`);
    expect(untested).toEqual([]);
  });
});

describe('how the document is read', () => {
  it('reads references the way the document writes them', () => {
    expect(testReferences('a `data-safety › unlink › returns once` b `plain code` c `x › y`')).toEqual([
      { file: 'data-safety', titles: ['unlink', 'returns once'] },
      { file: 'x', titles: ['y'] },
    ]);
  });

  it('takes a title only as the first argument of a call, and a describe only above its tests', () => {
    const source = "describe('unlink', () => {\n  it.each([1])(\n    'it\\'s %s',\n    async () => {});\n  const f = 'a.txt';\n});\nit('after', () => {});\n";
    expect(missingTitles(source, ['unlink'])).toEqual([]);
    expect(missingTitles(source, ['unlink', "it's %s"])).toEqual([]);
    expect(missingTitles(source, ['a.txt'])).toEqual(['a.txt']);
    expect(missingTitles(source, ['it'])).toEqual(['it']);
    expect(missingTitles(source, ["it's %s", 'unlink'])).toEqual(['unlink (not below it\'s %s)']);
  });

  it('takes every table body row and every top-level bullet as a rule, and nothing else', () => {
    const markdown = [
      '# Title',
      'A paragraph of background.',
      '',
      '| Rule | Test |',
      '|---|---|',
      '| row one | `a › b` |',
      '| row two | |',
      '',
      '- bullet one',
      '  continues here (`a › c`)',
      '- bullet two',
      '',
      '```',
      '- not a bullet, in a code block',
      '```',
    ].join('\n');
    expect(rules(markdown)).toEqual([
      { line: 6, text: '| row one | `a › b` |' },
      { line: 7, text: '| row two | |' },
      { line: 9, text: '- bullet one\n  continues here (`a › c`)' },
      { line: 11, text: '- bullet two' },
    ]);
  });

  it('finds a code span that crosses a line', () => {
    expect(brokenSpans('a `x › y` b\nc `x ›\ny` d')).toEqual(['line 2', 'line 3']);
  });

  it('finds the old forms of a reference, and leaves other code alone', () => {
    const markdown = '`recovery` › x; (`posix-misc`); `test/fuse/read-speed`; `test/unit/x.test.ts`: "t"; `--cache-dir`; `a › b`';
    expect(oldForms(markdown, new Set(['recovery', 'posix-misc', 'read-speed']))).toEqual([
      'line 1: `recovery`',
      'line 1: `posix-misc`',
      'line 1: `test/fuse/read-speed`',
      'line 1: `test/unit/x.test.ts`',
    ]);
  });
});
