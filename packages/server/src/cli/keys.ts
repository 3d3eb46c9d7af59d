import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { KeyEncryptionError } from '../core/key-encryption.js';
import {
  cliActor,
  configOption,
  databaseOption,
  dataOption,
  kekFileOption,
  keyEncryptionOf,
  openTessera,
  previousKekFileOption,
  redisOption,
  redisPrefixOption,
  type StoreOptions,
} from './options.js';

export function keysCommand(): Command {
  const keys = new Command('keys').description('manage signing keys');
  keys
    .command('rotate')
    .description('make a new signing key; old public keys stay in the JWKS until their tokens have expired')
    .addOption(dataOption())
    .addOption(configOption())
    .addOption(databaseOption())
    .addOption(redisOption())
    .addOption(redisPrefixOption())
    .addOption(kekFileOption())
    .action(async (options: StoreOptions) => {
      const tessera = await openTessera(options);
      try {
        const key = await tessera.signingKeys.rotate(cliActor()).catch((error: unknown) => {
          throw error instanceof KeyEncryptionError ? new ConfigError(error.message) : error;
        });
        console.log(`New signing key ${key.kid} (${key.alg}). Running nodes pick it up within 30 s.`);
      } finally {
        await tessera.close();
      }
    });
  keys
    .command('reencrypt')
    .description('seal every signing private key under the key-encryption key (TESSERA_KEK / --kek-file): plain ones, and ones under the previous KEK')
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(kekFileOption())
    .addOption(previousKekFileOption())
    .action(async (options: StoreOptions) => {
      if (!keyEncryptionOf(options)) throw new ConfigError('keys reencrypt needs the key-encryption key: TESSERA_KEK or --kek-file.');
      const tessera = await openTessera(options);
      try {
        const changed = await tessera.signingKeys.reencrypt().catch((error: unknown) => {
          throw error instanceof KeyEncryptionError ? new ConfigError(error.message) : error;
        });
        console.log(`Sealed ${changed} signing key(s) under the current key-encryption key.`);
      } finally {
        await tessera.close();
      }
    });
  return keys;
}
