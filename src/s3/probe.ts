// The active probe behind `bucketfs doctor`: real requests against the server, one structured result
// per feature bucketfs uses (ok / failed / skipped, what was seen, and for a failure its cause and
// a Fix as data). It talks to the server with raw SDK calls, not through S3ObjectStore, whose
// workarounds would hide exactly what the probe must see. It writes only below a fresh
// `.bucketfs-doctor-<random>/` prefix and removes everything it wrote (and every upload it began).

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import type { ServerCapabilities, ServerKind } from './capabilities.js';
import { S3Context, type RequestLogger } from './context.js';
import { encryptionChecks } from './probe-encryption.js';
import { diagnose } from './diagnosis.js';
import { errorFacts } from './errors.js';
import { copyObject, deleteObjects, failed, listObjects, multipartUpload, ok, putObject, rangedGet, removeLeftovers, type DataCheck, type Outcome, type ProbeCheck } from './probe-checks.js';
import { checksums, copyIfMatch, getIfMatch, putIfNoneMatch, uploadPartCopy, uploadPartCopyIfMatch } from './probe-features.js';

export type { CheckStatus, ProbeCheck } from './probe-checks.js';
import { isStoreError, type StoreError } from './store-error.js';

export interface ProbeReport {
  readonly endpoint: string;
  readonly bucket: string;
  readonly serverKind: ServerKind;
  /** The capabilities bucketfs would start a mount with, after what the probe saw. */
  readonly capabilities: ServerCapabilities;
  readonly checks: readonly ProbeCheck[];
  /** Every required check passed. */
  readonly ok: boolean;
}

/** State the checks share: the clients, what they wrote (for the cleanup), and earlier results. */
export class ProbeRun {
  readonly config: S3Config;
  readonly ctx: S3Context;
  /** Below config.prefix: where everything the probe writes goes. */
  readonly dir: string;
  readonly written = new Set<string>();
  readonly uploads = new Map<string, string>();
  readonly checks: ProbeCheck[] = [];
  /** Written objects the later checks read: body and ETag by probe-relative key. */
  readonly samples = new Map<string, { readonly body: Buffer; readonly etag: string }>();

  constructor(config: S3Config, ctx: S3Context) {
    this.config = config;
    this.ctx = ctx;
    this.dir = `.bucketfs-doctor-${randomBytes(6).toString('hex')}/`;
  }

  passed(name: string): boolean {
    return this.checks.some((c) => c.name === name && c.status === 'ok');
  }

  /** Runs one check unless a check it needs did not pass; an error becomes a diagnosed failure. */
  async check(name: string, required: boolean, needs: readonly string[], call: string, run: () => Promise<Outcome>): Promise<void> {
    const missing = needs.filter((n) => !this.passed(n));
    let outcome: Outcome;
    if (missing.length > 0) {
      outcome = { status: 'skipped', detail: `needs ${missing[0] as string}` };
    } else {
      try {
        outcome = await run();
      } catch (e) {
        if (!isStoreError(e)) throw e;
        const d = diagnose(e, this.config, call);
        outcome = failed(d.detail !== undefined ? `${d.cause} (${d.detail})` : d.cause, d.fix);
      }
    }
    this.checks.push({ name, required, ...outcome });
  }
}

/** Where a diagnosed failure of the first request lands: which row fails, which rows it voids. */
function accessRows(e: StoreError, run: ProbeRun): Record<string, Outcome> {
  const d = diagnose(e, run.config, 'ListObjectsV2');
  const failure = failed(d.detail !== undefined ? `${d.cause} (${d.detail})` : d.cause, d.fix);
  const answered = ok(`${run.ctx.where('')} answered (HTTP ${e.httpStatus ?? '?'})`);
  switch (e.code) {
    case 'Unreachable':
    case 'Timeout':
      return { reachability: failure };
    case 'InvalidCredentials':
    case 'AccessDenied':
      return { reachability: answered, credentials: failure };
    case 'WrongRegionOrStyle':
      return d.fix.kind === 'set-region' ? { reachability: answered, region: failure } : { reachability: answered, 'addressing style': failure };
    default:
      return { reachability: answered, credentials: ok('accepted'), bucket: failure };
  }
}

const ACCESS_ROWS = ['reachability', 'credentials', 'bucket', 'region', 'addressing style'] as const;

