// At mount, multipart uploads a killed bucketfs of this machine left (named in the upload journal,
// also when it died before the server gave the upload id) are aborted; another client's stay.
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortOrphanedUploads, findOrphanedUploads } from '../../src/s3/orphaned-uploads.js';
import { UploadJournal } from '../../src/s3/upload-journal.js';
import { endpointLabel } from '../../src/s3/s3-object-store.js';
import { makeTestDir, removeTestDir } from '../support/mount-session.js';
import { newBucket, s3Server, storeConfig, useTestProfiles } from '../support/s3-env.js';
import { makeClient } from '../support/s3-server.js';

let restoreEnv: () => void;
let bucket: string;
let dir: string;
const client = makeClient(s3Server());

beforeAll(async () => {
  restoreEnv = useTestProfiles();
  bucket = await newBucket('orphaned');
  dir = await makeTestDir('upload-journal');
});

afterAll(async () => {
  restoreEnv?.();
  await removeTestDir(dir);
});

/** A pid no process has now: one that just exited. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

async function uploads(): Promise<string[]> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => u.Key as string).sort();
}

describe('abortOrphanedUploads', () => {
  it('aborts the uploads a dead bucketfs journaled, by id or by intent, and leaves another client’s', async () => {
    const config = storeConfig(bucket);
    const journal = new UploadJournal(dir, endpointLabel(config));
    const start = async (key: string) => (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId as string;
    const named = await start('named');
    const id = await journal.begin(bucket, 'named');
    await journal.started(id, bucket, 'named', named);
    await journal.begin(bucket, 'intent');
    await start('intent');
    await start('foreign');
    // Make the journal's records a dead process's, as a SIGKILL leaves them.
    const pid = deadPid();
    for (const name of await fsp.readdir(dir)) {
      const file = path.join(dir, name);
      await fsp.writeFile(file, JSON.stringify({ ...JSON.parse(await fsp.readFile(file, 'utf8')), pid }));
    }
    expect(await uploads()).toEqual(['foreign', 'intent', 'named']);
    expect(await abortOrphanedUploads(config, dir)).toBe(2);
    expect(await uploads()).toEqual(['foreign']);
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('never aborts an upload of the same key started after the listing (the next mount re-uploading that file)', async () => {
    const own = await makeTestDir('upload-journal-own');
    try {
      const config = storeConfig(bucket);
      const journal = new UploadJournal(own, endpointLabel(config));
      // A dead process's record that never got its upload id, and the upload it did start.
      await journal.begin(bucket, 'again');
      const dead = (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'again' }))).UploadId as string;
      const pid = deadPid();
      for (const name of await fsp.readdir(own)) {
        const file = path.join(own, name);
        await fsp.writeFile(file, JSON.stringify({ ...JSON.parse(await fsp.readFile(file, 'utf8')), pid }));
      }
      const orphans = await findOrphanedUploads(config, own);
      expect(orphans.uploads.map((u) => u.uploadId)).toEqual([dead]);
      // Recovery now uploads the same key again, within the intent's time window.
      const fresh = (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'again' }))).UploadId as string;
      expect(await orphans.abort()).toBe(1);
      const left = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'again' }))).Uploads ?? [];
      expect(left.map((u) => u.UploadId)).toEqual([fresh]);
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'again', UploadId: fresh }));
    } finally {
      await removeTestDir(own);
    }
  });

  it('sends nothing when the journal names no dead process', async () => {
    const empty = await makeTestDir('upload-journal-empty');
    try {
      expect(await abortOrphanedUploads(storeConfig(bucket), empty)).toBe(0);
    } finally {
      await removeTestDir(empty);
    }
  });
});
