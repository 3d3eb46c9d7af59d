import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { ConfigError } from './core/config-error.js';
import { defaultSocketsPerClient } from './core/defaults.js';
import { type DpopMisuse, type DpopMode, defaultFlowPolicies, type FlowPolicies, type FlowPolicy } from './core/flows.js';
import { type AuditEventType, auditEventTypes, type WebhookEndpoint } from './core/journal.js';
import type { OAuthClient } from './core/oauth-clients.js';
import { defaultWebhookDelivererSettings, type WebhookDelivererSettings } from './core/webhook-deliverer.js';
import { webhookEndpointId, webhookSecretProblem } from './core/webhook-outbox.js';
import type { RateRule } from './rate-limits/rate-limiter.js';

export type { RateRule };
// Both live below the config, so the stores and the limiters need not import it; re-exported for existing imports.
export { ConfigError };

/**
 * The largest value of each kind, with how a person reads it (seconds for durations, bytes for
 * `body_limit`). A bound is what a deployment would
 * accept, not what the code could survive: ~8.7e12 s of lifetime made every create a 500 (past what
 * a Date can show), and a reuse interval of days would quietly turn reuse detection off.
 */
const bounds = {
  /** Session lifetimes and idle timeouts. */
  lifetime: { limit: 315_360_000, words: '10 years' },
  /** Access tokens are verified without the store until they expire: a revocation waits this long. */
  accessTokenTtl: { limit: 86_400, words: '1 day' },
  /** A spent token replays its successor this long; past it, reuse ends the session. */
  reuseInterval: { limit: 3_600, words: '1 hour' },
  /** Rate-limit windows and the preflight cache (Firefox's own cap). */
  day: { limit: 86_400, words: '1 day' },
  bodyLimit: { limit: 64 * 1024 * 1024, words: '64 MiB' },
  count: { limit: 1_000_000_000, words: undefined },
  sockets: { limit: 1_000_000, words: undefined },
  proxyHops: { limit: 64, words: undefined },
} as const;

const whole = (minimum: number, bound: { limit: number }) => Type.Integer({ minimum, maximum: bound.limit });
/** One of a few words; a wrong one is told the words it may be. */
const oneOf = <Word extends string>(words: readonly Word[]) => Type.Unsafe<Word>({ type: 'string', enum: [...words] });

const FlowSchema = Type.Object(
  {
    access_token_ttl: Type.Optional(whole(1, bounds.accessTokenTtl)),
    idle_timeout: Type.Optional(Type.Union([whole(1, bounds.lifetime), Type.Null()])),
    absolute_lifetime: Type.Optional(whole(1, bounds.lifetime)),
    reuse_interval: Type.Optional(whole(0, bounds.reuseInterval)),
    dpop: Type.Optional(oneOf<DpopMode>(['off', 'allowed', 'required'])),
    dpop_misuse: Type.Optional(oneOf<DpopMisuse>(['revoke', 'refuse'])),
  },
  { additionalProperties: false },
);

const RateRuleSchema = Type.Union([Type.Object({ limit: whole(1, bounds.count), window: whole(1, bounds.day) }, { additionalProperties: false }), Type.Null()]);

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
    sockets_per_ip: Type.Optional(Type.Union([whole(1, bounds.sockets), Type.Null()])),
    redis_key_prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

const CorsSchema = Type.Object(
  {
    origins: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 }),
    max_age: Type.Optional(whole(0, bounds.day)),
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

const TrustProxySchema = Type.Union([
  Type.Boolean(),
  whole(1, bounds.proxyHops),
  Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 256 }),
]);

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

const TimeoutsSchema = Type.Object(
  {
    headers: Type.Optional(Type.Integer({ minimum: 1, maximum: 300 })),
    request: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    idle: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  },
  { additionalProperties: false },
);

/** How long a connection may take, in seconds. */
export interface TimeoutsConfig {
  /** From the connection (or the previous answer) to the end of the request headers. Capped at `request`. */
  readonly headers: number;
  /** From the start of a request to the end of its body: a stalled or trickled body gets 408. */
  readonly request: number;
  /** An idle keep-alive connection between requests. */
  readonly idle: number;
}

/** Idle 72 s: longer than the 60 s idle of common load balancers, so they never reuse a closing connection. */
export const defaultTimeouts: TimeoutsConfig = { headers: 10, request: 30, idle: 72 };

function timeoutsOf(file: Static<typeof TimeoutsSchema> | undefined): TimeoutsConfig {
  return {
    headers: file?.headers ?? defaultTimeouts.headers,
    request: file?.request ?? defaultTimeouts.request,
    idle: file?.idle ?? defaultTimeouts.idle,
  };
}

