// `npm start` as a newcomer runs it: the compiled launcher, in its own process, on a fresh data folder.
// The tests run side by side (each on its own folder and ports): most of their time is Node loading
// the launcher's modules in a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type OnTestFinishedHandler } from 'vitest';
import { testPort } from '../../server/test/ports.js';

const main = fileURLToPath(new URL('../dist/server/main.js', import.meta.url));
const dev = fileURLToPath(new URL('../dist/server/dev.js', import.meta.url));
type OnFinished = (handler: OnTestFinishedHandler) => void;

/** A fresh data folder for one test, removed when the test ends. */
function dataFolder(onTestFinished: OnFinished): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-start-'));
  onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
  return dataDir;
}

/** Runs `script` in a process of its own, killed when the test ends if it still runs. */
function launch(script: string, env: NodeJS.ProcessEnv, onTestFinished: OnFinished): ChildProcess {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  return child;
}

/** Starts the launcher and resolves with what it printed once it printed the admin console's address. */
function start(dataDir: string, onTestFinished: OnFinished): Promise<{ app: string; tessera: string; key: string; process: ChildProcess }> {
  const child = launch(main, { PORT: '0', EXAMPLE_PORT: '0', TESSERA_DATA: dataDir, TESSERA_API_KEY: '' }, onTestFinished);
  return new Promise((resolve, reject) => {
    let printed = '';
    child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      const app = /Example app:\s+(\S+)/.exec(printed)?.[1];
      const tessera = /Tessera API:\s+(\S+)/.exec(printed)?.[1];
      const key = /API key:\s+(\S+)/.exec(printed)?.[1];
      if (app && tessera && key && printed.includes('Admin console:')) resolve({ app, tessera, key, process: child });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready:\n${printed}`)));
  });
}

const ipv4 = (url: string) => url.replace('localhost', '127.0.0.1');

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe.concurrent('npm start', () => {
  it('serves the example app beside Tessera, prints where, keeps its key, and stops cleanly', async ({ expect, onTestFinished }) => {
    const dataDir = dataFolder(onTestFinished);
    const first = await start(dataDir, onTestFinished);
    const page = await fetch(ipv4(first.app));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Tessera example</title>');
    expect((await fetch(`${ipv4(first.tessera)}/healthz`)).status).toBe(200);
    const created = await fetch(`${ipv4(first.tessera)}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'alice' }),
    });
    expect(created.status).toBe(201);
    expect(statSync(join(dataDir, 'example-api-key')).mode & 0o077).toBe(0);
    expect(await stop(first.process)).toBe(0);

    // Started again on the same folder: the same key, and the session is still there.
    const second = await start(dataDir, onTestFinished);
    expect(second.key).toBe(first.key);
    const listed = await fetch(`${ipv4(second.tessera)}/v1/users/alice/sessions`, { headers: { authorization: `Bearer ${second.key}` } });
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
    expect(await stop(second.process)).toBe(0);
  });

  it('says which ports are taken, in one line and no stack trace, when one is', async ({ expect, onTestFinished }) => {
    const dataDir = dataFolder(onTestFinished);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const child = launch(main, { PORT: String(taken), EXAMPLE_PORT: '0', TESSERA_DATA: dataDir }, onTestFinished);
      let errors = '';
      child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(errors).toContain(`Port ${taken} or`);
      expect(errors).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('npm run dev: the page from Vite (edits show at once), /demo forwarded, and Tessera admits its origin', async ({ expect, onTestFinished }) => {
    const dataDir = dataFolder(onTestFinished);
    const [vitePort, tesseraPort] = [await testPort(), await testPort()];
    const env = { PORT: String(tesseraPort), EXAMPLE_PORT: '0', VITE_PORT: String(vitePort), TESSERA_DATA: dataDir };
    const child = launch(dev, env, onTestFinished);
    await new Promise<void>((resolve, reject) => {
      let printed = '';
      const onData = (chunk: Buffer) => {
        printed += chunk.toString();
        if (printed.includes('Admin console:')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${printed}`)));
    });
    const page = await (await fetch(`http://127.0.0.1:${vitePort}/`)).text();
    expect(page).toContain('/@vite/client');
    const config = (await (await fetch(`http://127.0.0.1:${vitePort}/demo/config`)).json()) as { tessera_port: number };
    expect(config.tessera_port).toBe(tesseraPort);
    const preflight = await fetch(`http://127.0.0.1:${tesseraPort}/v1/token/refresh`, {
      method: 'OPTIONS',
      headers: { origin: `http://localhost:${vitePort}`, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(`http://localhost:${vitePort}`);
    expect(await stop(child)).toBe(0);
  });
});
