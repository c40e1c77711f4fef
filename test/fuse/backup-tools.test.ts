// rsync, tar, git, sqlite3 and restic on a mount: a real tree (this repo's src/ and docs/ plus odd names,
// symlinks, empty dirs, varied modes and times) goes through the real CLI to a real local S3 server and
// is compared with the source, in the bucket with the raw SDK, and again after a remount.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestDir, mustRun, removeTestDir, runTool, unmountAll, withMount } from '../support/mount-session.js';
import { RemountableMount } from '../support/remountable.js';
import { etagPartCount, headObject, objectBytes, objectSha256, s3fsAttrs } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';
import { MULTIPART_FILE_BYTES, ODD_ENTRIES, makeSourceTree, snapshotTree, type TreeEntry } from '../support/tree-snapshot.js';

const server = s3Server();
const client = makeClient(server);

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** 5 MiB parts, so the tree's 6 MiB file is a multipart upload. */
const PART_FLAGS = ['--part-size', '5M'];
const GIT = ['-c', 'user.name=bucketfs test', '-c', 'user.email=test@bucketfs.invalid', '-c', 'init.defaultBranch=main'];

let bucket: string;
let mount: RemountableMount;
let local: string;
let source: string;
let sourceTree: Record<string, TreeEntry>;
const at = (rel: string): string => mount.at(rel);
const remount = (): Promise<void> => mount.remount();

/** Every entry of `tree` is in the bucket below `prefix`: bytes, link targets and s3fs headers. */
async function expectTreeInBucket(prefix: string, tree: Record<string, TreeEntry>): Promise<void> {
  for (const [rel, entry] of Object.entries(tree)) {
    const key = rel === '.' ? `${prefix}/` : `${prefix}/${rel}${entry.type === 'dir' ? '/' : ''}`;
    const object = await headObject(client, bucket, key);
    expect(object, key).toBeDefined();
    const typeBits = entry.type === 'dir' ? S_IFDIR : entry.type === 'symlink' ? S_IFLNK : S_IFREG;
    const [uid, gid] = entry.owner.split(':').map(Number);
    expect(s3fsAttrs(object as NonNullable<typeof object>), key).toEqual({ mode: typeBits | parseInt(entry.perms, 8), uid, gid, mtimeMs: entry.mtimeMs });
    if (entry.type === 'file') expect(await objectSha256(client, bucket, key), key).toBe(entry.sha256);
    if (entry.type === 'symlink') expect((await objectBytes(client, bucket, key)).toString(), key).toBe(entry.target);
  }
}

beforeAll(async () => {
  bucket = await newBucket('backup-tools');
  local = await makeTestDir('backup-tools-local');
  source = path.join(local, 'source');
  await makeSourceTree(source, { copySourceUnsafeNames: server.kind !== 's3rver' });
  sourceTree = await snapshotTree(source);
  // rsync (3.5) compares a directory's time in whole seconds: one it makes in the second the source
  // was last changed in keeps its creation time. Copies start in a later second.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  mount = await RemountableMount.mount({ bucket, s3: server, extraArgs: PART_FLAGS });
});

afterAll(async () => {
  await unmountAll();
  client.destroy();
  if (local) await removeTestDir(local);
});

describe('rsync -a', () => {
  it('copies a real tree; a second run transfers nothing, before and after a remount', async () => {
    const rsync = (...extra: string[]) => mustRun('rsync', ['-a', ...extra, `${source}/`, `${at('rsync')}/`], { timeoutMs: 170_000 });
    await rsync();
    expect((await rsync('--itemize-changes')).stdout).toBe('');
    await mustRun('diff', ['-r', '--no-dereference', source, at('rsync')]);
    expect(await snapshotTree(at('rsync'))).toEqual(sourceTree);
    await expectTreeInBucket('rsync', sourceTree);
    // s3rver's multipart ETags are not the md5-of-md5s-N form (docs/TEST-SERVERS.md, s3rver defect 6).
    if (server.kind !== 's3rver') expect(etagPartCount((await headObject(client, bucket, `rsync/${ODD_ENTRIES.multipart}`))?.etag ?? '')).toBe(2);

    await remount();
    expect((await rsync('--itemize-changes')).stdout).toBe('');
    expect(await snapshotTree(at('rsync'))).toEqual(sourceTree);
    expect((await mustRun('stat', ['-c', '%s', at(`rsync/${ODD_ENTRIES.multipart}`)])).stdout.trim()).toBe(String(MULTIPART_FILE_BYTES));
  });
});

