// Issue 18's proof: a session bound to a DPoP key the page keeps in IndexedDB, against the real
// server in real Chromium. The page keeps refreshing across a reload, a second tab and a night asleep;
// tokens an attacker copies out of the page (here: read from localStorage, as an XSS would) are
// refused when replayed from Node without the key, and the flow's `dpop_misuse` decides what then
// happens to the session.
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FastForwardClock } from '../../server/src/core/clock.js';
import { launchChromium } from '../../server/test/chromium.js';
import { call, send, startServer, type TestServer, testApiKey } from '../../server/test/helpers.js';
import type { SessionClient, TokenGrant } from '../src/index.js';
import { bundleForBrowser } from './browser-bundle.js';
import { dueIn, heard, leeway, type Origin, openClient, passTime, refreshedAtLeast, refreshPath, startOrigin } from './browser-harness.js';

let bundle: string;
let browser: Browser;
let server: TestServer | null = null;
let origin: Origin | null = null;
let context: BrowserContext | null = null;

beforeAll(async () => {
  bundle = await bundleForBrowser(new URL('../src/index.ts', import.meta.url));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await context?.close();
  context = null;
  await origin?.close();
  origin = null;
  await server?.close();
  server = null;
});

/** What a script running in the page can read: the tokens the SDK keeps in localStorage. */
async function copiedOutOf(page: Page): Promise<{ refreshToken: string; accessToken: string }> {
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  const refreshToken = /(rt_[\w-]+)/.exec(stored)?.[1];
  const accessToken = /(eyJ[\w-]+\.[\w-]+\.[\w-]+)/.exec(stored)?.[1];
  if (!refreshToken || !accessToken) throw new Error(`no tokens in localStorage: ${stored.slice(0, 200)}`);
  return { refreshToken, accessToken };
}

/** A page of the app with the SDK on a DPoP key, its session kept in localStorage (refresh token included). */
async function openApp(): Promise<Page> {
  const page = await context!.newPage();
  await openClient(page, origin!.url, { leeway, storage: 'local-refresh', dpop: true });
  return page;
}

function clientIn(page: Page) {
  return {
    thumbprint: () => page.evaluate(() => ((globalThis as Record<string, unknown>).tessera as SessionClient).dpopThumbprint()),
    setSession: (grant: TokenGrant) => page.evaluate((grant) => ((globalThis as Record<string, unknown>).tessera as SessionClient).setSession(grant), grant),
    accessToken: () => page.evaluate(() => ((globalThis as Record<string, unknown>).tessera as SessionClient).getAccessToken()),
    /** GET /v1/session through the SDK's fetch: `Authorization: DPoP` and a proof with `ath`. */
    whoami: () =>
      page.evaluate(async () => {
        const response = await ((globalThis as Record<string, unknown>).tessera as SessionClient).fetch('/v1/session');
        return { status: response.status, body: await response.json() };
      }),
  };
}

