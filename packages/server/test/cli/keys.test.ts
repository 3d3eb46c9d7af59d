import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers.js';
import { cleanupDirs, dataDir, eventually, jwtHeader, killAll, runTessera, type ServeHandle, serve } from './harness.js';

afterAll(async () => {
  await killAll();
  cleanupDirs();
});

const key = 'tsk_keys_key_0123456789abcdefghijklmnop';
const issuer = 'http://tessera.keys.test';
// One issuer for both nodes on the data dir, so each accepts the other's tokens.
const serveArgs = (data: string) => ['--port', '0', '--host', '127.0.0.1', '--data', data, '--api-key', key, '--issuer', issuer];

// One rotation, made while a node runs on the folder, and what each test checks of it. The node signs
// two-hour access tokens, longer than the default flows the CLI knows of.
describe('tessera keys rotate, while a server runs on the same --data', () => {
  let data: string;
  let running: ServeHandle;
  let before: { access_token: string };
  let oldKid: string;
  let newKid: string;
  let rotatedAt: number;

  beforeAll(async () => {
    data = dataDir();
    const config = join(data, 'two-hours.json');
    writeFileSync(config, JSON.stringify({ flows: { default: { access_token_ttl: 7200 } } }));
    running = await serve([...serveArgs(data), '--config', config]);
    const created = await call(`${running.url}/v1/sessions`, { body: { user_id: 'alice' }, token: key });
    expect(created.status).toBe(201);
    before = created.body;
    oldKid = jwtHeader(before.access_token).kid as string;
    expect((await call(`${running.url}/.well-known/jwks.json`)).body.keys.map((jwk: { kid: string }) => jwk.kid)).toEqual([oldKid]);

    rotatedAt = Date.now();
    const rotated = await runTessera(['keys', 'rotate', '--data', data]);
    expect(rotated.code, rotated.stderr).toBe(0);
    newKid = rotated.stdout.match(/New signing key (\S+) \(ES256\)/)?.[1] as string;
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
  });

  it('new-key tokens are accepted, old-key tokens still verify', async () => {
    // A node started after the rotation signs with the new key.
    const fresh = await serve(serveArgs(data));
    const after = await call(`${fresh.url}/v1/sessions`, { body: { user_id: 'bob' }, token: key });
    expect(after.status).toBe(201);
    expect(jwtHeader(after.body.access_token).kid).toBe(newKid);
    const freshKids = (await call(`${fresh.url}/.well-known/jwks.json`)).body.keys.map((jwk: { kid: string }) => jwk.kid);
    expect(freshKids.sort()).toEqual([oldKid, newKid].sort());

    // The node that was running accepts the new key's token (an unknown kid makes it re-read the keys)…
    await eventually(async () => (await call(`${running.url}/v1/session`, { token: after.body.access_token })).status === 200, 3_000);
    const whoami = await call(`${running.url}/v1/session`, { token: after.body.access_token });
    expect(whoami.body.session.user_id).toBe('bob');
    // …then lists both keys…
    const runningKids = (await call(`${running.url}/.well-known/jwks.json`)).body.keys.map((jwk: { kid: string }) => jwk.kid);
    expect(runningKids.sort()).toEqual([oldKid, newKid].sort());
    // …and the old key's tokens still verify on both nodes.
    expect((await call(`${running.url}/v1/session`, { token: before.access_token })).status).toBe(200);
    expect((await call(`${fresh.url}/v1/session`, { token: before.access_token })).status).toBe(200);
  });

  it('without --config keeps the old key for the longest token lifetime the running nodes sign for', () => {
    const db = new Database(join(data, 'tessera.db'), { readonly: true });
    const row = db.prepare('SELECT verify_until FROM signing_keys WHERE kid = ?').get(oldKid) as { verify_until: number };
    db.close();
    // Two hours (what the node signs for), not the 15 minutes of the default flows the CLI knows.
    expect(row.verify_until).toBeGreaterThanOrEqual(rotatedAt + 7_200_000);
  });

  it('a token with a kid no node has is still refused', async () => {
    const [, payload, signature] = before.access_token.split('.');
    const header = Buffer.from(JSON.stringify({ ...jwtHeader(before.access_token), kid: '01NOSUCHKID0000000000000000' })).toString('base64url');
    const forged = await call(`${running.url}/v1/session`, { token: `${header}.${payload}.${signature}` });
    expect(forged.status).toBe(401);
    expect(forged.body.error).toBe('token_invalid');
  });
});
