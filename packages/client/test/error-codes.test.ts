import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientCodesPath, renderClientErrorCodes } from '../../../scripts/generate-client-codes.js';
import { errorCatalogue } from '../../server/src/core/error-catalogue.js';
import { realtimeCloseCodes } from '../../server/src/realtime/close-codes.js';
import { tesseraCloseCodes } from '../src/error-codes.js';
import { isSessionEndCode, sessionEndCodes, type TesseraErrorCode, tesseraErrorCodes, tesseraErrorStatus } from '../src/index.js';

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

describe('generated session-end and close codes', () => {
  it('end the client session exactly on the catalogue codes that say so', () => {
    const ending = Object.entries(errorCatalogue)
      .filter(
        ([, definition]) => ('endsSession' in definition && definition.endsSession) || ('endsClientSession' in definition && definition.endsClientSession),
      )
      .map(([code]) => code);
    expect([...sessionEndCodes].sort()).toEqual(ending.sort());
    expect(sessionEndCodes.slice(0, 3)).toEqual(['session_expired', 'session_revoked', 'session_not_found']);
    for (const code of ending) expect(isSessionEndCode(code as TesseraErrorCode)).toBe(true);
    expect(isSessionEndCode('token_expired')).toBe(false);
  });

  it('close sockets with the server close codes', () => {
    expect(tesseraCloseCodes).toEqual(realtimeCloseCodes);
  });
});
