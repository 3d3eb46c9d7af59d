// GET /openapi.json: an OpenAPI 3.1 document generated from the routes the server registers. It must
// pass a real 3.1 validator, name every route (the router's own list and the contract's), and every
// error code it documents must be a catalogue code sent with that status.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { errorDefinition, isErrorCode } from '../../src/core/error-catalogue.js';
import { CreateSessionBody, RevocationsQuery } from '../../src/http/schemas.js';
import { type RunningServer, startServer } from '../../src/serve.js';
import { cleanupDirs, dataDir } from '../cli/harness.js';
import { send } from '../helpers.js';

const key = 'tsk_openapi_key_of_32_chars_or_more';
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every route of the contract (`shared/CONTRACT.md`, "HTTP API" and the operator additions) this server serves. */
const contractRoutes = [
  'POST /v1/sessions',
  'GET /v1/sessions/{id}',
  'DELETE /v1/sessions/{id}',
  'GET /v1/users/{user_id}/sessions',
  'DELETE /v1/users/{user_id}/sessions',
  'POST /v1/token/refresh',
  'GET /v1/session',
  'POST /v1/session/logout',
  'POST /v1/session/logout-others',
  'GET /v1/session/sessions',
  'DELETE /v1/session/sessions/{id}',
  'GET /v1/realtime',
  'GET /.well-known/jwks.json',
  'GET /.well-known/oauth-authorization-server',
  'POST /oauth/token',
  'POST /oauth/revoke',
  'POST /oauth/introspect',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /docs/errors',
  'GET /docs/errors/{code}',
  'GET /openapi.json',
  'GET /v1/audit',
];
/**
 * Contract routes this server does not serve yet (audit log). Once one is served it must move to the
 * list above: the document then names it by itself, and this test says so.
 */
const contractRoutesNotServedYet: string[] = [];

let server: RunningServer;
let base: string;
let document: any;
let answer: Awaited<ReturnType<typeof send>>;

beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', dataDir: dataDir(), apiKey: key, logLevel: 'silent' });
  base = server.url.replace('localhost', '127.0.0.1');
  answer = await send(`${base}/openapi.json`);
  document = answer.body;
});
afterAll(async () => {
  await server?.close();
  cleanupDirs();
});

