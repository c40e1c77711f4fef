// The command line: yargs commands and option groups, validation into a MountConfig, then run().
// No filesystem logic lives here. Bad input ends with one line on stderr and a non-zero exit.
// Credentials never come from argv: the standard AWS chain (env, profile, ~/.aws) provides them.

import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DEFAULTS, parseSize, type ChecksumMode, type MountConfig } from './config.js';
import { createLogger } from './log.js';
import { defaultLogFile, reportToParent, removePidFile, startInBackground, unmountCommand, writePidFile } from './daemon.js';
import { CredentialsError, loadPasswdKeys } from './credentials.js';
import { helperCall } from './fstab.js';
import { MountError, healDeadMount, startMount } from './run.js';

class UsageError extends Error {}

/** `bucket` or `bucket:prefix/inside` → bucket and a prefix that is '' or ends in '/'. */
export function parseSource(source: string): { bucket: string; prefix: string } {
  const colon = source.indexOf(':');
  const bucket = colon < 0 ? source : source.slice(0, colon);
  let prefix = colon < 0 ? '' : source.slice(colon + 1);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,254}$/.test(bucket)) {
    throw new UsageError(`'${bucket}' is not a valid bucket name: use letters, digits, '.', '-' and '_' (3-255 characters)`);
  }
  prefix = prefix.replace(/^\/+/, '');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  if (prefix.split('/').slice(0, -1).some((s) => s === '' || s === '.' || s === '..')) {
    throw new UsageError(`prefix '${prefix}' has an empty, '.' or '..' segment`);
  }
  return { bucket, prefix };
}

function sizeOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const bytes = parseSize(String(value));
  if (bytes === undefined || bytes < min) throw new UsageError(`--${name} '${value}' is not a size: use e.g. 512M, 2G or a number of bytes (at least ${min})`);
  return bytes;
}

function modeOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^0?[0-7]{1,4}$/.test(String(value))) throw new UsageError(`--${name} '${value}' is not an octal mode such as 0644`);
  return parseInt(String(value), 8);
}

function idOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 0xfffffffe) throw new UsageError(`--${name} must be a number from 0 to 4294967294`);
  return value;
}

