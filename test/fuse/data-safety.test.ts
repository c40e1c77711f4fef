// Mounted regression tests for data-safety defects other clients found, driven as those clients
// did: a C program truncating right after create + close, two shells appending to one log, a
// second S3 client checking right after rm, and touch on the mount root.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestDir, mountBucket, mustRun, removeTestDir, unmountAll, type MountSession } from '../support/mount-session.js';
import { headObject, listKeys, objectBytes } from '../support/s3-objects.js';
import { newBucket, s3Server } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

const server = s3Server();
const client = makeClient(server);

let bucket: string;
let mount: MountSession;
let scratch: string;

beforeAll(async () => {
  bucket = await newBucket('data-safety');
  scratch = await makeTestDir('data-safety-tools');
  mount = await mountBucket({ bucket, s3: server, extraArgs: ['--debug'] });
});

afterAll(async () => {
  await unmountAll();
  await removeTestDir(scratch);
});

/** Compiles a C program into the scratch folder; returns the binary's path. */
async function compile(name: string, source: string): Promise<string> {
  const file = path.join(scratch, `${name}.c`);
  await fsp.writeFile(file, source);
  const binary = path.join(scratch, name);
  await mustRun('cc', ['-O2', '-o', binary, file]);
  return binary;
}

describe('defects other clients found', () => {
  it('a truncate right after create and close is never lost or failed (C program, no pause between calls)', async () => {
    const program = await compile(
      'truncate-after-create',
      `#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 0; i < 60; i++) {
    char name[512];
    char stem[201];
    memset(stem, 'n', 200);
    stem[200] = 0;
    snprintf(name, sizeof name, "%s/%s%02d", argv[1], stem, i);
    int fd = open(name, O_RDONLY | O_CREAT, 0644);
    if (fd < 0) { perror("open"); bad++; continue; }
    close(fd);
    if (truncate(name, 123) != 0) { perror("truncate"); bad++; }
    struct stat st;
    if (stat(name, &st) != 0 || st.st_size != 123) { fprintf(stderr, "size %ld after truncate\\n", (long)st.st_size); bad++; }
    if (unlink(name) != 0) { perror("unlink"); bad++; }
  }
  printf("%d\\n", bad);
  return bad != 0;
}
`,
    );
    const result = await mustRun(program, [mount.dir]);
    expect(result.stdout.trim()).toBe('0');
    expect(await listKeys(client, bucket, 'n')).toEqual([]);
    expect(mount.log()).not.toMatch(/EIO|garbage collection/);
  });

  it('two shells appending to one file with >> lose no line', async () => {
    for (let round = 0; round < 3; round++) {
      const log = path.join(mount.dir, `shared-${round}.log`);
      const writer = (tag: string) => `for i in $(seq 50); do echo "${tag} $i" >> "$1"; done`;
      await Promise.all([mustRun('sh', ['-c', writer('A'), 'sh', log]), mustRun('sh', ['-c', writer('B'), 'sh', log])]);
      const lines = (await fsp.readFile(log, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(100);
      const inBucket = (await objectBytes(client, bucket, `shared-${round}.log`)).toString().trim().split('\n');
      expect(inBucket.sort()).toEqual(lines.sort());
    }
  });

  it('rm returns only once the object is gone: another S3 client never finds it afterwards', async () => {
    for (let i = 0; i < 20; i++) {
      const name = `gone-${i}`;
      await fsp.writeFile(path.join(mount.dir, name), `file ${i}`);
      await mustRun('rm', [path.join(mount.dir, name)]);
      expect(await headObject(client, bucket, name)).toBeUndefined();
    }
  });

  it('touch and chmod of the mount root succeed without any request to the bucket URL', async () => {
    const before = mount.log().length;
    await mustRun('touch', [mount.dir]);
    await mustRun('touch', ['-d', '2020-01-02 03:04:05', mount.dir]);
    await mustRun('chmod', ['0750', mount.dir]);
    const stat = await fsp.stat(mount.dir);
    expect(stat.mtime.toISOString()).toBe(new Date('2020-01-02T03:04:05').toISOString());
    expect(stat.mode & 0o777).toBe(0o750);
    const requests = mount.log().slice(before).match(/^.* s3 [A-Z-]+ "" .*$/gm) ?? [];
    expect(requests.filter((line) => !/ s3 (LIST|HEAD) /.test(line))).toEqual([]);
  });
});
