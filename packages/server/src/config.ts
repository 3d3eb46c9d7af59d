import { readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { defaultFlowPolicies, type FlowPolicies, type FlowPolicy } from './core/flows.js';
import type { OAuthClient } from './core/oauth-clients.js';

const seconds = (minimum: number) => Type.Integer({ minimum });

const FlowSchema = Type.Object(
  {
    access_token_ttl: Type.Optional(seconds(1)),
    idle_timeout: Type.Optional(Type.Union([seconds(1), Type.Null()])),
    absolute_lifetime: Type.Optional(seconds(1)),
    reuse_interval: Type.Optional(seconds(0)),
  },
  { additionalProperties: false },
);

const RateRuleSchema = Type.Union([
  Type.Object({ limit: Type.Integer({ minimum: 1 }), window: seconds(1) }, { additionalProperties: false }),
  Type.Null(),
]);

// Limits on unauthenticated and failed attempts (issue 13): the config file's fields, their
// settings and defaults, kept together.
const attemptRateLimitFields = {
  revoke_per_ip: Type.Optional(RateRuleSchema),
  api_key_failures_per_ip: Type.Optional(RateRuleSchema),
};

export interface AttemptRateLimitsConfig {
  /** `POST /oauth/revoke` per client address, before the body is read: each is a store lookup. */
  readonly revokePerIp: RateRule | null;
  /** Requests with a missing or wrong management API key per client address; past it, every key attempt waits. */
  readonly apiKeyFailuresPerIp: RateRule | null;
}

export const defaultAttemptRateLimits: AttemptRateLimitsConfig = {
  revokePerIp: { limit: 600, window: 60 },
  apiKeyFailuresPerIp: { limit: 30, window: 60 },
};

function attemptRateLimitsOf(file: { revoke_per_ip?: RateRule | null; api_key_failures_per_ip?: RateRule | null } | undefined): AttemptRateLimitsConfig {
  const defaults = defaultAttemptRateLimits;
  return {
    revokePerIp: file?.revoke_per_ip === undefined ? defaults.revokePerIp : file.revoke_per_ip,
    apiKeyFailuresPerIp: file?.api_key_failures_per_ip === undefined ? defaults.apiKeyFailuresPerIp : file.api_key_failures_per_ip,
  };
}

const RateLimitsSchema = Type.Object(
  {
    ...attemptRateLimitFields,
    refresh_per_token: Type.Optional(RateRuleSchema),
    refresh_per_ip: Type.Optional(RateRuleSchema),
    management_per_key: Type.Optional(RateRuleSchema),
    sockets_per_ip: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    redis_key_prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

const CorsSchema = Type.Object(
  {
    origins: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 }),
    max_age: Type.Optional(seconds(0)),
  },
  { additionalProperties: false },
);

const CookieSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
    same_site: Type.Optional(Type.Union([Type.Literal('strict'), Type.Literal('lax')])),
    secure: Type.Optional(Type.Boolean()),
    path: Type.Optional(Type.String({ pattern: '^/[\\x21-\\x3A\\x3C-\\x7E]{0,255}$' })),
    domain: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,253}$' })),
    refresh_token_in_body: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const TrustProxySchema = Type.Union([Type.Boolean(), Type.Integer({ minimum: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })]);

/** `__proto__` would set the prototype of the flows object instead of adding a flow. */
const flowNamePattern = '^(?!__proto__$)[A-Za-z0-9_.-]{1,64}$';

