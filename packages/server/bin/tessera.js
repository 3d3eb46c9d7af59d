#!/usr/bin/env node
// Runs the CLI, compiled and bundled into one file; `npm install` builds it (the root `prepare` script).
import '../dist/cli/tessera.js';
