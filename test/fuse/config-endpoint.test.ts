// How a mount is told where and how: --endpoint as HOST:PORT with --no-secure (as the MinIO client
// takes it), https by default (an http server then fails the mount in one line that says so); and
// the config file (XDG_CONFIG_HOME) giving the endpoint and per-bucket options to the background
// daemon too, the command line winning over it, a malformed one refused in one line before anything
// is mounted.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MountStatus } from '../../src/control/status.js';
import { cliEnv, isMounted, makeTestDir, mountBucket, removeTestDir, runCli, runMountCommand, unmountAll } from '../support/mount-session.js';
import { newBucket, s3Server } from '../support/s3-env.js';

const server = s3Server();
const hostPort = new URL(server.endpoint).host;
const dirs: string[] = [];

afterAll(async () => {
  await unmountAll();
  for (const dir of dirs) await removeTestDir(dir);
});

/** A fresh root with an empty mountpoint, a private cache and a config folder. */
async function fresh(label: string): Promise<{ root: string; mnt: string; configHome: string }> {
  const root = await makeTestDir(label);
  dirs.push(root);
  const mnt = path.join(root, 'mnt');
  const configHome = path.join(root, 'config');
  await fsp.mkdir(mnt);
  await fsp.mkdir(path.join(configHome, 'bucketfs'), { recursive: true });
  return { root, mnt, configHome };
}

async function statusOf(mnt: string, env: Record<string, string>): Promise<MountStatus> {
  const r = await runCli(['status', mnt, '--json'], env, 30_000);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { mounts: MountStatus[] }).mounts[0] as MountStatus;
}

describe('--endpoint HOST:PORT', () => {
  it('with --no-secure mounts over http, as the MinIO client does', async () => {
    const bucket = await newBucket('endpoint-hostport');
    // mountBucket passes the URL form first; the later --endpoint wins.
    const session = await mountBucket({ bucket, s3: server, extraArgs: ['--endpoint', hostPort, '--no-secure'] });
    try {
      await fsp.writeFile(path.join(session.dir, 'a.txt'), 'a\n');
      expect(await fsp.readFile(path.join(session.dir, 'a.txt'), 'utf8')).toBe('a\n');
      expect(session.log()).toContain(`at http://${hostPort}`);
    } finally {
      await session.unmount();
    }
  });

  it('without --no-secure speaks https, and an http server fails the mount in one line that says what to do', async () => {
    const { root, mnt } = await fresh('endpoint-https');
    const bucket = await newBucket('endpoint-https');
    const result = await runMountCommand(['mount', bucket, mnt, '--endpoint', hostPort, '--max-attempts', '1'], cliEnv(server, root), mnt);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^bucketfs: cannot reach https://${hostPort.replace(/\./g, '\\.')} \\(.*--no-secure`));
    expect(await isMounted(mnt)).toBe(false);
  });
});

describe('the config file', () => {
  it('gives the endpoint and a bucket\'s options to the background daemon; the command line wins', async () => {
    const { root, mnt, configHome } = await fresh('config-file');
    const bucket = await newBucket('config-file');
    const config = { endpoint: hostPort, secure: false, 'stat-ttl': 0, 'negative-ttl': 0, buckets: { [bucket]: { 'read-only': true }, 'some-other-bucket': { 'cache-size': '64M' } } };
    await fsp.writeFile(path.join(configHome, 'bucketfs', 'config.json'), JSON.stringify(config, null, 2));
    const env = cliEnv(server, root, { XDG_CONFIG_HOME: configHome });

    const mounted = await runMountCommand(['mount', bucket, mnt], env, mnt);
    expect(mounted.code, mounted.stderr).toBe(0);
    expect(await statusOf(mnt, env)).toMatchObject({ bucket, endpoint: `http://${hostPort}`, readOnly: true });
    await expect(fsp.writeFile(path.join(mnt, 'x.txt'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    expect((await runCli(['unmount', mnt], env)).code).toBe(0);

    const writable = await runMountCommand(['mount', bucket, mnt, '--no-read-only'], env, mnt);
    expect(writable.code, writable.stderr).toBe(0);
    expect(await statusOf(mnt, env)).toMatchObject({ readOnly: false });
    await fsp.writeFile(path.join(mnt, 'x.txt'), 'x\n');
    expect(await fsp.readFile(path.join(mnt, 'x.txt'), 'utf8')).toBe('x\n');
    expect((await runCli(['unmount', mnt], env)).code).toBe(0);
  });

  it('--config names another file; a malformed or unknown key is one line and exit 2, with nothing mounted', async () => {
    const { root, mnt, configHome } = await fresh('config-bad');
    const bucket = await newBucket('config-bad');
    const env = cliEnv(server, root, { XDG_CONFIG_HOME: configHome });
    const cases: [string, RegExp][] = [
      ['{"endpoint": ', /config file .*config\.json: not valid JSON \(/],
      ['{"stat_ttl": 3}', /unknown option "stat_ttl": use the long name of a command-line option/],
      ['{"aws-secret-access-key": "x"}', /"aws-secret-access-key" looks like a credential: keys never go in the config file/],
      [`{"buckets": {"${bucket}": {"read-only": "yes"}}}`, /"buckets\.[^"]+\.read-only" must be true or false, not "yes"/],
    ];
    for (const [text, message] of cases) {
      await fsp.writeFile(path.join(configHome, 'bucketfs', 'config.json'), text);
      const r = await runMountCommand(['mount', bucket, mnt, '--endpoint', server.endpoint], env, mnt);
      expect(r.code, text).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(await isMounted(mnt)).toBe(false);
    }
    // An explicit --config wins over the broken default one.
    const other = path.join(root, 'other.json');
    await fsp.writeFile(other, JSON.stringify({ endpoint: server.endpoint, 'read-only': true }));
    const r = await runMountCommand(['mount', bucket, mnt, '--config', other], env, mnt);
    expect(r.code, r.stderr).toBe(0);
    expect(await statusOf(mnt, env)).toMatchObject({ readOnly: true });
    expect((await runCli(['unmount', mnt], env)).code).toBe(0);
    const missing = await runMountCommand(['mount', bucket, mnt, '--config', path.join(root, 'none.json')], env, mnt);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trimEnd()).toMatch(/none\.json: it does not exist$/);
  });
});
