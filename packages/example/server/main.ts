// `npm start`: Tessera on the embedded store, and the example app beside it.
import { join } from 'node:path';
import { startExample } from './start.js';

const port = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    process.stderr.write(`${name} must be a port number, not "${value}"\n`);
    process.exit(2);
  }
  return parsed;
};

const dataDir = process.env.TESSERA_DATA || './.tessera';
const chosenKey = process.env.TESSERA_API_KEY || undefined;
const tesseraPort = port('PORT', 4000);
const appPort = port('EXAMPLE_PORT', 4001);
const example = await startExample({
  tesseraPort,
  appPort,
  host: process.env.HOST || '127.0.0.1',
  dataDir,
  apiKey: chosenKey,
  logLevel: process.env.LOG_LEVEL || 'warn',
}).catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') {
    process.stderr.write(`Port ${tesseraPort} or ${appPort} is in use. Choose others: PORT=5000 EXAMPLE_PORT=5001 npm start\n`);
  } else {
    process.stderr.write(`Could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  example.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`shutdown failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(
  [
    '',
    `Example app:    ${example.appUrl}   (demo sign-in: any name, no password)`,
    `Tessera API:    ${example.tesseraUrl}`,
    `Admin console:  ${example.tesseraUrl}/admin`,
    `API key:        ${example.apiKey}`,
    `Error codes:    ${example.tesseraUrl}/docs/errors`,
    '',
    chosenKey ? 'The key is the one in TESSERA_API_KEY.' : `The key is kept in ${join(dataDir, 'example-api-key')} (set TESSERA_API_KEY to choose one).`,
    'Tessera alone, without the example: npx @tessera/server serve',
    '',
  ].join('\n') + '\n',
);
