import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteSessionStore } from '../../server/src/stores/sqlite.js';
import { createTessera } from '../../server/src/tessera.js';
import { call, send, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';
import { ManualClock } from '../src/clock.js';
import { createVerifier, type Verifier } from '../src/index.js';

/** A rotation seen from everywhere: the server, a verifier that cached the old JWKS, a fresh one, introspection. */
const issuer = 'http://tessera.test';
let server: TestServer;

function verifierFor(target: TestServer): Verifier {
  return createVerifier({
    issuer,
    audience: 'tessera',
    clock: target.clock,
    clockTolerance: 0,
    jwksCooldown: 0,
    fetch: (url, init) => fetch(url.replace(issuer, target.url), init),
  });
}

async function createSession(userId: string) {
  const created = await call(`${server.url}/v1/sessions`, { body: { user_id: userId }, token: testApiKey });
  expect(created.status).toBe(201);
  return created.body as { access_token: string; refresh_token: string };
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const jwksKids = async () => ((await call(`${server.url}/.well-known/jwks.json`)).body.keys as { kid: string }[]).map((key) => key.kid).sort();
const serverAnswer = async (token: string) => {
  const answer = await call(`${server.url}/v1/session`, { token });
  return answer.status === 200 ? 'ok' : answer.body.error;
};
const verifierAnswer = async (verifier: Verifier, token: string) =>
  verifier.verify(token).then(
    () => 'ok',
    (error: { code: string }) => error.code,
  );
const introspect = async (token: string) =>
  (
    await send(`${server.url}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testApiKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    })
  ).body.active;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

describe('signing key rotation, end to end', () => {
  it('old tokens verify until they expire, at the server and in verifiers; then the retired key leaves the JWKS', async () => {
    const before = await createSession('alice');
    const oldKid = kidOf(before.access_token);
    const cachedVerifier = verifierFor(server);
    expect(await verifierAnswer(cachedVerifier, before.access_token)).toBe('ok'); // caches a JWKS holding only the old key

    await server.tessera.signingKeys.rotate();
    server.clock.advance(60);
    const after = await createSession('bob');
    const newKid = kidOf(after.access_token);
    expect(newKid).not.toBe(oldKid);
    expect(await jwksKids()).toEqual([oldKid, newKid].sort());

    // Both generations verify everywhere; the cached verifier refetches for the unknown kid.
    const freshVerifier = verifierFor(server);
    for (const token of [before.access_token, after.access_token]) {
      expect(await serverAnswer(token)).toBe('ok');
      expect(await verifierAnswer(cachedVerifier, token)).toBe('ok');
      expect(await verifierAnswer(freshVerifier, token)).toBe('ok');
      expect(await introspect(token)).toBe(true);
    }

    // The old token ends by expiring, like any other: token_expired, not token_invalid.
    server.clock.advance(900 - 60);
    expect(await serverAnswer(before.access_token)).toBe('token_expired');
    expect(await verifierAnswer(cachedVerifier, before.access_token)).toBe('token_expired');
    expect(await serverAnswer(after.access_token)).toBe('ok');

    // A refresh (over OAuth) signs with the new key.
    const refreshed = await send(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.refresh_token }).toString(),
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(kidOf(refreshed.body.access_token)).toBe(newKid);

    // Past the longest access-token lifetime (plus the reload margin), the retired key is gone.
    server.clock.advance(61);
    expect(await jwksKids()).toEqual([newKid]);
    // The server may still recognise the token it verified before (token_expired); never accepted again.
    expect(await serverAnswer(before.access_token)).toMatch(/^token_(expired|invalid)$/);
    expect(await verifierAnswer(verifierFor(server), before.access_token)).toBe('token_invalid');
    expect(await introspect(before.access_token)).toBe(false);
    expect(await verifierAnswer(verifierFor(server), refreshed.body.access_token)).toBe('ok');
    expect(await verifierAnswer(cachedVerifier, refreshed.body.access_token)).toBe('ok');
  });
});

describe('rotation by a process that does not know the flows (keys rotate without --config)', () => {
  const twoHours = { flows: { default: { access_token_ttl: 7200 } } };

  it('keeps the old key verifying for the longest lifetime the nodes sign for, on running and fresh nodes alike', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const node = await startServer({ clock, config: twoHours });
    const others: { close(): Promise<void> }[] = [];
    try {
      const created = await call(`${node.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
      const token = created.body.access_token as string;
      expect(Date.parse(created.body.access_token_expires_at) - clock.now()).toBe(7_200_000);
      expect((await call(`${node.url}/v1/session`, { token })).status).toBe(200);

      // What `tessera keys rotate --data DIR` runs: the store and the default flows (900 s tokens).
      const cli = await createTessera({ store: new SqliteSessionStore(join(node.dir, 'tessera.db')), clock, listen: false });
      await cli.signingKeys.rotate();
      await cli.close();

      clock.advance(3600);
      const fresh = await startServer({ clock, config: twoHours, dir: node.dir });
      others.push(fresh);
      await node.tessera.signingKeys.reload();
      expect((await call(`${fresh.url}/v1/session`, { token })).status).toBe(200);
      expect((await call(`${node.url}/v1/session`, { token })).status).toBe(200);
      clock.advance(3600);
      expect((await call(`${fresh.url}/v1/session`, { token })).body.error).toBe('token_expired');
    } finally {
      for (const other of others) await other.close();
      await node.close();
    }
  });

  it('a node refuses a token it verified before once its key may no longer verify, as a fresh node does', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
    const node = await startServer({ clock });
    try {
      const created = await call(`${node.url}/v1/sessions`, { body: { user_id: 'alice' }, token: testApiKey });
      const token = created.body.access_token as string;
      expect((await call(`${node.url}/v1/session`, { token })).status).toBe(200);
      // An emergency retirement (a leaked key): it stops verifying in one second, not after its tokens.
      const keys = await node.store.listSigningKeys();
      await node.store.addSigningKey({ ...keys[0]!, kid: 'emergency-key', createdAt: clock.now(), longestTokenTtl: 900 }, clock.now() + 1000);
      await node.tessera.signingKeys.reload();
      clock.advance(2);
      const fresh = await startServer({ clock, dir: node.dir });
      try {
        expect((await call(`${fresh.url}/v1/session`, { token })).body.error).toBe('token_invalid');
      } finally {
        await fresh.close();
      }
      expect((await call(`${node.url}/v1/session`, { token })).body.error).toBe('token_invalid');
    } finally {
      await node.close();
    }
  });
});
