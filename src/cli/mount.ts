// `bucketfs mount`: its options, their validation into a MountConfig, and the command itself —
// in the background it re-runs itself in the foreground as a detached daemon and returns once the
// mount is ready; in the foreground it serves the mount until a signal or an unmount ends it.
// `mount BUCKET[:PREFIX] MOUNTPOINT` mounts one bucket; `mount MOUNTPOINT` (or `mount '*' MOUNTPOINT`,
// the fstab form) mounts every bucket the credentials can list, one folder each.

import path from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULTS, formatMode, formatSize, maxSocketsFor, type MountConfig } from '../config.js';
import { CredentialsError, loadPasswdKeys } from '../credentials.js';
import { controlSocketPath } from '../control/paths.js';
import { startControlServer } from '../control/server.js';
import { defaultLogFile, isBackgroundDaemon, reportToParent, removePidFile, startInBackground, writePidFile } from '../daemon.js';
import { LogFile } from '../log-file.js';
import { createLogger, formatLine, LOG_FORMATS, LOG_LEVELS, toggledLevel, type LogFormat, type LogLevel } from '../log.js';
import { openMetrics, type MetricsEndpoint } from '../metrics/endpoint.js';
import type { MetricsAddress } from '../metrics/server.js';
import { healDeadMount, startMount } from '../run.js';
import { endpointLabel } from '../s3/s3-object-store.js';
import { buildS3Config, idOption, modeOption, s3Options, secondsOption, sizeOption, UsageError } from './options.js';

