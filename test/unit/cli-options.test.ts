// The S3 option group as every S3 command parses it: capabilities set by hand, and the one-line
// errors bad values get.
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { buildS3Config, s3Options, UsageError } from '../../src/cli/options.js';

async function configOf(args: string[]) {
  return buildS3Config(await s3Options(yargs(args)).parseAsync(), 'bucket');
}

describe('the S3 options', () => {
  it('take capabilities as a comma-separated NAME=VALUE list', async () => {
    expect((await configOf(['--capability', 'uploadPartCopyConditions=false,conditionalCopy=true'])).capabilities).toEqual({
      uploadPartCopyConditions: false,
      conditionalCopy: true,
    });
    expect((await configOf([])).capabilities).toBeUndefined();
  });

  it('refuse an unknown capability with the names that exist', async () => {
    await expect(configOf(['--capability', 'teleport=true'])).rejects.toThrow(UsageError);
    await expect(configOf(['--capability', 'teleport=true'])).rejects.toThrow(/one of pathStyle/);
  });
});
