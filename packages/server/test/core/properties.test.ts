import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import { systemActor } from '../../src/core/journal.js';
import { type RevocationReason, revocationReasons, type SessionState, sessionState } from '../../src/core/session.js';
import type { TokenGrant } from '../../src/core/sessions.js';
import { startCore, type TestTessera } from '../helpers.js';

/** Small lifetimes, so random clock moves cross every boundary. Seconds. */
const flow = { access_token_ttl: 60, idle_timeout: 600, absolute_lifetime: 3000, reuse_interval: 5 };
const config = { flows: { tiny: flow } };

type Command =
  | { readonly kind: 'refreshLatest' }
  | { readonly kind: 'refreshOlder'; readonly back: number }
  | { readonly kind: 'refreshConcurrent'; readonly copies: number }
  | { readonly kind: 'revoke'; readonly reason: RevocationReason }
  | { readonly kind: 'advance'; readonly seconds: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Command>({ kind: 'refreshLatest' }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('refreshOlder' as const), back: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refreshConcurrent' as const), copies: fc.integer({ min: 2, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), reason: fc.constantFrom(...revocationReasons) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // Mostly small steps (around the reuse interval), some long ones (idle and absolute ends); all in 0..2000 s.
      seconds: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 10 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2000 }) }),
    }),
  },
);

/** What the session should be, kept independently of the implementation. Times in ms. */
class SessionModel {
  readonly expiresAt: number;
  idleEnd: number;
  revoked: { reason: RevocationReason; at: number } | null = null;

  constructor(createdAt: number) {
    this.expiresAt = createdAt + flow.absolute_lifetime * 1000;
    this.idleEnd = Math.min(createdAt + flow.idle_timeout * 1000, this.expiresAt);
  }

  state(now: number): SessionState {
    if (this.revoked) return { status: 'revoked', reason: this.revoked.reason, at: this.revoked.at };
    if (this.idleEnd < this.expiresAt && now >= this.idleEnd) return { status: 'expired', reason: 'idle', at: this.idleEnd };
    if (now >= this.expiresAt) return { status: 'expired', reason: 'absolute', at: this.expiresAt };
    return { status: 'active' };
  }

  refreshed(now: number): void {
    this.idleEnd = Math.min(now + flow.idle_timeout * 1000, this.expiresAt);
  }
}

interface IssuedToken {
  readonly refreshToken: string;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  spentAt: number | null;
  successor: string | null;
}

type Outcome = { ok: true; grant: TokenGrant } | { ok: false; error: TesseraError };

async function outcome(promise: Promise<TokenGrant>): Promise<Outcome> {
  try {
    return { ok: true, grant: await promise };
  } catch (error) {
    if (!(error instanceof TesseraError)) throw error;
    return { ok: false, error };
  }
}

