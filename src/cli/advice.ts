// The CLI's words for a diagnosis from src/s3: each Fix phrased with the flags and variables a user
// types. One line per failure, so it can be the whole output of a failed mount.

import type { S3Config } from '../config.js';
import { diagnose, type Diagnosis, type Fix } from '../s3/diagnosis.js';
import type { StoreError } from '../s3/store-error.js';

/** What to do, in the CLI's vocabulary; undefined when there is nothing to do. */
export function phraseFix(fix: Fix): string | undefined {
  switch (fix.kind) {
    case 'check-endpoint':
      return 'check --endpoint and that the server is running';
    case 'check-network':
      return 'check --endpoint and the network';
    case 'check-server-health':
      return 'check --endpoint and that the server is healthy';
    case 'check-access-key':
      return 'check AWS_ACCESS_KEY_ID / --profile';
    case 'check-secret-key':
      return 'check AWS_SECRET_ACCESS_KEY (and that the server accepts AWS Signature Version 4)';
    case 'sync-clock':
      return 'synchronise the clock';
    case 'provide-credentials':
      return 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile';
    case 'refresh-credentials':
      return 'refresh the credentials (AWS_SESSION_TOKEN / --profile)';
    case 'check-credentials':
      return 'check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and --profile';
    case 'check-bucket-name':
      return 'check the bucket name (and --endpoint)';
    case 'check-bucket-and-endpoint':
      return 'check the bucket name and that --endpoint is an S3 server';
    case 'grant-permission':
      return `the credentials lack ${fix.permission}${fix.prefix !== '' ? ` on prefix '${fix.prefix}'` : ''} (check the keys and the bucket policy)`;
    case 'set-region':
      return `the bucket lives in region ${fix.region} — pass --region ${fix.region}`;
    case 'use-path-style':
      return 'try --path-style';
    case 'check-region-and-endpoint':
      return 'check --region and --endpoint';
    case 'retry-later':
      return 'try again later';
    case 'check-server-logs':
      return "try again later or check the server's logs";
    case 'use-s3-server':
      return 'bucketfs needs an S3-compatible server';
    case 'use-required-checksums':
      return 'keep --checksum when-required (the default)';
    case 'encryption-refused': {
      const need = fix.encryption === 'c' ? 'SSE-C only over https (AWS and Ceph RGW refuse it over http)' : 'SSE-S3 and SSE-KMS only with a KMS set up (Ceph RGW: rgw_crypt_s3_kms_backend) and over https';
      return `servers take ${need}: ${fix.overHttp ? 'use an https endpoint' : 'set the server up for it'}, or mount without --sse ${fix.encryption}`;
    }
    case 'storage-class-refused':
      return `use a storage class the server defines (STANDARD always works), or leave out --storage-class ${fix.storageClass}`;
    case 'worked-around':
      return `none needed: ${fix.how}`;
    case 'none':
      return undefined;
  }
}

/** `cause: fix` (or `cause: detail`), one line. */
export function phraseDiagnosis(d: Diagnosis): string {
  const tail = phraseFix(d.fix) ?? d.detail;
  return (tail !== undefined ? `${d.cause}: ${tail}` : d.cause).replace(/\s*\n\s*/g, ' ');
}

/** One sentence for a failed mount-time check (checkAccess): what went wrong and what fixes it. */
export function describeMountError(e: StoreError, s3: S3Config): string {
  return phraseDiagnosis(diagnose(e, s3));
}