/** `METHOD /path/{param}` of every operation in the document. */
function documentedRoutes(doc: any): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => methods.includes(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/**
 * The router's own list (`printRoutes`, the tree Fastify matches requests with), as `METHOD /path`:
 * each line is a segment under its parent, four columns deeper per level, with the methods it takes.
 */
function routerRoutes(tree: string): string[] {
  const parents: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    parents.length = depth;
    const path = `${parents.join('')}${match[2]}`;
    parents.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) routes.push(`${method} ${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  }
  return routes;
}

/** Every error answer of the document: status, whether OAuth-shaped, and the codes its schema allows. */
function errorAnswers(doc: any) {
  const found: { route: string; status: number; oauth: boolean; codes: string[]; oauthCodes: string[] }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        const schema = response.content?.['application/json']?.schema;
        const parts: any[] = schema?.allOf ?? [];
        const envelope = parts.some((part) => part.$ref === '#/components/schemas/ErrorEnvelope');
        const oauth = parts.some((part) => part.$ref === '#/components/schemas/OAuthError');
        if (!envelope && !oauth) continue;
        const properties = parts.find((part) => part.properties)?.properties ?? {};
        found.push({
          route: `${method.toUpperCase()} ${path}`,
          status: Number(status),
          oauth,
          codes: oauth ? properties.tessera_error.enum : properties.error.enum,
          oauthCodes: oauth ? properties.error.enum : [],
        });
      }
    }
  }
  return found;
}

describe('GET /openapi.json', () => {
  it('is served as JSON over HTTP, OpenAPI 3.1.0', () => {
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: server.tessera.issuer.replace(/\/+$/, '') }]);
  });

  it('passes an OpenAPI 3.1 validator, which does refuse a broken copy', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator is not a rubber stamp: a response without its required description fails.
    const broken = structuredClone(document);
    delete broken.paths['/v1/sessions'].post.responses['201'].description;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('every $ref points at a component the document has', () => {
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) {
      const [, section, name] = /"#\/components\/(\w+)\/(\w+)"/.exec(ref.slice(7)) ?? [];
      expect(document.components?.[section!]?.[name!], ref).toBeDefined();
    }
  });

  it('names every route the router holds (HEAD standing with its GET), and nothing else', () => {
    const registered = routerRoutes(server.app.printRoutes({ commonPrefix: false }));
    expect(registered).toContain('GET /v1/sessions/{id}');
    const withoutHead = registered.filter((route) => !route.startsWith('HEAD '));
    for (const route of registered.filter((route) => route.startsWith('HEAD '))) expect(withoutHead).toContain(route.replace('HEAD', 'GET'));
    expect(documentedRoutes(document).sort()).toEqual([...new Set(withoutHead)].sort());
    // Each says what it is: a route added without `config.docs` has no summary and fails here.
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) expect(operation.summary, `${method} ${path}`).not.toBe('');
    }
  });

  it('names every route of the contract', () => {
    const documented = documentedRoutes(document);
    for (const route of contractRoutes) expect(documented, route).toContain(route);
    for (const route of contractRoutesNotServedYet) expect(documented, `${route} is served now: move it to contractRoutes`).not.toContain(route);
  });

  it('every error code it documents is in the catalogue, with the status it is documented under', () => {
    const answers = errorAnswers(document);
    expect(answers.length).toBeGreaterThan(50);
    for (const { route, status, oauth, codes, oauthCodes } of answers) {
      expect(codes.length, `${route} ${status}`).toBeGreaterThan(0);
      for (const code of codes) {
        expect(isErrorCode(code), `${route} ${status}: ${code}`).toBe(true);
        const definition = errorDefinition(code as Parameters<typeof errorDefinition>[0]);
        expect(definition.clientOnly ?? false, `${route}: ${code} is client-only`).toBe(false);
        // RFC 6749 §5.2 fixes 400 for invalid_grant and 401 for invalid_client; every other answer keeps the catalogue's status.
        const rfcStatus = oauthCodes.includes('invalid_grant') ? 400 : oauthCodes.includes('invalid_client') ? 401 : undefined;
        expect(status, `${route}: ${code}`).toBe(oauth && rfcStatus !== undefined ? rfcStatus : definition.status);
      }
    }
  });

  it('documents the errors each kind of route really sends', () => {
    const codesOf = (route: string) =>
      errorAnswers(document)
        .filter((answer) => answer.route === route)
        .flatMap((answer) => answer.codes);
    expect(codesOf('POST /v1/sessions')).toEqual(expect.arrayContaining(['api_key_invalid', 'invalid_request', 'payload_too_large', 'rate_limited']));
    expect(codesOf('GET /v1/sessions/{id}')).toContain('not_found');
    expect(codesOf('GET /v1/session')).toEqual(expect.arrayContaining(['token_missing', 'token_expired', 'session_revoked', 'session_expired']));
    expect(codesOf('POST /v1/token/refresh')).toEqual(expect.arrayContaining(['session_revoked', 'invalid_request', 'rate_limited']));
    expect(codesOf('POST /oauth/token')).toEqual(expect.arrayContaining(['client_invalid', 'session_revoked']));
    expect(codesOf('GET /v1/realtime')).toContain('upgrade_required');
    expect(codesOf('OPTIONS /v1/token/refresh')).toContain('origin_not_allowed');
  });

  it('takes its request schemas from the routes, the ones Fastify validates with', () => {
    expect(document.paths['/v1/sessions'].post.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: JSON.parse(JSON.stringify(CreateSessionBody)) } },
    });
    const query = document.paths['/v1/revocations'].get.parameters;
    expect(query.map((parameter: any) => [parameter.name, parameter.in, parameter.required])).toEqual([
      ['cursor', 'query', false],
      ['wait', 'query', false],
    ]);
    expect(query[1].schema).toEqual(JSON.parse(JSON.stringify(RevocationsQuery.properties.wait)));
    expect(document.paths['/v1/sessions/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  });

  it('has the security schemes: API key, access token, refresh cookie, OAuth client', () => {
    const schemes = document.components.securitySchemes;
    expect(schemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.accessToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(schemes.refreshCookie).toMatchObject({ type: 'apiKey', in: 'cookie' });
    expect(schemes.clientBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(document.paths['/v1/sessions'].post.security).toEqual([{ apiKey: [] }]);
    expect(document.paths['/v1/session'].get.security).toEqual([{ accessToken: [] }]);
    expect(document.paths['/oauth/introspect'].post.security).toEqual([{ apiKey: [] }, { clientBasic: [] }]);
    expect(document.paths['/healthz'].get.security).toBeUndefined();
    expect(document.components.schemas.ErrorEnvelope.required).toEqual(
      expect.arrayContaining(['success', 'error', 'message', 'details', 'retry_after', 'doc_url', 'request_id', 'timestamp']),
    );
  });

  it('describes the answers as the server sends them', async () => {
    const created = await send(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'alice' }),
    });
    expect(created.status).toBe(201);
    expect(document.paths['/v1/sessions'].post.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Grant' });
    const grant = document.components.schemas.Grant;
    expect(Object.keys(created.body).sort()).toEqual(Object.keys(grant.properties).sort());
    expect(Object.keys(created.body.session).sort()).toEqual(Object.keys(document.components.schemas.Session.properties).sort());
    const refused = await send(`${base}/v1/sessions/x`);
    expect(Object.keys(refused.body).sort()).toEqual(Object.keys(document.components.schemas.ErrorEnvelope.properties).sort());
  });
});

describe('the answers it describes', () => {
  /** Checks a real answer against the schema the document gives for its route and status. */
  function expectDescribed(method: string, path: string, got: Awaited<ReturnType<typeof send>>): void {
    const response = document.paths[path]?.[method]?.responses?.[String(got.status)];
    expect(response, `${method.toUpperCase()} ${path} documents ${got.status}: ${got.text}`).toBeDefined();
    const schema = response.content?.['application/json']?.schema;
    expect(schema, `${method.toUpperCase()} ${path} ${got.status} has a JSON schema`).toBeDefined();
    // The schema's `#/components/...` references resolve against the document's components.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile({ components: document.components, allOf: [schema] });
    expect(validate(got.body), `${method.toUpperCase()} ${path} ${got.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }

  it('success and error answers of every kind of route match their documented schemas', async () => {
    const json = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
      send(`${base}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    const form = (path: string, fields: Record<string, string>, token?: string) =>
      send(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: new URLSearchParams(fields).toString(),
      });

    const created = await json('/v1/sessions', { token: key, body: { user_id: 'bob', metadata: { plan: 'pro' } } });
    expectDescribed('post', '/v1/sessions', created);
    const other = await json('/v1/sessions', { token: key, body: { user_id: 'bob' } });
    const refreshed = await json('/v1/token/refresh', { body: { refresh_token: created.body.refresh_token } });
    expectDescribed('post', '/v1/token/refresh', refreshed);
    const accessToken = refreshed.body.access_token;
    expectDescribed('get', '/v1/session', await json('/v1/session', { token: accessToken }));
    expectDescribed('get', '/v1/sessions/{id}', await json(`/v1/sessions/${created.body.session.id}`, { token: key }));
    expectDescribed('get', '/v1/users/{user_id}/sessions', await json('/v1/users/bob/sessions', { token: key }));
    expectDescribed('get', '/v1/users/{user_id}/sessions', await json('/v1/users/bob/sessions?status=all', { token: key }));
    expectDescribed('post', '/oauth/introspect', await form('/oauth/introspect', { token: accessToken }, key));
    expectDescribed('post', '/oauth/introspect', await form('/oauth/introspect', { token: refreshed.body.refresh_token }, key));
    const oauthRefreshed = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token });
    expectDescribed('post', '/oauth/token', oauthRefreshed);
    expectDescribed('post', '/v1/session/logout-others', await json('/v1/session/logout-others', { method: 'POST', token: oauthRefreshed.body.access_token }));
    expectDescribed('delete', '/v1/sessions/{id}', await json(`/v1/sessions/${other.body.session.id}`, { method: 'DELETE', token: key }));
    expectDescribed('get', '/v1/revocations', await json('/v1/revocations', { token: key }));
    expectDescribed('post', '/v1/session/logout', await json('/v1/session/logout', { method: 'POST', token: oauthRefreshed.body.access_token }));
    expectDescribed('delete', '/v1/users/{user_id}/sessions', await json('/v1/users/bob/sessions', { method: 'DELETE', token: key }));
    expectDescribed('get', '/healthz', await json('/healthz'));
    expectDescribed('get', '/readyz', await json('/readyz'));
    expectDescribed('get', '/.well-known/jwks.json', await json('/.well-known/jwks.json'));
    expectDescribed('get', '/.well-known/oauth-authorization-server', await json('/.well-known/oauth-authorization-server'));

    // Errors: the envelope, its code among those documented for that route and status.
    expectDescribed('post', '/v1/sessions', await json('/v1/sessions', { token: 'x'.repeat(40), body: { user_id: 'bob' } }));
    expectDescribed('post', '/v1/sessions', await json('/v1/sessions', { token: key, body: { user_id: 7 } }));
    expectDescribed('get', '/v1/sessions/{id}', await json('/v1/sessions/ses_none', { token: key }));
    expectDescribed('get', '/v1/session', await json('/v1/session'));
    expectDescribed('get', '/v1/session', await json('/v1/session', { token: oauthRefreshed.body.access_token }));
    expectDescribed('post', '/v1/token/refresh', await json('/v1/token/refresh', { body: { refresh_token: 'nope' } }));
    expectDescribed('get', '/docs/errors/{code}', await json('/docs/errors/no_such_code'));
    expectDescribed('post', '/oauth/token', await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'nope' }));
    expectDescribed('post', '/oauth/token', await form('/oauth/token', { grant_type: 'password' }));
    expectDescribed('post', '/oauth/introspect', await form('/oauth/introspect', { token: 'x' }, 'y'.repeat(40)));
  });
});

