/** The servers under load: a bare Fastify route (the HTTP limit) and the real Tessera app. */
import Fastify, { type FastifyInstance } from 'fastify';
import { parseConfig } from '../packages/server/src/config.js';
import { systemClock } from '../packages/server/src/core/clock.js';
import { newId } from '../packages/server/src/core/ids.js';
import { generateRefreshTokenFor, hashRefreshToken, tokenIdentityKeyName } from '../packages/server/src/core/refresh-tokens.js';
import type { SessionRecord } from '../packages/server/src/core/session.js';
import { sharedKey } from '../packages/server/src/core/shared-key.js';
import type { SessionStore } from '../packages/server/src/core/store.js';
import { type AppOptions, buildApp } from '../packages/server/src/http/app.js';
import { createTessera, type Tessera } from '../packages/server/src/tessera.js';

export const benchApiKey = 'tsk_bench_fixed_key_not_a_secret';

function urlOf(app: FastifyInstance): string {
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server is not listening');
  return `http://127.0.0.1:${address.port}`;
}

/** One JSON route and nothing else, on loopback. */
export async function startBareFastify(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get('/json', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: urlOf(app), close: () => app.close() };
}

/** Server-side counts, read before and after each load run. */
export interface Counters {
  refreshed: number;
  replayed: number;
  created: number;
}

export interface RunningTessera {
  readonly tessera: Tessera;
  readonly url: string;
  readonly counters: Counters;
  close(): Promise<void>;
}

/** A flow whose every refresh needs a DPoP proof (`--dpop`); otherwise the default flow's settings. */
export const dpopFlow = 'bench-dpop';

/**
 * Rate limits off: the load comes from one address with one API key, and the bench measures what a
 * node can do, not what it allows one client to do (1,200 refreshes a minute per address by default).
 */
export const benchConfigFile = {
  rate_limits: { refresh_per_token: null, refresh_per_ip: null, management_per_key: null },
  flows: { [dpopFlow]: { dpop: 'required' } },
};

/** The bench's issuer: nodes started as processes must name the same one to accept the bench's tokens. */
export const benchIssuer = 'http://127.0.0.1';

/**
 * The real server in this process: createTessera + buildApp over `store`, system clock, fixed API
 * key; no logger unless `appOptions` gives one.
 */
export async function startTessera(store: SessionStore, appOptions: AppOptions = {}): Promise<RunningTessera> {
  const tessera = await createTessera({ store, clock: systemClock, apiKey: benchApiKey, issuer: benchIssuer, config: parseConfig(benchConfigFile) });
  const counters: Counters = { refreshed: 0, replayed: 0, created: 0 };
  tessera.sessions.onSessionEvent((event) => {
    if (event.type === 'refreshed') {
      if (event.replayed) counters.replayed++;
      else counters.refreshed++;
    } else if (event.type === 'created') {
      counters.created++;
    }
  });
  const app = await buildApp(tessera, appOptions);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    tessera,
    url: urlOf(app),
    counters,
    async close() {
      await app.close();
      await tessera.close();
    },
  };
}

/**
 * Starts `count` sessions through the core (no HTTP), `concurrency` at a time, and returns their
 * first refresh and access tokens. With `dpopJkt`, in the DPoP flow and bound to that key from the start.
 */
export async function createSessions(
  tessera: Tessera,
  count: number,
  concurrency: number,
  prefix: string,
  dpopJkt?: string,
): Promise<{ refreshTokens: string[]; accessTokens: string[] }> {
  const binding = dpopJkt === undefined ? {} : { flow: dpopFlow, dpopJkt };
  const refreshTokens: string[] = [];
  const accessTokens: string[] = [];
  for (let done = 0; done < count; done += concurrency) {
    const size = Math.min(concurrency, count - done);
    const grants = await Promise.all(Array.from({ length: size }, (_, i) => tessera.sessions.createSession({ userId: `${prefix}-${done + i}`, ...binding })));
    for (const grant of grants) {
      refreshTokens.push(grant.refreshToken);
      accessTokens.push(grant.accessToken);
    }
  }
  return { refreshTokens, accessTokens };
}

/** The user agent of every seeded session's device, and of the benches' refreshes. */
export const seededUserAgent = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/**
 * Sessions per import transaction. Each batch's inserts dirty pages all over the store's indexes, and
 * a larger batch writes each such page to the log once for more sessions: with the import's page cache,
 * a million seed in 28 s in batches of 250,000 and 34 s in batches of 50,000 (10,000 took 64-69 s
 * before that cache).
 */
const importBatch = 250_000;
const day = 86_400_000;

/**
 * Seeds `count` sessions through `SessionStore.importSessions` (not HTTP), numbered from `first`, as
 * a real store holds them: made over the past week (so their ids, which start with the creation
 * time, spread over the store), many users, some with several sessions, a device each. Returns their
 * refresh tokens, made as any node of the store makes them (carrying their session under the store's
 * shared key), though no node in this process issued them.
 */
export async function seedSessions(store: SessionStore, first: number, count: number, now: number): Promise<string[]> {
  const key = await sharedKey(store, tokenIdentityKeyName, now);
  const tokens: string[] = [];
  for (let done = 0; done < count; done += importBatch) {
    const batch = Array.from({ length: Math.min(importBatch, count - done) }, (_, i) => {
      const session = seededSession(first + done + i, now);
      const token = generateRefreshTokenFor(session, key);
      tokens.push(token);
      return {
        session,
        refreshToken: { hash: hashRefreshToken(token), sessionId: session.id, issuedAt: session.createdAt, spentAt: null, sealedSuccessor: null },
      };
    });
    await store.importSessions(batch);
  }
  return tokens;
}

function seededSession(index: number, now: number): SessionRecord {
  const createdAt = now - (index % 10_000) * 60_000;
  return {
    id: newId('ses_', createdAt),
    userId: `user-${index % 400_000}`,
    flow: 'default',
    createdAt,
    lastRefreshedAt: null,
    expiresAt: createdAt + 14 * day,
    idleExpiresAt: null,
    revokedAt: null,
    revokedReason: null,
    metadata: {},
    device: { userAgent: seededUserAgent, browser: 'Chrome 131', os: 'macOS', ip: '203.0.113.7' },
    refreshCount: 0,
    dpopJkt: null,
    version: 1,
  };
}

/** Removes `count` items chosen at random from `items` and returns them. */
export function drawAtRandom<T>(items: T[], count: number): T[] {
  const drawn: T[] = [];
  for (let i = 0; i < count && items.length > 0; i++) {
    const at = Math.floor(Math.random() * items.length);
    drawn.push(items[at]!);
    items[at] = items.at(-1)!;
    items.pop();
  }
  return drawn;
}
