// What a user id may be, on both stores: every id the API accepts can be managed over real HTTP by a
// WHATWG URL client (create, list, revoke all), and text a store cannot keep as given (NUL, lone
// surrogates) is refused as `invalid_request` wherever a client hands it over, never a 500.
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { userIdProblem } from '../../src/core/user-id.js';
import { buildApp } from '../../src/http/app.js';
import { PostgresSessionStore } from '../../src/stores/postgres.js';
import { createTessera } from '../../src/tessera.js';
import { type Answer, call, startServer, storedSession, testApiKey } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../services.js';

const start = Date.UTC(2026, 0, 1, 9, 0, 0);

interface RunningServer {
  url: string;
  close(): Promise<void>;
}

async function startSqliteServer(): Promise<RunningServer> {
  const server = await startServer({ clock: new ManualClock(start) });
  return { url: server.url, close: () => server.close() };
}

let database: TestDatabase | undefined;

async function startPostgresServer(): Promise<RunningServer> {
  database ??= await createTestDatabase();
  const store = await PostgresSessionStore.open({ connectionString: database.url });
  const tessera = await createTessera({ store, clock: new ManualClock(start), config: parseConfig({}), apiKey: testApiKey, issuer: 'http://tessera.test' });
  const app = await buildApp(tessera);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await tessera.close();
    },
  };
}

afterAll(async () => {
  await database?.drop();
});

/** A request whose path goes on the wire exactly as written: no WHATWG normalisation of `%2e`, `..`. */
function rawRequest(base: string, method: string, path: string): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ hostname, port, method, path, headers: { authorization: `Bearer ${testApiKey}` }, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: new Headers(response.headers as Record<string, string>), text, body });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path} hung`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/**
 * Every UTF-8 byte percent-encoded by hand: encodeURIComponent throws on unpaired surrogates (sent
 * here as the bytes a careless encoder would produce, ED A0 80), and fetch would drop `.` and `..`.
 */
function percentEncoded(value: string): string {
  const bytes: number[] = [];
  for (const character of value) {
    const code = character.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else bytes.push(...Buffer.from(character, 'utf8'));
  }
  return bytes.map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

/** `invalid_request`, naming `field` when given. */
function expectInvalid(answer: Answer, field?: string): void {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body?.error, answer.text).toBe('invalid_request');
  if (field === undefined) return;
  expect(
    answer.body.details.map((detail: { field?: string }) => detail.field),
    answer.text,
  ).toContain(field);
}

/** Ids a user could have; each is unique per run by a suffix, so the shared PostgreSQL database never mixes them. */
const validIds: [string, (suffix: string) => string][] = [
  ['plain', (suffix) => `alice-${suffix}`],
  ['the longest allowed (256 characters)', (suffix) => `${suffix}-`.padEnd(256, 'x')],
  ['256 characters outside the BMP (512 UTF-16 units, 1,024 UTF-8 bytes)', (suffix) => `${suffix}-`.concat('😀'.repeat(256 - suffix.length - 1))],
  ['with a slash, percent signs and URL syntax', (suffix) => `a/b%2F..%2e%20?x=1#frag&${suffix}`],
  ['ending in dots', (suffix) => `${suffix}/..`],
  ['three dots', () => '...'],
  ['a leading dot', (suffix) => `.${suffix}`],
  ['spaces and non-ASCII', (suffix) => ` Zoë 李 ${suffix} `],
  ['an email address', (suffix) => `${suffix}+tag@example.com`],
];

/** Ids a WHATWG URL client could not send back in a path, or a store could not keep as given. */
const invalidIds: [string, string][] = [
  ['empty', ''],
  ['a single dot', '.'],
  ['two dots', '..'],
  ['257 characters', 'u'.repeat(257)],
  ['a NUL', 'alice\u0000'],
  ['a lone high surrogate', 'alice\ud800'],
  ['a lone low surrogate', '\udc00alice'],
  ['a newline', 'alice\nbob'],
  ['a DEL', 'alice\u007f'],
  ['a C1 control', 'alice\u0085'],
];

