import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'packages/*/sim/**/*.test.ts'],
    // Model-based and determinism tests are CPU-bound; a generous timeout keeps
    // slow CI machines from failing them for reasons unrelated to correctness.
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
