import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config.js';
import { TesseraError } from '../core/errors.js';
import { packageVersion } from '../core/package-version.js';
import { apiKeysCommand } from './api-keys.js';
import { auditCommand } from './audit.js';
import { keysCommand } from './keys.js';
import { purgeCommand } from './purge.js';
import { serveCommand } from './serve.js';
import { sessionsCommand } from './sessions.js';

/** The `tessera` command line: every command, not yet run (main.ts runs it on `process.argv`). */
export function tesseraProgram(): Command {
  return new Command()
    .name('tessera')
    .description('Sessions that never surprise the people who use them.')
    .version(packageVersion(), '-V, --version', 'print the version of @tessera/server')
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(keysCommand())
    .addCommand(sessionsCommand())
    .addCommand(apiKeysCommand())
    .addCommand(auditCommand())
    .addCommand(purgeCommand());
}

/** How the CLI ends on an error it can explain: one line on stderr, and this exit code. */
export interface CliFailure {
  readonly message: string;
  readonly exitCode: number;
}

/** The explanation of an error a command threw, or undefined for a bug (shown with its stack). */
export function cliFailure(error: unknown): CliFailure | undefined {
  if (error instanceof ConfigError || error instanceof InvalidArgumentError) return { message: error.message, exitCode: 2 };
  // A value the core refuses (a user id that cannot be one): the caller's mistake, said as the API says it.
  if (error instanceof TesseraError && error.code === 'invalid_request') return { message: error.message, exitCode: 2 };
  if (error instanceof TesseraError && error.code === 'service_unavailable') {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return { message: `the database cannot be reached${cause}`, exitCode: 1 };
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return { message: `cannot listen: ${(error as Error).message}`, exitCode: 1 };
  }
  return undefined;
}
