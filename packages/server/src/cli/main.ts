#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config.js';
import { keysCommand } from './keys.js';
import { serveCommand } from './serve.js';
import { sessionsCommand } from './sessions.js';

const program = new Command()
  .name('tessera')
  .description('Sessions that never surprise the people who use them.')
  .showHelpAfterError();

program.addCommand(serveCommand());
program.addCommand(keysCommand());
program.addCommand(sessionsCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError || error instanceof InvalidArgumentError) {
    console.error(`tessera: ${error.message}`);
    process.exit(2);
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    console.error(`tessera: cannot listen: ${(error as Error).message}`);
    process.exit(1);
  }
  throw error;
}
