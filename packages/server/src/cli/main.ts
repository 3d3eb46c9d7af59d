#!/usr/bin/env node
import { cliFailure, tesseraProgram } from './program.js';

try {
  await tesseraProgram().parseAsync(process.argv);
} catch (error) {
  const failure = cliFailure(error);
  if (!failure) throw error;
  console.error(`tessera: ${failure.message}`);
  process.exit(failure.exitCode);
}
