// The raw S3 client of the harness and the SDK bound: test/support's client (path style, checksums
// only where required) plus Content-MD5 on DeleteObjects, which servers older than flexible
// checksums (Ceph RGW 16) require and the SDK no longer sends by itself.

import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3';
import { makeClient, type S3ServerInfo } from '../test/support/s3-server.js';

export function benchClient(server: S3ServerInfo): S3Client {
  const client = makeClient(server);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const body = request.body;
      if (context.commandName === 'DeleteObjectsCommand' && request.headers !== undefined && (typeof body === 'string' || body instanceof Uint8Array)) {
        request.headers['content-md5'] = createHash('md5').update(body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'benchDeleteObjectsContentMd5', priority: 'low' },
  );
  return client;
}

export interface ListingPage {
  readonly objects: readonly _Object[];
  readonly prefixes: number;
}

/** Every page below `prefix`, one request after another (with `/` as delimiter when asked). */
export async function* listPages(client: S3Client, bucket: string, prefix: string, delimiter?: string): AsyncGenerator<ListingPage> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
    yield { objects: page.Contents ?? [], prefixes: page.CommonPrefixes?.length ?? 0 };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** Every object below `prefix` (recursive). */
export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<_Object[]> {
  const out: _Object[] = [];
  for await (const page of listPages(client, bucket, prefix)) out.push(...page.objects);
  return out;
}

/** Deletes every object below `prefix` with DeleteObjects, a page at a time; returns how many. */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const page of listPages(client, bucket, prefix)) {
    const keys = page.objects.flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) continue;
    const out = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length > 0) throw new Error(`DeleteObjects below ${prefix} refused ${failed.length} keys: ${failed[0]?.Code} ${failed[0]?.Message ?? ''}`);
    deleted += keys.length;
  }
  return deleted;
}
