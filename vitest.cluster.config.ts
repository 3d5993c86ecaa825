import { defineConfig } from 'vitest/config';

/**
 * The cluster suite (`npm run test:cluster`): tests that start their own multi-server topologies
 * on private ports (a Galera cluster, a primary/replica pair, a Redis Cluster, Sentinel). They
 * are heavy, so they run one file at a time and never touch the shared MariaDB/Redis servers'
 * configuration.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    passWithNoTests: true,
    reporters: ['default'],
  },
});
