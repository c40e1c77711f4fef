// The config file: where it is looked for, how its options become arguments (top level, then the
// bucket's section, then the command line, the last one winning), and the one-line refusals of a
// file that is not JSON, an unknown key, a wrong type, a bad choice and anything named like a secret.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { configArgs, defaultConfigFile, firstPositional, flagValue, loadConfigFile, type CommandOptions, type ConfigFile } from '../../src/cli/config-file.js';
import { buildS3Config, s3Options, UsageError } from '../../src/cli/options.js';

const OWN: CommandOptions = {
  booleans: new Set(['read-only', 'path-style', 'secure']),
  numbers: new Set(['stat-ttl', 'max-attempts']),
  strings: new Set(['endpoint', 'region', 'cache-size', 'checksum']),
  choices: new Map([['checksum', ['when-required', 'when-supported']]]),
};
/** Options of every command that reads the file: `all` and `older-than` are cleanup's. */
const KNOWN = new Set([...OWN.booleans, ...OWN.numbers, ...OWN.strings, 'all', 'older-than']);

const config = (global: Record<string, unknown>, buckets: Record<string, Record<string, unknown>> = {}): ConfigFile => ({ file: '/etc/x.json', global, buckets });

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bucketfs-config-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('the config file', () => {
  it('is $XDG_CONFIG_HOME/bucketfs/config.json, else ~/.config/bucketfs/config.json', () => {
    const saved = process.env.XDG_CONFIG_HOME;
    try {
      process.env.XDG_CONFIG_HOME = '/x/conf';
      expect(defaultConfigFile()).toBe('/x/conf/bucketfs/config.json');
      delete process.env.XDG_CONFIG_HOME;
      expect(defaultConfigFile()).toBe(path.join(os.homedir(), '.config', 'bucketfs', 'config.json'));
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });

  it('gives options as arguments: the top level, then the bucket section; other buckets and other commands are left out', () => {
    const file = config({ endpoint: '127.0.0.1:9000', secure: false, 'stat-ttl': 30, 'cache-size': 1048576, all: true }, { photos: { 'read-only': true, 'stat-ttl': 60 }, other: { region: 'x' } });
    expect(configArgs(file, 'photos', OWN, KNOWN)).toEqual(['--endpoint=127.0.0.1:9000', '--no-secure', '--stat-ttl=30', '--cache-size=1048576', '--read-only', '--stat-ttl=60']);
    expect(configArgs(file, 'data', OWN, KNOWN)).toEqual(['--endpoint=127.0.0.1:9000', '--no-secure', '--stat-ttl=30', '--cache-size=1048576']);
  });

  it('loses to the command line: the last of a repeated flag wins', async () => {
    const fromFile = configArgs(config({ endpoint: 'http://10.0.0.1:9000', region: 'file-region', 'max-attempts': 3 }), 'b', OWN, KNOWN);
    const parse = async (args: string[]) =>
      buildS3Config(await s3Options(yargs(args).parserConfiguration({ 'duplicate-arguments-array': false })).parseAsync(), 'bucket');
    const s3 = await parse([...fromFile, '--region', 'cli-region']);
    expect(s3).toMatchObject({ endpoint: 'http://10.0.0.1:9000', region: 'cli-region', maxAttempts: 3 });
  });

  it.each([
    [{ 'secret-access-key': 'x' }, /"secret-access-key" looks like a credential/],
    [{ aws_secret_access_key: 'x' }, /looks like a credential/],
    [{ 'session-token': 'x' }, /looks like a credential/],
    [{ statttl: 3 }, /unknown option "statttl"/],
    [{ config: '/other.json' }, /unknown option "config"/],
    [{ 'stat-ttl': '30' }, /"stat-ttl" must be a number, not "30"/],
    [{ 'read-only': 'yes' }, /"read-only" must be true or false/],
    [{ endpoint: ['a'] }, /"endpoint" must be a string/],
    [{ checksum: 'crc' }, /"checksum" must be one of when-required, when-supported, not "crc"/],
  ])('refuses %j in one line', (global, message) => {
    const call = () => configArgs(config(global), 'b', OWN, KNOWN);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(message);
    expect(call).toThrow(/^config file \/etc\/x\.json: [^\n]+$/);
  });

  it('checks every bucket section, also of buckets not used now', () => {
    expect(() => configArgs(config({}, { photos: { 'password': 'x' } }), 'data', OWN, KNOWN)).toThrow(/"buckets\.photos\.password" looks like a credential/);
    expect(() => configArgs(config({}, { photos: { colour: 'x' } }), 'data', OWN, KNOWN)).toThrow(/unknown option "buckets\.photos\.colour"/);
  });

  it('reads a file: none is fine, a named one must exist, and it must be a JSON object with object sections', async () => {
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = path.join(dir, 'empty');
    try {
      expect(await loadConfigFile(undefined)).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
    await expect(loadConfigFile(path.join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: it does not exist/);
    const write = async (name: string, text: string) => {
      await fsp.writeFile(path.join(dir, name), text);
      return path.join(dir, name);
    };
    await expect(loadConfigFile(await write('bad.json', '{"endpoint": 127.0.0.1}'))).rejects.toThrow(/bad\.json: not valid JSON \(/);
    await expect(loadConfigFile(await write('list.json', '[1]'))).rejects.toThrow(/must hold a JSON object of options/);
    await expect(loadConfigFile(await write('buckets.json', '{"buckets": [1]}'))).rejects.toThrow(/"buckets" must be an object/);
    await expect(loadConfigFile(await write('section.json', '{"buckets": {"b": 3}}'))).rejects.toThrow(/"buckets\.b" must be an object/);
    const good = await loadConfigFile(await write('good.json', '{"stat-ttl": 30, "buckets": {"b": {"read-only": true}}}'));
    expect(good).toEqual({ file: path.join(dir, 'good.json'), global: { 'stat-ttl': 30 }, buckets: { b: { 'read-only': true } } });
  });
});

describe('the command line, read before yargs', () => {
  it('finds the first positional past flags and their values', () => {
    const booleans = new Set(['read-only', 'foreground', 'help']);
    expect(firstPositional(['--endpoint', 'x:1', '--read-only', 'photos:2024', '/mnt'], booleans)).toBe('photos:2024');
    expect(firstPositional(['--read-only', 'true', '-f', '--stat-ttl=3', 'photos', '/mnt'], booleans)).toBe('photos');
    expect(firstPositional(['--no-read-only', 'photos'], booleans)).toBe('photos');
    expect(firstPositional(['--', '-odd-bucket'], booleans)).toBe('-odd-bucket');
    expect(firstPositional(['--endpoint', 'x'], booleans)).toBeUndefined();
  });

  it('reads the last --config value in either form', () => {
    expect(flagValue(['a', '--config', '/x.json', 'b'], 'config')).toBe('/x.json');
    expect(flagValue(['--config=/y.json', '--config=/z.json'], 'config')).toBe('/z.json');
    expect(flagValue(['--configure', 'x'], 'config')).toBeUndefined();
  });
});