function secondsOption(name: string, value: number | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a number of seconds, 0 or more`);
  return Math.round(value * 1000);
}

function mountOptions(y: Argv) {
  return y
    .positional('source', { type: 'string', demandOption: true, describe: 'bucket or bucket:prefix' })
    .positional('mountpoint', { type: 'string', demandOption: true, describe: 'an empty directory' })
    .group(['endpoint', 'region', 'path-style', 'profile', 'passwd-file', 'checksum', 'request-timeout', 'max-attempts'], 'S3:')
    .option('endpoint', { type: 'string', describe: 'S3-compatible server URL (MinIO, RustFS, Ceph RGW...); default AWS S3 or AWS_ENDPOINT_URL' })
    .option('region', { type: 'string', describe: 'region; any string works with a custom endpoint' })
    .option('path-style', { type: 'boolean', describe: 'bucket in the URL path (default: on with --endpoint)' })
    .option('profile', { type: 'string', describe: 'AWS profile from ~/.aws (credentials never come from the command line)' })
    .option('passwd-file', {
      type: 'string',
      describe: 's3fs-style keys file (ACCESS_KEY:SECRET or BUCKET:ACCESS_KEY:SECRET, mode 600); default ~/.passwd-bucketfs or /etc/passwd-bucketfs (then s3fs\'s) when the environment names no keys',
    })
    .option('checksum', { choices: ['when-required', 'when-supported'] as const, default: DEFAULTS.s3.checksumMode, describe: 'request checksums: when-required is what S3-compatible servers accept' })
    .option('request-timeout', { type: 'number', describe: `seconds per S3 request attempt (default ${DEFAULTS.s3.requestTimeoutMs / 1000})` })
    .option('max-attempts', { type: 'number', describe: `attempts per S3 request, with backoff (default ${DEFAULTS.s3.maxAttempts})` })
    .group(['read-only', 'uid', 'gid', 'file-mode', 'dir-mode', 'allow-other', 'atime', 'disk-size'], 'Files:')
    .option('read-only', { type: 'boolean', default: false, describe: 'refuse every change with EROFS' })
    .option('uid', { type: 'number', describe: 'owner of objects without x-amz-meta-uid (default: you)' })
    .option('gid', { type: 'number', describe: 'group of objects without x-amz-meta-gid (default: your group)' })
    .option('file-mode', { type: 'string', describe: 'permissions of files without x-amz-meta-mode (default 0644)' })
    .option('dir-mode', { type: 'string', describe: 'permissions of directories without x-amz-meta-mode (default 0755)' })
    .option('disk-size', { type: 'string', describe: 'capacity df reports (S3 has none of its own; default 1P)' })
    .option('atime', { type: 'boolean', default: false, describe: 'store the access time of reads (relatime: at most daily per file; each is a header rewrite); default noatime' })
    .option('allow-other', { type: 'boolean', default: false, describe: 'let other users see the mount (needs user_allow_other in /etc/fuse.conf)' })
    .group(['cache-size', 'block-size', 'stat-ttl', 'negative-ttl', 'stat-from-listing', 'read-ahead', 'memory'], 'Caching:')
    .option('cache-size', { type: 'string', describe: 'block cache size (default 256M)' })
    .option('block-size', { type: 'string', describe: 'ranged GET size (default 1M)' })
    .option('stat-ttl', { type: 'number', describe: `seconds a HEAD or listing is trusted (default ${DEFAULTS.cache.statTtlMs / 1000})` })
    .option('negative-ttl', { type: 'number', describe: `seconds "not found" is trusted (default ${DEFAULTS.cache.negativeTtlMs / 1000})` })
    .option('stat-from-listing', {
      type: 'boolean',
      default: DEFAULTS.cache.statFromListing,
      describe: 'answer stat from listings alone, without a HEAD per file: for buckets without s3fs metadata (modes, owners and symlinks then come from the mount options)',
    })
    .option('read-ahead', { type: 'string', describe: 'largest read-ahead window per file (default 16M)' })
    .option('memory', { type: 'string', describe: 'memory for read-ahead and upload buffers (default 256M)' })
    .group(['part-size', 'upload-concurrency', 'spool-dir', 'spool-size'], 'Writing:')
    .option('part-size', { type: 'string', describe: 'first multipart part size, at least 5M (default 8M)' })
    .option('upload-concurrency', { type: 'number', describe: `parts uploaded at once per file (default ${DEFAULTS.write.uploadConcurrency})` })
    .option('spool-dir', { type: 'string', describe: `where written data waits for upload (default ${DEFAULTS.write.spoolDir})` })
    .option('spool-size', { type: 'string', describe: 'spool capacity; writes past it fail with ENOSPC (default 64G)' })
    .group(['foreground', 'debug', 'log-file'], 'Daemon:')
    .option('foreground', { alias: 'f', type: 'boolean', default: false, describe: 'stay in the foreground, log to stderr' })
    .option('debug', { type: 'boolean', default: false, describe: 'log every S3 request and FUSE error' })
    .option('log-file', { type: 'string', describe: 'log file in the background (default ~/.cache/bucketfs/logs/BUCKET.log)' });
}

type MountArgs = Awaited<ReturnType<ReturnType<typeof mountOptions>['parseAsync']>>;

export function buildConfig(args: MountArgs): MountConfig {
  const { bucket, prefix } = parseSource(String(args.source));
  const endpoint = args.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`--endpoint '${endpoint}' is not a URL: use e.g. http://127.0.0.1:9000`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--endpoint '${endpoint}' must start with http:// or https://`);
  }
  const maxAttempts = args['max-attempts'] ?? DEFAULTS.s3.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) throw new UsageError('--max-attempts must be a whole number from 1 to 20');
  const partSizeBytes = sizeOption('part-size', args['part-size'], DEFAULTS.write.partSizeBytes, 5 * 1024 * 1024);
  const uploadConcurrency = args['upload-concurrency'] ?? DEFAULTS.write.uploadConcurrency;
  if (!Number.isInteger(uploadConcurrency) || uploadConcurrency < 1 || uploadConcurrency > 64) throw new UsageError('--upload-concurrency must be a whole number from 1 to 64');
  const requestTimeoutMs = secondsOption('request-timeout', args['request-timeout'], DEFAULTS.s3.requestTimeoutMs);
  if (requestTimeoutMs < 100) throw new UsageError('--request-timeout must be at least 0.1 seconds');
  return {
    mountpoint: String(args.mountpoint),
    s3: {
      bucket,
      prefix,
      endpoint,
      region: args.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
      pathStyle: args['path-style'] ?? endpoint !== undefined,
      profile: args.profile,
      checksumMode: args.checksum as ChecksumMode,
      requestTimeoutMs,
      connectTimeoutMs: DEFAULTS.s3.connectTimeoutMs,
      maxAttempts,
      maxSockets: DEFAULTS.s3.maxSockets,
    },
    cache: {
      blockSizeBytes: sizeOption('block-size', args['block-size'], DEFAULTS.cache.blockSizeBytes, 64 * 1024),
      cacheSizeBytes: sizeOption('cache-size', args['cache-size'], DEFAULTS.cache.cacheSizeBytes, 0),
      statTtlMs: secondsOption('stat-ttl', args['stat-ttl'], DEFAULTS.cache.statTtlMs),
      negativeTtlMs: secondsOption('negative-ttl', args['negative-ttl'], DEFAULTS.cache.negativeTtlMs),
      maxStatEntries: DEFAULTS.cache.maxStatEntries,
      readAheadMaxBytes: sizeOption('read-ahead', args['read-ahead'], DEFAULTS.cache.readAheadMaxBytes, 0),
      memoryBudgetBytes: sizeOption('memory', args.memory, DEFAULTS.cache.memoryBudgetBytes, 16 * 1024 * 1024),
      statFromListing: args['stat-from-listing'],
      metadataReadAhead: DEFAULTS.cache.metadataReadAhead,
    },
    posix: {
      uid: idOption('uid', args.uid, process.getuid?.() ?? 0),
      gid: idOption('gid', args.gid, process.getgid?.() ?? 0),
      fileMode: modeOption('file-mode', args['file-mode'], DEFAULTS.posix.fileMode),
      dirMode: modeOption('dir-mode', args['dir-mode'], DEFAULTS.posix.dirMode),
      readOnly: args['read-only'],
      atime: args.atime,
      capacityBytes: sizeOption('disk-size', args['disk-size'], DEFAULTS.posix.capacityBytes, 1024 * 1024),
    },
    write: {
      partSizeBytes,
      uploadConcurrency,
      spoolDir: args['spool-dir'] ?? DEFAULTS.write.spoolDir,
      spoolSizeBytes: sizeOption('spool-size', args['spool-size'], DEFAULTS.write.spoolSizeBytes),
    },
    foreground: args.foreground,
    debug: args.debug,
    allowOther: args['allow-other'],
  };
}