describe('a DPoP-bound session in chromium', () => {
  it.each([
    ['refuse', 'the page keeps its session'],
    ['revoke', 'the session ends, and the page is told reuse_detected'],
  ] as const)('tokens copied out of the page are refused from Node without the key; with dpop_misuse "%s", %s', async (misuse, _outcome) => {
    const clock = new FastForwardClock();
    server = await startServer({
      clock,
      // The origin below is a proxy in front of Tessera: its X-Forwarded-Host names the URL the page called.
      config: { trust_proxy: ['loopback'], flows: { device: { dpop: 'required', dpop_misuse: misuse } } },
    });
    origin = await startOrigin(server.url, bundle);
    context = await browser.newContext();
    await context.clock.install({ time: clock.now() });

    // Sign-in: the page's key thumbprint goes to the app's backend, which starts the session bound to it.
    const first = await openApp();
    const jkt = await clientIn(first).thumbprint();
    const created = await call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: 'alice', flow: 'device', dpop_jkt: jkt } });
    expect(created.status).toBe(201);
    expect(decodeJwt(created.body.access_token).cnf).toEqual({ jkt });
    await clientIn(first).setSession(created.body as TokenGrant);

    // The page refreshes with its key, and its own API calls prove the key too.
    await passTime(context, clock, dueIn);
    await first.waitForFunction(refreshedAtLeast, 1);
    expect(await clientIn(first).whoami()).toMatchObject({ status: 200, body: { session: { id: created.body.session.id } } });

    // A reload, and a second tab opened later: the same key from IndexedDB, the session from localStorage.
    await first.reload();
    await openClient(first, origin.url, { leeway, storage: 'local-refresh', dpop: true });
    expect(await clientIn(first).thumbprint()).toBe(jkt);
    const second = await openApp();
    expect(await clientIn(second).thumbprint()).toBe(jkt);
    // A night asleep: the next token comes from a refresh with the key, whichever tab makes it (a
    // tab may already refresh as it wakes, while the clock moves).
    const refreshesBefore = origin.count(refreshPath);
    await passTime(context, clock, 8 * 3600);
    const morning = await clientIn(second).accessToken();
    expect(origin.count(refreshPath)).toBeGreaterThan(refreshesBefore);
    expect(decodeJwt(morning).cnf).toEqual({ jkt });
    expect(await clientIn(first).whoami()).toMatchObject({ status: 200 });

    // The theft: what the page's storage holds, replayed from Node.
    const stolen = await copiedOutOf(second);
    const asBearer = await send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${stolen.accessToken}` } });
    expect(asBearer.status).toBe(401);
    expect(asBearer.body).toMatchObject({ error: 'dpop_proof_invalid', details: [{ reason: 'missing' }] });
    // The thief's own key makes proofs that name the right URL, but not the session's key.
    const thief = await generateKeyPair('ES256');
    const thiefProof = await new SignJWT({ htm: 'POST', htu: `${server.url}${refreshPath}`, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(thief.publicKey) })
      .setIssuedAt(Math.floor(clock.now() / 1000))
      .sign(thief.privateKey);
    const withOtherKey = await call(`${server.url}${refreshPath}`, { body: { refresh_token: stolen.refreshToken }, headers: { dpop: thiefProof } });
    expect(withOtherKey.status).toBe(401);
    expect(withOtherKey.body).toMatchObject({ error: 'dpop_proof_invalid', details: [{ reason: 'key_mismatch' }] });
    // Again without any proof: refused as well, or, once the first attempt ended the session, told so.
    const without = await call(`${server.url}${refreshPath}`, { body: { refresh_token: stolen.refreshToken } });
    expect(without.body).toMatchObject(
      misuse === 'refuse'
        ? { error: 'dpop_proof_invalid', details: [{ reason: 'missing' }] }
        : { error: 'session_revoked', details: [{ reason: 'reuse_detected' }] },
    );

    const session = await call(`${server.url}/v1/sessions/${created.body.session.id}`, { token: testApiKey });
    await passTime(context, clock, dueIn);
    if (misuse === 'refuse') {
      // Refused, nothing more: the page refreshes on as before.
      expect(session.body.status).toBe('active');
      const refreshed = await clientIn(first).accessToken();
      expect(refreshed).not.toBe(stolen.accessToken);
      expect(await clientIn(first).whoami()).toMatchObject({ status: 200 });
      expect((await heard(first)).filter((event) => event.name === 'revoked')).toEqual([]);
    } else {
      // Suspected theft ends the session, and the page hears why at its next refresh.
      expect(session.body).toMatchObject({ status: 'revoked', revoked_reason: 'reuse_detected' });
      await first.waitForFunction(() => ((globalThis as Record<string, unknown>).heard as { name: string }[]).some((event) => event.name === 'revoked'));
      expect(await heard(first)).toContainEqual({ name: 'revoked', detail: 'reuse_detected' });
      const audit = await call(`${server.url}/v1/audit?session_id=${created.body.session.id}&type=session.reuse_detected`, { token: testApiKey });
      expect(audit.body.events).toMatchObject([{ details: { dpop_proof: 'key_mismatch' } }]);
    }
  });
});