describe('session properties over random command sequences', () => {
  let core: TestTessera;
  let db: Database.Database;
  let countTokens: Database.Statement;
  let run = 0;

  beforeAll(async () => {
    core = await startCore({ config });
    db = new Database(join(core.dir, 'tessera.db'), { readonly: true, fileMustExist: true });
    countTokens = db.prepare('SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE spent_at IS NULL) AS live FROM refresh_tokens WHERE session_id = ?');
  });
  afterAll(async () => {
    db?.close();
    await core?.close();
  });

  it('rotation, reuse, revocation and expiry keep every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 40 }), async (commands) => {
        const { sessions } = core.tessera;
        const clock = core.clock;
        const userId = `user-${++run}`;

        const created = await sessions.createSession({ userId, flow: 'tiny' });
        const bystander = await sessions.createSession({ userId, flow: 'tiny' });
        const sessionId = created.session.id;
        const model = new SessionModel(clock.now());
        const bystanderModel = new SessionModel(clock.now());
        const issued: IssuedToken[] = [{ ...created, spentAt: null, successor: null }];

        let previous = sessionState((await sessions.getSession(sessionId))!, clock.now());
        expect(previous).toEqual({ status: 'active' });

        /** Exchanges `token` and checks the answer against the model; returns nothing, updates the model. */
        const checkRefresh = async (entry: IssuedToken, result: Outcome, now: number) => {
          const before = model.state(now);
          if (before.status !== 'active') {
            // A revoked or expired session never accepts a refresh, and says why.
            expect(result.ok).toBe(false);
            if (result.ok) return;
            expect(result.error.code).toBe(before.status === 'revoked' ? 'session_revoked' : 'session_expired');
            expect(result.error.details[0]?.['reason']).toBe(before.reason);
            return;
          }
          if (entry.spentAt === null) {
            expect(result.ok).toBe(true);
            if (!result.ok) return;
            expect(issued.some((t) => t.refreshToken === result.grant.refreshToken)).toBe(false);
            entry.spentAt = now;
            entry.successor = result.grant.refreshToken;
            model.refreshed(now);
            issued.push({ ...result.grant, spentAt: null, successor: null });
            return;
          }
          if (now - entry.spentAt <= flow.reuse_interval * 1000) {
            // A retry inside the reuse interval: the very same successor.
            expect(result.ok).toBe(true);
            if (!result.ok) return;
            expect(result.grant.refreshToken).toBe(entry.successor);
            const successor = issued.find((t) => t.refreshToken === entry.successor)!;
            expect(result.grant.accessToken).toBe(successor.accessToken);
            return;
          }
          // A spent token after the interval: reuse detected, this session revoked.
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.error.code).toBe('session_revoked');
          expect(result.error.details).toEqual([{ reason: 'reuse_detected', revoked_at: new Date(now).toISOString() }]);
          model.revoked = { reason: 'reuse_detected', at: now };
        };

        for (const command of commands) {
          const now = clock.now();
          switch (command.kind) {
            case 'refreshLatest': {
              const entry = issued.at(-1)!;
              await checkRefresh(entry, await outcome(sessions.refreshSession(entry.refreshToken)), now);
              break;
            }
            case 'refreshOlder': {
              const entry = issued[Math.max(0, issued.length - 1 - command.back)]!;
              await checkRefresh(entry, await outcome(sessions.refreshSession(entry.refreshToken)), now);
              break;
            }
            case 'refreshConcurrent': {
              const entry = issued.at(-1)!;
              const results = await Promise.all(Array.from({ length: command.copies }, () => outcome(sessions.refreshSession(entry.refreshToken))));
              const [first, ...rest] = results;
              for (const other of rest) {
                // Every concurrent caller gets the same answer.
                expect(other.ok).toBe(first!.ok);
                if (other.ok && first!.ok) expect(other.grant.refreshToken).toBe(first!.grant.refreshToken);
                if (!other.ok && !first!.ok) expect(other.error.code).toBe(first!.error.code);
              }
              await checkRefresh(entry, first!, now);
              break;
            }
            case 'revoke': {
              const wasActive = model.state(now).status === 'active';
              if (command.reason === 'signed_out_elsewhere') {
                const revoked = await sessions.revokeUserSessions(userId, command.reason, systemActor, bystander.session.id);
                expect(revoked.map((s) => s.id)).toEqual(wasActive ? [sessionId] : []);
              } else {
                const revoked = await sessions.revokeSession(sessionId, command.reason);
                expect(revoked !== null).toBe(wasActive);
              }
              if (wasActive) model.revoked = { reason: command.reason, at: now };
              break;
            }
            case 'advance':
              clock.advance(command.seconds);
              break;
          }

          // The stored session is what the model says.
          const now2 = clock.now();
          const current = sessionState((await sessions.getSession(sessionId))!, now2);
          expect(current).toEqual(model.state(now2));

          // Once revoked or expired, never active again; only active -> revoked and active -> expired.
          if (previous.status !== 'active') expect(current).toEqual(previous);
          previous = current;

          // Exactly one live refresh token while the session is active; never more than one; no stray successors.
          const counts = countTokens.get(sessionId) as { total: number; live: number };
          expect(counts.live).toBeLessThanOrEqual(1);
          if (current.status === 'active') expect(counts.live).toBe(1);
          expect(counts.total).toBe(issued.length);

          // The newest access token: accepted while active, refused with the reason once revoked. Once
          // expired: token_expired while the session lives, the session's code once it has ended.
          const latest = issued.at(-1)!;
          const auth = await sessions.authenticate(latest.accessToken).then(
            () => null,
            (error: unknown) => error as TesseraError,
          );
          if (now2 < latest.accessTokenExpiresAt) expect(current.status).not.toBe('expired'); // the token never outlives the session
          if (current.status === 'active') {
            if (now2 < latest.accessTokenExpiresAt) expect(auth).toBeNull();
            else expect(auth?.code).toBe('token_expired');
          } else {
            expect(auth?.code).toBe(current.status === 'revoked' ? 'session_revoked' : 'session_expired');
            expect(auth?.details[0]?.['reason']).toBe(current.reason);
          }

          // The other session of the same user only ever expires: reuse or revocation here never touches it.
          const other = sessionState((await sessions.getSession(bystander.session.id))!, now2);
          expect(other).toEqual(bystanderModel.state(now2));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('refresh grants never outlive their session', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 12 }), async (steps) => {
        const { sessions } = core.tessera;
        const clock = core.clock;
        let grant = await sessions.createSession({ userId: `user-${++run}`, flow: 'tiny' });
        for (const seconds of steps) {
          expect(grant.accessTokenExpiresAt).toBeLessThanOrEqual(grant.refreshTokenExpiresAt);
          expect(grant.refreshTokenExpiresAt).toBeLessThanOrEqual(grant.session.expiresAt);
          if (grant.session.idleExpiresAt !== null) expect(grant.refreshTokenExpiresAt).toBeLessThanOrEqual(grant.session.idleExpiresAt);
          clock.advance(seconds);
          const next = await outcome(sessions.refreshSession(grant.refreshToken));
          // A refresh succeeds exactly while the refresh token is inside its stated lifetime.
          expect(next.ok).toBe(clock.now() < grant.refreshTokenExpiresAt);
          if (!next.ok) {
            expect(next.error.code).toBe('session_expired');
            return;
          }
          grant = next.grant;
        }
      }),
      { numRuns: 50 },
    );
  });
});
