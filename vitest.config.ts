import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests of what ships, run by `npm run test:dist` (CI runs them after `npm test`): they pack every
 * package and install the tarballs outside the repository, and build and run the container image.
 * They take minutes of npm and podman work, not the product's behaviour, so `npm test` leaves them out.
 */
export const distributionTests = ['packages/example/test/tarballs.test.ts', 'packages/example/test/container.test.ts'];

/**
 * The server's and the verifier's tests start what they use and close it, and stub no globals: they
 * share each worker's loaded modules (no isolation), which saves about 1.5 s of imports per file.
 * The client's, React's and the example's tests fake timers and browser globals, so each of their
 * files gets fresh modules.
 */
const sharedModules = ['packages/server/test/**/*.test.ts', 'packages/verifier/test/**/*.test.ts'];

/** What both projects share; the global setup (building the packages) is the root's alone, run once. */
const common = { testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    pool: 'forks',
    // Three files at a time on two cores: most of the suite waits on sockets, browsers and child
    // processes, not the CPU. Tests that wait on time move a clock instead of the wall clock, so a
    // busy machine slows them down rather than failing them.
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      { test: { ...common, name: 'server', include: sharedModules, isolate: false } },
      {
        test: {
          ...common,
          name: 'clients',
          include: ['packages/*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...sharedModules, ...distributionTests],
        },
      },
    ],
  },
});
