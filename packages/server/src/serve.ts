import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { ConfigError, defaultConfig, loadConfigFile, type TesseraConfig } from './config.js';
import { suppliedApiKeyProblem } from './core/api-keys.js';
import type { Clock, Scheduler } from './core/clock.js';
import type { KeyEncryption } from './core/key-encryption.js';
import { buildApp } from './http/app.js';
import { clientAddressResolver } from './http/client-address.js';
import { Metrics } from './http/metrics.js';
import type { RequestLogging } from './http/request-log.js';
import { attachRealtime, defaultRealtimePath, type RealtimeGateway } from './realtime/gateway.js';
import { connectRedis, defaultRedisPrefix } from './shared-redis.js';
import { openStore } from './stores/open-store.js';
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
  /** Which requests get a log line; default `failures` (see `RequestLogging`). */
  readonly requestLogging?: RequestLogging;
  /** `postgres://…`: PostgreSQL instead of the embedded store. */
  readonly databaseUrl?: string;
  /** `redis://…`: revocation fan-out (and shared limits) over Redis. */
  readonly redisUrl?: string;
  /** Prefix of this deployment's Redis keys and channels; default `tessera:`. */
  readonly redisPrefix?: string;
  /** A port for `/metrics` and `/admin` only (0: any free one); wins over the config's `management.port`. */
  readonly managementPort?: number;
  /** The interface of the management port; wins over the config's `management.host`. */
  readonly managementHost?: string;
  /** Seals the signing private keys at rest (see `KeyEncryption`). */
  readonly keyEncryption?: KeyEncryption;
  /** The time and the timers of this node; default the system's. Tests pass one they move (a `FastForwardClock`). */
  readonly clock?: Clock & Scheduler;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly tessera: Tessera;
  /** The sockets at `/v1/realtime`. */
  readonly realtime: RealtimeGateway;
  readonly url: string;
  /** Where `/metrics` and `/admin` are, when they have a port of their own. */
  readonly managementUrl?: string;
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
  // The default issuer names the real port, so port 0 is resolved to a free port before the core is
  // built, and held until the app is ready to listen: building takes seconds on a busy machine, and a
  // port merely seen free was taken in between (by another process's outgoing connection).
  const reservation = options.port === 0 && !config.issuer ? await reservePort(options.host) : undefined;
  try {
    return await startOn(reservation?.port ?? options.port, reservation, logger, config, options);
  } finally {
    await reservation?.release();
  }
}

async function startOn(
  listenPort: number,
  reservation: PortReservation | undefined,
  logger: Logger,
  config: TesseraConfig,
  options: ServeOptions,
): Promise<RunningServer> {
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
    ...(options.clock ? { clock: options.clock, scheduler: options.clock } : {}),
  });
  // Started without --api-key: the key supplied last time is no longer given, so no longer valid.
  if (options.apiKey === undefined) await tessera.apiKeys.supply(undefined);
  const metrics = new Metrics(tessera);
  const managementPort = options.managementPort ?? config.management.port;
  const managementRequests = new WeakSet<IncomingMessage>();
  const app = await buildApp(tessera, {
    logger,
    ...(options.requestLogging ? { requestLogging: options.requestLogging } : {}),
    metrics,
    upgradeOnlyPaths: [defaultRealtimePath],
    ...(managementPort === null ? {} : { isManagementRequest: (request: IncomingMessage) => managementRequests.has(request) }),
  });
  const clientAddress = clientAddressResolver(config.trustProxy);
  const realtime = attachRealtime(app.server, {
    tessera,
    maxSocketsPerClient: config.rateLimits.socketsPerIp,
    // Every upgrade on this server is ours: any other path is answered, never left open.
    refuseOtherPaths: true,
    ...(clientAddress ? { clientAddress } : {}),
  });
  metrics.observeRealtime(realtime);
  const silent = silentConnections(app);
  await app.ready();
  await reservation?.release();
  await app.listen({ port: listenPort, host: options.host });
  const management =
    managementPort === null
      ? undefined
      : await listenForManagement(app, config, managementPort, options.managementHost ?? config.management.host, managementRequests);
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
    ...(management ? { managementUrl: management.url } : {}),
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
        await management?.close();
        await tessera.close();
        redis?.disconnect();
      })();
      return closing;
    },
  };
}

/**
 * The management port: its own listening socket whose requests go through the same app (same
 * hooks, limits and metrics), marked so the app serves `/metrics` and `/admin` to them alone.
 */
async function listenForManagement(
  app: FastifyInstance,
  config: TesseraConfig,
  port: number,
  host: string,
  marked: WeakSet<IncomingMessage>,
): Promise<{ url: string; close(): Promise<void> }> {
  const { timeouts } = config;
  const server = createHttpServer(
    {
      requestTimeout: timeouts.request * 1000,
      headersTimeout: Math.min(timeouts.headers, timeouts.request) * 1000,
      keepAliveTimeout: timeouts.idle * 1000,
      connectionsCheckingInterval: 1000,
    },
    (request, response) => {
      marked.add(request);
      app.routing(request, response);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const deadline = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
        deadline.unref();
      }),
  };
}

/** How long a shutdown lets in-flight requests finish before it closes every connection left. */
const shutdownGraceMs = 10_000;

/**
 * The connections of `app` that have not sent a request yet, kept current. No `upgrade` listener here:
 * once the gateway has let go of the server, one would leave every upgrade unanswered; an upgraded
 * socket left in the set is closed by the gateway before the set is used.
 */
function silentConnections(app: FastifyInstance): Set<Socket> {
  const silent = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    silent.add(socket);
    socket.once('close', () => silent.delete(socket));
  });
  app.server.on('request', (request: { socket: Socket }) => silent.delete(request.socket));
  return silent;
}

/**
 * A port the OS reports free on `host`, for a launcher that must know a port before it listens (the
 * default issuer names it; a CORS list names an app's). Another process could take it in between.
 */
export async function freePort(host: string): Promise<number> {
  const reservation = await reservePort(host);
  await reservation.release();
  return reservation.port;
}

/** A free port on `host`, kept bound (so no one else gets it) until `release()`; releasing twice is fine. */
interface PortReservation {
  readonly port: number;
  release(): Promise<void>;
}

function reservePort(host: string): Promise<PortReservation> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      let released: Promise<void> | undefined;
      const release = () => (released ??= new Promise<void>((done) => probe.close(() => done())));
      resolve({ port, release });
    });
  });
}
