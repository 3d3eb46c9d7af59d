// `npm run dev`: Tessera and the demo backend as `npm start` runs them, and the page from Vite's dev
// server (edits show at once), which forwards /demo/* to the demo backend.
import { createServer } from 'vite';
import { packageRoot } from './paths.js';
import { startExample } from './start.js';

const vitePort = Number(process.env.VITE_PORT || 5173);
const viteOrigins = ['localhost', '127.0.0.1'].map((name) => `http://${name}:${vitePort}`);
const example = await startExample({
  tesseraPort: Number(process.env.PORT || 4000),
  appPort: Number(process.env.EXAMPLE_PORT || 4001),
  dataDir: process.env.TESSERA_DATA || './.tessera',
  apiKey: process.env.TESSERA_API_KEY || undefined,
  extraOrigins: viteOrigins,
  servePage: false,
});
const vite = await createServer({
  configFile: `${packageRoot}vite.config.ts`,
  root: `${packageRoot}web`,
  server: { host: '127.0.0.1', port: vitePort, strictPort: true, proxy: { '/demo': example.appUrl.replace('localhost', '127.0.0.1') } },
  // Vite closes itself on SIGTERM, then exits: Tessera closes with it (once, though each environment calls this).
  plugins: [{ name: 'tessera-example-servers', closeBundle: () => example.close() }],
});
await vite.listen();

// A requested stop is a clean exit (Vite would report 143).
process.on('SIGTERM', () => (process.exitCode = 0));
process.on('SIGINT', () => void vite.close().then(() => process.exit(0)));
process.stdout.write(
  [
    '',
    `Example app (Vite dev server): http://localhost:${vitePort}`,
    `Admin console:                ${example.tesseraUrl}/admin   (API key ${example.apiKey})`,
    '',
  ].join('\n') + '\n',
);
