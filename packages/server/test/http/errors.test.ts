import { dpopSigningAlgorithms } from '@tessera/verifier/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalogue, serverErrorCodes } from '../../src/core/error-catalogue.js';
import { startServer as startNode } from '../../src/serve.js';
import { type Answer, send, startServer, type TestServer, tempDir, testApiKey } from '../helpers.js';
import { rawExchange } from './raw-http.js';

/** No request may hang. */

const api = { authorization: `Bearer ${testApiKey}` };
const jsonHeaders = { 'content-type': 'application/json' };

async function createSession(server: TestServer, body: Record<string, unknown> = { user_id: 'alice' }): Promise<any> {
  const created = await send(`${server.url}/v1/sessions`, { method: 'POST', headers: { ...api, ...jsonHeaders }, body: JSON.stringify(body) });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

function refresh(server: TestServer, refreshToken: unknown): Promise<Answer> {
  return send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ refresh_token: refreshToken }) });
}

/**
 * Codes the server cannot be made to send over HTTP:
 * - internal_error: only a bug produces it, and every bug found that produced one was fixed. Its envelope
 *   path is the same error handler every other code goes through.
 * - dpop_proof_invalid: the proof check is built (`checkDpopProof`, tested in the verifier's suite); no
 *   route asks for a proof until a flow can require DPoP (issue 18), and then this list loses it.
 */
const notProduced = ['internal_error'] as const;
/** Sent only inside RFC 6749 §5.2 errors of /oauth/* (as `tessera_error`, `error: invalid_client`); test/oauth covers it. */
const oauthOnly = ['client_invalid'] as const;
/** Codes only the client SDK produces (`clientOnly` in the catalogue). */
type ClientOnlyCode = { [Code in ErrorCode]: (typeof errorCatalogue)[Code] extends { clientOnly: true } ? Code : never }[ErrorCode];
type ProducedCode = Exclude<ErrorCode, (typeof notProduced)[number] | (typeof oauthOnly)[number] | ClientOnlyCode>;

/** The config-file object a producer's server needs, when the defaults do not let it produce its code. */
const producerConfig: Partial<Record<ProducedCode, unknown>> = {
  rate_limited: { rate_limits: { refresh_per_token: { limit: 2, window: 60 } } },
  csrf_failed: { cookie: { enabled: true, secure: false } },
  request_timeout: { timeouts: { headers: 1, request: 1 } },
  dpop_proof_invalid: { flows: { bound: { dpop: 'required' } } },
};

/** One way to make the server send each code, over a real socket. The type makes the list complete. */
const producers: Record<ProducedCode, (server: TestServer) => Promise<Answer>> = {
  token_expired: async (server) => {
    const created = await createSession(server);
    server.clock.advance(901);
    return send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${created.access_token}` } });
  },
  token_invalid: (server) => send(`${server.url}/v1/session`, { headers: { authorization: 'Bearer not.a.token' } }),
  token_missing: (server) => send(`${server.url}/v1/session`),
  session_expired: async (server) => {
    const created = await createSession(server, { user_id: 'alice', flow: 'verification' });
    server.clock.advance(901);
    return refresh(server, created.refresh_token);
  },
  session_revoked: async (server) => {
    const created = await createSession(server);
    await send(`${server.url}/v1/sessions/${created.session.id}`, { method: 'DELETE', headers: api });
    return send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${created.access_token}` } });
  },
  session_not_found: (server) => refresh(server, 'rt_never_issued'),
  // A refresh in a flow that needs a DPoP proof, without one.
  dpop_proof_invalid: async (server) => refresh(server, (await createSession(server, { user_id: 'alice', flow: 'bound' })).refresh_token),
  invalid_request: (server) =>
    send(`${server.url}/v1/sessions`, { method: 'POST', headers: { ...api, ...jsonHeaders }, body: JSON.stringify({ user_id: 123 }) }),
  api_key_invalid: (server) =>
    send(`${server.url}/v1/sessions`, { method: 'POST', headers: { authorization: 'Bearer tsk_wrong', ...jsonHeaders }, body: '{"user_id":"a"}' }),
  not_found: (server) => send(`${server.url}/no/such/route`),
  method_not_allowed: (server) => send(`${server.url}/v1/token/refresh`),
  unsupported_media_type: (server) =>
    send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"refresh_token":"x"}' }),
  payload_too_large: (server) =>
    send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ refresh_token: 'x'.repeat(3 * 1024 * 1024) }) }),
  rate_limited: async (server) => {
    await refresh(server, 'rt_never_issued');
    await refresh(server, 'rt_never_issued');
    return refresh(server, 'rt_never_issued');
  },
  csrf_failed: (server) =>
    send(`${server.url}/v1/token/refresh`, { method: 'POST', headers: { cookie: 'tessera_refresh=rt_from_a_cookie', origin: server.url } }),
  origin_not_allowed: (server) =>
    send(`${server.url}/v1/token/refresh`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    }),
  request_timeout: async (server) => {
    // A body that never finishes: the server gives up after timeouts.request.
    const raw = await rawExchange(
      Number(new URL(server.url).port),
      'POST /v1/token/refresh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{',
      8_000,
    );
    raw.socket.destroy();
    return { status: raw.status ?? 0, headers: new Headers(raw.headers), text: raw.text, body: raw.body };
  },
  expectation_failed: async (server) => {
    const raw = await rawExchange(Number(new URL(server.url).port), 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n');
    raw.socket.destroy();
    return { status: raw.status ?? 0, headers: new Headers(raw.headers), text: raw.text, body: raw.body };
  },
  upgrade_required: async () => {
    // The socket path belongs to a whole node (app and gateway), not to the bare app of the other producers.
    const dir = tempDir();
    const node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.dir, apiKey: testApiKey, logLevel: 'silent' });
    try {
      return await send(`${node.url.replace('localhost', '127.0.0.1')}/v1/realtime`);
    } finally {
      await node.close();
      dir.cleanup();
    }
  },
  service_unavailable: async (server) => {
    const created = await createSession(server);
    await server.store.close();
    return send(`${server.url}/v1/sessions/${created.session.id}`, { headers: api });
  },
};