const OAuthSchema = Type.Object(
  {
    clients: Type.Optional(
      Type.Array(
        Type.Object(
          {
            client_id: Type.String({ minLength: 1 }),
            client_secret_sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

const ConfigSchema = Type.Object(
  {
    // additionalProperties: false, or names that do not match the pattern are let through unchecked.
    flows: Type.Optional(Type.Record(Type.String({ pattern: flowNamePattern }), FlowSchema, { additionalProperties: false })),
    issuer: Type.Optional(Type.String({ minLength: 1 })),
    audience: Type.Optional(Type.String({ minLength: 1 })),
    client_id: Type.Optional(Type.String({ minLength: 1 })),
    body_limit: Type.Optional(seconds(1)),
    rate_limits: Type.Optional(RateLimitsSchema),
    cors: Type.Optional(CorsSchema),
    cookie: Type.Optional(CookieSchema),
    trust_proxy: Type.Optional(TrustProxySchema),
    oauth: Type.Optional(OAuthSchema),
  },
  { additionalProperties: false },
);

export type ConfigFile = Static<typeof ConfigSchema>;

/** Everything configurable, with defaults applied. */
export interface TesseraConfig {
  readonly flows: FlowPolicies;
  /** `iss` of access tokens; defaults to `http://localhost:PORT` at serve time. */
  readonly issuer: string | undefined;
  /** `aud` of access tokens. */
  readonly audience: string;
  /** `client_id` of access tokens. */
  readonly clientId: string;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number;
  readonly rateLimits: RateLimitsConfig;
  readonly cors: CorsConfig;
  readonly cookie: CookieConfig;
  /** Fastify's `trustProxy`: which proxies may set `X-Forwarded-For` (the client IP of per-IP limits). */
  readonly trustProxy: boolean | number | readonly string[];
  /** OAuth clients known to `/oauth/*`; any other `client_id` is a public client. */
  readonly oauthClients: readonly OAuthClient[];
}

/** At most `limit` requests per `window` seconds. */
export interface RateRule {
  readonly limit: number;
  readonly window: number;
}

/** Each limit, or null when switched off. */
export interface RateLimitsConfig extends AttemptRateLimitsConfig {
  readonly refreshPerToken: RateRule | null;
  readonly refreshPerIp: RateRule | null;
  readonly managementPerKey: RateRule | null;
  /** Sockets open at once at `/v1/realtime` per client address (IPv6 by /64); null for no cap. Per node. */
  readonly socketsPerIp: number | null;
  /** Prefix of the counters' keys in Redis, so deployments can share one Redis. */
  readonly redisKeyPrefix: string;
}

/** Browser origins allowed to call the end-user routes cross-origin. */
export interface CorsConfig {
  /** Exact origins, e.g. `https://app.example` (scheme, host, port; no path). */
  readonly origins: readonly string[];
  /** How long browsers may cache a preflight answer, in seconds. */
  readonly maxAge: number;
}

/** Cookie mode: the refresh token also travels in an HttpOnly cookie scoped to the refresh path. */
export interface CookieConfig {
  readonly enabled: boolean;
  readonly name: string;
  readonly sameSite: 'strict' | 'lax';
  readonly secure: boolean;
  readonly path: string;
  readonly domain: string | undefined;
  /** Whether refresh answers still carry `refresh_token` in the JSON body (true unless opted out). */
  readonly refreshTokenInBody: boolean;
}

/**
 * Defaults no ordinary client meets: one refresh token is presented once, plus concurrent tabs
 * replaying it inside the reuse interval; an office behind one NAT refreshes a few hundred times a minute.
 */
export const defaultRateLimits: RateLimitsConfig = {
  refreshPerToken: { limit: 30, window: 60 },
  refreshPerIp: { limit: 1200, window: 60 },
  managementPerKey: { limit: 6000, window: 60 },
  ...defaultAttemptRateLimits,
  socketsPerIp: 500,
  redisKeyPrefix: 'tessera:ratelimit:',
};

export const defaultCookieConfig: CookieConfig = {
  enabled: false,
  name: 'tessera_refresh',
  sameSite: 'strict',
  secure: true,
  path: '/v1/token/refresh',
  domain: undefined,
  refreshTokenInBody: true,
};

export const defaultConfig: TesseraConfig = {
  flows: defaultFlowPolicies,
  issuer: undefined,
  audience: 'tessera',
  clientId: 'tessera',
  bodyLimit: 1024 * 1024,
  rateLimits: defaultRateLimits,
  cors: { origins: [], maxAge: 600 },
  cookie: defaultCookieConfig,
  trustProxy: false,
  oauthClients: [],
};

/** Thrown when the config file is unreadable or names a bad key; the message says which. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates a JSON config file. */
export function loadConfigFile(path: string): TesseraConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(parsed, path);
}

/** Validates a config object; flows it names override or add to the built-in ones. */
export function parseConfig(input: unknown, source = 'config'): TesseraConfig {
  const problems = describeProblems(input);
  if (problems.length > 0) throw new ConfigError(`Invalid ${source}:\n  ${problems.join('\n  ')}`);
  const file = input as ConfigFile;
  const flows: Record<string, FlowPolicy> = { ...defaultFlowPolicies };
  const base = defaultFlowPolicies['default']!;
  for (const [name, flow] of Object.entries(file.flows ?? {})) {
    const start = (Object.hasOwn(flows, name) ? flows[name] : undefined) ?? base;
    flows[name] = {
      accessTokenTtl: flow.access_token_ttl ?? start.accessTokenTtl,
      idleTimeout: flow.idle_timeout === undefined ? start.idleTimeout : flow.idle_timeout,
      absoluteLifetime: flow.absolute_lifetime ?? start.absoluteLifetime,
      reuseInterval: flow.reuse_interval ?? start.reuseInterval,
    };
  }
  return {
    flows,
    issuer: file.issuer,
    audience: file.audience ?? defaultConfig.audience,
    clientId: file.client_id ?? defaultConfig.clientId,
    bodyLimit: file.body_limit ?? defaultConfig.bodyLimit,
    rateLimits: rateLimitsOf(file.rate_limits),
    cors: { origins: file.cors?.origins ?? [], maxAge: file.cors?.max_age ?? defaultConfig.cors.maxAge },
    cookie: cookieOf(file.cookie),
    trustProxy: file.trust_proxy ?? defaultConfig.trustProxy,
    oauthClients: (file.oauth?.clients ?? []).map((client) => ({
      clientId: client.client_id,
      clientSecretSha256: client.client_secret_sha256?.toLowerCase() ?? null,
    })),
  };
}

function rateLimitsOf(file: ConfigFile['rate_limits']): RateLimitsConfig {
  const defaults = defaultRateLimits;
  return {
    refreshPerToken: file?.refresh_per_token === undefined ? defaults.refreshPerToken : file.refresh_per_token,
    refreshPerIp: file?.refresh_per_ip === undefined ? defaults.refreshPerIp : file.refresh_per_ip,
    managementPerKey: file?.management_per_key === undefined ? defaults.managementPerKey : file.management_per_key,
    ...attemptRateLimitsOf(file),
    socketsPerIp: file?.sockets_per_ip === undefined ? defaults.socketsPerIp : file.sockets_per_ip,
    redisKeyPrefix: file?.redis_key_prefix ?? defaults.redisKeyPrefix,
  };
}

function cookieOf(file: ConfigFile['cookie']): CookieConfig {
  const defaults = defaultCookieConfig;
  return {
    enabled: file?.enabled ?? defaults.enabled,
    name: file?.name ?? defaults.name,
    sameSite: file?.same_site ?? defaults.sameSite,
    secure: file?.secure ?? defaults.secure,
    path: file?.path ?? defaults.path,
    domain: file?.domain,
    refreshTokenInBody: file?.refresh_token_in_body ?? defaults.refreshTokenInBody,
  };
}

/** An origin as browsers send it: scheme, host and port only, as `URL` normalises it. */
function originProblem(origin: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return `${origin} is not a URL`;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `${origin} must be http(s)`;
  if (parsed.origin !== origin) return `${origin} must be an origin exactly as browsers send it (${parsed.origin})`;
  return undefined;
}

function describeProblems(input: unknown): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(ConfigSchema, input)) {
    const key = error.instancePath.split('/').filter(Boolean).join('.') || '(top level)';
    if (error.keyword === 'additionalProperties' || error.message === 'schema is false') {
      const segments = error.instancePath.split('/').slice(1);
      const isFlowName = segments.length === 2 && segments[0] === 'flows';
      if (error.message === 'schema is false') problems.push(isFlowName ? `${key}: flow names must match ${flowNamePattern}` : `${key}: unknown key`);
      continue;
    }
    problems.push(`${key}: ${error.message}`);
  }
  if (problems.length === 0) problems.push(...semanticProblems(input as ConfigFile));
  return [...new Set(problems)];
}

/** What the schema cannot say: origins must be origins, and a cookie-only refresh token needs a cookie. */
function semanticProblems(file: ConfigFile): string[] {
  const problems: string[] = [];
  (file.cors?.origins ?? []).forEach((origin, index) => {
    const problem = originProblem(origin);
    if (problem) problems.push(`cors.origins.${index}: ${problem}`);
  });
  if (file.cookie && !file.cookie.enabled && file.cookie.refresh_token_in_body === false) {
    problems.push('cookie.refresh_token_in_body: false needs cookie.enabled: true, or no client could ever refresh');
  }
  return problems;
}
