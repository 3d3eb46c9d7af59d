// The demo backend's API with hostile and ordinary input, over real HTTP against a real Tessera.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceName, userNameRule } from '../server/demo-backend.js';
import { type RunningExample, startExample } from '../server/start.js';

let example: RunningExample;
let dataDir: string;
let app: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-demo-'));
  example = await startExample({ tesseraPort: 0, appPort: 0, dataDir });
  app = example.appUrl.replace('localhost', '127.0.0.1');
});

afterAll(async () => {
  await example?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const signIn = (body: unknown) =>
  fetch(`${app}/demo/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0' },
    body: JSON.stringify(body),
  });

describe('the demo backend', () => {
  it('signs a name in through the management API and hands the grant over; the API key never leaves', async () => {
    const response = await signIn({ user_name: 'dave', flow: 'default' });
    expect(response.status).toBe(201);
    const text = await response.text();
    expect(text).not.toContain(example.apiKey);
    const grant = JSON.parse(text) as { session: { user_id: string; flow: string; metadata: { device: string } }; access_token: string; refresh_token: string };
    expect(grant.session).toMatchObject({ user_id: 'dave', flow: 'default', metadata: { device: 'Chrome on Linux' } });

    const listed = await fetch(`${app}/demo/my-sessions`, { headers: { authorization: `Bearer ${grant.access_token}` } });
    expect(listed.status).toBe(200);
    const { sessions } = (await listed.json()) as { sessions: { current: boolean; device: string }[] };
    expect(sessions).toEqual([expect.objectContaining({ current: true, device: 'Chrome on Linux' })]);
  });

  it("refuses a revoked session's still-unexpired token within a second (the verifier reads Tessera's revocations)", async () => {
    const grant = (await (await signIn({ user_name: 'gina', flow: 'default' })).json()) as { session: { id: string }; access_token: string };
    const mySessions = () => fetch(`${app}/demo/my-sessions`, { headers: { authorization: `Bearer ${grant.access_token}` } });
    expect((await mySessions()).status).toBe(200);
    const direct = example.tesseraUrl.replace('localhost', '127.0.0.1');
    const revoked = await fetch(`${direct}/v1/sessions/${grant.session.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${example.apiKey}` } });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    await expect.poll(async () => (await mySessions()).status, { timeout: 3000, interval: 20 }).toBe(401);
    expect(Date.now() - started).toBeLessThan(1000);
    // The 15-minute token has not expired: the answer says why it is refused.
    expect(await (await mySessions()).json()).toMatchObject({ error: 'session_revoked', details: [{ reason: 'admin' }] });
  });

  it('uses the demo flow unless told otherwise', async () => {
    const response = await signIn({ user_name: 'erin' });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { session: { flow: string } }).session.flow).toBe('demo');
  });

  const otherwiseMalformed = 'A sign-in is sent as { "user_name": "…", "flow": "…" }, with nothing else in it.';
  it.each([
    ['no name', {}, userNameRule],
    ['an empty name', { user_name: '' }, userNameRule],
    ['a name that is not a string', { user_name: 42 }, userNameRule],
    ['a name with markup', { user_name: '<img src=x onerror=alert(1)>' }, userNameRule],
    ['a name with a space', { user_name: 'frank jones' }, userNameRule],
    ['a name too long', { user_name: 'a'.repeat(65) }, userNameRule],
    ['an unknown flow', { user_name: 'frank', flow: 'admin' }, 'Unknown flow "admin".'],
    ['an extra field', { user_name: 'frank', role: 'admin' }, otherwiseMalformed],
    ['a body that is not an object', ['frank'], otherwiseMalformed],
  ])('refuses %s with 400 in plain words, creating nothing', async (_case, body, message) => {
    const response = await signIn(body);
    expect(response.status).toBe(400);
    // The words the sign-in form shows, not the validator's ("body/user_name must match pattern …").
    expect(await response.json()).toEqual({ error: 'invalid_request', message });
    const direct = example.tesseraUrl.replace('localhost', '127.0.0.1');
    const listed = await fetch(`${direct}/v1/users/frank/sessions`, { headers: { authorization: `Bearer ${example.apiKey}` } });
    expect(await listed.json()).toEqual({ sessions: [], next_cursor: null, total: 0 });
  });

  it('refuses a huge body and non-JSON without a 500', async () => {
    const huge = await fetch(`${app}/demo/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_name: 'x'.repeat(100_000) }),
    });
    expect(huge.status).toBe(413);
    const garbage = await fetch(`${app}/demo/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user_name":' });
    expect(garbage.status).toBe(400);
  });

  it("answers the app's own API with Tessera's envelope when the token is missing or forged", async () => {
    const missing = await fetch(`${app}/demo/my-sessions`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: 'token_missing' });

    const forged = await fetch(`${app}/demo/my-sessions`, { headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' } });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: 'token_invalid' });
  });

  it('serves the page with a content security policy that admits only itself and Tessera', async () => {
    const page = await fetch(`${app}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain(`ws://localhost:${new URL(example.tesseraUrl).port}`);
    expect(policy).not.toContain('unsafe-inline');
    expect(await (await fetch(`${app}/demo/config`)).json()).toMatchObject({ tessera_port: Number(new URL(example.tesseraUrl).port) });
  });

  it('names devices from their user agents', () => {
    expect(deviceName('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0')).toBe(
      'Edge on Windows',
    );
    expect(
      deviceName('Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1'),
    ).toBe('Safari on iOS');
    expect(deviceName('Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0')).toBe('Firefox on macOS');
    expect(deviceName('curl/8.5.0')).toBe('curl');
    expect(deviceName(undefined)).toBe('unknown device');
  });
});