/** The first request (ListObjectsV2, one key) tells reachability, credentials, bucket and region. */
async function probeAccess(run: ProbeRun): Promise<void> {
  const { ctx } = run;
  const started = performance.now();
  let rows: Record<string, Outcome>;
  try {
    await ctx.request('LIST', '', () => ctx.clients.main.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.prefix, MaxKeys: 1 })));
    const ms = Math.round(performance.now() - started);
    rows = {
      reachability: ok(`${run.config.endpoint ?? 'AWS S3'} answered in ${ms} ms`),
      credentials: ok('accepted'),
      bucket: ok(`s3://${ctx.bucket}/${ctx.prefix} exists and can be listed`),
      region: await probeRegion(run),
      'addressing style': await probeStyle(run),
    };
  } catch (e) {
    if (!isStoreError(e)) throw e;
    rows = accessRows(e, run);
  }
  for (const name of ACCESS_ROWS) {
    const outcome = rows[name] ?? { status: 'skipped', detail: `needs ${ACCESS_ROWS.find((n) => rows[n]?.status === 'failed') ?? 'access'}` };
    run.checks.push({ name, required: name !== 'addressing style', ...outcome });
  }
}

async function probeRegion(run: ProbeRun): Promise<Outcome> {
  const { ctx, config } = run;
  const configured = config.region ?? (await ctx.clients.main.config.region());
  try {
    const out = await ctx.request('HEAD-BUCKET', '', () => ctx.clients.main.send(new HeadBucketCommand({ Bucket: ctx.bucket })));
    if (out.BucketRegion !== undefined && out.BucketRegion !== configured) {
      return ok(`${configured} works; the bucket reports region ${out.BucketRegion}`);
    }
    return ok(out.BucketRegion !== undefined ? `${configured} (the bucket's region)` : `${configured} (accepted; the server names no region)`);
  } catch (e) {
    if (!isStoreError(e)) throw e;
    // ListObjectsV2 already worked with this region: a server without HeadBucket proves nothing more.
    return ok(`${configured} (accepted)`);
  }
}

/** The configured style worked (the listing did); is the other one usable too? */
async function probeStyle(run: ProbeRun): Promise<Outcome> {
  const pathStyle = run.ctx.capabilities.current.pathStyle;
  const configured = pathStyle ? 'path style' : 'virtual-host style';
  const other = pathStyle ? 'virtual-host style' : 'path style';
  const host = run.config.endpoint !== undefined ? new URL(run.config.endpoint).hostname : '';
  // The SDK falls back to path style for an IP address: there is no host name to put a bucket in.
  if (/^[\d.]+$|^\[.*\]$|^localhost$/.test(host)) return ok(`path style (virtual-host style needs a DNS name, not ${host})`);
  const quick = { ...run.config, maxAttempts: 1, connectTimeoutMs: Math.min(run.config.connectTimeoutMs, 3_000), requestTimeoutMs: Math.min(run.config.requestTimeoutMs, 5_000) };
  const ctx = S3Context.create(quick, { capabilities: { pathStyle: !pathStyle } });
  try {
    await ctx.request('LIST', '', () => ctx.clients.main.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.prefix, MaxKeys: 1 })));
    return ok(`${configured} works; ${other} works too`);
  } catch (e) {
    if (!isStoreError(e)) throw e;
    const facts = errorFacts(e);
    return ok(`${configured} works; ${other} does not (${facts.netReason ?? facts.s3Code ?? e.code})`);
  } finally {
    ctx.clients.destroy();
  }
}

/** In the order they run (the encryption rows go before DeleteObjects, which removes what the others wrote). */
const DATA_CHECKS: readonly DataCheck[] = [
  putObject,
  listObjects,
  rangedGet,
  multipartUpload,
  copyObject,
  copyIfMatch,
  uploadPartCopy,
  uploadPartCopyIfMatch,
  getIfMatch,
  putIfNoneMatch,
  checksums,
  deleteObjects,
];

/** Runs every check against the bucket (and prefix) of `config`; never throws a StoreError. */
export async function probeServer(config: S3Config, options: { logger?: RequestLogger } = {}): Promise<ProbeReport> {
  // Without the mount's encryption and storage class: the basic rows probe the server alone, and the
  // encryption rows name what they send (required when the mount is configured to use it).
  const plain: S3Config = { ...config, encryption: undefined, storageClass: undefined };
  const ctx = S3Context.create(plain, options);
  const { capabilities, clients } = ctx;
  const run = new ProbeRun(plain, ctx);
  const checks = [...DATA_CHECKS.slice(0, -1), ...encryptionChecks(config), ...DATA_CHECKS.slice(-1)];
  try {
    await probeAccess(run);
    for (const spec of checks) await run.check(spec.name, spec.required, ['bucket', ...spec.needs], spec.call, () => spec.run(run));
    await run.check('cleanup', false, ['bucket'], 'DeleteObject', () => removeLeftovers(run));
  } finally {
    clients.destroy();
  }
  return {
    endpoint: config.endpoint ?? 'AWS S3',
    bucket: config.bucket,
    serverKind: capabilities.kind,
    capabilities: capabilities.current,
    checks: run.checks,
    ok: run.checks.every((c) => !c.required || c.status === 'ok'),
  };
}
