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
  /** OAuth clients known to `/oauth/*`; any other `client_id` is a public client. */
  readonly oauthClients: readonly OAuthClient[];
}

export const defaultConfig: TesseraConfig = {
  flows: defaultFlowPolicies,
  issuer: undefined,
  audience: 'tessera',
  clientId: 'tessera',
  bodyLimit: 1024 * 1024,
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
    oauthClients: (file.oauth?.clients ?? []).map((client) => ({
      clientId: client.client_id,
      clientSecretSha256: client.client_secret_sha256?.toLowerCase() ?? null,
    })),
  };
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
  return [...new Set(problems)];
}