const ManagementSchema = Type.Object(
  {
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()])),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  },
  { additionalProperties: false },
);

/** A second port for operators only: `/metrics` and `/admin` move there, off the public one. */
export interface ManagementConfig {
  /** null: no management port; everything on the one port. */
  readonly port: number | null;
  /** The interface it listens on; the loopback by default, so only the host (or its sidecars) reach it. */
  readonly host: string;
}

export const defaultManagement: ManagementConfig = { port: null, host: '127.0.0.1' };

function managementOf(file: Static<typeof ManagementSchema> | undefined): ManagementConfig {
  return {
    port: file?.port === undefined ? defaultManagement.port : file.port,
    host: file?.host ?? defaultManagement.host,
  };
}

// Signed webhooks (issue 16): the endpoints, and how this node delivers to them.
const WebhookSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    events: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 64 }),
    secret: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

const WebhookDeliverySchema = Type.Object(
  {
    timeout: Type.Optional(Type.Number({ minimum: 0.1, maximum: 300 })),
    lease: Type.Optional(Type.Number({ minimum: 0.2, maximum: 3600 })),
    poll_interval: Type.Optional(Type.Number({ minimum: 0.05, maximum: 60 })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  },
  { additionalProperties: false },
);

function webhooksOf(file: Static<typeof WebhookSchema>[] | undefined): WebhookEndpoint[] {
  return (file ?? []).map((webhook) => ({
    id: webhookEndpointId(webhook.url),
    url: webhook.url,
    events: webhook.events.includes('*') ? [...auditEventTypes] : [...new Set(webhook.events.filter(isAuditEventType))],
    secret: webhook.secret,
  }));
}

function webhookDeliveryOf(file: Static<typeof WebhookDeliverySchema> | undefined): WebhookDelivererSettings {
  const defaults = defaultWebhookDelivererSettings;
  const ms = (seconds: number | undefined, fallback: number) => (seconds === undefined ? fallback : Math.round(seconds * 1000));
  return {
    timeoutMs: ms(file?.timeout, defaults.timeoutMs),
    leaseMs: ms(file?.lease, defaults.leaseMs),
    pollIntervalMs: ms(file?.poll_interval, defaults.pollIntervalMs),
    concurrency: file?.concurrency ?? defaults.concurrency,
  };
}

const isAuditEventType = (type: string): type is AuditEventType => (auditEventTypes as readonly string[]).includes(type);

/** Why a webhook entry cannot be delivered to: a URL that is not http(s), a secret not in the Standard Webhooks form, a URL given twice. */
function webhookProblems(file: ConfigFile): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  (file.webhooks ?? []).forEach((webhook, index) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(webhook.url);
    } catch {
      problems.push(`webhooks.${index}.url: ${webhook.url} is not an absolute URL`);
    }
    if (parsed && parsed.protocol !== 'https:' && parsed.protocol !== 'http:') problems.push(`webhooks.${index}.url: must be an http(s) URL`);
    if (parsed && (parsed.username !== '' || parsed.password !== '')) problems.push(`webhooks.${index}.url: must have no user name or password`);
    if (seen.has(webhook.url)) problems.push(`webhooks.${index}.url: ${webhook.url} is listed twice (one entry per URL, with every event it takes)`);
    seen.add(webhook.url);
    webhook.events.forEach((type, at) => {
      if (type !== '*' && !isAuditEventType(type)) {
        problems.push(`webhooks.${index}.events.${at}: ${type} is not an event type; use ${auditEventTypes.join(', ')} or *`);
      }
    });
    const secretProblem = webhookSecretProblem(webhook.secret);
    if (secretProblem) problems.push(`webhooks.${index}.secret: ${secretProblem}`);
  });
  const delivery = webhookDeliveryOf(file.webhook_delivery);
  if (delivery.leaseMs <= delivery.timeoutMs) {
    problems.push(
      `webhook_delivery.lease: must be longer than webhook_delivery.timeout (${delivery.timeoutMs / 1000} s), or a slow delivery could be sent twice at once`,
    );
  }
  return problems;
}

// ---- end of HTTP edges ----

const AuditSchema = Type.Object(
  {
    retention_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    expiry_sweep_interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    purge_interval: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })),
  },
  { additionalProperties: false },
);

/** The audit trail's upkeep (core/expiry-sweeper.ts, core/journal-purge.ts). */
export interface AuditConfig {
  /** Audit events, and settled webhook messages, are deleted once this many days old (1 to 3650). */
  readonly retentionDays: number;
  /** Seconds between sweeps that record `session.expired` for sessions that ended by themselves. */
  readonly expirySweepInterval: number;
  /** Seconds between purges of what is past retention. */
  readonly purgeInterval: number;
}

