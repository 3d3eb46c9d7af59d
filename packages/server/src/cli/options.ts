import { InvalidArgumentError, Option } from 'commander';
import { loadConfigFile, defaultConfig, type TesseraConfig } from '../config.js';
import { openStore } from '../stores/open-store.js';
import { createTessera, type Tessera } from '../tessera.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`not a port: ${value}`);
  return port;
}

export const dataOption = () => new Option('--data <dir>', 'folder of the embedded store').default('./.tessera');
export const configOption = () => new Option('--config <file>', 'JSON config file (flows, issuer, audience, body_limit)');

/** The core on the configured store, for commands that work without the HTTP server. */
export async function openTessera(options: { data: string; config?: string }): Promise<Tessera> {
  const config: TesseraConfig = options.config ? loadConfigFile(options.config) : defaultConfig;
  return createTessera({ store: openStore({ dataDir: options.data }), config });
}
