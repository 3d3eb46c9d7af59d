// One ES module for a test page, bundled in memory by esbuild from TypeScript (or TSX) sources.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** `entry` and everything it imports as one browser module's text. */
export async function bundleForBrowser(entry: URL): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    // React's development build: its warnings reach the console, where the tests look for errors.
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
