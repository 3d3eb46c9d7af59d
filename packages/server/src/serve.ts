import { createServer, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { ConfigError, loadConfigFile, defaultConfig, type TesseraConfig } from './config.js';
import { suppliedApiKeyProblem } from './core/api-keys.js';
import type { KeyEncryption } from './core/key-encryption.js';
import { buildApp } from './http/app.js';
import { clientAddressResolver } from './http/client-address.js';
import { Metrics } from './http/metrics.js';
import { attachRealtime, type RealtimeGateway } from './realtime/gateway.js';
import { openStore } from './stores/open-store.js';
import { connectRedis, defaultRedisPrefix } from './shared-redis.js';
import { createTessera, type Tessera } from './tessera.js';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly configPath?: string;
  /** The configuration itself (see `parseConfig`), instead of a file at `configPath`. */
  readonly config?: TesseraConfig;
  /** The management API key (`--api-key`), at least 32 characters; keys supplied on earlier starts stop working. */
  readonly apiKey?: string;
  readonly issuer?: string;
  readonly logLevel: string;
  /** `postgres://…`: PostgreSQL instead of the embedded store. */
  readonly databaseUrl?: string;
  /** `redis://…`: revocation fan-out (and shared limits) over Redis. */
  readonly redisUrl?: string;
  /** Prefix of this deployment's Redis keys and channels; default `tessera:`. */
  readonly redisPrefix?: string;
  /** Seals the signing private keys at rest (see `KeyEncryption`). */
  readonly keyEncryption?: KeyEncryption;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly tessera: Tessera;
  /** The sockets at `/v1/realtime`. */
  readonly realtime: RealtimeGateway;
  readonly url: string;
  readonly logger: Logger;
  /** A management API key generated on this start, shown once; undefined when one was given or stored. */
  readonly generatedApiKey: string | undefined;
  /** Stops accepting connections, lets in-flight requests finish, closes the store. */
  close(): Promise<void>;
}

/** Starts one Tessera node: store, core, HTTP, and the realtime sockets on the same server. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = pino({ level: options.logLevel, base: { service: 'tessera' } });
  const apiKeyProblem = options.apiKey === undefined ? undefined : suppliedApiKeyProblem(options.apiKey);
  if (apiKeyProblem) throw new ConfigError(apiKeyProblem);
  const fileConfig: TesseraConfig = options.config ?? (options.configPath ? loadConfigFile(options.configPath) : defaultConfig);
  // An explicit --issuer / TESSERA_ISSUER wins over the config file's issuer.
  const config: TesseraConfig = options.issuer ? { ...fileConfig, issuer: options.issuer } : fileConfig;
  // The default issuer names the real port, so port 0 is resolved to a free port before the core is built.
  const listenPort = options.port === 0 && !config.issuer ? await freePort(options.host) : options.port;
  const store = await openStore({ dataDir: options.dataDir, databaseUrl: options.databaseUrl, log: logger });
  const redis = options.redisUrl ? connectRedis(options.redisUrl, options.redisPrefix ?? defaultRedisPrefix, logger) : undefined;
  const tessera = await createTessera({
    store,
    config,
    apiKey: options.apiKey,
    issuer: config.issuer ?? `http://localhost:${listenPort}`,
    log: logger,
    ...(redis ? { redis } : {}),
    ...(options.keyEncryption ? { keyEncryption: options.keyEncryption } : {}),
  });
  // Started without --api-key: the key supplied last time is no longer given, so no longer valid.
  if (options.apiKey === undefined) await tessera.apiKeys.supply(undefined);
  const metrics = new Metrics(tessera);
  const app = await buildApp(tessera, { logger, metrics });
  const clientAddress = clientAddressResolver(config.trustProxy);
  const realtime = attachRealtime(app.server, {
    tessera,
    maxSocketsPerClient: config.rateLimits.socketsPerIp,
    ...(clientAddress ? { clientAddress } : {}),
  });
  metrics.observeRealtime(realtime);
  const silent = silentConnections(app);
  await app.listen({ port: listenPort, host: options.host });
  // Only once listening, so a start that fails never stores a key nobody saw.
  const generatedApiKey = tessera.apiKeys.isEmpty ? await tessera.apiKeys.generate() : undefined;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listenPort;
  let closing: Promise<void> | undefined;
  return {
    app,
    tessera,
    realtime,
    url: `http://localhost:${port}`,
    logger,
    generatedApiKey,
    close() {
      closing ??= (async () => {
        // Sockets first: an upgraded connection would keep the HTTP server from closing.
        await realtime.close();
        // Node counts a connection that never sent a request as busy, so it would hold the close until
        // its headers time out (a minute): nothing is in flight on it, so it goes now. Anything else
        // still open after the grace (a client that stopped reading a response) goes then.
        for (const socket of silent) socket.destroy();
        const deadline = setTimeout(() => app.server.closeAllConnections(), shutdownGraceMs);
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
        }
        await tessera.close();
        redis?.disconnect();
      })();
      return closing;
    },
  };
}

/** How long a shutdown lets in-flight requests finish before it closes every connection left. */
const shutdownGraceMs = 10_000;

/** The connections of `app` that have not sent a request (or an upgrade) yet, kept current. */
function silentConnections(app: FastifyInstance): Set<Socket> {
  const silent = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    silent.add(socket);
    socket.once('close', () => silent.delete(socket));
  });
  app.server.on('request', (request: { socket: Socket }) => silent.delete(request.socket));
  app.server.on('upgrade', (request: { socket: Socket }) => silent.delete(request.socket));
  return silent;
}

/**
 * A port the OS reports free on `host`, for a launcher that must know a port before it listens (the
 * default issuer names it; a CORS list names an app's). Another process could take it in between.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
