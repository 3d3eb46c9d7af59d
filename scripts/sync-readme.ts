// Rewrites the error table in README.md from the one catalogue: `npm run docs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceErrorTable } from './readme-table.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, replaceErrorTable(readFileSync(path, 'utf8')));
console.log('README.md error table is in sync with the catalogue.');
