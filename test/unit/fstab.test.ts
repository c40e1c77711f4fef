// The mount(8) helper's translation of `SOURCE MOUNTPOINT -o OPTIONS` into `bucketfs mount`
// arguments, and s3fs-style passwd files: what is mapped, what is ignored, what is refused.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CredentialsError, keysFromPasswd, readPasswdFile } from '../../src/credentials.js';
import { helperCall, HelperUsageError } from '../../src/fstab.js';

describe('mount helper arguments', () => {
  it('map every -o key=value to a CLI option, underscores to dashes', () => {
    const call = helperCall(['data:backups/', '/mnt/b', '-o', 'endpoint=http://127.0.0.1:9000,stat_ttl=30,allow_other,passwd_file=/etc/p']);
    expect(call.args).toEqual(['mount', 'data:backups/', '/mnt/b', '--endpoint=http://127.0.0.1:9000', '--stat-ttl=30', '--allow-other', '--passwd-file=/etc/p']);
    expect(call.fake).toBe(false);
  });

  it('ignore what mount, fuse and systemd add; ro is --read-only; umask sets both modes', () => {
    const call = helperCall(['bucketfs#data', '/mnt', '-o', 'rw,defaults,_netdev,nofail,noatime,nosuid,nodev,x-systemd.automount,fsname=x,ro,umask=027', '-t', 'fuse.bucketfs']);
    expect(call.args).toEqual(['mount', 'data', '/mnt', '--read-only', '--file-mode', '0640', '--dir-mode', '0750']);
  });

  it('take mount(8)’s flags: -f fakes, -v is verbose, -n and -s change nothing', () => {
    expect(helperCall(['b', '/m', '-fnv', '-o', 'ro'])).toMatchObject({ fake: true, verbose: true });
    expect(helperCall(['b', '/m', '-s']).args).toEqual(['mount', 'b', '/m']);
  });

  it('refuse a call without a source and a mountpoint, and a bad umask', () => {
    expect(() => helperCall(['/mnt'])).toThrow(HelperUsageError);
    expect(() => helperCall(['b', '/m', '-o', 'umask=999'])).toThrow(/umask/);
    expect(() => helperCall(['b', '/m', '-x'])).toThrow(/-x/);
  });
});

describe('passwd files', () => {
  it('prefer the bucket’s own line, else the line for every bucket', () => {
    const text = '# keys\nAKALL:secretall\nphotos:AKPHOTO:secretphoto\n';
    expect(keysFromPasswd(text, 'photos', 'f')).toEqual({ accessKeyId: 'AKPHOTO', secretAccessKey: 'secretphoto' });
    expect(keysFromPasswd(text, 'other', 'f')).toEqual({ accessKeyId: 'AKALL', secretAccessKey: 'secretall' });
  });

  it('name what is wrong with a line, and a file without keys for the bucket', () => {
    expect(() => keysFromPasswd('a:b:c:d\n', 'x', 'f')).toThrow(/line 1/);
    expect(() => keysFromPasswd('photos:AK:secret\n', 'docs', 'f')).toThrow(/no keys for bucket docs/);
  });

  it('refuse a file others may read, as s3fs does', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-passwd-'));
    try {
      const file = path.join(dir, 'passwd');
      await fsp.writeFile(file, 'AK:SECRET\n', { mode: 0o644 });
      await expect(readPasswdFile(file, 'b')).rejects.toThrow(CredentialsError);
      await expect(readPasswdFile(file, 'b')).rejects.toThrow(/chmod 600/);
      await fsp.chmod(file, 0o600);
      expect(await readPasswdFile(file, 'b')).toEqual({ accessKeyId: 'AK', secretAccessKey: 'SECRET' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
