import { defineConfig } from 'vitest/config';
import { distributionTests } from './vitest.config.js';

/** `npm run test:dist`: the packed tarballs and the container image (see vitest.config.ts). */
export default defineConfig({
  test: {
    include: distributionTests,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
  },
});
