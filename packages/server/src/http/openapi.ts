import type { FastifyInstance, RouteOptions } from 'fastify';
import type { TSchema } from 'typebox';
import { type ErrorCode, errorCatalogue, sessionEndingCodes } from '../core/error-catalogue.js';
import { TesseraError } from '../core/errors.js';
import { packageVersion } from '../core/package-version.js';
import type { Tessera } from '../tessera.js';
import { ErrorEnvelope, GrantAnswer, OAuthErrorAnswer, SessionAnswer } from './answer-schemas.js';
import { type OAuthErrorCode, OAuthRequestError, oauthAnswerOf } from './oauth-errors.js';
import { RefreshCookie } from './refresh-cookie.js';

/** How a route's caller proves who it is; each names its security scheme and the errors it brings. */
export type RouteAuth = 'api_key' | 'access_token' | 'refresh_token' | 'oauth_client' | 'introspection';

export type RouteTag = 'Management' | 'End user' | 'Realtime' | 'OAuth' | 'Discovery' | 'Operations' | 'Admin console';

/** What a route says of itself for the OpenAPI document, beside the request schemas it validates with. */
export interface RouteDocs {
  readonly summary: string;
  readonly description?: string;
  readonly tag: RouteTag;
  readonly auth?: RouteAuth;
  /** The success answer; `type` defaults to JSON. */
  readonly answer: { readonly status: number; readonly description: string; readonly schema?: TSchema; readonly type?: string };
  /** A form-encoded body the route parses itself (the OAuth endpoints). */
  readonly form?: TSchema;
  /** Codes the handler itself sends, beyond those its auth, body and parameters imply. */
  readonly errors?: readonly ErrorCode[];
  /** OAuth routes: errors whose OAuth `error` the handler names itself (`OAuthRequestError`), with their catalogue code. */
  readonly oauthErrors?: readonly { readonly error: OAuthErrorCode; readonly code: ErrorCode }[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in `/openapi.json`. */
    docs?: RouteDocs;
  }
}

interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: RouteOptions['schema'];
  readonly docs: RouteDocs | undefined;
}

const jsonType = 'application/json';

/** Shared schemas: an answer schema that is one of these is written as a `$ref` to it. */
const componentSchemas = new Map<string, TSchema>([
  ['Session', SessionAnswer],
  ['Grant', GrantAnswer],
  ['ErrorEnvelope', ErrorEnvelope],
  ['OAuthError', OAuthErrorAnswer],
]);

function referenced(schema: TSchema): TSchema | { $ref: string } {
  const name = [...componentSchemas].find(([, component]) => component === schema)?.[0];
  return name ? { $ref: `#/components/schemas/${name}` } : schema;
}

/** Answered by any route: a bug, or this node shutting down. */
const everyRouteErrors: readonly ErrorCode[] = ['internal_error', 'service_unavailable'];
/** What a body brings: malformed or wrong fields, too large, a content type the route does not read. */
const bodyErrors: readonly ErrorCode[] = ['invalid_request', 'payload_too_large', 'unsupported_media_type'];

const authErrors: Record<RouteAuth, readonly ErrorCode[]> = {
  api_key: ['api_key_invalid', 'rate_limited'],
  access_token: ['token_missing', 'token_invalid', 'token_expired', ...sessionEndingCodes],
  refresh_token: [...sessionEndingCodes, 'rate_limited'],
  oauth_client: ['client_invalid'],
  introspection: ['api_key_invalid', 'client_invalid', 'rate_limited'],
};

/** Anonymous (`{}`) where the route also takes calls without the scheme. */
function securityOf(auth: RouteAuth | undefined, cookieMode: boolean): Record<string, string[]>[] | undefined {
  switch (auth) {
    case 'api_key':
      return [{ apiKey: [] }];
    case 'access_token':
      return [{ accessToken: [] }];
    case 'refresh_token':
      return cookieMode ? [{}, { refreshCookie: [] }] : undefined;
    case 'oauth_client':
      return [{}, { clientBasic: [] }];
    case 'introspection':
      return [{ apiKey: [] }, { clientBasic: [] }];
    default:
      return undefined;
  }
}

