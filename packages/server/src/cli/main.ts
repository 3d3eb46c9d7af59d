#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config.js';
import { TesseraError } from '../core/errors.js';
import { apiKeysCommand } from './api-keys.js';
import { keysCommand } from './keys.js';
import { serveCommand } from './serve.js';
import { sessionsCommand } from './sessions.js';

const program = new Command().name('tessera').description('Sessions that never surprise the people who use them.').showHelpAfterError();

program.addCommand(serveCommand());
program.addCommand(keysCommand());
program.addCommand(sessionsCommand());
program.addCommand(apiKeysCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError || error instanceof InvalidArgumentError) {
    console.error(`tessera: ${error.message}`);
    process.exit(2);
  }
  // A value the core refuses (a user id that cannot be one): the caller's mistake, said as the API says it.
  if (error instanceof TesseraError && error.code === 'invalid_request') {
    console.error(`tessera: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof TesseraError && error.code === 'service_unavailable') {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    console.error(`tessera: the database cannot be reached${cause}`);
    process.exit(1);
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    console.error(`tessera: cannot listen: ${(error as Error).message}`);
    process.exit(1);
  }
  throw error;
}
