import { Command } from 'commander';
import { configOption, dataOption, databaseOption, openTessera, redisOption, redisPrefixOption, type StoreOptions } from './options.js';

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
    .action(async (options: StoreOptions) => {
      const tessera = await openTessera(options);
      try {
        const key = await tessera.signingKeys.rotate();
        console.log(`New signing key ${key.kid} (${key.alg}). Running nodes pick it up within 30 s.`);
      } finally {
        await tessera.close();
      }
    });
  return keys;
}