/** Every mount option with its help line. Long on purpose: a declarative list, grouped as `--help` shows it. */
export function mountOptions(y: Argv) {
  return s3Options(
    y
      .usage('$0 mount [BUCKET[:PREFIX]] MOUNTPOINT [options]\n\nMount one bucket (or a prefix of it), or with no bucket every bucket the credentials can list.')
      .positional('source', {
        type: 'string',
        demandOption: true,
        describe: `BUCKET or BUCKET:PREFIX; alone, it is the mountpoint and every bucket is mounted (${ALL_BUCKETS} also means every bucket)`,
      })
      .positional('mountpoint', { type: 'string', describe: 'an empty directory' })
      .example('$0 mount photos ~/photos', 'one bucket')
      .example('$0 mount photos:2024/ ~/photos-2024', 'a prefix of a bucket: its keys below 2024/')
      .example('$0 mount ~/s3 --endpoint http://127.0.0.1:9000', 'every bucket, a folder each: mkdir/rmdir in ~/s3 create/delete buckets'),
  )
    .group(['read-only', 'uid', 'gid', 'file-mode', 'dir-mode', 'allow-other', 'atime', 'disk-size'], 'Files:')
    .option('read-only', { type: 'boolean', default: false, describe: 'refuse every change with EROFS' })
    .option('uid', { type: 'number', describe: 'owner of objects without x-amz-meta-uid (default: you)' })
    .option('gid', { type: 'number', describe: 'group of objects without x-amz-meta-gid (default: your group)' })
    .option('file-mode', { type: 'string', describe: `permissions of files without x-amz-meta-mode (default ${formatMode(DEFAULTS.posix.fileMode)})` })
    .option('dir-mode', { type: 'string', describe: `permissions of directories without x-amz-meta-mode (default ${formatMode(DEFAULTS.posix.dirMode)})` })
    .option('disk-size', { type: 'string', describe: `capacity df reports (S3 has none of its own; default ${formatSize(DEFAULTS.posix.capacityBytes)})` })
    .option('atime', { type: 'boolean', default: false, describe: 'store the access time of reads (relatime: at most daily per file; each is a header rewrite); default noatime' })
    .option('allow-other', { type: 'boolean', default: false, describe: 'let other users see the mount (needs user_allow_other in /etc/fuse.conf)' })
    .group(['cache-size', 'block-size', 'stat-ttl', 'negative-ttl', 'stat-from-listing', 'read-ahead', 'memory', 'kernel-cache', 'cache-dir', 'cache-dir-size'], 'Caching:')
    .option('cache-size', { type: 'string', describe: `block cache size in memory (default ${formatSize(DEFAULTS.cache.cacheSizeBytes)})` })
    .option('block-size', { type: 'string', describe: `unit of caching and of a random read's GET (default ${formatSize(DEFAULTS.cache.blockSizeBytes)})` })
    .option('stat-ttl', { type: 'number', describe: `seconds a HEAD or listing is trusted (default ${DEFAULTS.cache.statTtlMs / 1000})` })
    .option('negative-ttl', { type: 'number', describe: `seconds "not found" is trusted (default ${DEFAULTS.cache.negativeTtlMs / 1000})` })
    .option('stat-from-listing', {
      type: 'boolean',
      default: DEFAULTS.cache.statFromListing,
      describe: 'answer stat from listings alone, without a HEAD per file: for buckets without s3fs metadata (modes, owners and symlinks then come from the mount options)',
    })
    .option('read-ahead', { type: 'string', describe: `largest read-ahead window per file, fetched in GETs of a quarter of it up to 8M (default ${formatSize(DEFAULTS.cache.readAheadMaxBytes)})` })
    .option('memory', { type: 'string', describe: `memory for read-ahead and upload buffers (default ${formatSize(DEFAULTS.cache.memoryBudgetBytes)})` })
    .option('kernel-cache', {
      type: 'boolean',
      default: DEFAULTS.cache.keepPageCache,
      describe: 'keep file pages in the kernel page cache across opens while size and mtime are unchanged (--no-kernel-cache drops them at every open)',
    })
    .option('cache-dir', { type: 'string', describe: 'keep read blocks in this local folder too, across remounts (default: no disk cache)' })
    .option('cache-dir-size', { type: 'string', describe: `most the --cache-dir folder may hold (default ${formatSize(DEFAULTS.cache.diskCacheSizeBytes)})` })
    .group(['part-size', 'upload-concurrency', 'spool-dir', 'spool-size', 'write-back', 'background-uploads'], 'Writing:')
    .option('part-size', { type: 'string', describe: `first multipart part size, at least 5M (default ${formatSize(DEFAULTS.write.partSizeBytes)})` })
    .option('upload-concurrency', { type: 'number', describe: `parts uploaded at once per file (default ${DEFAULTS.write.uploadConcurrency})` })
    .option('spool-dir', { type: 'string', describe: `where written data waits for upload (default ${DEFAULTS.write.spoolDir})` })
    .option('spool-size', { type: 'string', describe: `spool capacity; writes past it fail with ENOSPC (default ${formatSize(DEFAULTS.write.spoolSizeBytes)})` })
    .option('write-back', {
      type: 'boolean',
      default: DEFAULTS.write.writeBack,
      describe: 'close() and fsync() return once the data is durable in the local spool; uploads follow in the background (bucketfs sync waits for them)',
    })
    .option('background-uploads', { type: 'number', describe: `files uploaded at once in the background (default ${DEFAULTS.write.backgroundUploads})` })
    .group(['foreground', 'log-level', 'debug', 'log-format', 'log-file', 'metrics'], 'Daemon:')
    .option('foreground', { alias: 'f', type: 'boolean', default: false, describe: 'stay in the foreground, log to stderr' })
    .option('log-level', {
      choices: LOG_LEVELS,
      describe: 'error, warn, info (the default) or debug (every S3 request and FUSE error); kill -USR2 PID raises it one step, a second SIGUSR2 lowers it back',
    })
    .option('debug', { type: 'boolean', default: false, describe: 'the same as --log-level debug' })
    .option('log-format', { choices: LOG_FORMATS, default: 'text' as LogFormat, describe: 'text for people, or json: one object per line with ts, level, msg and the fields of the event' })
    .option('metrics', {
      type: 'string',
      describe: 'serve Prometheus metrics at http://HOST:PORT/metrics, bound to that address only (e.g. 127.0.0.1:9100): operations, S3 requests, bytes, latencies, caches, uploads',
    })
    .option('log-file', {
      type: 'string',
      describe: 'log file (default in the background ~/.cache/bucketfs/logs/BUCKET.log; with -f, stderr unless given); SIGHUP reopens it',
    })
    .example('$0 mount data ~/data --endpoint 127.0.0.1:9000 --no-secure', 'MinIO over plain http, the endpoint as mc takes it')
    .example('$0 mount backups ~/backups --sse kms --storage-class STANDARD_IA --write-back', 'encrypted, infrequent-access objects; close() returns at local-disk speed')
    .example('$0 mount data ~/data --metrics 127.0.0.1:9464 --log-format json', 'Prometheus metrics and JSON log lines for a monitoring stack')
    .epilogue(
      'Credentials come from the AWS chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE, ~/.aws) or a passwd file, never from the command line. ' +
        'Options may also come from ~/.config/bucketfs/config.json (--config). In the background the command returns once the mount is ready, ' +
        'or exits non-zero with one line saying what is wrong. kill -HUP PID drops cached metadata and reopens the log; kill -USR2 PID toggles debug logging.',
    );
}

function diskCacheDir(dir: string | undefined, size: string | undefined): string | undefined {
  if (dir === undefined) {
    if (size !== undefined) throw new UsageError('--cache-dir-size needs --cache-dir: name the folder of the disk cache');
    return undefined;
  }
  if (String(dir).trim() === '') throw new UsageError('--cache-dir is empty: name a folder, e.g. --cache-dir ~/.cache/bucketfs/blocks');
  return path.resolve(String(dir));
}

