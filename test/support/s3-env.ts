// The test side of the S3 server that global-setup.ts started once per run: a typed inject('s3'),
// a fresh bucket per test file, S3Configs for it, and AWS profiles so stores reach the server
// through the same credential chain (--profile) the CLI uses, never through explicit keys.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { DEFAULTS, type S3Config } from '../../src/config.js';
import { createBucket, type S3ServerInfo } from './s3-server.js';

export interface S3TestContext extends S3ServerInfo {
  /** Scratch directory for this run; deleted together with the server. */
  readonly tmpDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestContext;
  }
}

export function s3Server(): S3TestContext {
  return inject('s3');
}

/** Creates a bucket whose name starts with `prefix` and is unique to this call. */
export async function newBucket(prefix: string): Promise<string> {
  const stem = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32) || 'test';
  const name = `${stem}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await createBucket(s3Server(), name);
  return name;
}

/** Profiles written by useTestProfiles(): valid keys, and the two ways keys can be wrong. */
export const TEST_PROFILES = {
  valid: 'bucketfs-test',
  wrongSecret: 'bucketfs-test-wrong-secret',
  unknownKey: 'bucketfs-test-unknown-key',
} as const;

const CREDENTIAL_ENV = [
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
] as const;

/** The profile useTestProfiles() writes for the extra server named `name`. */
export function extraProfile(name: string): string {
  return `bucketfs-test-${name}`;
}

/**
 * Points this worker's AWS credential chain at a credentials file holding TEST_PROFILES (and away
 * from ~/.aws and AWS_* keys of the developer's shell). Returns a function that restores the env.
 * `extra` servers (started by the test file) get a profile each, named by extraProfile(): the SDK
 * caches the file once read, so every profile must be in it from the start.
 */
export function useTestProfiles(extra: Readonly<Record<string, S3ServerInfo>> = {}): () => void {
  const server = s3Server();
  const dir = fs.mkdtempSync(path.join(server.tmpDir, 'aws-'));
  const credentials = path.join(dir, 'credentials');
  const profile = (name: string, key: string, secret: string): string =>
    `[${name}]\naws_access_key_id = ${key}\naws_secret_access_key = ${secret}\n`;
  fs.writeFileSync(
    credentials,
    profile(TEST_PROFILES.valid, server.accessKeyId, server.secretAccessKey) +
      profile(TEST_PROFILES.wrongSecret, server.accessKeyId, `${server.secretAccessKey}-wrong`) +
      profile(TEST_PROFILES.unknownKey, 'BUCKETFSNOSUCHKEY000', server.secretAccessKey) +
      Object.entries(extra)
        .map(([name, s]) => profile(extraProfile(name), s.accessKeyId, s.secretAccessKey))
        .join(''),
  );
  fs.writeFileSync(path.join(dir, 'config'), '');
  const saved = new Map(CREDENTIAL_ENV.map((name) => [name, process.env[name]]));
  for (const name of CREDENTIAL_ENV) delete process.env[name];
  process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
  process.env.AWS_CONFIG_FILE = path.join(dir, 'config');
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

/** An S3Config for `bucket` on the test server with the project defaults; needs useTestProfiles(). */
export function storeConfig(bucket: string, overrides: Partial<S3Config> = {}): S3Config {
  const server = s3Server();
  return {
    bucket,
    prefix: '',
    endpoint: server.endpoint,
    region: server.region,
    pathStyle: true,
    profile: TEST_PROFILES.valid,
    ...DEFAULTS.s3,
    ...overrides,
  };
}

/** Environment for a child process (the CLI) that must reach the server with valid keys. */
export function credentialsEnv(): Record<string, string> {
  const server = s3Server();
  return {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
  };
}
