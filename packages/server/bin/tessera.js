#!/usr/bin/env node
// Runs the compiled CLI; `npm install` builds it (the root `prepare` script).
import '../dist/cli/main.js';
