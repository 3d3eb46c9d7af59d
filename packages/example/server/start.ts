import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, freePort, parseConfig, type RunningServer, type Scheduler, startServer } from '@tessera/server';
import { createVerifier } from '@tessera/server/verifier';
import type { FastifyInstance } from 'fastify';
import { buildDemoBackend } from './demo-backend.js';
import type { DemoFlow } from './demo-types.js';
import { builtPage } from './paths.js';

export interface ExampleOptions {
  /** Tessera's port; 0 for any free one. */
  readonly tesseraPort: number;
  /** The example app's port; 0 for any free one. */
  readonly appPort: number;
  /** The interface both listen on. The demo signs anyone in, so the default keeps it on this machine. */
  readonly host?: string;
  /** Tessera's embedded store. */
  readonly dataDir: string;
  /** The management API key; default: kept in `dataDir/example-api-key`, made on first start. */
  readonly apiKey?: string;
  /** Access-token lifetime of the `demo` flow, in seconds (short, so refreshes show). Default 30. */
  readonly demoAccessTokenTtl?: number;
  readonly logLevel?: string;
  /** More browser origins Tessera admits (CORS), e.g. Vite's dev server. */
  readonly extraOrigins?: readonly string[];
  /** Whether the demo backend serves the built page; `npm run dev` has Vite serve it. Default true. */
  readonly servePage?: boolean;
  /** The time of Tessera and of the demo backend's verifier; default the system's. Tests pass one they move. */
  readonly clock?: Clock & Scheduler;
}

export interface RunningExample {
  /** Tessera as it runs now (a new instance after `startTessera()`). */
  readonly tessera: RunningServer;
  readonly app: FastifyInstance;
  /** Tessera, as browsers reach it (its admin console is at `/admin`). */
  readonly tesseraUrl: string;
  /** The example app. */
  readonly appUrl: string;
  readonly apiKey: string;
  /** Stops Tessera alone, as a crash or a deploy would: the app and its page stay up. */
  stopTessera(): Promise<void>;
  /** Starts Tessera again after `stopTessera()`, on the same port, data folder and config: its sessions and keys are as it left them. */
  startTessera(): Promise<void>;
  close(): Promise<void>;
}

/** Starts Tessera on the embedded store and, beside it, the example app with its demo backend. */
export async function startExample(options: ExampleOptions): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  // The app's origin goes into Tessera's CORS list, so its port is settled first.
  const appPort = options.appPort === 0 ? await freePort(host) : options.appPort;
  const tesseraPort = options.tesseraPort === 0 ? await freePort(host) : options.tesseraPort;
  const apiKey = options.apiKey ?? exampleApiKey(options.dataDir);
  const demoTtl = options.demoAccessTokenTtl ?? 30;
  const appOrigins = [...['localhost', '127.0.0.1'].map((name) => `http://${name}:${appPort}`), ...(options.extraOrigins ?? [])];
  const config = parseConfig(
    {
      flows: {
        // Short tokens so the dashboard shows refreshes; sessions end after 10 idle minutes.
        demo: { access_token_ttl: demoTtl, idle_timeout: 600, absolute_lifetime: 86_400, reuse_interval: 10 },
        default: { access_token_ttl: 900, idle_timeout: null, absolute_lifetime: 1_209_600, reuse_interval: 10 },
        verification: { access_token_ttl: 300, idle_timeout: null, absolute_lifetime: 900, reuse_interval: 10 },
        // The demo's lifetimes, each session bound to a key its browser holds (DPoP): tokens copied off it are useless.
        device: { access_token_ttl: demoTtl, idle_timeout: 600, absolute_lifetime: 86_400, reuse_interval: 10, dpop: 'required' },
      },
      cors: { origins: appOrigins },
      // The refresh token lives in an HttpOnly cookie that page scripts cannot read.
      cookie: { enabled: true },
    },
    'example config',
  );
  const launchTessera = () =>
    startServer({
      port: tesseraPort,
      host,
      dataDir: options.dataDir,
      apiKey,
      config,
      logLevel: options.logLevel ?? 'warn',
      ...(options.clock ? { clock: options.clock } : {}),
    });
  let tessera = await launchTessera();
  /** Set while Tessera is stopped (or stopping): what its close returned. */
  let tesseraStopped: Promise<void> | null = null;
  const flows: DemoFlow[] = [
    { name: 'demo', label: `demo: ${demoTtl}-second access tokens, 10 idle minutes` },
    { name: 'default', label: 'default: 15-minute access tokens, 14 days' },
    { name: 'device', label: `device: as demo, bound to this browser's key (DPoP)`, dpop: true },
  ];
  // Server to server over IPv4: Node may resolve "localhost" to ::1, where nothing listens.
  const tesseraDirect = `http://127.0.0.1:${tesseraPort}`;
  const issuer = tessera.url;
  // The app's API refuses a revoked session's token at once, not when the token expires.
  const verifier = createVerifier({
    issuer,
    audience: config.audience,
    jwksUri: `${tesseraDirect}/.well-known/jwks.json`,
    revocations: { apiKey, url: tesseraDirect },
    ...(options.clock ? { clock: options.clock, scheduler: options.clock } : {}),
  });
  let app: FastifyInstance;
  try {
    app = await buildDemoBackend({
      tesseraUrl: tesseraDirect,
      tesseraPort,
      apiKey,
      verifier,
      flows,
      webRoot: options.servePage === false ? null : builtPage,
    });
    await app.listen({ port: appPort, host });
  } catch (error) {
    await verifier.close();
    await tessera.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    get tessera() {
      return tessera;
    },
    app,
    tesseraUrl: `http://localhost:${tesseraPort}`,
    appUrl: `http://localhost:${appPort}`,
    apiKey,
    stopTessera() {
      tesseraStopped ??= tessera.close();
      return tesseraStopped;
    },
    async startTessera() {
      if (!tesseraStopped) throw new Error('Tessera is running: stopTessera() first');
      await tesseraStopped;
      tessera = await launchTessera();
      tesseraStopped = null;
    },
    close() {
      closing ??= app
        .close()
        .then(() => verifier.close())
        .then(() => tesseraStopped ?? tessera.close());
      return closing;
    },
  };
}

/** The example's management key: made once per data folder, readable only by its owner. */
function exampleApiKey(dataDir: string): string {
  const path = join(dataDir, 'example-api-key');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const key = `tsk_${randomBytes(32).toString('base64url')}`;
    writeFileSync(path, key + '\n', { mode: 0o600 });
    return key;
  }
}
