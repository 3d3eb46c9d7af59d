import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replaceErrorTable } from '../../../scripts/readme-table.js';
import { errorCatalogue } from '../src/core/error-catalogue.js';

describe('README', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  it('opens with the two commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });

  it('has the error table generated from the catalogue (run `npm run docs` after changing it)', () => {
    expect(replaceErrorTable(readme)).toBe(readme);
    for (const code of Object.keys(errorCatalogue)) expect(readme).toContain(`| \`${code}\` |`);
  });
});
