// The command line: yargs commands and option groups, validation into a MountConfig, then run().
// No filesystem logic lives here. Bad input ends with one line on stderr and a non-zero exit.
// Credentials never come from argv: the standard AWS chain (env, profile, ~/.aws) provides them.

import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { cleanupCommand } from './cli/cleanup.js';
import { doctorCommand } from './cli/doctor.js';
import { buildS3Config, durationOption, idOption, modeOption, s3Options, secondsOption, sizeOption, UsageError } from './cli/options.js';
import { DEFAULTS, maxSocketsFor, type MountConfig } from './config.js';
import { createLogger } from './log.js';
import { defaultLogFile, reportToParent, removePidFile, startInBackground, unmountCommand, writePidFile } from './daemon.js';
import { MountError, startMount } from './run.js';

function mountOptions(y: Argv) {
  return s3Options(
    y
      .positional('source', { type: 'string', demandOption: true, describe: 'bucket or bucket:prefix' })
      .positional('mountpoint', { type: 'string', demandOption: true, describe: 'an empty directory' }),
  )
    .group(['read-only', 'uid', 'gid', 'file-mode', 'dir-mode', 'allow-other', 'disk-size'], 'Files:')
    .option('read-only', { type: 'boolean', default: false, describe: 'refuse every change with EROFS' })
    .option('uid', { type: 'number', describe: 'owner of objects without x-amz-meta-uid (default: you)' })
    .option('gid', { type: 'number', describe: 'group of objects without x-amz-meta-gid (default: your group)' })
    .option('file-mode', { type: 'string', describe: 'permissions of files without x-amz-meta-mode (default 0644)' })
    .option('dir-mode', { type: 'string', describe: 'permissions of directories without x-amz-meta-mode (default 0755)' })
    .option('disk-size', { type: 'string', describe: 'capacity df reports (S3 has none of its own; default 1P)' })
    .option('allow-other', { type: 'boolean', default: false, describe: 'let other users see the mount (needs user_allow_other in /etc/fuse.conf)' })
    .group(['cache-size', 'block-size', 'stat-ttl', 'negative-ttl', 'read-ahead', 'memory'], 'Caching:')
    .option('cache-size', { type: 'string', describe: 'block cache size (default 256M)' })
    .option('block-size', { type: 'string', describe: 'ranged GET size (default 1M)' })
    .option('stat-ttl', { type: 'number', describe: `seconds a HEAD or listing is trusted (default ${DEFAULTS.cache.statTtlMs / 1000})` })
    .option('negative-ttl', { type: 'number', describe: `seconds "not found" is trusted (default ${DEFAULTS.cache.negativeTtlMs / 1000})` })
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
  const partSizeBytes = sizeOption('part-size', args['part-size'], DEFAULTS.write.partSizeBytes, 5 * 1024 * 1024);
  const uploadConcurrency = args['upload-concurrency'] ?? DEFAULTS.write.uploadConcurrency;
  if (!Number.isInteger(uploadConcurrency) || uploadConcurrency < 1 || uploadConcurrency > 64) throw new UsageError('--upload-concurrency must be a whole number from 1 to 64');
  const blockSizeBytes = sizeOption('block-size', args['block-size'], DEFAULTS.cache.blockSizeBytes, 64 * 1024);
  const memoryBudgetBytes = sizeOption('memory', args.memory, DEFAULTS.cache.memoryBudgetBytes, 16 * 1024 * 1024);
  return {
    mountpoint: String(args.mountpoint),
    s3: buildS3Config(args, String(args.source), maxSocketsFor({ memoryBudgetBytes, blockSizeBytes }, { partSizeBytes })),
    cache: {
      blockSizeBytes,
      cacheSizeBytes: sizeOption('cache-size', args['cache-size'], DEFAULTS.cache.cacheSizeBytes, 0),
      statTtlMs: secondsOption('stat-ttl', args['stat-ttl'], DEFAULTS.cache.statTtlMs),
      negativeTtlMs: secondsOption('negative-ttl', args['negative-ttl'], DEFAULTS.cache.negativeTtlMs),
      maxStatEntries: DEFAULTS.cache.maxStatEntries,
      readAheadMaxBytes: sizeOption('read-ahead', args['read-ahead'], DEFAULTS.cache.readAheadMaxBytes, 0),
      memoryBudgetBytes,
    },
    posix: {
      uid: idOption('uid', args.uid, process.getuid?.() ?? 0),
      gid: idOption('gid', args.gid, process.getgid?.() ?? 0),
      fileMode: modeOption('file-mode', args['file-mode'], DEFAULTS.posix.fileMode),
      dirMode: modeOption('dir-mode', args['dir-mode'], DEFAULTS.posix.dirMode),
      readOnly: args['read-only'],
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
  if (!config.foreground) {
    const logFile = args['log-file'] ?? defaultLogFile(config.s3.bucket);
    const pid = await startInBackground(rawArgv, logFile);
    process.stdout.write(`mounted s3://${config.s3.bucket}/${config.s3.prefix} on ${config.mountpoint} (daemon pid ${pid}, log ${logFile})\n`);
    return;
  }
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

function doctorOptions(y: Argv) {
  return s3Options(y.positional('source', { type: 'string', demandOption: true, describe: 'bucket or bucket:prefix to probe' }))
    .option('debug', { type: 'boolean', default: false, describe: 'print every S3 request of the probe to stderr' })
    .example('$0 doctor my-bucket --endpoint http://127.0.0.1:9000', 'what a MinIO, Ceph or other server supports')
    .epilogue(
      'Writes only below a fresh .bucketfs-doctor-<random>/ prefix and deletes what it wrote. Exit status 0 when every ' +
        'check bucketfs needs passed (optional features the server lacks are listed with the workaround bucketfs uses), 1 otherwise.',
    );
}

function cleanupOptions(y: Argv) {
  return s3Options(y.positional('source', { type: 'string', demandOption: true, describe: 'bucket or bucket:prefix whose uploads to clean' }))
    .option('all', { type: 'boolean', default: false, describe: 'also abort uploads bucketfs did not start (other clients, other machines)' })
    .option('older-than', { type: 'string', describe: 'only uploads started longer ago than this: 90s, 30m, 24h, 7d' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'list what would be aborted, abort nothing' })
    .example('$0 cleanup my-bucket --dry-run', 'list incomplete uploads and what would happen to each')
    .example('$0 cleanup my-bucket --all --older-than 24h', 'abort every upload started more than a day ago')
    .epilogue(
      'Incomplete multipart uploads are billed until aborted. By default only the uploads bucketfs on this machine started ' +
        '(recorded in ~/.cache/bucketfs/uploads) are aborted, and never one a running bucketfs may still complete.',
    );
}

type DoctorArgs = Awaited<ReturnType<ReturnType<typeof doctorOptions>['parseAsync']>>;
type CleanupArgs = Awaited<ReturnType<ReturnType<typeof cleanupOptions>['parseAsync']>>;

async function runDoctor(args: DoctorArgs, write: (text: string) => void): Promise<number> {
  const log = args.debug ? (line: string) => void process.stderr.write(`${line}\n`) : undefined;
  return doctorCommand(buildS3Config(args, String(args.source)), write, log);
}

async function runCleanup(args: CleanupArgs, write: (text: string) => void): Promise<number> {
  const options = { all: args.all, olderThanMs: durationOption('older-than', args['older-than']), dryRun: args['dry-run'], journalDir: DEFAULTS.uploadJournalDir };
  return cleanupCommand(buildS3Config(args, String(args.source)), options, write);
}

export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's multi-line "Node >= 22 soon" notice would precede every one-line error; engines says we run on 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const raw = hideBin([...argv]);
  const write = (text: string): void => void process.stdout.write(text);
  let exitCode = 0;
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
        async (args) => mountCommand(args as MountArgs, [process.argv[1] as string, ...raw]),
      )
      .command(
        'unmount <mountpoint>',
        'finish pending uploads and unmount',
        (y) => y.positional('mountpoint', { type: 'string', demandOption: true }),
        async (args) => {
          process.stdout.write(`${await unmountCommand(String(args.mountpoint))}\n`);
        },
      )
      .command(
        'doctor <source>',
        'probe an S3 server and bucket: what works, what does not, and what to do about it',
        (y) => doctorOptions(y),
        async (args) => {
          exitCode = await runDoctor(args as DoctorArgs, write);
        },
      )
      .command(
        'cleanup <source>',
        'list and abort incomplete multipart uploads (by default only those bucketfs started)',
        (y) => cleanupOptions(y),
        async (args) => {
          exitCode = await runCleanup(args as CleanupArgs, write);
        },
      )
      .example('$0 mount my-bucket ~/bucket', 'AWS S3, credentials from the environment or ~/.aws')
      .example('$0 mount photos:2024/ /mnt/photos --endpoint http://127.0.0.1:9000', 'MinIO, a prefix of a bucket')
      .demandCommand(1, 'name a command: mount, unmount, doctor or cleanup')
      .strict()
      .fail((message, error) => {
        throw error ?? new UsageError(message);
      })
      .help()
      .version()
      .wrap(Math.min(110, process.stdout.columns || 110))
      .parseAsync();
    return exitCode;
  } catch (e) {
    const message = e instanceof UsageError || e instanceof MountError ? e.message : (e as Error).message;
    process.stderr.write(`bucketfs: ${message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
