// The command line: yargs commands, each with help that reads like a man page, dispatching to the
// modules of src/cli/. No filesystem logic lives here. Bad input ends with one line on stderr and a
// non-zero exit. Credentials never come from argv: the AWS chain or a passwd file provides them.

import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { cleanupCommand } from './cli/cleanup.js';
import { configArgs, firstPositional, flagValue, loadConfigFile, type CommandOptions } from './cli/config-file.js';
import { doctorCommand } from './cli/doctor.js';
import { mountCommand, mountOptions, type MountArgs } from './cli/mount.js';
import { buildS3Config, durationOption, s3Options, UsageError } from './cli/options.js';
import { DEFAULTS } from './config.js';
import { statusCommand, syncCommand } from './control/commands.js';
import { CredentialsError, loadPasswdKeys } from './credentials.js';
import { unmountCommand } from './daemon.js';
import { DEFAULT_EXPIRES_SECONDS, urlCommand } from './cli/url.js';
import { helperCall } from './fstab.js';

export { buildConfig } from './cli/mount.js';
export { parseSource } from './cli/options.js';

/** The daemon is always started through bin/bucketfs, whichever front end (mount.bucketfs) ran. */
const BUCKETFS_BIN = fileURLToPath(new URL('../../bin/bucketfs', import.meta.url));
const COMMANDS = new Set(['mount', 'unmount', 'status', 'sync', 'url', 'doctor', 'cleanup']);

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

/** The commands that read the config file, by the builder of their options. */
const CONFIG_COMMANDS: Readonly<Record<string, (y: Argv) => Argv<unknown>>> = { mount: mountOptions, doctor: doctorOptions, cleanup: cleanupOptions };
/** Not options a config file may set: positionals, yargs' own flags, the file itself. */
const NOT_CONFIGURABLE = new Set(['help', 'version', 'config', 'source', 'mountpoint']);

/** yargs' table of declared options (getOptions() exists at run time; its types lag behind). */
interface DeclaredOptions {
  readonly boolean: string[];
  readonly number: string[];
  readonly string: string[];
  readonly choices: Record<string, readonly string[]>;
  readonly alias: Record<string, string[]>;
}

function declaredOptions(build: (y: Argv) => Argv<unknown>): DeclaredOptions {
  return (build(yargs([])) as unknown as { getOptions(): DeclaredOptions }).getOptions();
}

function configurable(options: DeclaredOptions): CommandOptions {
  const aliases = new Set(Object.values(options.alias).flat());
  const keep = (names: readonly string[]) => new Set(names.filter((n) => !NOT_CONFIGURABLE.has(n) && !aliases.has(n)));
  return {
    booleans: keep(options.boolean),
    numbers: keep(options.number),
    strings: keep([...options.string, ...Object.keys(options.choices)]),
    choices: new Map(Object.entries(options.choices).map(([name, values]) => [name, values.map(String)])),
  };
}

/**
 * `raw` with the config file's options inserted after the command name (see cli/config-file.ts):
 * the top level, then the section of the bucket the command names; the user's flags come last and win.
 */
async function withConfigFile(raw: readonly string[]): Promise<string[]> {
  const [command, ...rest] = raw;
  const build = command === undefined ? undefined : CONFIG_COMMANDS[command];
  if (command === undefined || build === undefined || rest.includes('--help')) return [...raw];
  const config = await loadConfigFile(flagValue(rest, 'config'));
  if (config === undefined) return [...raw];
  const tables = Object.values(CONFIG_COMMANDS).map((b) => configurable(declaredOptions(b)));
  const known = new Set(tables.flatMap((t) => [...t.booleans, ...t.numbers, ...t.strings]));
  const declared = declaredOptions(build);
  const source = firstPositional(rest, new Set(declared.boolean));
  return [command, ...configArgs(config, source?.split(':')[0], configurable(declared), known), ...rest];
}

type DoctorArgs = Awaited<ReturnType<ReturnType<typeof doctorOptions>['parseAsync']>>;
type CleanupArgs = Awaited<ReturnType<ReturnType<typeof cleanupOptions>['parseAsync']>>;

/** Keys from a passwd file, for the commands that talk to S3 directly. */
async function passwdKeys(bucket: string, file: string | undefined, profile: string | undefined): Promise<void> {
  try {
    await loadPasswdKeys(bucket, file, profile);
  } catch (e) {
    throw e instanceof CredentialsError ? new UsageError(e.message) : e;
  }
}

async function runDoctor(args: DoctorArgs, write: (text: string) => void): Promise<number> {
  const config = buildS3Config(args, String(args.source));
  await passwdKeys(config.bucket, args['passwd-file'], config.profile);
  const log = args.debug ? (line: string) => void process.stderr.write(`${line}\n`) : undefined;
  return doctorCommand(config, write, log);
}

