import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests of what ships, run by `npm run test:dist` (CI runs them after `npm test`): they pack every
 * package and install the tarballs outside the repository, and build and run the container image.
 * They take minutes of npm and podman work, not the product's behaviour, so `npm test` leaves them out.
 */
export const distributionTests = ['packages/example/test/tarballs.test.ts', 'packages/example/test/container.test.ts'];

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...distributionTests],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One file at a time (what vitest picks on two cores). Three at a time cut the wall time from
    // ~20 to ~11 min, but the real-time Chromium journeys then failed about one run in three or four;
    // they go back to three once they run on a manual page clock.
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    globalSetup: ['./test/global-setup.ts'],
  },
});
