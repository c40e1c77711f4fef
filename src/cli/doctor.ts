// `bucketfs doctor`: runs the probe of src/s3/probe.ts and prints one row per check (what works,
// what does not, and for each failure its cause and fix in the CLI's words). Exit 0 when every
// check bucketfs needs passed, 1 otherwise; optional features the server lacks do not fail it.

import type { S3Config } from '../config.js';
import { describeCapabilities } from '../s3/capabilities.js';
import { probeServer, type ProbeCheck, type ProbeReport } from '../s3/probe.js';
import { phraseFix } from './advice.js';
import { formatTable, type TableRow } from './table.js';

/** `ok`, `FAILED` (bucketfs needs it), `no` (an optional feature the server lacks), `skipped`. */
function result(check: ProbeCheck): string {
  if (check.status === 'failed') return check.required ? 'FAILED' : 'no';
  return check.status;
}

function row(check: ProbeCheck): TableRow {
  const fix = check.fix !== undefined ? phraseFix(check.fix) : undefined;
  return { cells: [check.name, result(check), check.detail], notes: check.status === 'failed' && fix !== undefined ? [`fix: ${fix}`] : [] };
}

export function formatReport(report: ProbeReport): string {
  const failedRequired = report.checks.filter((c) => c.required && c.status === 'failed').length;
  const lacking = report.checks.filter((c) => !c.required && c.status === 'failed').length;
  const verdict = report.ok
    ? `bucketfs can use s3://${report.bucket}${lacking > 0 ? ` (${lacking} optional feature${lacking === 1 ? '' : 's'} missing: see the fixes above)` : ''}`
    : `bucketfs cannot use s3://${report.bucket}: ${failedRequired} required check${failedRequired === 1 ? '' : 's'} failed`;
  return (
    `server: ${report.endpoint} (${report.serverKind === 'unknown' ? 'unrecognised S3 server' : report.serverKind})\n\n` +
    formatTable(['CHECK', 'RESULT', 'DETAIL'], report.checks.map(row)) +
    `\ncapabilities: ${describeCapabilities(report.capabilities)}\n${verdict}\n`
  );
}

export async function doctorCommand(config: S3Config, write: (text: string) => void, logger?: (line: string) => void): Promise<number> {
  const report = await probeServer(config, { logger });
  write(formatReport(report));
  return report.ok ? 0 : 1;
}