export const defaultAudit: AuditConfig = { retentionDays: 90, expirySweepInterval: 30, purgeInterval: 3600 };

function auditOf(file: Static<typeof AuditSchema> | undefined): AuditConfig {
  return {
    retentionDays: file?.retention_days ?? defaultAudit.retentionDays,
    expirySweepInterval: file?.expiry_sweep_interval ?? defaultAudit.expirySweepInterval,
    purgeInterval: file?.purge_interval ?? defaultAudit.purgeInterval,
  };
}

const RetentionSchema = Type.Object(
  {
    ended_sessions_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    purge_interval: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600 })),
  },
  { additionalProperties: false },
);

/** What the session store keeps (core/store-purge.ts). */
export interface RetentionConfig {
  /** Ended sessions (revoked or expired) and their refresh tokens are deleted this many days after they ended (1 to 3650). */
  readonly endedSessionsDays: number;
  /**
   * Seconds between purges (10 to 3600). Sealed successors are cleared at each, once past the reuse
   * interval: between two purges they are what the store grows by, about 1 KB a refresh.
   */
  readonly purgeInterval: number;
}

export const defaultRetention: RetentionConfig = { endedSessionsDays: 30, purgeInterval: 60 };

function retentionOf(file: Static<typeof RetentionSchema> | undefined): RetentionConfig {
  return {
    endedSessionsDays: file?.ended_sessions_days ?? defaultRetention.endedSessionsDays,
    purgeInterval: file?.purge_interval ?? defaultRetention.purgeInterval,
  };
}

const ConfigSchema = Type.Object(
  {
    // additionalProperties: false, or names that do not match the pattern are let through unchecked.
    flows: Type.Optional(Type.Record(Type.String({ pattern: flowNamePattern }), FlowSchema, { additionalProperties: false })),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    audience: Type.Optional(Type.String({ minLength: 1 })),
    client_id: Type.Optional(Type.String({ minLength: 1 })),
    body_limit: Type.Optional(whole(1, bounds.bodyLimit)),
    rate_limits: Type.Optional(RateLimitsSchema),
    cors: Type.Optional(CorsSchema),
    cookie: Type.Optional(CookieSchema),
    trust_proxy: Type.Optional(TrustProxySchema),
    oauth: Type.Optional(OAuthSchema),
    timeouts: Type.Optional(TimeoutsSchema),
    management: Type.Optional(ManagementSchema),
    webhooks: Type.Optional(Type.Array(WebhookSchema, { maxItems: 64 })),
    webhook_delivery: Type.Optional(WebhookDeliverySchema),
    audit: Type.Optional(AuditSchema),
    retention: Type.Optional(RetentionSchema),
    dpop_nonce: Type.Optional(Type.Boolean()),
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
  readonly timeouts: TimeoutsConfig;
  readonly management: ManagementConfig;
  /** Endpoints that hear events, signed per Standard Webhooks; the id of each is derived from its URL. */
  readonly webhooks: readonly WebhookEndpoint[];
  /** How this node delivers the webhook outbox: timeout, lease, poll interval, concurrency. */
  readonly webhookDelivery: WebhookDelivererSettings;
  readonly audit: AuditConfig;
  readonly retention: RetentionConfig;
  /** DPoP proofs over HTTP must carry a nonce this server gave out (`DPoP-Nonce`, RFC 9449 §8). */
  readonly dpopNonce: boolean;
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
  socketsPerIp: defaultSocketsPerClient,
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
  timeouts: defaultTimeouts,
  management: defaultManagement,
  webhooks: [],
  webhookDelivery: defaultWebhookDelivererSettings,
  audit: defaultAudit,
  retention: defaultRetention,
  dpopNonce: false,
};

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
      dpop: flow.dpop ?? start.dpop,
      dpopMisuse: flow.dpop_misuse ?? start.dpopMisuse,
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
    timeouts: timeoutsOf(file.timeouts),
    management: managementOf(file.management),
    webhooks: webhooksOf(file.webhooks),
    webhookDelivery: webhookDeliveryOf(file.webhook_delivery),
    audit: auditOf(file.audit),
    retention: retentionOf(file.retention),
    dpopNonce: file.dpop_nonce ?? defaultConfig.dpopNonce,
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
  const found: { key: string; keyword: string; message: string }[] = [];
  for (const error of Value.Errors(ConfigSchema, input)) {
    const key = error.instancePath.split('/').filter(Boolean).join('.') || '(top level)';
    if (error.keyword === 'additionalProperties' || error.message === 'schema is false') {
      const segments = error.instancePath.split('/').slice(1);
      const isFlowName = segments.length === 2 && segments[0] === 'flows';
      if (error.message === 'schema is false') problems.push(isFlowName ? `${key}: flow names must match ${flowNamePattern}` : `${key}: unknown key`);
      continue;
    }
    found.push({ key, keyword: error.keyword, message: messageOf(error) });
  }
  problems.push(...withoutUnionNoise(found).map(({ key, message }) => `${key}: ${message}`));
  if (problems.length === 0) problems.push(...semanticProblems(input as ConfigFile));
  return [...new Set(problems)];
}

