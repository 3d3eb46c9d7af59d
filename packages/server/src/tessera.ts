import type { Redis } from 'ioredis';
import { ConfigError, defaultConfig, type TesseraConfig } from './config.js';
import { AccessTokens } from './core/access-tokens.js';
import { ApiKeys } from './core/api-keys.js';
import { type Clock, type Scheduler, systemClock, systemScheduler } from './core/clock.js';
import { DpopNonces } from './core/dpop-nonces.js';
import { ExpirySweeper } from './core/expiry-sweeper.js';
import { Fanout } from './core/fanout.js';
import { longestAccessTokenTtl } from './core/flows.js';
import { Journal } from './core/journal.js';
import { JournalPurge } from './core/journal-purge.js';
import { type KeyEncryption, KeyEncryptionError } from './core/key-encryption.js';
import { type Log, silentLog } from './core/log.js';
import { tokenIdentityKeyName } from './core/refresh-tokens.js';
import { RevocationFeed } from './core/revocation-feed.js';
import { SessionService } from './core/sessions.js';
import { sharedKey } from './core/shared-key.js';
import { SigningKeys } from './core/signing-keys.js';
import type { SessionStore } from './core/store.js';
import { StorePurge } from './core/store-purge.js';
import { WebhookDeliverer, type WebhookSend } from './core/webhook-deliverer.js';
import { RedisFanoutChannel } from './fanout/redis.js';
import { standardWebhooksSender } from './webhooks/standard-webhooks-sender.js';

export interface TesseraOptions {
  readonly store: SessionStore;
  /** Where "now" comes from; tests pass a `ManualClock`. */
  readonly clock?: Clock;
  /**
   * Where the node's timers are set (fan-out polls, API-key re-reads, revocation-feed waits, socket
   * deadlines); the system's by default. Tests pass their `ManualClock` here too, so its `advance`
   * runs the timers instead of the test waiting on the wall clock.
   */
  readonly scheduler?: Scheduler;
  readonly config?: TesseraConfig;
  /** `iss` of access tokens, when the config does not set one. */
  readonly issuer?: string;
  /**
   * The management API key the operator supplies (`--api-key`), at least 32 characters: it is
   * accepted, and keys supplied before it are revoked. Without it the stored keys are left as they are.
   */
  readonly apiKey?: string;
  /** Seals signing private keys at rest (`TESSERA_KEK` / `--kek-file`); needed once the store holds sealed keys. */
  readonly keyEncryption?: KeyEncryption;
  /**
   * Shared Redis (ioredis client, opened from `REDIS_URL`): revocations fan out over its pub/sub
   * instead of the store's own channel. The caller owns it and quits it after `close()`.
   */
  readonly redis?: Redis;
  /** Where operators read about fan-out and store trouble; silent by default. */
  readonly log?: Log;
  /**
   * Whether this process hears revocations and key rotations made elsewhere (default true).
   * One-shot commands pass false: they only publish what they change.
   */
  readonly listen?: boolean;
  /** How webhook messages leave this node; signed HTTP POSTs (`standardWebhooksSender`) by default. */
  readonly sendWebhook?: WebhookSend;
}

/** One Tessera node's parts, wired together: what the HTTP server, the CLI and tests use. */
export interface Tessera {
  readonly sessions: SessionService;
  /** Turns changes into audit events and webhook messages, written with the change. */
  readonly journal: Journal;
  readonly signingKeys: SigningKeys;
  readonly apiKeys: ApiKeys;
  readonly config: TesseraConfig;
  readonly issuer: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly store: SessionStore;
  /** Publishes this node's revocations and key rotations; delivers the other nodes'. */
  readonly fanout: Fanout;
  /** What resource servers read to refuse the still-unexpired tokens of revoked sessions. */
  readonly revocations: RevocationFeed;
  /** The shared Redis, when one was given. */
  readonly redis: Redis | undefined;
  /** Delivers the webhook outbox from this node; undefined in a process that does not listen (a one-shot command). */
  readonly webhooks: WebhookDeliverer | undefined;
  /** The DPoP nonces this node gives out (`DPoP-Nonce`), with `dpop_nonce` on. */
  readonly dpopNonces: DpopNonces | undefined;
  close(): Promise<void>;
}

