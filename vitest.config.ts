// Two projects: `unit` (fs core on the in-memory store, no server, seconds) and `s3` (integration
// tests of S3ObjectStore and mounted tests of the real CLI against a real local S3 server that the
// global setup starts once and stops by PID). `npx vitest run --project unit` is the quick loop.
import { defineConfig } from 'vitest/config';

// The AWS SDK's multi-line "Node >= 22 soon" NodeVersionSupportWarning, once per process, buries
// the test output; engines says we run on 20. Set here, it reaches the global setup and the
// workers (they inherit the environment); an explicit value from the caller wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/model/**/*.test.ts'],
          testTimeout: 20_000,
          // Unit tests first: seconds, and a failure there explains most mounted failures.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 's3',
          include: ['test/integration/**/*.test.ts', 'test/fuse/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Mounted tests are I/O-bound child processes; two at a time keeps 2 cores busy without
          // starving the S3 server.
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