async function runCleanup(args: CleanupArgs, write: (text: string) => void): Promise<number> {
  const config = buildS3Config(args, String(args.source));
  await passwdKeys(config.bucket, args['passwd-file'], config.profile);
  const options = { all: args.all, olderThanMs: durationOption('older-than', args['older-than']), dryRun: args['dry-run'], journalDir: DEFAULTS.uploadJournalDir };
  return cleanupCommand(config, options, write);
}

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

/** The command line. Long on purpose: one declarative yargs chain, a command per block, read top to bottom like `bucketfs --help`. */
export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's multi-line "Node >= 22 soon" notice would precede every one-line error; engines says we run on 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const raw = hideBin([...argv]);
  if (raw[0] === 'mount-helper') return mountHelperMain([argv[0] as string, argv[1] as string, ...raw.slice(1)]);
  if (raw[0] !== undefined && !raw[0].startsWith('-') && !COMMANDS.has(raw[0]) && raw.some((a) => a === '-o' || a.startsWith('-o'))) {
    return mountHelperMain(argv);
  }
  const write = (text: string): void => void process.stdout.write(text);
  let exitCode = 0;
  try {
    // The background daemon is started with `raw` as the user gave it: it reads the config file itself.
    await yargs(await withConfigFile(raw))
      .scriptName('bucketfs')
      // A flag given twice takes its last value, as in most tools, instead of becoming an array.
      .parserConfiguration({ 'duplicate-arguments-array': false })
      .usage('$0 <command>\n\nMount an S3 bucket (AWS S3, MinIO, RustFS, Ceph RGW...) as a local folder.')
      .command(
        'mount <source> [mountpoint]',
        'mount a bucket (or bucket:prefix) on an empty directory; with only a directory, every bucket',
        (y) => mountOptions(y),
        async (args) => mountCommand(args as MountArgs, [BUCKETFS_BIN, ...raw]),
      )
      .command(
        'unmount <mountpoint>',
        'finish pending uploads and unmount',
        (y) => y.positional('mountpoint', { type: 'string', demandOption: true }),
        async (args) => {
          write(`${await unmountCommand(String(args.mountpoint))}\n`);
        },
      )
      .command(
        'sync <mountpoint>',
        'wait until every byte written to the mount before now is in the bucket (exit 0), or say what failed (exit 1)',
        (y) => y.positional('mountpoint', { type: 'string', demandOption: true }).example('$0 sync ~/bucket', 'after a copy to a --write-back mount'),
        async (args) => {
          exitCode = await syncCommand(String(args.mountpoint), process.stdout, process.stderr);
        },
      )
      .command(
        'status [mountpoint]',
        'show every running mount (or one): bucket, uptime, cache, open files, uploads with progress, errors',
        (y) =>
          y
            .positional('mountpoint', { type: 'string', describe: 'only this mount' })
            .option('json', { type: 'boolean', default: false, describe: 'print JSON for scripts' })
            .example('$0 status', 'every mount of this user')
            .example('$0 status ~/bucket --json', 'one mount, for a script'),
        async (args) => {
          exitCode = await statusCommand(args.mountpoint === undefined ? undefined : String(args.mountpoint), args.json, process.stdout, process.stderr);
        },
      )
      .command(
        'url <file>',
        'print a presigned URL of the object behind a file in a mount: GET it with curl or a browser, or --put a new version',
        (y) =>
          y
            .positional('file', { type: 'string', demandOption: true, describe: 'a file in a running bucketfs mount (with --put it may not exist yet)' })
            .option('expires', { type: 'string', describe: `how long the URL works: 90s, 30m, 12h, 7d (at most 7d, S3's limit; default ${DEFAULT_EXPIRES_SECONDS / 3600}h)` })
            .option('put', { type: 'boolean', default: false, describe: 'a URL that uploads a new version of the file (curl -T FILE URL) instead of reading it' })
            .example('curl -o copy.bin "$($0 url ~/bucket/big.bin --expires 10m)"', 'download through a presigned URL')
            .example('curl -T new.bin "$($0 url ~/bucket/new.bin --put)"', 'upload a new version')
            .epilogue(
              'The daemon of the mount signs the URL with its credentials; anyone holding it may read (or, with --put, replace) that one object until it expires. ' +
                'With --sse s3 or kms a PUT must send the encryption headers printed on stderr; with --sse c no URL can be made.',
            ),
        async (args) => {
          exitCode = await urlCommand(String(args.file), { expires: args.expires, put: args.put }, process.stdout, process.stderr);
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
      .example('$0 mount ~/s3', 'every bucket, a folder each (mkdir/rmdir there create/delete buckets)')
      .demandCommand(1, 'name a command: mount, unmount, sync, status, url, doctor or cleanup')
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
    // One line, also for yargs' own multi-line messages ("Invalid values:\n  Argument: …").
    const message = (e as Error).message.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`bucketfs: ${message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