/** Wires the core to a store: loads (or creates) signing keys and API keys. */
export async function createTessera(options: TesseraOptions): Promise<Tessera> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? systemScheduler;
  const config = options.config ?? defaultConfig;
  const issuer = config.issuer ?? options.issuer ?? 'http://localhost:4000';
  const journal = new Journal({ clock, endpoints: config.webhooks });
  const signingKeys = new SigningKeys({
    store,
    clock,
    journal,
    longestTokenTtl: longestAccessTokenTtl(config.flows),
    ...(options.keyEncryption ? { keyEncryption: options.keyEncryption } : {}),
  });
  await signingKeys.init({ openCurrentKey: options.listen ?? true }).catch((error: unknown) => {
    // A missing or wrong key-encryption key is the operator's to fix: one line, exit 2.
    throw error instanceof KeyEncryptionError ? new ConfigError(error.message) : error;
  });
  const accessTokens = new AccessTokens({ keys: signingKeys, clock, issuer, audience: config.audience, clientId: config.clientId });
  // Nonces one node gives out are accepted by every node on the store: the key is kept there.
  const dpopNonces = config.dpopNonce ? await DpopNonces.shared(store, clock) : undefined;
  // Refresh tokens carry their session under a key every node reads from the store: any node rotates any token unread.
  const tokenIdentityKey = await sharedKey(store, tokenIdentityKeyName, clock.now());
  const sessions = new SessionService({ store, clock, flows: config.flows, accessTokens, journal, tokenIdentityKey, ...(dpopNonces ? { dpopNonces } : {}) });
  const apiKeys = await ApiKeys.load(store, clock, journal);
  if (options.apiKey !== undefined) await apiKeys.supply(options.apiKey);
  const log = options.log ?? silentLog;
  const channel = options.redis ? new RedisFanoutChannel(options.redis, log) : store.openFanoutChannel?.({ scheduler });
  const fanout = new Fanout({ sessions, signingKeys, store, clock, scheduler, log, channel, listen: options.listen ?? true });
  await fanout.start();
  // A key revoked on any node (or by the CLI) is refused here within a second.
  const stopWatchingApiKeys = (options.listen ?? true) ? apiKeys.watch(log, scheduler) : () => {};
  const webhooks = (options.listen ?? true) ? startWebhookDelivery(options, { store, clock, scheduler, log, sessions, config }) : undefined;
  const stopAuditUpkeep = (options.listen ?? true) ? startAuditUpkeep({ store, clock, scheduler, journal, log, config }) : () => {};
  return {
    sessions,
    journal,
    signingKeys,
    apiKeys,
    config,
    issuer,
    clock,
    scheduler,
    store,
    fanout,
    revocations: new RevocationFeed({ sessions, store, clock, scheduler, flows: config.flows }),
    redis: options.redis,
    webhooks,
    dpopNonces,
    async close() {
      stopWatchingApiKeys();
      await webhooks?.close();
      stopAuditUpkeep();
      await fanout.close();
      await accessTokens.close();
      await store.close();
    },
  };
}

/**
 * Every listening node delivers the outbox (leases in the store keep each message to one node), even
 * with no endpoint configured: messages left for an endpoint since removed are marked failed.
 */
function startWebhookDelivery(
  options: TesseraOptions,
  parts: Pick<Tessera, 'store' | 'clock' | 'scheduler' | 'sessions' | 'config'> & { readonly log: Log },
): WebhookDeliverer {
  const { config } = parts;
  const deliverer = new WebhookDeliverer({
    ...config.webhookDelivery,
    store: parts.store,
    endpoints: config.webhooks,
    send: options.sendWebhook ?? standardWebhooksSender(),
    clock: parts.clock,
    scheduler: parts.scheduler,
    log: parts.log,
  });
  deliverer.start();
  // A message this node just wrote goes out now, not at the next poll; only for changes some endpoint hears.
  const heard = new Set(config.webhooks.flatMap((endpoint) => endpoint.events));
  const pokeOnCreated = heard.has('session.created');
  const pokeOnRevoked = heard.has('session.revoked') || heard.has('session.reuse_detected');
  if (pokeOnCreated || pokeOnRevoked) {
    parts.sessions.onSessionEvent((event) => {
      if (event.type === 'created' && pokeOnCreated) deliverer.poll();
      if (event.type === 'revoked' && !event.elsewhere && pokeOnRevoked) deliverer.poll();
    });
  }
  return deliverer;
}

/**
 * A serving node's upkeep jobs: the expiry sweeper (records `session.expired`), the journal purge
 * (keeps the audit trail bounded) and the store purge (keeps sessions and tokens bounded). Returns the
 * function that stops them.
 */
function startAuditUpkeep(parts: Pick<Tessera, 'store' | 'clock' | 'scheduler' | 'journal' | 'config'> & { log: Log }): () => void {
  const { store, clock, scheduler, journal, log, config } = parts;
  const sweeper = new ExpirySweeper({ store, clock, scheduler, journal, log, intervalMs: config.audit.expirySweepInterval * 1000 });
  const purge = new JournalPurge({ store, clock, scheduler, log, retentionDays: config.audit.retentionDays, intervalMs: config.audit.purgeInterval * 1000 });
  const storePurge = new StorePurge({
    store,
    clock,
    scheduler,
    log,
    flows: config.flows,
    retentionDays: config.retention.endedSessionsDays,
    intervalMs: config.retention.purgeInterval * 1000,
  });
  const stops = [sweeper.start(), purge.start(), storePurge.start()];
  return () => {
    for (const stop of stops) stop();
  };
}