describe('tar', () => {
  /** `tar tv` lines as "name | mode owner size", without the date and time, sorted by name. */
  const listing = async (archive: string): Promise<string[]> => {
    const { stdout } = await mustRun('tar', ['--numeric-owner', '-tvf', archive]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const m = /^(\S+) (\S+) +(\d+) \S+ \S+ (.*)$/.exec(line);
        if (!m) throw new Error(`unexpected tar listing line: ${line}`);
        return `${m[4]} | ${m[1]} ${m[2]} ${m[3]}`;
      })
      .sort();
  };

  it('tar x into the mount and tar c out of it keep names, modes, owners, sizes, links and contents', async () => {
    const archive = path.join(local, 'source.tar');
    const out = path.join(local, 'from-mount.tar');
    const extracted = path.join(local, 'from-mount');
    await mustRun('tar', ['-C', source, '-cf', archive, '.']);
    await mustRun('mkdir', [at('tar')]);
    await mustRun('tar', ['-C', at('tar'), '-xf', archive], { timeoutMs: 170_000 });
    await mustRun('diff', ['-r', '--no-dereference', source, at('tar')]);

    await remount();
    await mustRun('tar', ['-C', at('tar'), '-cf', out, '.'], { timeoutMs: 170_000 });
    expect(await listing(out)).toEqual(await listing(archive));
    await fsp.mkdir(extracted);
    await mustRun('tar', ['-C', extracted, '-xf', out]);
    await mustRun('diff', ['-r', '--no-dereference', source, extracted]);
  });

  it('tar x restores the mtimes of files, directories and symlinks', async () => {
    const archive = path.join(local, 'times.tar');
    await mustRun('tar', ['-C', source, '-cf', archive, '.']);
    await mustRun('mkdir', [at('tar-times')]);
    await mustRun('tar', ['-C', at('tar-times'), '-xf', archive], { timeoutMs: 170_000 });
    const seconds = (t: Record<string, TreeEntry>) => Object.fromEntries(Object.entries(t).map(([r, e]) => [r, `${e.type} ${Math.floor(e.mtimeMs / 1000)}`]));
    expect(seconds(await snapshotTree(at('tar-times')))).toEqual(seconds(sourceTree));
  });

  it('tar c right after tar x, with stat caching on, sees no file change while reading', async () => {
    const archive = path.join(local, 'ctime.tar');
    await mustRun('tar', ['-C', source, '-cf', archive, '.']);
    await withMount({ bucket, s3: server, extraArgs: [...PART_FLAGS, '--stat-ttl', '5'] }, async (cached) => {
      const dir = path.join(cached.dir, 'tar-ctime');
      await mustRun('mkdir', [dir]);
      await mustRun('tar', ['-C', dir, '-xf', archive], { timeoutMs: 170_000 });
      const r = await runTool('tar', ['-C', dir, '-cf', path.join(local, 'ctime-out.tar'), '.'], { timeoutMs: 170_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  });
});

describe('git', () => {
  it('init, add, commit and fsck in a repository on the mount; it is intact after a remount', async () => {
    // Paths are computed at each call: a remount moves the mountpoint.
    const repo = () => at('git/repo');
    const git = (...args: string[]) => mustRun('git', [...GIT, ...args], { cwd: repo() });
    await mustRun('mkdir', ['-p', repo()]);
    await git('init', '-q');
    // A few files: every lookup under .git is a HEAD and a LIST with --stat-ttl 0.
    await mustRun('cp', ['-r', path.join(source, 'src/cache'), path.join(source, 'src/cli.ts'), path.join(source, 'docs'), repo()]);
    await git('add', '-A');
    await git('commit', '-q', '-m', 'first');
    await mustRun('sh', ['-c', "printf '\\nchanged on the mount\\n' >> docs/SEMANTICS.md"], { cwd: repo() });
    await git('commit', '-q', '-a', '-m', 'second');
    await git('fsck', '--full', '--strict');
    const semantics = Buffer.concat([await fsp.readFile(path.join(source, 'docs/SEMANTICS.md')), Buffer.from('\nchanged on the mount\n')]);

    const check = async () => {
      await git('fsck', '--full', '--strict');
      expect((await git('log', '--format=%s')).stdout).toBe('second\nfirst\n');
      expect((await git('status', '--porcelain')).stdout).toBe('');
      expect((await git('show', 'HEAD:docs/SEMANTICS.md')).stdoutBytes).toEqual(semantics);
      expect((await git('show', 'HEAD~1:cli.ts')).stdoutBytes).toEqual(await fsp.readFile(path.join(source, 'src/cli.ts')));
      expect((await git('ls-files')).stdout.split('\n').filter(Boolean).length).toBeGreaterThan(4);
    };
    await check();
    expect(await objectBytes(client, bucket, 'git/repo/docs/SEMANTICS.md')).toEqual(semantics);

    await remount();
    await check();
  });
});

describe('sqlite3', () => {
  it('creates, changes and queries a database on the mount, and again after a remount', async () => {
    const db = () => at('sqlite/test.db');
    const sql = async (statements: string) => (await mustRun('sqlite3', [db(), statements])).stdout.trim();
    await mustRun('mkdir', ['-p', at('sqlite')]);
    await sql(
      'create table t(id integer primary key, name text not null); create index t_name on t(name);' +
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000) insert into t select i, 'row-' || i from n;",
    );
    await sql("begin; update t set name = 'even-' || id where id % 2 = 0; delete from t where id % 10 = 5; commit;");
    const query = "select count(*), sum(id), count(*) filter (where name like 'even-%') from t;";
    // 5000 rows less the 500 with id % 10 = 5; the 2500 even ids renamed.
    const expected = `4500|${(5000 * 5001) / 2 - 500 * 2500}|2500`;
    expect(await sql(query)).toBe(expected);
    expect(await sql('pragma integrity_check;')).toBe('ok');
    // What another S3 client sees is the file, byte for byte; the rollback journal is gone.
    const onMount = (await mustRun('cat', [db()])).stdoutBytes;
    expect(await objectBytes(client, bucket, 'sqlite/test.db')).toEqual(onMount);
    expect(await headObject(client, bucket, 'sqlite/test.db-journal')).toBeUndefined();

    await remount();
    expect(await sql(query)).toBe(expected);
    expect(await sql('pragma integrity_check;')).toBe('ok');
    await sql("insert into t(name) values ('after remount');");
    expect(await sql("select count(*) from t where name = 'after remount';")).toBe('1');
  });
});

describe('restic', () => {
  it('init, backup, check and restore with the repository on the mount give back the source tree', async () => {
    const env = { ...process.env, RESTIC_PASSWORD: 'bucketfs test password', RESTIC_CACHE_DIR: path.join(local, 'restic-cache') };
    const restic = (...args: string[]) => mustRun('restic', ['--repo', at('restic/repo'), ...args], { cwd: local, env, timeoutMs: 170_000 });
    await mustRun('mkdir', ['-p', at('restic')]);
    await restic('init');
    await restic('backup', '--host', 'bucketfs-test', 'source');
    await restic('check', '--read-data');
    const target = path.join(local, 'restored');
    await restic('restore', 'latest', '--target', target);
    expect(await snapshotTree(path.join(target, 'source'))).toEqual(sourceTree);

    await remount();
    await restic('check', '--read-data');
    const snapshots = JSON.parse((await restic('snapshots', '--json')).stdout) as { paths: string[] }[];
    expect(snapshots.map((s) => s.paths)).toEqual([[source]]);
    const again = path.join(local, 'restored-again');
    await restic('restore', 'latest', '--target', again, '--include', `/source/${ODD_ENTRIES.multipart}`);
    expect((await snapshotTree(path.join(again, 'source', 'data')))['blob.bin']).toEqual(sourceTree[ODD_ENTRIES.multipart]);
  });
});
