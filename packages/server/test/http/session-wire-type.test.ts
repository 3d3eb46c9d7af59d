// The SESSION object is built by the server (`representation.ts`), described by its answer schema,
// and typed by hand once, in the client SDK, whose type the admin console imports. The compiler
// checks this file (`npm run typecheck`): a field added, renamed or retyped on one side fails here.
import type { SessionInfo } from '@tessera/client';
import type { Static } from 'typebox';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { SessionView } from '../../admin/src/management-api.js';
import { SessionAnswer } from '../../src/http/answer-schemas.js';
import { sessionJson } from '../../src/http/representation.js';
import { storedSession } from '../helpers.js';

type ServerSession = ReturnType<typeof sessionJson>;
type SchemaSession = Static<typeof SessionAnswer>;

describe('the SESSION wire type', () => {
  it('the client type has exactly the fields the server sends, and the server fits it', () => {
    expectTypeOf<keyof SessionInfo>().toEqualTypeOf<keyof ServerSession>();
    expectTypeOf<ServerSession>().toMatchTypeOf<SessionInfo>();
  });

  it('the answer schema describes the same fields, and what it allows fits the client type', () => {
    expectTypeOf<keyof SchemaSession>().toEqualTypeOf<keyof SessionInfo>();
    expectTypeOf<SchemaSession>().toMatchTypeOf<SessionInfo>();
  });

  it('the admin console reads the client type itself', () => {
    expectTypeOf<SessionView>().toEqualTypeOf<SessionInfo>();
  });

  it('a session the server renders has the schema fields, no more, no fewer', () => {
    const now = Date.UTC(2026, 0, 1, 9, 0, 0);
    const rendered = sessionJson(storedSession('ses_1', now), now);
    expect(Object.keys(rendered).sort()).toEqual(Object.keys(SessionAnswer.properties).sort());
  });
});
