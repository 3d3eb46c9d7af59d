import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { ConfigError, defaultConfig, issuerProblem, loadConfigFile, type TesseraConfig } from '../config.js';
import type { Actor } from '../core/journal.js';
import { KeyEncryption, KeyEncryptionError, parseKeyEncryptionKey } from '../core/key-encryption.js';
import { silentLog } from '../core/log.js';
import { type RequestLogging, requestLoggingModes } from '../http/request-log.js';
import { connectRedis, defaultRedisPrefix } from '../shared-redis.js';
import { openStore, sqliteFileIn } from '../stores/open-store.js';
import { createTessera, type Tessera } from '../tessera.js';

/** A flag or variable that cannot work: commander prints it on one line and exits 2, as for a bad config. */
function usageError(message: string): InvalidArgumentError {
  const error = new InvalidArgumentError(message);
  error.exitCode = 2;
  return error;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`not a port: ${value}`);
  return port;
}

/** `--issuer` / `TESSERA_ISSUER`, under the same rule as the config file's `issuer`. */
export function parseIssuer(value: string): string {
  const problem = issuerProblem(value);
  if (problem) throw usageError(`the issuer ${problem}`);
  return value;
}

/** pino's levels, and `silent`; pino itself would throw a stack trace for any other. */
export function parseLogLevel(value: string): string {
  const levels = [...Object.keys(pino.levels.values), 'silent'];
  if (!levels.includes(value)) throw usageError(`${value} is not a log level (one of ${levels.join(', ')})`);
  return value;
}

/** `--log-requests`: which requests get a log line (`http/request-log.ts`). */
export function parseRequestLogging(value: string): RequestLogging {
  const mode = requestLoggingModes.find((each) => each === value);
  if (mode === undefined) throw usageError(`${value} is not a request logging mode (one of ${requestLoggingModes.join(', ')})`);
  return mode;
}

export const dataOption = () => new Option('--data <dir>', 'folder of the embedded store').default('./.tessera');
export const configOption = () => new Option('--config <file>', 'JSON config file (flows, issuer, audience, body_limit)');
export const databaseOption = () => new Option('--database-url <url>', 'PostgreSQL instead of the embedded store').env('DATABASE_URL');
export const redisOption = () => new Option('--redis-url <url>', 'Redis shared by the nodes, for fan-out').env('REDIS_URL');
export const redisPrefixOption = () =>
  new Option('--redis-prefix <prefix>', 'prefix of Redis keys and channels').env('TESSERA_REDIS_PREFIX').default(defaultRedisPrefix);

export const kekFileOption = () =>
  new Option('--kek-file <file>', 'file holding the key-encryption key of the signing keys (else TESSERA_KEK)').env('TESSERA_KEK_FILE');
export const previousKekFileOption = () =>
  new Option('--previous-kek-file <file>', 'during a KEK rotation, the old key-encryption key (else TESSERA_PREVIOUS_KEK)').env('TESSERA_PREVIOUS_KEK_FILE');

export interface KeyEncryptionOptions {
  kekFile?: string;
  previousKekFile?: string;
}

/**
 * The key-encryption keys of the signing keys at rest: `--kek-file` or `TESSERA_KEK` (the key
 * itself, never on the command line, where `ps` would show it), and likewise the previous one during
 * a KEK rotation. Undefined when none is given. Throws `ConfigError`.
 */
export function keyEncryptionOf(options: KeyEncryptionOptions, env: NodeJS.ProcessEnv = process.env): KeyEncryption | undefined {
  // The file variables are read here too, for commands that do not take the options.
  const current = kekFrom(options.kekFile ?? env['TESSERA_KEK_FILE'], '--kek-file', env['TESSERA_KEK'], 'TESSERA_KEK');
  const previous = kekFrom(
    options.previousKekFile ?? env['TESSERA_PREVIOUS_KEK_FILE'],
    '--previous-kek-file',
    env['TESSERA_PREVIOUS_KEK'],
    'TESSERA_PREVIOUS_KEK',
  );
  if (!current) {
    if (previous) throw new ConfigError('a previous key-encryption key needs the current one too (TESSERA_KEK or --kek-file).');
    return undefined;
  }
  return new KeyEncryption(current, previous ? [previous] : []);
}

function kekFrom(file: string | undefined, fileSource: string, value: string | undefined, valueSource: string): Buffer | undefined {
  try {
    if (file) return parseKeyEncryptionKey(readKekFile(file, fileSource), `${fileSource} ${file}`);
    if (value) return parseKeyEncryptionKey(value, valueSource);
    return undefined;
  } catch (error) {
    throw error instanceof KeyEncryptionError ? new ConfigError(error.message) : error;
  }
}

function readKekFile(file: string, source: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${source} ${file}: ${(error as Error).message}`);
  }
}

export interface StoreOptions extends KeyEncryptionOptions {
  data: string;
  config?: string;
  databaseUrl?: string;
  redisUrl?: string;
  redisPrefix?: string;
}

/**
 * The core on the configured store, for commands that work without the HTTP server. It only
 * publishes: what it revokes or rotates reaches running nodes over Redis or NOTIFY (or their polling).
 */
export async function openTessera(options: StoreOptions): Promise<Tessera> {
  const config: TesseraConfig = options.config ? loadConfigFile(options.config) : defaultConfig;
  // A mistyped --data would otherwise get a new, empty store, and the command would answer about nothing.
  if (!options.databaseUrl && !existsSync(sqliteFileIn(options.data))) {
    throw new ConfigError(`${options.data} holds no Tessera store: pass the --data folder of \`tessera serve\`, or --database-url`);
  }
  const store = await openStore({ dataDir: options.data, databaseUrl: options.databaseUrl });
  const redis = options.redisUrl ? connectRedis(options.redisUrl, options.redisPrefix ?? defaultRedisPrefix, silentLog) : undefined;
  const keyEncryption = keyEncryptionOf(options);
  const tessera = await createTessera({ store, config, listen: false, ...(redis ? { redis } : {}), ...(keyEncryption ? { keyEncryption } : {}) }).catch(
    async (error: unknown) => {
      await store.close();
      redis?.disconnect();
      throw error;
    },
  );
  return {
    ...tessera,
    async close() {
      await tessera.close();
      redis?.disconnect();
    },
  };
}

/** The audit trail's actor for a change made at the CLI: the operating-system user who ran it. */
export function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the uid alone still tells operators apart.
    name = `uid ${process.getuid?.() ?? '?'}`;
  }
  return { type: 'cli', id: name };
}
