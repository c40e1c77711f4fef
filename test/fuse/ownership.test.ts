// Owners on an --allow-other mount, driven as other users with setpriv (no account needed: the
// uid, gid and groups are the caller's credentials, which FUSE passes with each request). New
// nodes are the caller's, with the caller's umask; a setgid directory gives its group; chown
// follows POSIX; the kernel enforces modes (default_permissions); ACLs narrow access on top; and
// trusted.* stays root's.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountBucket, mustRun, runTool, unmountAll, type MountSession, type ToolResult } from '../support/mount-session.js';
import { headObject } from '../support/s3-objects.js';
import { makeClient } from '../support/s3-server.js';
import { newBucket, s3Server } from '../support/s3-env.js';

const server = s3Server();
const client = makeClient(server);
let bucket: string;
let mount: MountSession;

const ALICE = 2001;
const BOB = 2002;
const STAFF = 3000;

beforeAll(async () => {
  bucket = await newBucket('ownership');
  mount = await mountBucket({ bucket, s3: server, extraArgs: ['--allow-other'] });
  // A folder everyone may write, as /tmp: each test works in it as its users.
  await fsp.mkdir(path.join(mount.dir, 'pub'));
  await fsp.chmod(path.join(mount.dir, 'pub'), 0o1777);
});

afterAll(async () => {
  await unmountAll();
  client.destroy();
});

const at = (name: string) => path.join(mount.dir, 'pub', name);

