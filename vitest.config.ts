import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // integration tests create network namespaces and journal files: keep them from racing
    fileParallelism: true,
    pool: 'forks',
    // the ReDoS verdict cache of this run, shared by its tests and the commands they start, never the machine's
    env: { PERUSE_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'peruse-test-cache-')) },
  },
});