describe('where people find /openapi.json', () => {
  it('the error docs pages link to it, on this server', async () => {
    const link = `href="${server.tessera.issuer.replace(/\/+$/, '')}/openapi.json"`;
    for (const page of ['/docs/errors', '/docs/errors/token_expired']) {
      const html = await send(`${base}${page}`);
      expect(html.status).toBe(200);
      expect(html.text, page).toContain(link);
    }
  });

  it('the README API section names it', () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const apiSection = readme.slice(readme.indexOf('## HTTP API'), readme.indexOf('## Standards'));
    expect(apiSection).toContain('GET /openapi.json');
  });
});

describe('GET /openapi.json in cookie mode', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const running of servers.splice(0)) await running.close();
  });

  it('lets the refresh take the cookie, with the body optional and the cookie-mode errors', async () => {
    const running = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir: dataDir(),
      apiKey: key,
      logLevel: 'silent',
      config: parseConfig({ cookie: { enabled: true } }),
    });
    servers.push(running);
    const doc = (await send(`${running.url.replace('localhost', '127.0.0.1')}/openapi.json`)).body;
    const refresh = doc.paths['/v1/token/refresh'].post;
    expect(refresh.security).toEqual([{}, { refreshCookie: [] }]);
    expect(refresh.requestBody.required).toBe(false);
    const codes = errorAnswers(doc)
      .filter((found) => found.route === 'POST /v1/token/refresh')
      .flatMap((found) => found.codes);
    expect(codes).toEqual(expect.arrayContaining(['csrf_failed', 'token_missing']));
    expect(doc.components.securitySchemes.refreshCookie.name).toMatch(/tessera_refresh$/);
    expect((await new Validator().validate(doc)).valid).toBe(true);
  });
});
