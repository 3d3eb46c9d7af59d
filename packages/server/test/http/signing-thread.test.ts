import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer, testApiKey } from '../helpers.js';

/**
 * A node in service signs its access tokens on a thread of its own, in batches (core/signing-thread.ts):
 * past its first 256 tokens, sign-ins and refreshes that arrive together are signed there. Their
 * tokens must be as good as any: accepted by the node, each session's own, and a retry inside the
 * grace window gets back the very pair that was sealed with the thread's signature.
 */
let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => server?.close());

const signIn = (userId: string) => call(`${server.url}/v1/sessions`, { token: testApiKey, body: { user_id: userId } });
const refresh = (refreshToken: string) => call(`${server.url}/v1/token/refresh`, { body: { refresh_token: refreshToken } });
const whoami = (accessToken: string) => call(`${server.url}/v1/session`, { token: accessToken });

describe('a node past its first 256 access tokens', () => {
  it('signs sign-ins and refreshes that arrive together, and every token is its session’s own', async () => {
    // 300 sign-ins, 50 at a time: the node passes 256 signatures and goes on with its thread.
    const grants: any[] = [];
    for (let wave = 0; wave < 6; wave++) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => signIn(`user-${wave * 50 + i}`)));
      for (const answer of answers) expect(answer.status, answer.text).toBe(201);
      grants.push(...answers.map((answer) => answer.body));
    }
    const last = grants.slice(-50);
    const refreshed = await Promise.all(last.map((grant) => refresh(grant.refresh_token)));
    for (const [i, answer] of refreshed.entries()) {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.session.id).toBe(last[i].session.id);
    }
    const seen = await Promise.all([...last, ...refreshed.map((answer) => answer.body)].map((grant) => whoami(grant.access_token)));
    for (const [i, answer] of seen.entries()) {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.session.id).toBe(last[i % 50].session.id);
    }
  });

  it('answers concurrent refreshes of one token with the one pair it sealed, thread-signed', async () => {
    const warm = await Promise.all(Array.from({ length: 260 }, (_, i) => signIn(`warm-${i}`)));
    for (const answer of warm) expect(answer.status).toBe(201);
    const grant = (await signIn('alice')).body;
    const racing = await Promise.all(Array.from({ length: 8 }, () => refresh(grant.refresh_token)));
    for (const answer of racing) expect(answer.status, answer.text).toBe(200);
    const pairs = new Set(racing.map((answer) => `${answer.body.access_token} ${answer.body.refresh_token}`));
    expect(pairs.size).toBe(1);
    expect((await whoami(racing[0]!.body.access_token)).body.session.user_id).toBe('alice');
  });
});
