import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // integration tests create network namespaces and journal files: keep them from racing
    fileParallelism: true,
    pool: 'forks',
  },
});
