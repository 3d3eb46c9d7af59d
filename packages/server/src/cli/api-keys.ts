import { Command, InvalidArgumentError } from 'commander';
import type { ApiKeyRecord } from '../core/store.js';
import { cliActor, databaseOption, dataOption, openTessera, redisOption, redisPrefixOption, type StoreOptions } from './options.js';
import { formatTable } from './table.js';

export function apiKeysCommand(): Command {
  const apiKeys = new Command('api-keys').description('manage the keys of the management API');
  apiKeys
    .command('create')
    .description('make a new named key and print it, once: only its hash is stored')
    .requiredOption('--name <name>', 'what the key is for, e.g. backend or ci (unique among live keys)')
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .action(async (options: StoreOptions & { name: string }) => {
      const tessera = await openTessera(options);
      try {
        const key = await tessera.apiKeys.create(options.name, cliActor()).catch((error: unknown) => {
          throw error instanceof RangeError ? new InvalidArgumentError(error.message) : error;
        });
        console.log(`New API key ${options.name} (shown once, stored hashed):\n\n  ${key}\n`);
      } finally {
        await tessera.close();
      }
    });
  apiKeys
    .command('list')
    .description('list the live keys (with --all, revoked ones too): names and times, never a key')
    .option('--all', 'revoked keys too')
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .action(async (options: StoreOptions & { all?: boolean }) => {
      const tessera = await openTessera(options);
      try {
        const keys = (await tessera.apiKeys.list()).filter((key) => options.all || key.revokedAt === null);
        console.log(formatKeyTable(keys, options.all === true));
      } finally {
        await tessera.close();
      }
    });
  apiKeys
    .command('revoke')
    .description('revoke the live key of that name; every running node refuses it within a second')
    .argument('<name>', 'the key name, as `api-keys list` shows it')
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .action(async (name: string, options: StoreOptions) => {
      const tessera = await openTessera(options);
      try {
        if (await tessera.apiKeys.revoke(name, cliActor())) {
          console.log(`Revoked API key ${name}.`);
        } else {
          console.error(`tessera: no live API key is named ${name}`);
          process.exitCode = 1;
        }
      } finally {
        await tessera.close();
      }
    });
  return apiKeys;
}

function formatKeyTable(keys: ApiKeyRecord[], withRevoked: boolean): string {
  const time = (at: number | null) => (at === null ? '-' : new Date(at).toISOString());
  const header = ['NAME', 'ORIGIN', 'CREATED', 'LAST USED', ...(withRevoked ? ['REVOKED'] : [])];
  const rows = keys.map((key) => [key.name, key.origin, time(key.createdAt), time(key.lastUsedAt), ...(withRevoked ? [time(key.revokedAt)] : [])]);
  return formatTable(header, rows);
}
