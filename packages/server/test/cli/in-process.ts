import { format } from 'node:util';
import { type Command, CommanderError } from 'commander';
import { cliFailure, tesseraProgram } from '../../src/cli/program.js';

/**
 * `tessera ARGS…` run inside the test process, for the many cases the CLI refuses before it would do
 * anything: a spawn costs about a second of CPU, this a few milliseconds. Output, exit code and
 * environment are those of a real run (the same program and the same error explanations as main.ts);
 * each command is still run as a real process in the other tests, and so is main.ts's way of exiting.
 * Runs one at a time, since it borrows the console, process.env and process.exitCode.
 */
export function runInProcess(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = queue.then(() => runNow(args, env));
  queue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

let queue: Promise<void> = Promise.resolve();

/** Settings a developer's shell might carry that would change what the CLI does (as the harness drops them). */
const inheritedSettings = ['PORT', 'HOST', 'LOG_LEVEL', 'LOG_REQUESTS', 'TESSERA_API_KEY', 'TESSERA_ISSUER', 'DATABASE_URL', 'REDIS_URL'];

async function runNow(args: string[], env: Record<string, string | undefined>) {
  let stdout = '';
  let stderr = '';
  const program = tesseraProgram();
  const everyCommand = (command: Command): Command[] => [command, ...command.commands.flatMap(everyCommand)];
  for (const command of everyCommand(program)) {
    command.exitOverride().configureOutput({ writeOut: (text) => (stdout += text), writeErr: (text) => (stderr += text) });
  }
  const saved = { log: console.log, error: console.error, exitCode: process.exitCode, env: { ...process.env } };
  console.log = (...parts: unknown[]) => (stdout += `${format(...parts)}\n`);
  console.error = (...parts: unknown[]) => (stderr += `${format(...parts)}\n`);
  process.exitCode = undefined;
  for (const name of inheritedSettings) delete process.env[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } catch (error) {
    // What a command threw, main.ts explains (an InvalidArgumentError too: a CommanderError, but not
    // one of commander's own exits).
    const failure = cliFailure(error);
    if (failure) {
      stderr += `tessera: ${failure.message}\n`;
      return { code: failure.exitCode, stdout, stderr };
    }
    // Commander's own refusal, where main.ts would have exited: it has written its message already.
    if (error instanceof CommanderError) return { code: error.exitCode, stdout, stderr };
    throw error;
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.exitCode = saved.exitCode;
    for (const name of Object.keys(process.env)) if (!(name in saved.env)) delete process.env[name];
    Object.assign(process.env, saved.env);
  }
}