/** `sh -c script` as `uid` (primary group the same number) with supplementary `groups`, in pub/. */
function as(uid: number, script: string, groups: number[] = []): Promise<ToolResult> {
  const ids = groups.length > 0 ? [`--groups=${groups.join(',')}`] : ['--clear-groups'];
  return runTool('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, ...ids, 'sh', '-c', script], { cwd: path.join(mount.dir, 'pub'), timeoutMs: 60_000 });
}

async function asOk(uid: number, script: string, groups: number[] = []): Promise<string> {
  const result = await as(uid, script, groups);
  expect(result.code, `${script}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

const statOf = async (...names: string[]) => (await mustRun('stat', ['-c', '%n %u:%g %a %F', ...names.map(at)])).stdout.trim().split('\n').map((l) => l.slice(at('').length + 1));

describe('new nodes', () => {
  it('belong to the user who makes them, with that user\'s umask', async () => {
    await asOk(ALICE, 'umask 027 && echo x > a-file && mkdir a-dir && mkfifo a-fifo && ln -s a-file a-link');
    expect(await statOf('a-file', 'a-dir', 'a-fifo', 'a-link')).toEqual([
      'a-file 2001:2001 640 regular file',
      'a-dir 2001:2001 750 directory',
      'a-fifo 2001:2001 640 fifo',
      'a-link 2001:2001 777 symbolic link',
    ]);
    expect((await headObject(client, bucket, 'pub/a-file'))?.metadata).toMatchObject({ uid: String(ALICE), gid: String(ALICE), mode: String(0o100640) });
    expect((await headObject(client, bucket, 'pub/a-dir/'))?.metadata).toMatchObject({ uid: String(ALICE), gid: String(ALICE) });
  });

  it('in a setgid directory take its group, and a subdirectory its setgid bit', async () => {
    await fsp.mkdir(at('team'));
    await fsp.chown(at('team'), 0, STAFF);
    await fsp.chmod(at('team'), 0o2777);
    await asOk(ALICE, 'umask 022 && echo x > team/doc && mkdir team/sub');
    expect(await statOf('team/doc', 'team/sub')).toEqual(['team/doc 2001:3000 644 regular file', 'team/sub 2001:3000 2755 directory']);
  });
});

describe('ownership rules', () => {
  it('the owner may chmod and set times; another user may not', async () => {
    await asOk(ALICE, 'echo x > mine');
    expect((await as(BOB, 'chmod 666 mine')).stderr).toMatch(/Operation not permitted/);
    expect((await as(BOB, "touch -d '2001-01-01' mine")).stderr).toMatch(/Operation not permitted|Permission denied/);
    await asOk(ALICE, "chmod 600 mine && touch -d '2001-01-01 00:00:00.25' mine");
    expect((await mustRun('stat', ['-c', '%a %y', at('mine')])).stdout.trim()).toBe('600 2001-01-01 00:00:00.250000000 +0000');
  });

  it('chown: only root gives a file away; the owner may change its group to one of their groups', async () => {
    await asOk(ALICE, 'echo x > given', [STAFF]);
    expect((await as(ALICE, `chown ${BOB} given`, [STAFF])).stderr).toMatch(/Operation not permitted/);
    expect((await as(ALICE, 'chgrp 4000 given', [STAFF])).stderr).toMatch(/Operation not permitted/);
    expect((await as(BOB, `chgrp ${BOB} given`)).stderr).toMatch(/Operation not permitted/);
    await asOk(ALICE, `chgrp ${STAFF} given`, [STAFF]);
    expect(await statOf('given')).toEqual(['given 2001:3000 644 regular file']);
    await mustRun('chown', [`${BOB}:${BOB}`, at('given')]);
    expect(await statOf('given')).toEqual(['given 2002:2002 644 regular file']);
    expect((await headObject(client, bucket, 'pub/given'))?.metadata).toMatchObject({ uid: String(BOB), gid: String(BOB) });
  });

  it('modes decide for other users (default_permissions): a private file is unreadable, a read-only one unwritable', async () => {
    await asOk(ALICE, 'umask 077 && echo secret > private && umask 022 && echo public > readonly');
    expect((await as(BOB, 'cat private')).stderr).toMatch(/Permission denied/);
    expect((await asOk(BOB, 'cat readonly')).trim()).toBe('public');
    expect((await as(BOB, 'echo more >> readonly')).stderr).toMatch(/Permission denied/);
  });
});

describe('ACLs and trusted attributes', () => {
  it('an ACL entry refusing a user is enforced even where the mode would allow; a grant beyond the mode is not (the kernel checks the mode first)', async () => {
    await asOk(ALICE, `echo shared > acl-deny && chmod 644 acl-deny && setfacl -m u:${BOB}:--- acl-deny`);
    expect((await as(BOB, 'cat acl-deny')).stderr).toMatch(/Permission denied/);
    expect((await asOk(2003, 'cat acl-deny')).trim()).toBe('shared');
    await asOk(ALICE, `mkdir acl-dir && echo in > acl-dir/f && setfacl -m u:${BOB}:--- acl-dir`);
    expect((await as(BOB, 'cat acl-dir/f')).stderr).toMatch(/Permission denied/);
    await asOk(ALICE, `echo granted > acl-grant && chmod 600 acl-grant && setfacl -m u:${BOB}:r acl-grant`);
    expect((await mustRun('getfacl', ['-c', at('acl-grant')])).stdout).toContain(`user:${BOB}:r--`);
    expect((await as(BOB, 'cat acl-grant')).stderr).toMatch(/Permission denied/);
    expect((await as(BOB, `setfacl -m u:${BOB}:rw acl-deny`)).stderr).toMatch(/Operation not permitted/);
  });

  it('trusted.* attributes are root\'s: other users neither set nor see them', async () => {
    await asOk(ALICE, 'echo x > tr && setfattr -n user.mine -v 1 tr');
    expect((await as(ALICE, 'setfattr -n trusted.t -v 1 tr')).stderr).toMatch(/Operation not permitted/);
    await mustRun('setfattr', ['-n', 'trusted.t', '-v', 'root', at('tr')]);
    expect(await asOk(ALICE, 'getfattr -d -m - tr')).not.toContain('trusted.t');
    expect((await mustRun('getfattr', ['-d', '-m', '-', at('tr')])).stdout).toContain('trusted.t="root"');
  });
});