const envelopeKeys = ['details', 'doc_url', 'error', 'message', 'request_id', 'retry_after', 'success', 'timestamp'];
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Every error response seen in this file: request ids must all differ. */
const seenRequestIds: string[] = [];
const producedCodes = new Set<string>();

/** Every rule of the contract's envelope, for one response. `server` must be running to resolve `doc_url`. */
async function expectContractEnvelope(server: TestServer, answer: Answer, code: ErrorCode): Promise<void> {
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.body, answer.text.slice(0, 300)).toBeTypeOf('object');
  expect(Object.keys(answer.body).sort()).toEqual(envelopeKeys);
  const envelope = answer.body;
  expect(envelope.success).toBe(false);
  expect(envelope.error).toBe(code);
  expect(answer.status).toBe(errorCatalogue[code].status);
  expect(envelope.message).toBeTypeOf('string');
  expect(envelope.message.length).toBeGreaterThan(0);
  expect(Array.isArray(envelope.details)).toBe(true);
  for (const detail of envelope.details) expect(detail).toBeTypeOf('object');
  expect(envelope.timestamp).toMatch(isoPattern);
  expect(envelope.request_id).toMatch(/^req_[0-9A-Z]{26}$/);
  expect(envelope.request_id).toBe(answer.headers.get('x-request-id'));
  expect(seenRequestIds).not.toContain(envelope.request_id);
  seenRequestIds.push(envelope.request_id);

  if (envelope.retry_after === null) {
    expect(answer.headers.get('retry-after')).toBeNull();
  } else {
    expect(envelope.retry_after).toBeTypeOf('number');
    expect(envelope.retry_after).toBeGreaterThan(0);
    expect(answer.headers.get('retry-after')).toBe(String(envelope.retry_after));
  }
  if (answer.status === 401) {
    // A failed DPoP proof also gets DPoP's challenge (RFC 9449 §7.1), after the bearer one every 401 carries.
    const dpop = answer.body?.error === 'dpop_proof_invalid' ? `, DPoP error="invalid_dpop_proof", algs="${dpopSigningAlgorithms.join(' ')}"` : '';
    expect(answer.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token"${dpop}`);
  }

  // doc_url names the configured issuer (never the caller's Host) and resolves to an HTML page about the code.
  const docUrl = new URL(envelope.doc_url);
  if (code === 'upgrade_required') expect(docUrl.origin).toMatch(/^http:\/\/localhost:\d+$/);
  else expect(docUrl.origin).toBe(server.tessera.issuer);
  expect(docUrl.pathname).toBe(`/docs/errors/${code}`);
  const page = await send(`${server.url}${docUrl.pathname}`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.text).toContain(code);
}