async function mountCommand(args: MountArgs, rawArgv: readonly string[]): Promise<void> {
  const config = buildConfig(args);
  try {
    await loadPasswdKeys(config.s3.bucket, args['passwd-file'], config.s3.profile);
  } catch (e) {
    if (e instanceof CredentialsError) throw new UsageError(e.message);
    throw e;
  }
  const healed = await healDeadMount(config.mountpoint);
  if (healed) process.stdout.write(`${healed}\n`);
  if (!config.foreground) {
    const logFile = args['log-file'] ?? defaultLogFile(config.s3.bucket);
    const pid = await startInBackground(rawArgv, logFile);
    process.stdout.write(`mounted s3://${config.s3.bucket}/${config.s3.prefix} on ${config.mountpoint} (daemon pid ${pid}, log ${logFile})\n`);
    return;
  }
  // Everything the daemon writes (spool data and records, rename journal, pid file) holds the
  // user's data or names: private to the mounting user, like the mount without --allow-other.
  process.umask(0o077);
  const log = createLogger(config.debug ? 'debug' : 'info');
  // A daemon that dies leaves a dead mount (ENOTCONN) and every open file with it: a stray error
  // in background work is logged, not fatal. Data paths report their own errors to their callers.
  process.on('unhandledRejection', (e) => log.error(`unexpected error in background work: ${(e as Error)?.stack ?? String(e)}`));
  process.on('uncaughtException', (e) => log.error(`unexpected error: ${e.stack ?? String(e)}`));
  let running;
  try {
    running = await startMount(config, log);
  } catch (e) {
    reportToParent({ ok: false, message: (e as Error).message });
    throw e;
  }
  await writePidFile(running.mountpoint, args['log-file']);
  reportToParent({ ok: true });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void running.stop(`received ${signal}`));
  }
  await running.ended;
  await removePidFile(running.mountpoint);
}

