import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The cluster suite starts its own servers and runs alone (vitest.cluster.config.ts).
    exclude: ['test/cluster/**', 'node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each file has its own database, so files run in parallel; they wait on I/O, not CPU.
    pool: 'forks',
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