const tags: { name: RouteTag; description: string }[] = [
  { name: 'Management', description: 'The app backend starts, inspects and revokes sessions with its API key. Not callable from browsers.' },
  { name: 'End user', description: "What the end user's client calls with its own tokens; browsers may call these from the configured origins." },
  { name: 'Realtime', description: 'The WebSocket that reports session ends as they happen.' },
  { name: 'OAuth', description: 'RFC 6749 §6 refresh, RFC 7009 revocation, RFC 7662 introspection; errors per RFC 6749 §5.2.' },
  { name: 'Discovery', description: 'Public keys and RFC 8414 metadata for JOSE and OAuth clients.' },
  { name: 'Operations', description: 'Health, readiness, metrics and the documentation of every error code.' },
  { name: 'Admin console', description: 'The static operator console; it calls the management API with the key it is given.' },
];

/**
 * Serves `GET /openapi.json`, an OpenAPI 3.1 document built from the routes as registered: their
 * request schemas (the ones Fastify validates with) and their `config.docs`. Call before any route
 * is added, so the `onRoute` hook sees every one.
 */
export function serveOpenApi(app: FastifyInstance, tessera: Tessera): void {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, schema: route.schema, docs: route.config?.docs });
  });

  let document: string | undefined;
  app.get(
    '/openapi.json',
    {
      config: {
        docs: {
          summary: 'This OpenAPI 3.1 document',
          tag: 'Operations',
          answer: { status: 200, description: 'The OpenAPI 3.1 description of every route.', schema: { type: 'object' } as TSchema },
        },
      },
    },
    async (_request, reply) => {
      // Built once all routes are in, on first use: the routes never change while the server runs.
      document ??= JSON.stringify(openApiDocument(routes, tessera));
      return reply.type('application/json; charset=utf-8').send(document);
    },
  );
}

/** The OpenAPI 3.1 document of `routes`. */
export function openApiDocument(routes: readonly RegisteredRoute[], tessera: Tessera): Record<string, unknown> {
  const cookieMode = tessera.config.cookie.enabled;
  const paths: Record<string, Record<string, unknown>> = {};
  // HEAD is answered for every GET by Fastify itself: the GET operation stands for both.
  for (const route of routes.filter((registered) => registered.method !== 'HEAD')) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operationOf(route, cookieMode);
  }
  const cookieName = new RefreshCookie(tessera.config.cookie).name;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera',
      version: packageVersion(),
      description:
        'Sessions with rotating refresh tokens. Every non-2xx JSON answer is the error envelope; its `error` codes are documented at `/docs/errors`. Every GET route also answers HEAD.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: tessera.issuer.replace(/\/+$/, '') }],
    tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: Object.fromEntries(componentSchemas),
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A management API key (`tessera api-keys create`, `--api-key` or `TESSERA_API_KEY`).' },
        accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token (RFC 9068 JWT) of a live session.' },
        refreshCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: cookieName,
          description: `Cookie mode only (${cookieMode ? 'on' : 'off'} on this server): the refresh token in an HttpOnly cookie; a refresh with it must carry the \`x-tessera-csrf\` header.`,
        },
        clientBasic: { type: 'http', scheme: 'basic', description: 'OAuth client credentials (RFC 6749 §2.3.1), for confidential clients of the config file.' },
      },
      headers: {
        RequestId: { description: 'Unique per request; equals the envelope `request_id`.', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait; equals the envelope `retry_after`.', schema: { type: 'integer', minimum: 0 } },
        WwwAuthenticate: { description: 'RFC 6750: `Bearer error="invalid_token"` (`Basic` for a refused OAuth client).', schema: { type: 'string' } },
      },
    },
  };
}