describe.each([
  ['SQLite', startSqliteServer],
  ['PostgreSQL', startPostgresServer],
])('user ids on %s', (_store, startNode) => {
  // One server per store: every test's ids are its own (a suffix, or refused), as on the PostgreSQL
  // database that was shared all along.
  let server: RunningServer;
  let suffix: string;
  beforeAll(async () => {
    server = await startNode();
    suffix = Math.random().toString(36).slice(2, 10);
  });
  afterAll(async () => server?.close());

  const manage = (path: string, method = 'GET', body?: unknown) => call(`${server.url}${path}`, { method, token: testApiKey, body });
  const userPath = (userId: string) => `/v1/users/${encodeURIComponent(userId)}/sessions`;

  it.each(validIds)('a valid id round-trips through every route: %s', async (_name, makeId) => {
    const userId = makeId(suffix);
    expect([...userId].length).toBeLessThanOrEqual(256);
    const created = await manage('/v1/sessions', 'POST', { user_id: userId });
    expect(created.status, created.text).toBe(201);
    expect(created.body.session.user_id).toBe(userId);
    const sessionId: string = created.body.session.id;

    const active = await manage(userPath(userId));
    expect(active.status, active.text).toBe(200);
    expect(active.body.sessions.map((session: { id: string; user_id: string }) => [session.id, session.user_id])).toEqual([[sessionId, userId]]);
    const all = await manage(`${userPath(userId)}?status=all`);
    expect(all.status, all.text).toBe(200);
    expect(all.body.sessions.map((session: { id: string }) => session.id)).toEqual([sessionId]);
    const one = await manage(`/v1/sessions/${sessionId}`);
    expect(one.body.user_id).toBe(userId);
    // The end user's own view and the token's subject, as the API key holder's introspection sees it.
    const own = await call(`${server.url}/v1/session`, { token: created.body.access_token });
    expect(own.body.session?.user_id, own.text).toBe(userId);
    const introspected = await call(`${server.url}/oauth/introspect`, {
      token: testApiKey,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      rawBody: new URLSearchParams({ token: created.body.refresh_token }).toString(),
    });
    expect(introspected.body, introspected.text).toMatchObject({ active: true, sub: userId, sid: sessionId });

    const revoked = await manage(userPath(userId), 'DELETE');
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.revoked).toBe(1);
    expect(revoked.body.sessions[0].user_id).toBe(userId);
    const after = await manage(userPath(userId));
    expect(after.body.sessions).toEqual([]);
    const feed = await manage('/v1/revocations');
    expect(feed.status, feed.text).toBe(200);
    expect(feed.body.revocations.find((revocation: { session_id: string }) => revocation.session_id === sessionId)?.user_id).toBe(userId);
  });

  it.each(invalidIds)('an id with %s is refused at creation, naming user_id', async (_name, userId) => {
    expectInvalid(await manage('/v1/sessions', 'POST', { user_id: userId }), 'user_id');
  });

  it.each(invalidIds.filter(([, id]) => id !== ''))('an id with %s is refused by the listing and revoke-all routes', async (_name, userId) => {
    for (const method of ['GET', 'DELETE']) {
      const answer = await rawRequest(server.url, method, `/v1/users/${percentEncoded(userId)}/sessions`);
      // An unpaired surrogate has no UTF-8 form: the router refuses its bytes before any route runs.
      expectInvalid(answer, /\p{Cs}/u.test(userId) ? undefined : 'user_id');
    }
  });

  it('a session id with a NUL is invalid_request on read and revoke, not a 500', async () => {
    for (const method of ['GET', 'DELETE']) {
      const answer = await rawRequest(server.url, method, '/v1/sessions/ses_%00');
      expectInvalid(answer, 'id');
    }
  });

  it('any string: created and managed when the rule allows it, invalid_request when not, never a 5xx', async () => {
    const userIds = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.string({ unit: 'grapheme', minLength: 250, maxLength: 260 }),
      fc.constantFrom('.', '..', '...', './', '%2e', '%2E%2e', '\u0000', '\ud800', 'a\u0085'),
    );
    await fc.assert(
      fc.asyncProperty(userIds, async (candidate) => {
        const userId = `${candidate}`;
        const created = await manage('/v1/sessions', 'POST', { user_id: userId });
        expect(created.status, created.text).toBeLessThan(500);
        if (userIdProblem(userId) !== undefined) {
          expectInvalid(created, 'user_id');
          return;
        }
        expect(created.status, created.text).toBe(201);
        const listed = await manage(userPath(userId));
        expect(listed.status, listed.text).toBe(200);
        expect(listed.body.sessions.map((session: { id: string }) => session.id)).toContain(created.body.session.id);
        const revoked = await manage(userPath(userId), 'DELETE');
        expect(revoked.status, revoked.text).toBe(200);
        expect(revoked.body.revoked).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('metadata strings with NUL and lone surrogates are kept as given', async () => {
    const metadata = { nul: 'a\u0000b', lone: 'x\ud800y', ['k\u0000\udfff']: ['\udc00'] };
    const created = await manage('/v1/sessions', 'POST', { user_id: `meta-${suffix}`, metadata });
    expect(created.status, created.text).toBe(201);
    const read = await manage(`/v1/sessions/${created.body.session.id}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body.metadata).toEqual(metadata);
  });
});

describe('a user id stored before the rule', () => {
  it("does not stop the user's own sign-out elsewhere (the id comes from the store, not a client)", async () => {
    const server = await startServer({ clock: new ManualClock(start) });
    try {
      const legacyUser = 'legacy\nuser';
      const legacy = (id: string) => storedSession(id, start, { userId: legacyUser });
      for (const id of ['ses_legacyphone', 'ses_legacylaptop']) {
        await server.store.createSession(legacy(id), { hash: `hash-${id}`, sessionId: id, issuedAt: start, spentAt: null, sealedSuccessor: null });
      }
      // A genuine token of the legacy phone session, as one issued before the rule would be.
      const genuine = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'someone-else' } });
      const key = await server.tessera.signingKeys.currentKey();
      const claims = { ...decodeJwt(genuine.body.access_token), sub: legacyUser, sid: 'ses_legacyphone' };
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }).sign(key.privateKey);

      const signedOut = await call(`${server.url}/v1/session/logout-others`, { method: 'POST', token });
      expect(signedOut.status, signedOut.text).toBe(200);
      expect(signedOut.body).toEqual({ revoked: 1, session_ids: ['ses_legacylaptop'] });
      expect((await server.store.getSession('ses_legacyphone'))?.revokedAt).toBeNull();
    } finally {
      await server.close();
    }
  });
});