const COMMANDS = new Set(['mount', 'unmount']);
/** The daemon is always started through bin/bucketfs, whichever front end (mount.bucketfs) ran. */
const BUCKETFS_BIN = fileURLToPath(new URL('../../bin/bucketfs', import.meta.url));

/**
 * /sbin/mount.bucketfs, and `bucketfs SOURCE MOUNTPOINT -o …` as mount.fuse calls it for
 * `-t fuse.bucketfs`: the fstab form, run as `bucketfs mount` (in the background, returning once ready).
 */
export async function mountHelperMain(argv: readonly string[]): Promise<number> {
  let call;
  try {
    call = helperCall(hideBin([...argv]));
  } catch (e) {
    process.stderr.write(`mount.bucketfs: ${(e as Error).message}\n`);
    return 2;
  }
  if (call.verbose) process.stderr.write(`mount.bucketfs: bucketfs ${call.args.join(' ')}\n`);
  if (call.fake) return 0;
  return main([argv[0] as string, argv[1] as string, ...call.args]);
}

export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's multi-line "Node >= 22 soon" notice would precede every one-line error; engines says we run on 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const raw = hideBin([...argv]);
  if (raw[0] === 'mount-helper') return mountHelperMain([argv[0] as string, argv[1] as string, ...raw.slice(1)]);
  if (raw[0] !== undefined && !raw[0].startsWith('-') && !COMMANDS.has(raw[0]) && raw.some((a) => a === '-o' || a.startsWith('-o'))) {
    return mountHelperMain(argv);
  }
  try {
    await yargs(raw)
      .scriptName('bucketfs')
      // A flag given twice takes its last value, as in most tools, instead of becoming an array.
      .parserConfiguration({ 'duplicate-arguments-array': false })
      .usage('$0 <command>\n\nMount an S3 bucket (AWS S3, MinIO, RustFS, Ceph RGW...) as a local folder.')
      .command(
        'mount <source> <mountpoint>',
        'mount a bucket (or bucket:prefix) on an empty directory',
        (y) => mountOptions(y),
        async (args) => mountCommand(args as MountArgs, [BUCKETFS_BIN, ...raw]),
      )
      .command(
        'unmount <mountpoint>',
        'finish pending uploads and unmount',
        (y) => y.positional('mountpoint', { type: 'string', demandOption: true }),
        async (args) => {
          process.stdout.write(`${await unmountCommand(String(args.mountpoint))}\n`);
        },
      )
      .example('$0 mount my-bucket ~/bucket', 'AWS S3, credentials from the environment or ~/.aws')
      .example('$0 mount photos:2024/ /mnt/photos --endpoint http://127.0.0.1:9000', 'MinIO, a prefix of a bucket')
      .demandCommand(1, 'name a command: mount or unmount')
      .strict()
      .fail((message, error) => {
        throw error ?? new UsageError(message);
      })
      .help()
      .version()
      .wrap(Math.min(110, process.stdout.columns || 110))
      .parseAsync();
    return 0;
  } catch (e) {
    const message = e instanceof UsageError || e instanceof MountError ? e.message : (e as Error).message;
    process.stderr.write(`bucketfs: ${message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