function operationOf(route: RegisteredRoute, cookieMode: boolean): Record<string, unknown> {
  const docs = route.docs ?? (route.method === 'OPTIONS' ? preflightDocs : undocumented);
  const schema = (route.schema ?? {}) as { body?: TSchema; params?: TSchema; querystring?: TSchema };
  const parameters = [...parametersOf(schema.params, 'path'), ...parametersOf(schema.querystring, 'query')];
  const codes = new Set<ErrorCode>([...everyRouteErrors, ...(docs.auth ? authErrors[docs.auth] : []), ...(docs.errors ?? [])]);
  if (schema.body || docs.form) for (const code of bodyErrors) codes.add(code);
  if (parameters.length > 0) codes.add('invalid_request');
  const security = securityOf(docs.auth, cookieMode);
  const answer = docs.answer;
  return {
    operationId: `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? '').toUpperCase())}`,
    summary: docs.summary,
    ...(docs.description ? { description: docs.description } : {}),
    tags: [docs.tag],
    ...(security ? { security } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...requestBodyOf(schema.body, docs.form),
    responses: {
      [String(answer.status)]: {
        description: answer.description,
        ...(answer.schema || answer.type ? { content: { [answer.type ?? jsonType]: { schema: answer.schema ? referenced(answer.schema) : {} } } } : {}),
      },
      ...(docs.tag === 'OAuth' ? oauthErrorResponses(codes, docs.oauthErrors ?? []) : errorResponses(codes)),
    },
  };
}

/** An OPTIONS route: the CORS preflight of a route browsers may call. */
const preflightDocs: RouteDocs = {
  summary: 'CORS preflight',
  tag: 'End user',
  answer: { status: 204, description: 'Allowed: the CORS headers for a configured origin (or `Allow` for a plain OPTIONS).' },
  errors: ['origin_not_allowed'],
};

/** A route registered without `config.docs` still appears, and the OpenAPI test names it. */
const undocumented: RouteDocs = { summary: '', tag: 'Operations', answer: { status: 200, description: 'Undocumented.' } };

function parametersOf(schema: TSchema | undefined, location: 'path' | 'query') {
  if (!schema) return [];
  const object = schema as { properties?: Record<string, TSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (object.required ?? []).includes(name),
    schema: property,
  }));
}

function requestBodyOf(body: TSchema | undefined, form: TSchema | undefined) {
  if (form) return { requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: form } } } };
  if (!body) return {};
  // A body with no required field may be left out (cookie mode's refresh).
  const required = ((body as { required?: string[] }).required ?? []).length > 0;
  return { requestBody: { required, content: { [jsonType]: { schema: body } } } };
}

/** The error answers: one per status, its envelope's `error` limited to the codes sent with that status. */
function errorResponses(codes: ReadonlySet<ErrorCode>) {
  const byStatus = groupBy([...codes], (code) => errorCatalogue[code].status);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => [
      String(status),
      {
        description: `The error envelope, \`error\` one of: ${group.map((code) => `\`${code}\``).join(', ')}.`,
        headers: errorHeaders(status),
        content: {
          [jsonType]: {
            schema: { allOf: [{ $ref: '#/components/schemas/ErrorEnvelope' }, { properties: { error: { enum: group } } }] },
          },
        },
      },
    ]),
  );
}

/** RFC 6749 §5.2 answers: the status follows the OAuth `error`, and `tessera_error` keeps the catalogue code. */
function oauthErrorResponses(codes: ReadonlySet<ErrorCode>, named: NonNullable<RouteDocs['oauthErrors']>) {
  const answers = [
    ...[...codes].map((code) => ({ code, ...oauthAnswerOf(new TesseraError(code)) })),
    ...named.map(({ error, code }) => ({ code, ...oauthAnswerOf(new OAuthRequestError(error, code)) })),
  ];
  const byStatus = groupBy(answers, (answer) => answer.status);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => {
      const oauthCodes = [...new Set(group.map((answer) => answer.error))];
      const tesseraCodes = [...new Set(group.map((answer) => answer.code))];
      return [
        String(status),
        {
          description: `RFC 6749 §5.2 error \`${oauthCodes.join('`, `')}\`; \`tessera_error\` one of: ${tesseraCodes.map((code) => `\`${code}\``).join(', ')}.`,
          headers: errorHeaders(status),
          content: {
            [jsonType]: {
              schema: {
                allOf: [{ $ref: '#/components/schemas/OAuthError' }, { properties: { error: { enum: oauthCodes }, tessera_error: { enum: tesseraCodes } } }],
              },
            },
          },
        },
      ];
    }),
  );
}

function errorHeaders(status: number) {
  return {
    'X-Request-Id': { $ref: '#/components/headers/RequestId' },
    ...(status === 401 ? { 'WWW-Authenticate': { $ref: '#/components/headers/WwwAuthenticate' } } : {}),
    ...(status === 429 || status === 503 ? { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } : {}),
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return new Map([...groups].sort(([a], [b]) => a - b));
}