export type MountArgs = Awaited<ReturnType<ReturnType<typeof mountOptions>['parseAsync']>>;

/** The source that stands for every bucket (fstab needs a first field): no bucket can be named so. */
export const ALL_BUCKETS = '*';

/** What the positionals name: one bucket (or prefix) and a mountpoint, or a mountpoint for every bucket. */
export function mountTarget(args: Pick<MountArgs, 'source' | 'mountpoint'>): { source: string | undefined; mountpoint: string } {
  const first = String(args.source);
  if (args.mountpoint === undefined) {
    if (first === ALL_BUCKETS) throw new UsageError(`name the mountpoint: bucketfs mount ${ALL_BUCKETS} MOUNTPOINT, or bucketfs mount MOUNTPOINT`);
    return { source: undefined, mountpoint: first };
  }
  return { source: first === ALL_BUCKETS ? undefined : first, mountpoint: String(args.mountpoint) };
}

/** `HOST:PORT` (IPv6 in brackets) to listen on; port 0 lets the system choose. */
export function metricsOption(value: string | undefined): MetricsAddress | undefined {
  if (value === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(String(value).trim());
  const port = Number(m?.[2]);
  if (m === null || port > 65535) throw new UsageError(`--metrics '${value}' is not HOST:PORT: use e.g. 127.0.0.1:9100 (the address the endpoint listens on, and only there)`);
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/** --log-level, with --debug as its synonym for debug. */
function logLevelOption(level: LogLevel | undefined, debug: boolean): LogLevel {
  if (debug && level !== undefined && level !== 'debug') throw new UsageError(`--debug means --log-level debug, not ${level}: give one of them`);
  return debug ? 'debug' : (level ?? 'info');
}

export function buildConfig(args: MountArgs): MountConfig {
  const { source, mountpoint } = mountTarget(args);
  const partSizeBytes = sizeOption('part-size', args['part-size'], DEFAULTS.write.partSizeBytes, 5 * 1024 * 1024);
  const uploadConcurrency = args['upload-concurrency'] ?? DEFAULTS.write.uploadConcurrency;
  if (!Number.isInteger(uploadConcurrency) || uploadConcurrency < 1 || uploadConcurrency > 64) throw new UsageError('--upload-concurrency must be a whole number from 1 to 64');
  const backgroundUploads = args['background-uploads'] ?? DEFAULTS.write.backgroundUploads;
  if (!Number.isInteger(backgroundUploads) || backgroundUploads < 1 || backgroundUploads > 64) throw new UsageError('--background-uploads must be a whole number from 1 to 64');
  const blockSizeBytes = sizeOption('block-size', args['block-size'], DEFAULTS.cache.blockSizeBytes, 64 * 1024);
  const memoryBudgetBytes = sizeOption('memory', args.memory, DEFAULTS.cache.memoryBudgetBytes, 16 * 1024 * 1024);
  const logLevel = logLevelOption(args['log-level'], args.debug);
  return {
    mountpoint,
    allBuckets: source === undefined,
    s3: buildS3Config(args, source, maxSocketsFor({ memoryBudgetBytes, blockSizeBytes }, { partSizeBytes })),
    cache: {
      blockSizeBytes,
      cacheSizeBytes: sizeOption('cache-size', args['cache-size'], DEFAULTS.cache.cacheSizeBytes, 0),
      statTtlMs: secondsOption('stat-ttl', args['stat-ttl'], DEFAULTS.cache.statTtlMs),
      negativeTtlMs: secondsOption('negative-ttl', args['negative-ttl'], DEFAULTS.cache.negativeTtlMs),
      maxStatEntries: DEFAULTS.cache.maxStatEntries,
      readAheadMaxBytes: sizeOption('read-ahead', args['read-ahead'], DEFAULTS.cache.readAheadMaxBytes, 0),
      memoryBudgetBytes,
      statFromListing: args['stat-from-listing'],
      metadataReadAhead: DEFAULTS.cache.metadataReadAhead,
      keepPageCache: args['kernel-cache'],
      diskCacheDir: diskCacheDir(args['cache-dir'], args['cache-dir-size']),
      diskCacheSizeBytes: sizeOption('cache-dir-size', args['cache-dir-size'], DEFAULTS.cache.diskCacheSizeBytes, 1024 * 1024),
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
      writeBack: args['write-back'],
      backgroundUploads,
    },
    foreground: args.foreground,
    debug: logLevel === 'debug',
    logLevel,
    logFormat: args['log-format'],
    metrics: metricsOption(args.metrics),
    allowOther: args['allow-other'],
  };
}

/**
 * `bucketfs mount`: in the background, start the daemon and wait for its verdict; in the foreground,
 * serve until a signal. Long on purpose: the daemon's life in order — keys, healing, logging, mount,
 * pid file, control socket, metrics, signals, the end — each step a few lines.
 */
export async function mountCommand(args: MountArgs, rawArgv: readonly string[]): Promise<void> {
  const config = buildConfig(args);
  try {
    await loadPasswdKeys(config.s3.bucket, args['passwd-file'], config.s3.profile);
  } catch (e) {
    if (e instanceof CredentialsError) throw new UsageError(e.message);
    throw e;
  }
  const healed = await healDeadMount(config.mountpoint);
  if (healed) process.stdout.write(`${healed}\n`);
  const logName = config.allBuckets ? 'all-buckets' : config.s3.bucket;
  if (!config.foreground) {
    const logFile = args['log-file'] ?? defaultLogFile(logName);
    const pid = await startInBackground(rawArgv, logFile);
    const what = config.allBuckets ? `every bucket at ${endpointLabel(config.s3)}` : `s3://${config.s3.bucket}/${config.s3.prefix}`;
    process.stdout.write(`mounted ${what} on ${config.mountpoint} (daemon pid ${pid}, log ${logFile})\n`);
    return;
  }
  // Everything the daemon writes (spool data and records, rename journal, pid file) holds the
  // user's data or names: private to the mounting user, like the mount without --allow-other.
  process.umask(0o077);
  // The background daemon (and -f with --log-file) writes its own log file, so SIGHUP can reopen it
  // after logrotate moved it.
  const logFile = isBackgroundDaemon() || args['log-file'] !== undefined ? new LogFile(args['log-file'] ?? defaultLogFile(logName)) : undefined;
  const sink = logFile?.write ?? ((line: string) => void process.stderr.write(line));
  const log = createLogger(config.logLevel, sink, config.logFormat);
  // A daemon that dies leaves a dead mount (ENOTCONN) and every open file with it: a stray error
  // in background work is logged, not fatal. Data paths report their own errors to their callers.
  process.on('unhandledRejection', (e) => log.error(`unexpected error in background work: ${(e as Error)?.stack ?? String(e)}`));
  process.on('uncaughtException', (e) => log.error(`unexpected error: ${e.stack ?? String(e)}`));
  // SIGUSR2: one step more verbose (info → debug), or back; the change is logged whatever the level.
  // Handled from the start: the signal's default action would end the daemon, and the mount is
  // visible (and its "mounted" line logged) before startMount returns.
  process.on('SIGUSR2', () => {
    const before = log.level;
    log.level = toggledLevel(config.logLevel, before);
    const change = log.level === before ? `log level stays ${before} (nothing is more verbose)` : `log level ${before} → ${log.level}`;
    const back = log.level !== config.logLevel ? ` (SIGUSR2 again goes back to ${config.logLevel})` : '';
    sink(formatLine(config.logFormat, 'info', `received SIGUSR2: ${change}${back}`, { signal: 'SIGUSR2', from: before, to: log.level }));
  });
  let running;
  let metrics: MetricsEndpoint | undefined;
  try {
    // First, so a port in use fails the mount before anything is mounted.
    if (config.metrics !== undefined) metrics = await openMetrics(config.metrics);
    running = await startMount(config, log);
  } catch (e) {
    await metrics?.close();
    reportToParent({ ok: false, message: (e as Error).message });
    throw e;
  }
  // As soon as the mount runs, before the awaits below: a signal may come the moment it is visible.
  // SIGTERM and SIGINT finish the uploads, unmount and exit 0.
  const mounted = running;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void mounted.stop(`received ${signal}`));
  }
  process.on('SIGHUP', () => {
    mounted.reload();
    logFile?.reopen();
    log.info(`received SIGHUP: dropped cached metadata${logFile ? ` and reopened the log file ${logFile.path}` : ''}`);
  });
  if (metrics !== undefined) {
    metrics.attach(running.status);
    log.info(`metrics at ${metrics.url}`);
  }
  await writePidFile(running.mountpoint, args['log-file']);
  // Without it the mount still works; only `bucketfs status` and `sync` cannot reach it.
  const control = await startControlServer(controlSocketPath(running.mountpoint), running, log).catch((e: Error) => {
    log.error(`the control socket could not be opened (bucketfs status and sync will not reach this mount): ${e.message}`);
    return undefined;
  });
  reportToParent({ ok: true });
  await running.ended;
  await control?.close();
  await metrics?.close();
  await removePidFile(running.mountpoint);
}

