import { Command, Option } from 'commander';
import type { RequestLogging } from '../http/request-log.js';
import { startServer } from '../serve.js';
import {
  configOption,
  databaseOption,
  dataOption,
  kekFileOption,
  keyEncryptionOf,
  parseIssuer,
  parseLogLevel,
  parsePort,
  parseRequestLogging,
  previousKekFileOption,
  redisOption,
  redisPrefixOption,
} from './options.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run a Tessera node (embedded store, or PostgreSQL with DATABASE_URL)')
    .addOption(new Option('--port <port>', 'port to listen on').env('PORT').default(4000).argParser(parsePort))
    .addOption(new Option('--host <host>', 'interface to listen on').env('HOST').default('0.0.0.0'))
    .addOption(configOption())
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .addOption(
      new Option('--api-key <key>', 'the management API key, at least 32 characters (else the stored keys; generated on first start)').env('TESSERA_API_KEY'),
    )
    .addOption(new Option('--issuer <url>', 'iss of access tokens (default http://localhost:PORT)').env('TESSERA_ISSUER').argParser(parseIssuer))
    .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info').argParser(parseLogLevel))
    .addOption(
      new Option('--log-requests <which>', 'request lines: all, failures (answers >= 400 or slower than 1 s) or none')
        .env('LOG_REQUESTS')
        .default('failures')
        .argParser(parseRequestLogging),
    )
    .addOption(new Option('--management-port <port>', 'serve /metrics and /admin on this port only').env('TESSERA_MANAGEMENT_PORT').argParser(parsePort))
    .addOption(new Option('--management-host <host>', 'interface of the management port (default 127.0.0.1)').env('TESSERA_MANAGEMENT_HOST'))
    .addOption(kekFileOption())
    .addOption(previousKekFileOption())
    .action(
      async (options: {
        port: number;
        host: string;
        config?: string;
        data: string;
        apiKey?: string;
        issuer?: string;
        logLevel: string;
        logRequests: RequestLogging;
        databaseUrl?: string;
        redisUrl?: string;
        redisPrefix: string;
        managementPort?: number;
        managementHost?: string;
        kekFile?: string;
        previousKekFile?: string;
      }) => {
        const keyEncryption = keyEncryptionOf(options);
        const server = await startServer({
          port: options.port,
          host: options.host,
          dataDir: options.data,
          configPath: options.config,
          // An empty TESSERA_API_KEY (a blank line in an env file) means none was given.
          apiKey: options.apiKey || undefined,
          issuer: options.issuer,
          logLevel: options.logLevel,
          requestLogging: options.logRequests,
          databaseUrl: options.databaseUrl,
          redisUrl: options.redisUrl,
          redisPrefix: options.redisPrefix,
          ...(options.managementPort === undefined ? {} : { managementPort: options.managementPort }),
          ...(options.managementHost === undefined ? {} : { managementHost: options.managementHost }),
          ...(keyEncryption ? { keyEncryption } : {}),
        });
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          server.logger.info({ signal }, 'shutting down: finishing in-flight requests');
          server.close().then(
            () => process.exit(0),
            (error: unknown) => {
              server.logger.error({ err: error }, 'shutdown failed');
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        // Only once the handlers are in place: a supervisor may send SIGTERM as soon as it reads this.
        printWelcome(server.url, server.generatedApiKey, server.managementUrl);
      },
    );
}

function printWelcome(url: string, generatedApiKey: string | undefined, managementUrl: string | undefined): void {
  const key = generatedApiKey ?? '$TESSERA_API_KEY';
  const lines = [
    '',
    `Tessera is listening on ${url}`,
    ...(managementUrl ? [`Management (metrics, admin console) on ${managementUrl}`] : []),
    generatedApiKey
      ? `Management API key (shown once, stored hashed; pass --api-key or TESSERA_API_KEY to choose your own):\n\n  ${generatedApiKey}\n`
      : 'Management API key: the one you set or the one printed on first start.',
    'Create a first session:',
    '',
    `  curl -s -X POST ${url}/v1/sessions -H 'authorization: Bearer ${key}' -H 'content-type: application/json' -d '{"user_id":"alice"}'`,
    '',
    `Error codes are documented at ${url}/docs/errors`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