describe('every server error code over HTTP', () => {
  it.each(Object.keys(producers) as ProducedCode[])('%s: produced, and its response is the contract envelope', async (code) => {
    const server = await startServer({ config: producerConfig[code] ?? {} });
    try {
      const answer = await producers[code](server);
      await expectContractEnvelope(server, answer, code);
      producedCodes.add(answer.body.error);
    } finally {
      await server.close();
    }
  });

  it('the producers cover every server code but the ones listed as not produced', () => {
    const expected = serverErrorCodes.filter((code) => ![...notProduced, ...oauthOnly].includes(code as never)).sort();
    expect(Object.keys(producers).sort()).toEqual(expected);
    // Filled by the tests above (run in order): each producer really got its code.
    expect([...producedCodes].sort()).toEqual(expected);
    // The exceptions are server codes indeed, and the only ones.
    for (const code of notProduced) expect(serverErrorCodes).toContain(code);
    expect([...notProduced]).toEqual(['internal_error']);
  });

  it('the default limits never bother a normal client: 20 tabs replaying one refresh token at once all get the pair', async () => {
    const server = await startServer();
    try {
      const created = await createSession(server);
      const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(server, created.refresh_token)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('details and headers of particular codes', () => {
  const servers: TestServer[] = [];
  const start = async (options: Parameters<typeof startServer>[0] = {}) => {
    const server = await startServer(options);
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it('service_unavailable: 503, retry_after set and equal to Retry-After, on management, end-user and readiness routes', async () => {
    const server = await start();
    const created = await createSession(server);
    await server.store.close();
    for (const answer of [
      await send(`${server.url}/v1/sessions/${created.session.id}`, { headers: api }),
      await send(`${server.url}/v1/users/alice/sessions`, { headers: api }),
      await refresh(server, created.refresh_token),
      await send(`${server.url}/readyz`),
    ]) {
      await expectContractEnvelope(server, answer, 'service_unavailable');
      expect(answer.body.retry_after).toBe(1);
      expect(answer.headers.get('retry-after')).toBe('1');
    }
  });

  it('session_expired details: reason absolute with expired_at', async () => {
    const server = await start();
    const created = await createSession(server, { user_id: 'alice', flow: 'verification' });
    server.clock.advance(901);
    const answer = await refresh(server, created.refresh_token);
    await expectContractEnvelope(server, answer, 'session_expired');
    expect(answer.body.details).toEqual([{ reason: 'absolute', expired_at: created.session.expires_at }]);
  });

  it('session_expired details: reason idle with expired_at', async () => {
    const server = await start({ config: { flows: { dashboard: { idle_timeout: 60, access_token_ttl: 300 } } } });
    const created = await createSession(server, { user_id: 'alice', flow: 'dashboard' });
    expect(created.session.idle_expires_at).not.toBeNull();
    server.clock.advance(61);
    const answer = await refresh(server, created.refresh_token);
    await expectContractEnvelope(server, answer, 'session_expired');
    expect(answer.body.details).toEqual([{ reason: 'idle', expired_at: created.session.idle_expires_at }]);
  });

  it('session_revoked details: reason and revoked_at', async () => {
    const server = await start();
    const created = await createSession(server);
    const revoked = await send(`${server.url}/v1/sessions/${created.session.id}`, { method: 'DELETE', headers: api });
    const answer = await send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${created.access_token}` } });
    await expectContractEnvelope(server, answer, 'session_revoked');
    expect(answer.body.details).toEqual([{ reason: 'admin', revoked_at: revoked.body.revoked_at }]);
  });

  it('token_expired details: expired_at', async () => {
    const server = await start();
    const created = await createSession(server);
    server.clock.advance(901);
    const answer = await send(`${server.url}/v1/session`, { headers: { authorization: `Bearer ${created.access_token}` } });
    await expectContractEnvelope(server, answer, 'token_expired');
    expect(answer.body.details).toEqual([{ expired_at: created.access_token_expires_at }]);
  });

  it('invalid_request details list each offending field', async () => {
    const server = await start();
    const answer = await send(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { ...api, ...jsonHeaders },
      body: JSON.stringify({ user_id: 5, metadata: 'x', extra: true }),
    });
    await expectContractEnvelope(server, answer, 'invalid_request');
    const fields = answer.body.details.map((detail: { field: string }) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['user_id', 'metadata', 'extra']));
  });

  it('api_key_invalid without any credentials, and for every management route', async () => {
    const server = await start();
    for (const [method, path] of [
      ['POST', '/v1/sessions'],
      ['GET', '/v1/sessions/ses_x'],
      ['DELETE', '/v1/sessions/ses_x'],
      ['GET', '/v1/users/alice/sessions'],
      ['DELETE', '/v1/users/alice/sessions'],
    ] as const) {
      const answer = await send(`${server.url}${path}`, { method });
      await expectContractEnvelope(server, answer, 'api_key_invalid');
    }
  });

  it('not_found for an unknown session id on management routes', async () => {
    const server = await start();
    for (const method of ['GET', 'DELETE']) {
      const answer = await send(`${server.url}/v1/sessions/ses_01ZZZZZZZZZZZZZZZZZZZZZZZZ`, { method, headers: api });
      await expectContractEnvelope(server, answer, 'not_found');
    }
  });

  it('method_not_allowed names the allowed methods in an Allow header', async () => {
    const server = await start();
    const answer = await send(`${server.url}/v1/token/refresh`);
    await expectContractEnvelope(server, answer, 'method_not_allowed');
    expect(answer.headers.get('allow')).toContain('POST');
  });

  it('request ids are unique per request, even for identical requests', async () => {
    const server = await start();
    const answers = await Promise.all(Array.from({ length: 25 }, () => send(`${server.url}/v1/session`)));
    const ids = answers.map((answer) => answer.body.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const answer of answers) expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
  });

  it('an incoming X-Request-Id is not trusted as the request id', async () => {
    const server = await start();
    const answer = await send(`${server.url}/v1/session`, { headers: { 'x-request-id': 'req_chosen_by_the_caller' } });
    expect(answer.body.request_id).not.toBe('req_chosen_by_the_caller');
    expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
  });
});
