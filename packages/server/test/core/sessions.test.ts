import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessTokens } from '../../src/core/access-tokens.js';
import { TesseraError } from '../../src/core/errors.js';
import { systemActor } from '../../src/core/journal.js';
import { type RevocationReason, sessionEnd, sessionState } from '../../src/core/session.js';
import { startCore, type TestTessera, tempDir } from '../helpers.js';

const dashConfig = { flows: { dash: { idle_timeout: 1800 } } };
const iso = (ms: number) => new Date(ms).toISOString();

/** Awaits `promise`, which must reject with a TesseraError, and returns that error. */
async function rejection(promise: Promise<unknown>): Promise<TesseraError> {
  const outcome = await promise.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error('expected the call to fail, but it succeeded');
  expect(outcome.error).toBeInstanceOf(TesseraError);
  return outcome.error as TesseraError;
}

describe('SessionService (core, manual clock, real SQLite)', () => {
  const cores: TestTessera[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const core of cores.splice(0)) await core.close();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  async function core(config?: unknown): Promise<TestTessera> {
    const started = await startCore(config === undefined ? {} : { config });
    cores.push(started);
    return started;
  }
  async function status(t: TestTessera, id: string) {
    const session = await t.tessera.sessions.getSession(id);
    if (!session) throw new Error(`no session ${id}`);
    return sessionState(session, t.clock.now());
  }
  /** Read-only view of the SQLite file, to count what is actually stored. */
  function liveTokens(t: TestTessera, sessionId: string): { total: number; live: number } {
    const db = new Database(join(t.dir, 'tessera.db'), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare('SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE spent_at IS NULL) AS live FROM refresh_tokens WHERE session_id = ?')
        .get(sessionId) as { total: number; live: number };
    } finally {
      db.close();
    }
  }

  describe('expiry', () => {
    it('a tab left open overnight: the idle timeout ends the session (session_expired, reason idle)', async () => {
      const t = await core(dashConfig);
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'dash' });
      const start = t.clock.now();
      expect(created.session.idleExpiresAt).toBe(start + 1800_000);

      t.clock.advance(8 * 3600); // overnight
      const error = await rejection(sessions.refreshSession(created.refreshToken));
      expect(error.code).toBe('session_expired');
      expect(error.status).toBe(401);
      expect(error.details).toEqual([{ reason: 'idle', expired_at: iso(start + 1800_000) }]);
      expect(await status(t, created.session.id)).toEqual({ status: 'expired', reason: 'idle', at: start + 1800_000 });
      expect(await sessions.listActiveSessions('alice')).toEqual([]);
    });

    it('the idle end is the boundary: one second before it the refresh works, at it the session has ended', async () => {
      const t = await core(dashConfig);
      const { sessions } = t.tessera;
      const a = await sessions.createSession({ userId: 'alice', flow: 'dash' });
      const b = await sessions.createSession({ userId: 'alice', flow: 'dash' });
      t.clock.advance(1799);
      await expect(sessions.refreshSession(a.refreshToken)).resolves.toBeDefined();
      t.clock.advance(1);
      const error = await rejection(sessions.refreshSession(b.refreshToken));
      expect(error.code).toBe('session_expired');
      expect(error.details[0]?.['reason']).toBe('idle');
    });

    it('an idle end another node pushed in its last second: this node does not take its cached copy for the end', async () => {
      // Two nodes on one store. Node A read the session half a second before its idle end (and caches
      // reads for a second); node B refreshed it then. Just after the old idle end, node A is asked.
      const temp = tempDir();
      cleanups.push(temp.cleanup);
      const a = await startCore({ dir: temp.dir, config: { flows: { idle: { idle_timeout: 10 } } } });
      cores.push(a);
      const b = await startCore({ dir: temp.dir, clock: a.clock, config: { flows: { idle: { idle_timeout: 10 } } } });
      cores.push(b);
      const created = await a.tessera.sessions.createSession({ userId: 'alice', flow: 'idle' });
      a.clock.advance(9.5);
      await a.tessera.sessions.authenticate(created.accessToken);
      const refreshed = await b.tessera.sessions.refreshSession(created.refreshToken);
      a.clock.advance(0.6);

      const { session } = await a.tessera.sessions.authenticate(refreshed.accessToken);
      expect(session.idleExpiresAt).toBe(refreshed.session.idleExpiresAt);
      // Its own last token (cut at the old idle end) is expired, as tokens are: not an ended session.
      expect((await rejection(a.tessera.sessions.authenticate(created.accessToken))).code).toBe('token_expired');
      // When the new idle end passes, node A says so.
      a.clock.advance(10);
      const ended = await rejection(a.tessera.sessions.refreshSession(refreshed.refreshToken));
      expect(ended.details).toEqual([{ reason: 'idle', expired_at: iso(refreshed.session.idleExpiresAt!) }]);
    });

    it('the absolute lifetime ends a session however active it is (reason absolute)', async () => {
      const t = await core({ flows: { short: { absolute_lifetime: 3600, idle_timeout: null } } });
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'short' });
      const start = t.clock.now();
      expect(created.session.expiresAt).toBe(start + 3600_000);
      expect(created.session.idleExpiresAt).toBeNull();

      let refreshToken = created.refreshToken;
      for (let i = 0; i < 5; i++) {
        t.clock.advance(600);
        refreshToken = (await sessions.refreshSession(refreshToken)).refreshToken;
      }
      t.clock.advance(599); // 3599 s in
      refreshToken = (await sessions.refreshSession(refreshToken)).refreshToken;
      t.clock.advance(1);
      const error = await rejection(sessions.refreshSession(refreshToken));
      expect(error.code).toBe('session_expired');
      expect(error.details).toEqual([{ reason: 'absolute', expired_at: iso(start + 3600_000) }]);
      expect(await status(t, created.session.id)).toEqual({ status: 'expired', reason: 'absolute', at: start + 3600_000 });
    });

    it('each refresh pushes the idle end forward', async () => {
      const t = await core(dashConfig);
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'dash' });
      let refreshToken = created.refreshToken;
      let previousIdleEnd = created.session.idleExpiresAt!;
      // 10 refreshes 20 minutes apart: far past the first idle end, never idle for 30 minutes.
      for (let i = 0; i < 10; i++) {
        t.clock.advance(1200);
        const grant = await sessions.refreshSession(refreshToken);
        expect(grant.session.lastRefreshedAt).toBe(t.clock.now());
        expect(grant.session.idleExpiresAt).toBe(t.clock.now() + 1800_000);
        expect(grant.session.idleExpiresAt!).toBeGreaterThan(previousIdleEnd);
        expect(grant.refreshTokenExpiresAt).toBe(t.clock.now() + 1800_000);
        expect((await sessions.getSession(created.session.id))?.idleExpiresAt).toBe(grant.session.idleExpiresAt);
        previousIdleEnd = grant.session.idleExpiresAt!;
        refreshToken = grant.refreshToken;
      }
      expect(await status(t, created.session.id)).toEqual({ status: 'active' });
      t.clock.advance(1800);
      expect((await rejection(sessions.refreshSession(refreshToken))).details[0]?.['reason']).toBe('idle');
    });

    it('the idle end never passes the absolute end, and the session then ends as absolute', async () => {
      const t = await core({ flows: { capped: { idle_timeout: 1800, absolute_lifetime: 3000 } } });
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'capped' });
      const start = t.clock.now();
      expect(created.session.idleExpiresAt).toBe(start + 1800_000);

      t.clock.advance(1500);
      const first = await sessions.refreshSession(created.refreshToken);
      expect(first.session.idleExpiresAt).toBe(start + 3000_000); // min(1500 + 1800, 3000)
      expect(first.refreshTokenExpiresAt).toBe(start + 3000_000);
      expect(first.accessTokenExpiresAt).toBeLessThanOrEqual(start + 3000_000);

      t.clock.advance(1400); // 2900 s
      const second = await sessions.refreshSession(first.refreshToken);
      expect(second.session.idleExpiresAt).toBe(start + 3000_000);
      expect(second.accessTokenExpiresAt).toBe(start + 3000_000); // 100 s left, less than the 900 s ttl

      t.clock.advance(100);
      const error = await rejection(sessions.refreshSession(second.refreshToken));
      expect(error.details).toEqual([{ reason: 'absolute', expired_at: iso(start + 3000_000) }]);
    });

    it('idle wins over absolute when it comes first', async () => {
      const t = await core({ flows: { capped: { idle_timeout: 1800, absolute_lifetime: 3000 } } });
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'capped' });
      t.clock.advance(2000);
      const error = await rejection(sessions.refreshSession(created.refreshToken));
      expect(error.details).toEqual([{ reason: 'idle', expired_at: iso(created.session.createdAt + 1800_000) }]);
    });

    it('a session of the verification flow lives 900 s', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'verification' });
      expect(created.session.flow).toBe('verification');
      expect(created.session.expiresAt - created.session.createdAt).toBe(900_000);
      expect(created.refreshTokenExpiresAt).toBe(created.session.createdAt + 900_000);
      expect(created.accessTokenExpiresAt).toBe(created.session.createdAt + 300_000);

      t.clock.advance(899);
      const grant = await sessions.refreshSession(created.refreshToken);
      expect(grant.accessTokenExpiresAt).toBe(created.session.createdAt + 900_000); // capped by the session end
      t.clock.advance(1);
      const error = await rejection(sessions.refreshSession(grant.refreshToken));
      expect(error.code).toBe('session_expired');
      expect(error.details).toEqual([{ reason: 'absolute', expired_at: iso(created.session.createdAt + 900_000) }]);
    });

    it('the default flow has no idle end and lives 14 days', async () => {
      const t = await core();
      const created = await t.tessera.sessions.createSession({ userId: 'alice' });
      expect(created.session.flow).toBe('default');
      expect(created.session.idleExpiresAt).toBeNull();
      expect(created.session.expiresAt - created.session.createdAt).toBe(1_209_600_000);
    });
  });

  describe('rotation and reuse', () => {
    it('rotates: the old refresh token is spent and a new pair is issued', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', metadata: { device: 'phone' } });
      t.clock.advance(60);
      const grant = await sessions.refreshSession(created.refreshToken);
      expect(grant.session.id).toBe(created.session.id);
      expect(grant.session.metadata).toEqual({ device: 'phone' });
      expect(grant.refreshToken).not.toBe(created.refreshToken);
      expect(grant.accessToken).not.toBe(created.accessToken);
      expect(grant.session.version).toBeGreaterThan(created.session.version);
      expect(liveTokens(t, created.session.id)).toEqual({ total: 2, live: 1 });
    });

    it('reuse inside the reuse interval returns the identical successor pair', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice' });
      t.clock.advance(30);
      const first = await sessions.refreshSession(created.refreshToken);
      t.clock.advance(5);
      const again = await sessions.refreshSession(created.refreshToken);
      t.clock.advance(5); // exactly at the end of the 10 s interval
      const atEdge = await sessions.refreshSession(created.refreshToken);
      for (const replay of [again, atEdge]) {
        expect(replay.accessToken).toBe(first.accessToken);
        expect(replay.refreshToken).toBe(first.refreshToken);
        expect(replay.accessTokenExpiresAt).toBe(first.accessTokenExpiresAt);
        expect(replay.refreshTokenExpiresAt).toBe(first.refreshTokenExpiresAt);
        expect(replay.session.id).toBe(created.session.id);
      }
      expect(liveTokens(t, created.session.id)).toEqual({ total: 2, live: 1 });
      expect(await status(t, created.session.id)).toEqual({ status: 'active' });
      // The successor still works.
      const next = await sessions.refreshSession(first.refreshToken);
      expect(next.refreshToken).not.toBe(first.refreshToken);
    });

    it("reuse after the interval revokes that session (reuse_detected) and leaves the user's other sessions active", async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const victim = await sessions.createSession({ userId: 'alice' });
      const laptop = await sessions.createSession({ userId: 'alice' });
      const phone = await sessions.createSession({ userId: 'alice' });
      const bob = await sessions.createSession({ userId: 'bob' });
      const first = await sessions.refreshSession(victim.refreshToken);

      t.clock.advance(11);
      const error = await rejection(sessions.refreshSession(victim.refreshToken));
      expect(error.code).toBe('session_revoked');
      expect(error.details).toEqual([{ reason: 'reuse_detected', revoked_at: iso(t.clock.now()) }]);

      const revoked = await sessions.getSession(victim.session.id);
      expect(revoked?.revokedReason).toBe('reuse_detected');
      expect(revoked?.revokedAt).toBe(t.clock.now());
      // The successor the thief (or the user) holds is dead too.
      expect((await rejection(sessions.refreshSession(first.refreshToken))).code).toBe('session_revoked');
      expect((await rejection(sessions.authenticate(first.accessToken))).code).toBe('session_revoked');

      const active = (await sessions.listActiveSessions('alice')).map((s) => s.id).sort();
      expect(active).toEqual([laptop.session.id, phone.session.id].sort());
      await expect(sessions.refreshSession(laptop.refreshToken)).resolves.toBeDefined();
      await expect(sessions.authenticate(phone.accessToken)).resolves.toBeDefined();
      expect(await status(t, bob.session.id)).toEqual({ status: 'active' });
    });

    it('20 concurrent refreshes with the same token all get the same successor; exactly one is stored', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice' });
      t.clock.advance(60);
      const grants = await Promise.all(Array.from({ length: 20 }, () => sessions.refreshSession(created.refreshToken)));
      const [winner] = grants;
      for (const grant of grants) {
        expect(grant.refreshToken).toBe(winner!.refreshToken);
        expect(grant.accessToken).toBe(winner!.accessToken);
        expect(grant.refreshTokenExpiresAt).toBe(winner!.refreshTokenExpiresAt);
      }
      expect(winner!.refreshToken).not.toBe(created.refreshToken);
      expect(liveTokens(t, created.session.id)).toEqual({ total: 2, live: 1 });
      expect((await sessions.getSession(created.session.id))?.version).toBe(2);
      expect(await status(t, created.session.id)).toEqual({ status: 'active' });
      await expect(sessions.refreshSession(winner!.refreshToken)).resolves.toBeDefined();
    });

    it('an unknown refresh token is session_not_found', async () => {
      const t = await core();
      await t.tessera.sessions.createSession({ userId: 'alice' });
      expect((await rejection(t.tessera.sessions.refreshSession('rt_not-a-real-token'))).code).toBe('session_not_found');
    });
  });

  describe('revocation', () => {
    type Revoke = (t: TestTessera, target: { id: string; userId: string }, keepId: string) => Promise<unknown>;
    const cases: [RevocationReason, Revoke][] = [
      ['logout', (t, target) => t.tessera.sessions.revokeSession(target.id, 'logout')],
      ['admin', (t, target) => t.tessera.sessions.revokeSession(target.id, 'admin')],
      ['signed_out_elsewhere', (t, target, keepId) => t.tessera.sessions.revokeUserSessions(target.userId, 'signed_out_elsewhere', systemActor, keepId)],
      [
        'reuse_detected',
        async (t, target) => {
          const refreshToken = tokensBySession.get(target.id)!;
          await t.tessera.sessions.refreshSession(refreshToken);
          t.clock.advance(11);
          await t.tessera.sessions.refreshSession(refreshToken).catch(() => undefined);
        },
      ],
    ];
    const tokensBySession = new Map<string, string>();

    it.each(cases)('%s shows in getSession and in authenticate, while the access token is unexpired', async (reason, revoke) => {
      const t = await core();
      const { sessions } = t.tessera;
      const target = await sessions.createSession({ userId: 'alice' });
      const keep = await sessions.createSession({ userId: 'alice' });
      tokensBySession.set(target.session.id, target.refreshToken);
      await expect(sessions.authenticate(target.accessToken)).resolves.toMatchObject({ session: { id: target.session.id } });

      t.clock.advance(60);
      await revoke(t, target.session, keep.session.id);
      const revokedAt = t.clock.now();
      expect(target.accessTokenExpiresAt).toBeGreaterThan(revokedAt); // the token itself is still good

      const record = await sessions.getSession(target.session.id);
      expect(record?.revokedReason).toBe(reason);
      expect(record?.revokedAt).toBe(revokedAt);
      expect(sessionState(record!, t.clock.now())).toEqual({ status: 'revoked', reason, at: revokedAt });

      const error = await rejection(sessions.authenticate(target.accessToken));
      expect(error.code).toBe('session_revoked');
      expect(error.status).toBe(401);
      expect(error.details).toEqual([{ reason, revoked_at: iso(revokedAt) }]);

      // Still reported later, with the same reason and time.
      t.clock.advance(5);
      expect((await rejection(sessions.authenticate(target.accessToken))).details).toEqual([{ reason, revoked_at: iso(revokedAt) }]);

      // The other session of the same user is untouched.
      await expect(sessions.authenticate(keep.accessToken)).resolves.toBeDefined();
      expect(await status(t, keep.session.id)).toEqual({ status: 'active' });
    });

    it('revoking again changes nothing and returns null', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice' });
      const revoked = await sessions.revokeSession(created.session.id, 'logout');
      expect(revoked?.revokedReason).toBe('logout');
      t.clock.advance(10);
      expect(await sessions.revokeSession(created.session.id, 'admin')).toBeNull();
      expect(await sessions.getSession(created.session.id)).toEqual(revoked);
    });

    it('an expired session is not revoked: it stays expired', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'verification' });
      t.clock.advance(900);
      expect(await sessions.revokeSession(created.session.id, 'admin')).toBeNull();
      expect(await sessions.revokeUserSessions('alice', 'admin')).toEqual([]);
      expect((await status(t, created.session.id)).status).toBe('expired');
    });

    it('a revoked session refuses its refresh token', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice' });
      await sessions.revokeSession(created.session.id, 'logout');
      const error = await rejection(sessions.refreshSession(created.refreshToken));
      expect(error.code).toBe('session_revoked');
      expect(error.details[0]?.['reason']).toBe('logout');
      expect(liveTokens(t, created.session.id)).toEqual({ total: 1, live: 1 });
    });

    it('revokeUserSessions without except ends all of them', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const a = await sessions.createSession({ userId: 'alice' });
      const b = await sessions.createSession({ userId: 'alice' });
      const revoked = await sessions.revokeUserSessions('alice', 'admin');
      expect(revoked.map((s) => s.id).sort()).toEqual([a.session.id, b.session.id].sort());
      expect(await sessions.listActiveSessions('alice')).toEqual([]);
      expect((await rejection(sessions.authenticate(b.accessToken))).details[0]?.['reason']).toBe('admin');
    });
  });

  describe('access tokens', () => {
    it('authenticate returns the session and the RFC 9068 claims', async () => {
      const t = await core();
      const created = await t.tessera.sessions.createSession({ userId: 'alice', flow: 'verification' });
      const { session, claims } = await t.tessera.sessions.authenticate(created.accessToken);
      expect(session.id).toBe(created.session.id);
      expect(claims).toMatchObject({ sub: 'alice', sid: created.session.id, flow: 'verification', iss: 'http://tessera.test' });
      expect(decodeProtectedHeader(created.accessToken)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    });

    it('token_expired after access_token_ttl, with the session still active', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice' });
      expect(created.accessTokenExpiresAt).toBe(t.clock.now() + 900_000);
      t.clock.advance(899);
      await expect(sessions.authenticate(created.accessToken)).resolves.toBeDefined();
      t.clock.advance(1);
      const error = await rejection(sessions.authenticate(created.accessToken));
      expect(error.code).toBe('token_expired');
      expect(error.status).toBe(401);
      expect(await status(t, created.session.id)).toEqual({ status: 'active' });
      // The expected remedy works.
      const grant = await sessions.refreshSession(created.refreshToken);
      await expect(sessions.authenticate(grant.accessToken)).resolves.toBeDefined();
    });

    it('token_expired also for a token never verified before (no cache involved)', async () => {
      const t = await core();
      const created = await t.tessera.sessions.createSession({ userId: 'alice' });
      t.clock.advance(901);
      expect((await rejection(t.tessera.sessions.authenticate(created.accessToken))).code).toBe('token_expired');
    });

    it('an expired token of a revoked session: session_revoked with its reason (refreshing cannot help), cached or not', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const seen = await sessions.createSession({ userId: 'alice' });
      const unseen = await sessions.createSession({ userId: 'alice' });
      await sessions.authenticate(seen.accessToken); // its claims are now cached
      t.clock.advance(100);
      const revokedAt = t.clock.now();
      await sessions.revokeUserSessions('alice', 'logout');
      t.clock.advance(800);
      for (const token of [seen.accessToken, unseen.accessToken]) {
        const error = await rejection(sessions.authenticate(token));
        expect(error.code).toBe('session_revoked');
        expect(error.details).toEqual([{ reason: 'logout', revoked_at: iso(revokedAt) }]);
      }
    });

    it('an expired token of a session past its idle end: session_expired (idle); before that end, token_expired', async () => {
      const t = await core(dashConfig);
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice', flow: 'dash' });
      t.clock.advance(900);
      expect((await rejection(sessions.authenticate(created.accessToken))).code).toBe('token_expired');
      t.clock.advance(900);
      const error = await rejection(sessions.authenticate(created.accessToken));
      expect(error.code).toBe('session_expired');
      expect(error.details).toEqual([{ reason: 'idle', expired_at: iso(created.session.idleExpiresAt!) }]);
    });

    it('an expired token of a session past its absolute end: session_expired (absolute)', async () => {
      const t = await core({ flows: { short: { absolute_lifetime: 600, idle_timeout: null } } });
      const created = await t.tessera.sessions.createSession({ userId: 'alice', flow: 'short' });
      expect(created.accessTokenExpiresAt).toBe(created.session.expiresAt); // cut short by the session's end
      t.clock.advance(600);
      const error = await rejection(t.tessera.sessions.authenticate(created.accessToken));
      expect(error.code).toBe('session_expired');
      expect(error.details).toEqual([{ reason: 'absolute', expired_at: iso(created.session.expiresAt) }]);
    });

    it('an expired token whose session record is gone: session_not_found', async () => {
      const t = await core();
      const created = await t.tessera.sessions.createSession({ userId: 'alice' });
      const db = new Database(join(t.dir, 'tessera.db'));
      try {
        db.prepare('DELETE FROM sessions WHERE id = ?').run(created.session.id);
      } finally {
        db.close();
      }
      t.clock.advance(901);
      expect((await rejection(t.tessera.sessions.authenticate(created.accessToken))).code).toBe('session_not_found');
    });

    it('an expired token that fails any other check is token_invalid, and its session is never looked up', async () => {
      const t = await core();
      const { sessions } = t.tessera;
      const created = await sessions.createSession({ userId: 'alice' });
      await sessions.revokeSession(created.session.id, 'admin');
      const { signingKeys, clock, config } = t.tessera;
      const genuine = { keys: signingKeys, clock, issuer: 'http://tessera.test', audience: config.audience, clientId: config.clientId };
      const forged = [
        await new AccessTokens({ ...genuine, issuer: 'https://evil.example' }).sign(created.session, 900, created.session.expiresAt),
        await new AccessTokens({ ...genuine, audience: 'someone-else' }).sign(created.session, 900, created.session.expiresAt),
      ];
      t.clock.advance(901);
      const lookups = vi.spyOn(t.store, 'getSession');
      for (const { token } of forged) expect((await rejection(sessions.authenticate(token))).code).toBe('token_invalid');
      expect(lookups).not.toHaveBeenCalled();
    });

    it('a garbled or foreign token is token_invalid', async () => {
      const t = await core();
      const other = await core();
      const created = await t.tessera.sessions.createSession({ userId: 'alice' });
      expect((await rejection(t.tessera.sessions.authenticate('not.a.jwt'))).code).toBe('token_invalid');
      const tampered = created.accessToken.slice(0, -4) + (created.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      expect((await rejection(t.tessera.sessions.authenticate(tampered))).code).toBe('token_invalid');
      // Signed by another server's key.
      const foreign = await other.tessera.sessions.createSession({ userId: 'alice' });
      expect((await rejection(t.tessera.sessions.authenticate(foreign.accessToken))).code).toBe('token_invalid');
    });

    it('the access token exp never exceeds the session end', async () => {
      const t = await core({
        flows: {
          idle: { access_token_ttl: 900, idle_timeout: 300, absolute_lifetime: 86400 },
          brief: { access_token_ttl: 900, idle_timeout: null, absolute_lifetime: 600 },
        },
      });
      const { sessions } = t.tessera;
      for (const flow of ['idle', 'brief', 'default', 'verification']) {
        let grant = await sessions.createSession({ userId: 'alice', flow });
        for (let step = 0; step < 4; step++) {
          const end = sessionEnd(grant.session);
          expect(grant.accessTokenExpiresAt).toBeLessThanOrEqual(end);
          expect(decodeJwt(grant.accessToken).exp! * 1000).toBe(grant.accessTokenExpiresAt);
          expect(grant.refreshTokenExpiresAt).toBe(end);
          t.clock.advance(140);
          grant = await sessions.refreshSession(grant.refreshToken);
        }
      }
      const idle = await sessions.createSession({ userId: 'alice', flow: 'idle' });
      expect(idle.accessTokenExpiresAt).toBe(t.clock.now() + 300_000);
      const brief = await sessions.createSession({ userId: 'alice', flow: 'brief' });
      expect(brief.accessTokenExpiresAt).toBe(t.clock.now() + 600_000);
    });

    it('an unknown flow is invalid_request', async () => {
      const t = await core();
      const error = await rejection(t.tessera.sessions.createSession({ userId: 'alice', flow: 'nope' }));
      expect(error.code).toBe('invalid_request');
      expect(error.status).toBe(400);
      expect(error.details[0]).toMatchObject({ field: 'flow' });
      expect(await t.tessera.sessions.listActiveSessions('alice')).toEqual([]);
    });

    it('inherited object keys are not flows', async () => {
      const t = await core();
      for (const flow of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        const error = await rejection(t.tessera.sessions.createSession({ userId: 'alice', flow }));
        expect(error.code).toBe('invalid_request');
      }
      expect(await t.tessera.sessions.listActiveSessions('alice')).toEqual([]);
    });

    it('a configured flow named like an Object.prototype key starts from the default lifetimes', async () => {
      const t = await core({ flows: { constructor: { idle_timeout: 60 } } });
      const created = await t.tessera.sessions.createSession({ userId: 'alice', flow: 'constructor' });
      expect(created.session.idleExpiresAt).toBe(t.clock.now() + 60_000);
      expect(created.session.expiresAt).toBe(t.clock.now() + 1_209_600_000);
      expect(created.accessTokenExpiresAt).toBe(t.clock.now() + 60_000);
    });
  });

  describe('restart and signing keys', () => {
    it('sessions and signing keys survive a restart on the same folder; old tokens still work', async () => {
      const temp = tempDir();
      cleanups.push(temp.cleanup);
      const first = await startCore({ dir: temp.dir });
      const created = await first.tessera.sessions.createSession({ userId: 'alice', metadata: { a: 1 } });
      const jwks = first.tessera.signingKeys.publicJwks();
      const kid = decodeProtectedHeader(created.accessToken).kid;
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
      await first.close();

      const clock = first.clock;
      clock.advance(60);
      const second = await startCore({ dir: temp.dir, clock });
      cores.push(second);
      expect(await second.tessera.sessions.getSession(created.session.id)).toEqual(created.session);
      expect(second.tessera.signingKeys.publicJwks()).toEqual(jwks);
      const { session } = await second.tessera.sessions.authenticate(created.accessToken);
      expect(session.id).toBe(created.session.id);

      const grant = await second.tessera.sessions.refreshSession(created.refreshToken);
      expect(decodeProtectedHeader(grant.accessToken).kid).toBe(kid);
      // A retry inside the reuse interval across the restart still gets the same pair.
      const replay = await second.tessera.sessions.refreshSession(created.refreshToken);
      expect(replay.refreshToken).toBe(grant.refreshToken);
    });

    it('key rotation: old tokens still verify, and the old key stays in the JWKS until verifyUntil', async () => {
      const t = await core();
      const { sessions, signingKeys } = t.tessera;
      const before = await sessions.createSession({ userId: 'alice' });
      const oldKid = decodeProtectedHeader(before.accessToken).kid!;

      t.clock.advance(10);
      const rotated = await signingKeys.rotate();
      expect(rotated.kid).not.toBe(oldKid);
      const oldRecord = (await t.store.listSigningKeys()).find((k) => k.kid === oldKid)!;
      expect(oldRecord.retiredAt).toBe(t.clock.now());
      // It must outlive every token it signed.
      expect(oldRecord.verifyUntil!).toBeGreaterThanOrEqual(before.accessTokenExpiresAt);

      const after = await sessions.createSession({ userId: 'alice' });
      expect(decodeProtectedHeader(after.accessToken).kid).toBe(rotated.kid);
      expect(
        signingKeys
          .publicJwks()
          .keys.map((k) => k.kid)
          .sort(),
      ).toEqual([oldKid, rotated.kid].sort());

      // Never verified before the rotation: verified now with the retired key.
      await expect(sessions.authenticate(before.accessToken)).resolves.toBeDefined();
      await expect(sessions.authenticate(after.accessToken)).resolves.toBeDefined();
      // Refreshing a session started under the old key signs with the new one.
      const grant = await sessions.refreshSession(before.refreshToken);
      expect(decodeProtectedHeader(grant.accessToken).kid).toBe(rotated.kid);

      t.clock.set(oldRecord.verifyUntil! - 1);
      expect(signingKeys.publicJwks().keys.map((k) => k.kid)).toContain(oldKid);
      t.clock.set(oldRecord.verifyUntil!);
      expect(signingKeys.publicJwks().keys.map((k) => k.kid)).toEqual([rotated.kid]);
    });

    it('after a rotation and a restart, the new key signs and both keys are published', async () => {
      const temp = tempDir();
      cleanups.push(temp.cleanup);
      const first = await startCore({ dir: temp.dir });
      const before = await first.tessera.sessions.createSession({ userId: 'alice' });
      const rotated = await first.tessera.signingKeys.rotate();
      await first.close();

      const second = await startCore({ dir: temp.dir, clock: first.clock });
      cores.push(second);
      const after = await second.tessera.sessions.createSession({ userId: 'alice' });
      expect(decodeProtectedHeader(after.accessToken).kid).toBe(rotated.kid);
      expect(second.tessera.signingKeys.publicJwks().keys).toHaveLength(2);
      await expect(second.tessera.sessions.authenticate(before.accessToken)).resolves.toBeDefined();
    });
  });
});