const typeMessage = /^must be (null|boolean|integer|number|string|array|object)$/;

/**
 * A value that fails a union (`idle_timeout`: a number or null) fails every branch: only the branch
 * it meant is worth saying. `must be at most 315360000 (10 years)` alone, not also `must be null`
 * and `must match a schema in anyOf`; the type lines stay when nothing more precise was found.
 */
function withoutUnionNoise<T extends { key: string; keyword: string; message: string }>(found: T[]): T[] {
  const isPrecise = (entry: T) => entry.keyword !== 'anyOf' && !typeMessage.test(entry.message);
  const preciseAt = (key: string) => found.some((entry) => isPrecise(entry) && (entry.key === key || entry.key.startsWith(`${key}.`)));
  const kept = found.filter((entry) => isPrecise(entry) || !preciseAt(entry.key));
  return kept.filter((entry) => entry.keyword !== 'anyOf' || !kept.some((other) => other !== entry && other.key === entry.key));
}

/** A bound says what it is in words a person reads (`10 years`, `64 MiB`), not only as a number of seconds or bytes. */
function messageOf(error: { keyword: string; message: string; params: unknown }): string {
  const allowed = (error.params as { allowedValues?: unknown }).allowedValues;
  if (error.keyword === 'enum' && Array.isArray(allowed)) return `must be one of: ${allowed.map((value) => JSON.stringify(value)).join(', ')}`;
  const limit = (error.params as { limit?: unknown }).limit;
  if (error.keyword !== 'maximum' || typeof limit !== 'number') return error.message;
  const words = Object.values(bounds).find((bound) => bound.limit === limit)?.words;
  return words ? `must be at most ${limit} (${words})` : `must be at most ${limit}`;
}

/**
 * Why `value` cannot be the issuer, or undefined when it can: `iss` of every token and the base of
 * the OAuth metadata, so an absolute http(s) URL with nothing a client would drop or misread.
 */
export function issuerProblem(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL, such as https://auth.example.com';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http(s) URL';
  if (value.includes('?') || value.includes('#')) return 'must have no query or fragment';
  if (parsed.username !== '' || parsed.password !== '') return 'must have no user name or password';
  return undefined;
}

/** The names proxy-addr (Fastify's `trustProxy`) knows besides addresses and ranges. */
const proxyRangeNames = ['loopback', 'linklocal', 'uniquelocal'];

/** Why `entry` is not something `trust_proxy` can trust (an address, a CIDR range, a proxy-addr name), or undefined. */
function trustedProxyProblem(entry: string): string | undefined {
  const problem = `${entry} is not an IP address, a CIDR range or one of ${proxyRangeNames.join(', ')}`;
  if (proxyRangeNames.includes(entry)) return undefined;
  const [address = '', range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return problem;
  if (range === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  if (/^[0-9]{1,3}$/.test(range) && Number(range) <= bits) return undefined;
  // proxy-addr also takes an IPv4 netmask: 10.0.0.0/255.0.0.0.
  if (family === 4 && isIP(range) === 4) return undefined;
  return problem;
}

/** What the schema cannot say: origins must be origins, and a cookie-only refresh token needs a cookie. */
function semanticProblems(file: ConfigFile): string[] {
  const problems: string[] = [];
  if (file.issuer !== undefined) {
    const problem = issuerProblem(file.issuer);
    if (problem) problems.push(`issuer: ${problem}`);
  }
  if (Array.isArray(file.trust_proxy)) {
    file.trust_proxy.forEach((entry, index) => {
      const problem = trustedProxyProblem(entry);
      if (problem) problems.push(`trust_proxy.${index}: ${problem}`);
    });
  }
  (file.cors?.origins ?? []).forEach((origin, index) => {
    const problem = originProblem(origin);
    if (problem) problems.push(`cors.origins.${index}: ${problem}`);
  });
  if (file.cookie && !file.cookie.enabled && file.cookie.refresh_token_in_body === false) {
    problems.push('cookie.refresh_token_in_body: false needs cookie.enabled: true, or no client could ever refresh');
  }
  problems.push(...webhookProblems(file));
  return problems;
}
