import { configDefaults, defineConfig } from 'vitest/config';
import BrowsersFirst from './test/sequencer.js';

/**
 * Tests of what ships, run by `npm run test:dist` (CI runs them after `npm test`): they pack every
 * package and install the tarballs outside the repository, and build and run the container image.
 * They take minutes of npm and podman work, not the product's behaviour, so `npm test` leaves them out.
 */
export const distributionTests = ['packages/example/test/tarballs.test.ts', 'packages/example/test/container.test.ts'];

/**
 * Each fork runs file after file (`isolate: false` in the pool): a process per file cost ~0.5–2 s of
 * start and imports each, 400 s of the suite's 840 s of CPU on two cores. The server's and the
 * verifier's tests start what they use, close it and stub no module, so they also share the fork's
 * loaded modules. The client's, React's and the example's tests fake timers and browser globals, so
 * each of their files gets fresh modules (their project isolates) in a reused process.
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
    // As many forks kept as started: tinypool ends an idle fork above the minimum, and ending one that
    // runs file after file fails the run ("Terminating worker thread") though every test passed.
    poolOptions: { forks: { maxForks: 3, minForks: 3, isolate: false } },
    globalSetup: ['./test/global-setup.ts'],
    sequence: { sequencer: BrowsersFirst },
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
