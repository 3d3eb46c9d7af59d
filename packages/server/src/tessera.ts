import type { Redis } from 'ioredis';
import { AccessTokens } from './core/access-tokens.js';
import { ApiKeys } from './core/api-keys.js';
import { systemClock, type Clock } from './core/clock.js';
import { longestAccessTokenTtl } from './core/flows.js';
import { SessionService } from './core/sessions.js';
import { SigningKeys } from './core/signing-keys.js';
import type { SessionStore } from './core/store.js';
import { defaultConfig, type TesseraConfig } from './config.js';

export interface TesseraOptions {
  readonly store: SessionStore;
  /** Where "now" comes from; tests pass a `ManualClock`. */
  readonly clock?: Clock;
  readonly config?: TesseraConfig;
  /** `iss` of access tokens, when the config does not set one. */
  readonly issuer?: string;
  /** The one accepted management API key; without it, the stored keys are accepted. */
  readonly apiKey?: string;
  /** A Redis client shared by the node's parts (rate limits, fan-out); none means in process only. */
  readonly redis?: Redis | undefined;
}

/** One Tessera node's parts, wired together: what the HTTP server, the CLI and tests use. */
export interface Tessera {
  readonly sessions: SessionService;
  readonly signingKeys: SigningKeys;
  readonly apiKeys: ApiKeys;
  readonly config: TesseraConfig;
  readonly issuer: string;
  readonly clock: Clock;
  readonly store: SessionStore;
  /** The Redis client given in the options, if any; its owner closes it. */
  readonly redis?: Redis | undefined;
  close(): Promise<void>;
}

/** Wires the core to a store: loads (or creates) signing keys and API keys. */
export async function createTessera(options: TesseraOptions): Promise<Tessera> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const config = options.config ?? defaultConfig;
  const issuer = config.issuer ?? options.issuer ?? 'http://localhost:4000';
  const signingKeys = new SigningKeys({ store, clock, longestTokenTtl: longestAccessTokenTtl(config.flows) });
  await signingKeys.init();
  const accessTokens = new AccessTokens({ keys: signingKeys, clock, issuer, audience: config.audience, clientId: config.clientId });
  const sessions = new SessionService({ store, clock, flows: config.flows, accessTokens });
  const apiKeys = await ApiKeys.load(store, clock, options.apiKey);
  return {
    sessions,
    signingKeys,
    apiKeys,
    config,
    issuer,
    clock,
    store,
    redis: options.redis,
    close: () => store.close(),
  };
}
