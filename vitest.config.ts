import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        // Pure code: no services, seconds (`npm run test:unit`).
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Projects run one group after another: the fast ones first.
          sequence: { groupOrder: 0 },
          pool: 'forks',
          testTimeout: 60_000,
        },
      },
      {
        // Committed histories of real runs replayed against the current workflow code: no services.
        test: {
          name: 'replay',
          include: ['test/replay/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          pool: 'forks',
          testTimeout: 120_000,
        },
      },
      {
        // Real services: one Temporal dev server and one PostgreSQL for the whole run, each file with its own
        // database and task queue (see test/support/platform.ts).
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          globalSetup: ['test/support/global-setup.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
