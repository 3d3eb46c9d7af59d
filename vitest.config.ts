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
    // Most files wait on sockets, child processes and Chromium rather than on a core: three at a time
    // on two cores. (Vitest's default here would be one: cores - 1.)
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    globalSetup: ['./test/global-setup.ts'],
  },
});
