import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientCodesPath, renderClientErrorCodes } from '../../../scripts/generate-client-codes.js';
import { errorCatalogue } from '../../server/src/core/error-catalogue.js';
import { tesseraErrorCodes, tesseraErrorStatus } from '../src/index.js';

describe('generated error codes', () => {
  it('match the server catalogue (run `node --import tsx scripts/generate-client-codes.ts` after changing it)', () => {
    expect(readFileSync(clientCodesPath, 'utf8')).toBe(renderClientErrorCodes());
  });

  it('name every catalogue code with its status, in order', () => {
    expect(tesseraErrorCodes).toEqual(Object.keys(errorCatalogue));
    for (const [code, definition] of Object.entries(errorCatalogue)) {
      expect(tesseraErrorStatus[code as keyof typeof tesseraErrorStatus]).toBe(definition.status);
    }
  });
});
