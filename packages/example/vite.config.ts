import { defineConfig } from 'vite';

// The page is built into dist/web, which the demo backend serves (npm start).
export default defineConfig({
  root: 'web',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
  oxc: { jsx: { runtime: 'automatic' } },
});
