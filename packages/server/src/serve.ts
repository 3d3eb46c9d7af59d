import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { loadConfigFile, defaultConfig, type TesseraConfig } from './config.js';
import { buildApp } from './http/app.js';
import { openStore } from './stores/open-store.js';
import { createTessera, type Tessera } from './tessera.js';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly configPath?: string;
  readonly apiKey?: string;
  readonly issuer?: string;
  readonly logLevel: string;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly tessera: Tessera;
  readonly url: string;
  readonly logger: Logger;
  /** A management API key generated on this start, shown once; undefined when one was given or stored. */
  readonly generatedApiKey: string | undefined;
  /** Stops accepting connections, lets in-flight requests finish, closes the store. */
  close(): Promise<void>;
}

/** Starts one Tessera node: store, core, HTTP. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = pino({ level: options.logLevel, base: { service: 'tessera' } });
  const config: TesseraConfig = options.configPath ? loadConfigFile(options.configPath) : defaultConfig;
  const store = openStore({ dataDir: options.dataDir });
  const tessera = await createTessera({
    store,
    config,
    apiKey: options.apiKey,
    issuer: options.issuer ?? `http://localhost:${options.port}`,
  });
  const app = await buildApp(tessera, { logger });
  await app.listen({ port: options.port, host: options.host });
  // Only once listening, so a start that fails never stores a key nobody saw.
  const generatedApiKey = tessera.apiKeys.isEmpty ? await tessera.apiKeys.generate() : undefined;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    app,
    tessera,
    url: `http://localhost:${port}`,
    logger,
    generatedApiKey,
    close() {
      closing ??= (async () => {
        await app.close();
        await tessera.close();
      })();
      return closing;
    },
  };
}
