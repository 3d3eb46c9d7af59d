import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import type { AuditEventRecord, JournalWrite, WebhookMessageRecord } from '../../src/core/journal.js';
import type { RevocationReason, SessionRecord } from '../../src/core/session.js';
import type { ApiKeyRecord, RefreshTokenRecord, RotateRefreshToken, SessionStore, SigningKeyRecord } from '../../src/core/store.js';

/**
 * The contract every `SessionStore` keeps, whatever holds the data. A store's own test file calls
 * this with a function that opens a fresh, empty store (and a `cleanup` that closes and removes it).
 * Only the `SessionStore` interface is used here, so the same suite runs against SQLite and PostgreSQL.
 */
export function describeSessionStore(name: string, openStore: () => Promise<{ store: SessionStore; cleanup: () => Promise<void> | void }>): void {
  describe(`SessionStore contract: ${name}`, () => {
    const t0 = Date.UTC(2026, 0, 1, 9, 0, 0);
    const hour = 3_600_000;
    let store: SessionStore;
    let cleanup: () => Promise<void> | void;

    beforeEach(async () => {
      ({ store, cleanup } = await openStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    let counter = 0;
    function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
      counter += 1;
      return {
        id: `ses_${counter}_${randomBytes(4).toString('hex')}`,
        userId: 'alice',
        flow: 'default',
        createdAt: t0,
        lastRefreshedAt: null,
        expiresAt: t0 + 24 * hour,
        idleExpiresAt: null,
        revokedAt: null,
        revokedReason: null,
        metadata: {},
        device: null,
        refreshCount: 0,
        version: 1,
        ...overrides,
      };
    }

    function token(sessionId: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
      return {
        hash: randomBytes(32).toString('base64url'),
        sessionId,
        issuedAt: t0,
        spentAt: null,
        sealedSuccessor: null,
        ...overrides,
      };
    }

    async function create(overrides: Partial<SessionRecord> = {}): Promise<{ session: SessionRecord; token: RefreshTokenRecord }> {
      const s = session(overrides);
      const tk = token(s.id, { issuedAt: s.createdAt });
      await store.createSession(s, tk);
      return { session: s, token: tk };
    }

    function rotation(sessionId: string, spentHash: string, at: number, idleExpiresAt: number | null = null): RotateRefreshToken {
      return {
        spentHash,
        spentAt: at,
        sealedSuccessor: `sealed-${randomBytes(8).toString('hex')}`,
        successor: token(sessionId, { issuedAt: at }),
        sessionId,
        lastRefreshedAt: at,
        idleExpiresAt,
        device: null,
      };
    }

    function signingKey(kid: string, createdAt: number): SigningKeyRecord {
      return {
        kid,
        alg: 'ES256',
        privateJwk: JSON.stringify({ kid, kty: 'EC', d: 'private' }),
        publicJwk: JSON.stringify({ kid, kty: 'EC' }),
        createdAt,
        retiredAt: null,
        verifyUntil: null,
        longestTokenTtl: 900,
      };
    }

    describe('sessions', () => {
      it('creates a session and reads every field back', async () => {
        const { session: s } = await create({
          flow: 'dash',
          idleExpiresAt: t0 + hour,
          metadata: { device: 'Firefox on Linux', nested: { n: 1, list: [1, 'two', null] } },
          device: {
            userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
            browser: 'Firefox 133',
            os: 'Linux',
            ip: '2001:db8::7',
          },
        });
        expect(await store.getSession(s.id)).toEqual(s);
      });

      it('keeps a device known only in part, and none at all as null', async () => {
        const partial = await create({ device: { userAgent: null, browser: null, os: null, ip: '203.0.113.7' } });
        const none = await create({ device: null });
        expect((await store.getSession(partial.session.id))?.device).toEqual({ userAgent: null, browser: null, os: null, ip: '203.0.113.7' });
        expect((await store.getSession(none.session.id))?.device).toBeNull();
        expect((await store.getSession(none.session.id))?.refreshCount).toBe(0);
      });

      it('returns null for an unknown session', async () => {
        expect(await store.getSession('ses_nope')).toBeNull();
      });

      it('keeps sessions apart', async () => {
        const a = await create({ userId: 'alice' });
        const b = await create({ userId: 'bob', metadata: { b: true } });
        expect((await store.getSession(a.session.id))?.userId).toBe('alice');
        expect(await store.getSession(b.session.id)).toEqual(b.session);
      });

      it('refuses a second session with the same id', async () => {
        const { session: s } = await create();
        await expect(store.createSession(s, token(s.id))).rejects.toThrow();
        expect(await store.getSession(s.id)).toEqual(s);
      });
    });

    describe('refresh tokens', () => {
      it('finds a refresh token with its session', async () => {
        const { session: s, token: tk } = await create();
        const found = await store.findRefreshToken(tk.hash);
        expect(found).toEqual({ token: tk, session: s });
      });

      it('returns null for an unknown hash', async () => {
        await create();
        expect(await store.findRefreshToken(randomBytes(32).toString('base64url'))).toBeNull();
      });

      it('rotates: spends the old token, stores the successor, renews the session and bumps its version', async () => {
        const { session: s, token: tk } = await create({ idleExpiresAt: t0 + hour });
        const at = t0 + 60_000;
        const rot = rotation(s.id, tk.hash, at, at + hour);
        const updated = await store.rotateRefreshToken(rot);
        expect(updated).toEqual({ ...s, lastRefreshedAt: at, idleExpiresAt: at + hour, refreshCount: 1, version: s.version + 1 });
        expect(await store.getSession(s.id)).toEqual(updated);

        const spent = await store.findRefreshToken(tk.hash);
        expect(spent?.token).toEqual({ ...tk, spentAt: at, sealedSuccessor: rot.sealedSuccessor });
        expect(spent?.session).toEqual(updated);

        const successor = await store.findRefreshToken(rot.successor.hash);
        expect(successor?.token).toEqual(rot.successor);
        expect(successor?.token.spentAt).toBeNull();
      });

      it('records the device each rotation saw and counts the rotations, in the same write', async () => {
        const seenAt = { userAgent: 'Mozilla/5.0 (Macintosh) Chrome/131.0.0.0', browser: 'Chrome 131', os: 'macOS', ip: '198.51.100.1' };
        const { session: s, token: tk } = await create({ device: { userAgent: null, browser: null, os: null, ip: '10.0.0.1' } });
        const first = { ...rotation(s.id, tk.hash, t0 + 60_000), device: seenAt };
        expect(await store.rotateRefreshToken(first)).toMatchObject({ device: seenAt, refreshCount: 1, lastRefreshedAt: t0 + 60_000 });
        const moved = { ...seenAt, ip: '198.51.100.2' };
        const second = { ...rotation(s.id, first.successor.hash, t0 + 120_000), device: moved };
        expect(await store.rotateRefreshToken(second)).toMatchObject({ device: moved, refreshCount: 2, lastRefreshedAt: t0 + 120_000 });
        expect(await store.getSession(s.id)).toMatchObject({ device: moved, refreshCount: 2, version: s.version + 2 });
        // A lost race records nothing: neither the device nor a count.
        expect(await store.rotateRefreshToken({ ...rotation(s.id, first.successor.hash, t0 + 180_000), device: seenAt })).toBeNull();
        expect((await store.findRefreshToken(second.successor.hash))?.session).toMatchObject({ device: moved, refreshCount: 2 });
      });

      it('rotates a token at most once: a second rotation of the same hash returns null and stores nothing', async () => {
        const { session: s, token: tk } = await create();
        const first = rotation(s.id, tk.hash, t0 + 1000);
        const second = rotation(s.id, tk.hash, t0 + 2000);
        expect(await store.rotateRefreshToken(first)).not.toBeNull();
        expect(await store.rotateRefreshToken(second)).toBeNull();

        expect(await store.findRefreshToken(second.successor.hash)).toBeNull();
        const spent = await store.findRefreshToken(tk.hash);
        expect(spent?.token.spentAt).toBe(t0 + 1000);
        expect(spent?.token.sealedSuccessor).toBe(first.sealedSuccessor);
        const current = await store.getSession(s.id);
        expect(current?.lastRefreshedAt).toBe(t0 + 1000);
        expect(current?.version).toBe(2);
      });

      it('lets exactly one of many concurrent rotations of the same hash win', async () => {
        const { session: s, token: tk } = await create();
        const rotations = Array.from({ length: 10 }, (_, i) => rotation(s.id, tk.hash, t0 + 1000 + i));
        const results = await Promise.all(rotations.map((rot) => store.rotateRefreshToken(rot)));
        const winners = results.map((result, i) => (result ? i : -1)).filter((i) => i >= 0);
        expect(winners).toHaveLength(1);
        const winner = rotations[winners[0]!]!;
        for (const rot of rotations) {
          const found = await store.findRefreshToken(rot.successor.hash);
          if (rot === winner) expect(found?.token).toEqual(rot.successor);
          else expect(found).toBeNull();
        }
        expect((await store.getSession(s.id))?.version).toBe(2);
      });

      it('rotates a successor in turn', async () => {
        const { session: s, token: tk } = await create();
        const first = rotation(s.id, tk.hash, t0 + 1000);
        await store.rotateRefreshToken(first);
        const second = rotation(s.id, first.successor.hash, t0 + 2000);
        const updated = await store.rotateRefreshToken(second);
        expect(updated?.lastRefreshedAt).toBe(t0 + 2000);
        expect(updated?.version).toBe(3);
        expect((await store.findRefreshToken(first.successor.hash))?.token.spentAt).toBe(t0 + 2000);
      });

      it('does not rotate on a revoked session: returns null and stores nothing', async () => {
        const { session: s, token: tk } = await create();
        const revoked = await store.revokeSession(s.id, 'admin', t0 + 500);
        const rot = rotation(s.id, tk.hash, t0 + 1000);
        expect(await store.rotateRefreshToken(rot)).toBeNull();

        expect(await store.findRefreshToken(rot.successor.hash)).toBeNull();
        const old = await store.findRefreshToken(tk.hash);
        expect(old?.token).toEqual(tk);
        expect(await store.getSession(s.id)).toEqual(revoked);
      });

      it('returns null when rotating an unknown hash', async () => {
        const { session: s } = await create();
        const rot = rotation(s.id, randomBytes(32).toString('base64url'), t0 + 1000);
        expect(await store.rotateRefreshToken(rot)).toBeNull();
        expect(await store.findRefreshToken(rot.successor.hash)).toBeNull();
        expect((await store.getSession(s.id))?.version).toBe(1);
      });
    });

    describe('revocation', () => {
      it('revokes a session with its reason and time, bumping the version', async () => {
        const { session: s } = await create();
        const revoked = await store.revokeSession(s.id, 'logout', t0 + 1000);
        expect(revoked).toEqual({ ...s, revokedAt: t0 + 1000, revokedReason: 'logout', version: 2 });
        expect(await store.getSession(s.id)).toEqual(revoked);
      });

      it('is idempotent: a second revocation returns null and keeps the first reason and time', async () => {
        const { session: s } = await create();
        const first = await store.revokeSession(s.id, 'logout', t0 + 1000);
        expect(await store.revokeSession(s.id, 'admin', t0 + 2000)).toBeNull();
        expect(await store.getSession(s.id)).toEqual(first);
      });

      it('returns null when revoking an unknown session', async () => {
        expect(await store.revokeSession('ses_nope', 'admin', t0)).toBeNull();
      });

      it.each<RevocationReason>(['logout', 'admin', 'reuse_detected', 'signed_out_elsewhere'])('stores reason %s', async (reason) => {
        const { session: s } = await create();
        await store.revokeSession(s.id, reason, t0 + 1);
        expect((await store.getSession(s.id))?.revokedReason).toBe(reason);
      });

      it("revokes only the user's active sessions, except the one named", async () => {
        const now = t0 + 2 * hour;
        const keep = await create({ createdAt: t0 + 3 });
        const other1 = await create({ createdAt: t0 + 2 });
        const other2 = await create({ createdAt: t0 + 1, idleExpiresAt: now + 1 });
        const expired = await create({ expiresAt: now - 1 });
        const idled = await create({ idleExpiresAt: now });
        const alreadyRevoked = await create();
        await store.revokeSession(alreadyRevoked.session.id, 'logout', t0 + 10);
        const bob = await create({ userId: 'bob' });

        const revoked = await store.revokeUserSessions('alice', 'signed_out_elsewhere', now, keep.session.id);
        expect(revoked.map((r) => r.id).sort()).toEqual([other1.session.id, other2.session.id].sort());
        for (const r of revoked) {
          expect(r.revokedAt).toBe(now);
          expect(r.revokedReason).toBe('signed_out_elsewhere');
          expect(r.version).toBe(2);
          expect(await store.getSession(r.id)).toEqual(r);
        }
        expect(await store.getSession(keep.session.id)).toEqual(keep.session);
        expect(await store.getSession(expired.session.id)).toEqual(expired.session);
        expect(await store.getSession(idled.session.id)).toEqual(idled.session);
        expect((await store.getSession(alreadyRevoked.session.id))?.revokedReason).toBe('logout');
        expect((await store.getSession(alreadyRevoked.session.id))?.revokedAt).toBe(t0 + 10);
        expect(await store.getSession(bob.session.id)).toEqual(bob.session);
      });

      it('revokes every active session of the user when none is excepted, and nothing the second time', async () => {
        const a = await create();
        const b = await create();
        const revoked = await store.revokeUserSessions('alice', 'admin', t0 + 5);
        expect(revoked.map((r) => r.id).sort()).toEqual([a.session.id, b.session.id].sort());
        expect(await store.revokeUserSessions('alice', 'admin', t0 + 6)).toEqual([]);
        expect((await store.getSession(a.session.id))?.revokedAt).toBe(t0 + 5);
      });

      it('returns an empty list for a user with no sessions', async () => {
        expect(await store.revokeUserSessions('nobody', 'admin', t0)).toEqual([]);
      });
    });

    describe('journal', () => {
      const actor = { type: 'api_key', id: 'backend' } as const;
      let eventCounter = 0;
      function event(overrides: Partial<AuditEventRecord> = {}): AuditEventRecord {
        eventCounter += 1;
        return {
          id: `evt_${String(eventCounter).padStart(6, '0')}`,
          type: 'session.revoked',
          at: t0,
          userId: 'alice',
          sessionId: null,
          actor,
          reason: 'admin',
          details: { n: eventCounter },
          ...overrides,
        };
      }
      function message(eventId: string): WebhookMessageRecord {
        return {
          id: `msg_${eventId}`,
          endpointId: 'wh_1',
          eventId,
          type: 'session.revoked',
          payload: '{}',
          createdAt: t0,
          attempts: 0,
          nextAttemptAt: t0,
          deliveredAt: null,
          failedAt: null,
          lastError: null,
          leaseOwner: null,
          leaseUntil: null,
        };
      }
      const write = (...events: AuditEventRecord[]): JournalWrite => ({ events, messages: events.map((e) => message(e.id)) });

      it('writes the events of a change with it, and only when something changed', async () => {
        const { session: s } = await create();
        const recorded: SessionRecord[] = [];
        const revoked = await store.revokeSession(s.id, 'admin', t0 + 1000, (changed) => {
          recorded.push(changed);
          return write(event({ sessionId: changed.id, at: changed.revokedAt! }));
        });
        expect(recorded).toEqual([revoked]);
        expect(await store.revokeSession(s.id, 'admin', t0 + 2000, () => write(event({ sessionId: s.id })))).toBeNull();
        const events = await store.listAuditEvents({ sessionId: s.id, limit: 10 });
        expect(events).toEqual([expect.objectContaining({ sessionId: s.id, at: t0 + 1000, actor, reason: 'admin' })]);
        expect(events[0]!.details).toEqual({ n: expect.any(Number) });
      });

      it('rolls the change back when its journal cannot be written', async () => {
        const { session: s } = await create();
        await expect(
          store.revokeSession(s.id, 'admin', t0 + 1000, () => {
            throw new Error('the journal failed');
          }),
        ).rejects.toThrow();
        expect((await store.getSession(s.id))?.revokedAt).toBeNull();
        // A duplicate event id fails the insert inside the transaction: the revocations roll back too.
        const taken = event();
        await store.appendJournal(write(taken));
        await expect(store.revokeUserSessions('alice', 'admin', t0 + 1000, undefined, () => write(event(), taken))).rejects.toThrow();
        expect((await store.getSession(s.id))?.revokedAt).toBeNull();
        const brandNew = session();
        await expect(store.createSession(brandNew, token(brandNew.id), () => write(taken))).rejects.toThrow();
        expect(await store.getSession(brandNew.id)).toBeNull();
      });

      it('records one event per session a user-wide revocation ended', async () => {
        const a = await create();
        const b = await create();
        await store.revokeUserSessions('alice', 'admin', t0 + 5, undefined, (revoked) =>
          write(...revoked.map((r) => event({ sessionId: r.id, at: r.revokedAt! }))),
        );
        const events = await store.listAuditEvents({ userId: 'alice', limit: 10 });
        expect(events.map((e) => e.sessionId).sort()).toEqual([a.session.id, b.session.id].sort());
        expect(await store.revokeUserSessions('alice', 'admin', t0 + 6, undefined, () => write(event()))).toEqual([]);
        expect(await store.listAuditEvents({ userId: 'alice', limit: 10 })).toHaveLength(2);
      });

      it('pages through events newest first, each once, with every filter', async () => {
        const written = Array.from({ length: 7 }, (_, i) =>
          event({ at: t0 + Math.floor(i / 3), userId: i % 2 === 0 ? 'alice' : 'bob', type: i % 3 === 0 ? 'session.created' : 'session.revoked' }),
        );
        await store.appendJournal(write(...written.slice(0, 4)));
        await store.appendJournal(write(...written.slice(4)));
        const newestFirst = [...written].sort((x, y) => y.at - x.at || (y.id < x.id ? -1 : 1));
        const seen: AuditEventRecord[] = [];
        let before: { at: number; id: string } | undefined;
        for (;;) {
          const page = await store.listAuditEvents({ limit: 2, ...(before ? { before } : {}) });
          seen.push(...page);
          if (page.length < 2) break;
          before = { at: page.at(-1)!.at, id: page.at(-1)!.id };
        }
        expect(seen).toEqual(newestFirst);
        expect((await store.listAuditEvents({ userId: 'bob', limit: 10 })).map((e) => e.id)).toEqual(
          newestFirst.filter((e) => e.userId === 'bob').map((e) => e.id),
        );
        expect((await store.listAuditEvents({ type: 'session.created', userId: 'alice', limit: 10 })).map((e) => e.id)).toEqual(
          newestFirst.filter((e) => e.type === 'session.created' && e.userId === 'alice').map((e) => e.id),
        );
      });

      it('keeps what an API key change records with it', async () => {
        const key: ApiKeyRecord = { hash: 'h1', name: 'ci', origin: 'created', createdAt: t0, revokedAt: null, lastUsedAt: null };
        await store.putApiKey(key, () => write(event({ type: 'api_key.created', userId: null, details: { name: 'ci' } })));
        expect(await store.revokeApiKey('ci', t0 + 1, () => write(event({ type: 'api_key.revoked', userId: null })))).toBe(true);
        expect(await store.revokeApiKey('ci', t0 + 2, () => write(event({ type: 'api_key.revoked', userId: null })))).toBe(false);
        expect((await store.listAuditEvents({ limit: 10 })).map((e) => e.type).sort()).toEqual(['api_key.created', 'api_key.revoked']);
      });
    });

    describe('listActiveSessions', () => {
      it('lists the active sessions of the user, newest first, excluding expired, idle-expired and revoked ones', async () => {
        const now = t0 + 2 * hour;
        const older = await create({ createdAt: t0 });
        const newer = await create({ createdAt: t0 + 1000, idleExpiresAt: now + 1 });
        await create({ expiresAt: now - 1 });
        await create({ expiresAt: now }); // ends exactly now: no longer active
        await create({ idleExpiresAt: now - 1 });
        await create({ idleExpiresAt: now });
        const revoked = await create();
        await store.revokeSession(revoked.session.id, 'admin', t0 + 1);
        await create({ userId: 'bob' });

        const active = await store.listActiveSessions('alice', now);
        expect(active.map((s) => s.id)).toEqual([newer.session.id, older.session.id]);
        expect(active[1]).toEqual(older.session);
      });

      it('reflects rotations and revocations', async () => {
        const a = await create();
        const rot = rotation(a.session.id, a.token.hash, t0 + 10, t0 + hour);
        await store.rotateRefreshToken(rot);
        let active = await store.listActiveSessions('alice', t0 + 20);
        expect(active).toHaveLength(1);
        expect(active[0]?.lastRefreshedAt).toBe(t0 + 10);
        expect(active[0]?.idleExpiresAt).toBe(t0 + hour);
        expect(await store.listActiveSessions('alice', t0 + hour)).toEqual([]);
        await store.revokeSession(a.session.id, 'logout', t0 + 30);
        active = await store.listActiveSessions('alice', t0 + 40);
        expect(active).toEqual([]);
      });

      it('returns an empty list for an unknown user', async () => {
        expect(await store.listActiveSessions('nobody', t0)).toEqual([]);
      });
    });

    describe('listUserSessions', () => {
      it("lists the user's sessions of every status, newest first, and no one else's", async () => {
        const now = t0 + 2 * hour;
        const active = await create({ createdAt: t0 + 5 });
        const expired = await create({ createdAt: t0 + 4, expiresAt: now - 1 });
        const idled = await create({ createdAt: t0 + 3, idleExpiresAt: now - 1 });
        const revoked = await create({ createdAt: t0 + 2 });
        const revokedRecord = await store.revokeSession(revoked.session.id, 'reuse_detected', t0 + 100);
        const oldest = await create({ createdAt: t0 + 1 });
        await create({ userId: 'bob', createdAt: t0 + 6 });

        const all = await store.listUserSessions('alice', 100);
        expect(all.map((s) => s.id)).toEqual([active, expired, idled, revoked, oldest].map((c) => c.session.id));
        expect(all[0]).toEqual(active.session);
        expect(all[1]).toEqual(expired.session);
        expect(all[2]).toEqual(idled.session);
        expect(all[3]).toEqual(revokedRecord);
        expect(all[3]?.revokedReason).toBe('reuse_detected');
        expect(all[3]?.revokedAt).toBe(t0 + 100);
      });

      it('keeps the most recent ones when there are more than the limit, ties broken by id', async () => {
        const made: SessionRecord[] = [];
        for (let i = 0; i < 5; i++) made.push((await create({ createdAt: t0 + i })).session);
        const tied = await create({ createdAt: t0 + 4 });
        const newestFirst = [...made, tied.session].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
        const three = await store.listUserSessions('alice', 3);
        expect(three.map((s) => s.id)).toEqual(newestFirst.slice(0, 3).map((s) => s.id));
        expect(await store.listUserSessions('alice', 1)).toHaveLength(1);
        expect((await store.listUserSessions('alice', 100)).map((s) => s.id)).toEqual(newestFirst.map((s) => s.id));
      });

      it('returns an empty list for an unknown user', async () => {
        await create();
        expect(await store.listUserSessions('nobody', 100)).toEqual([]);
      });
    });

    describe('signing keys', () => {
      it('starts with none', async () => {
        expect(await store.listSigningKeys()).toEqual([]);
      });

      it('adds a current key', async () => {
        const key = signingKey('kid-1', t0);
        await store.addSigningKey(key, null);
        expect(await store.listSigningKeys()).toEqual([key]);
      });

      it('retires every current key when a new one is added with verifyUntil, oldest first', async () => {
        const k1 = signingKey('kid-1', t0);
        const k2 = signingKey('kid-2', t0 + hour);
        const k3 = signingKey('kid-3', t0 + 2 * hour);
        await store.addSigningKey(k1, null);
        await store.addSigningKey(k2, t0 + hour + 1000);
        expect(await store.listSigningKeys()).toEqual([{ ...k1, retiredAt: t0 + hour, verifyUntil: t0 + hour + 1000 }, k2]);

        await store.addSigningKey(k3, t0 + 2 * hour + 1000);
        expect(await store.listSigningKeys()).toEqual([
          { ...k1, retiredAt: t0 + hour, verifyUntil: t0 + hour + 1000 },
          { ...k2, retiredAt: t0 + 2 * hour, verifyUntil: t0 + 2 * hour + 1000 },
          k3,
        ]);
      });

      it('raises the longest token lifetime a key signs for, never lowers it', async () => {
        const key = signingKey('kid-1', t0);
        await store.addSigningKey(key, null);
        await store.extendSigningKeyTtl('kid-1', 7200);
        await store.extendSigningKeyTtl('kid-1', 600);
        expect(await store.listSigningKeys()).toEqual([{ ...key, longestTokenTtl: 7200 }]);
      });

      it('keeps the current keys current when a key is added without verifyUntil', async () => {
        const k1 = signingKey('kid-1', t0);
        const k2 = signingKey('kid-2', t0 + 1);
        await store.addSigningKey(k1, null);
        await store.addSigningKey(k2, null);
        expect(await store.listSigningKeys()).toEqual([k1, k2]);
      });

      it('refuses a duplicate kid', async () => {
        const k1 = signingKey('kid-1', t0);
        await store.addSigningKey(k1, null);
        await expect(store.addSigningKey(signingKey('kid-1', t0 + 1), null)).rejects.toThrow();
        expect(await store.listSigningKeys()).toEqual([k1]);
      });
    });

    describe('api keys', () => {
      const apiKey = (hash: string, name: string, origin: ApiKeyRecord['origin'] = 'created', createdAt = t0): ApiKeyRecord => ({
        hash,
        name,
        origin,
        createdAt,
        revokedAt: null,
        lastUsedAt: null,
      });

      it('stores named keys oldest first, with who made them and when', async () => {
        expect(await store.listApiKeys()).toEqual([]);
        await store.putApiKey(apiKey('hash-a', 'ci'));
        await store.putApiKey(apiKey('hash-b', 'supplied', 'supplied', t0 + 1));
        expect(await store.listApiKeys()).toEqual([apiKey('hash-a', 'ci'), apiKey('hash-b', 'supplied', 'supplied', t0 + 1)]);
      });

      it('revokes a live key by name, once, and lets the name be used again', async () => {
        await store.putApiKey(apiKey('hash-a', 'ci'));
        expect(await store.revokeApiKey('ci', t0 + 5)).toBe(true);
        expect(await store.revokeApiKey('ci', t0 + 6)).toBe(false);
        expect(await store.revokeApiKey('nobody', t0 + 6)).toBe(false);
        await store.putApiKey(apiKey('hash-c', 'ci', 'created', t0 + 7));
        expect(await store.listApiKeys()).toEqual([{ ...apiKey('hash-a', 'ci'), revokedAt: t0 + 5 }, apiKey('hash-c', 'ci', 'created', t0 + 7)]);
      });

      it('refuses a second live key of the same name', async () => {
        await store.putApiKey(apiKey('hash-a', 'ci'));
        await expect(store.putApiKey(apiKey('hash-b', 'ci'))).rejects.toThrow();
        expect((await store.listApiKeys()).map((key) => key.hash)).toEqual(['hash-a']);
      });

      it('puts an existing key back to life under its new name and origin', async () => {
        await store.putApiKey(apiKey('hash-a', 'ci'));
        await store.revokeApiKey('ci', t0 + 5);
        await store.putApiKey(apiKey('hash-a', 'supplied', 'supplied', t0 + 9));
        expect(await store.listApiKeys()).toEqual([apiKey('hash-a', 'supplied', 'supplied')]);
      });

      it('revokes the live keys of one origin but one', async () => {
        await store.putApiKey(apiKey('hash-a', 'legacy-a', 'legacy'));
        await store.putApiKey(apiKey('hash-b', 'legacy-b', 'legacy'));
        await store.putApiKey(apiKey('hash-c', 'ci'));
        expect(await store.revokeApiKeysOfOrigin('legacy', t0 + 5, 'hash-b')).toBe(1);
        expect(await store.revokeApiKeysOfOrigin('legacy', t0 + 6, null)).toBe(1);
        expect((await store.listApiKeys()).map((key) => [key.hash, key.revokedAt])).toEqual([
          ['hash-a', t0 + 5],
          ['hash-b', t0 + 6],
          ['hash-c', null],
        ]);
      });

      it('keeps the latest time a key was used, never an earlier one', async () => {
        await store.putApiKey(apiKey('hash-a', 'ci'));
        await store.recordApiKeyUse('hash-a', t0 + 10);
        await store.recordApiKeyUse('hash-a', t0 + 5);
        expect((await store.listApiKeys())[0]!.lastUsedAt).toBe(t0 + 10);
      });
    });

    describe('revoked since', () => {
      it('lists sessions revoked strictly after a time, oldest first, whoever revoked them', async () => {
        const early = await create();
        const a = await create();
        const b = await create({ userId: 'bob' });
        const active = await create();
        await store.revokeSession(early.session.id, 'logout', t0 + 1_000);
        await store.revokeSession(b.session.id, 'admin', t0 + 3_000);
        await store.revokeUserSessions('alice', 'signed_out_elsewhere', t0 + 2_000, active.session.id);

        const since = await store.listRevokedSince(t0 + 1_000);
        expect(since.map((r) => r.id)).toEqual([a.session.id, b.session.id]);
        expect(since[0]).toEqual({ ...a.session, revokedAt: t0 + 2_000, revokedReason: 'signed_out_elsewhere', version: 2 });
        expect(since[1]?.revokedReason).toBe('admin');
        expect((await store.listRevokedSince(t0)).map((r) => r.id)).toEqual([early.session.id, a.session.id, b.session.id]);
        expect(await store.listRevokedSince(t0 + 3_000)).toEqual([]);
      });

      it('counts sessions revoked in a stretch of time: after its start, up to and including its end', async () => {
        const [a, b, c] = [await create(), await create(), await create()];
        await create();
        await store.revokeSession(a.session.id, 'logout', t0 + 1_000);
        await store.revokeSession(b.session.id, 'admin', t0 + 2_000);
        await store.revokeSession(c.session.id, 'admin', t0 + 3_000);
        expect(await store.countRevokedBetween(t0, t0 + 3_000)).toBe(3);
        expect(await store.countRevokedBetween(t0 + 1_000, t0 + 2_000)).toBe(1);
        expect(await store.countRevokedBetween(t0 + 3_000, t0 + 9_000)).toBe(0);
        expect(await store.countRevokedBetween(t0 - 9_000, t0)).toBe(0);
      });
    });

    describe('searchUsers', () => {
      const now = t0 + 2 * hour;
      const search = (prefix: string, limit = 50, afterUserId?: string) =>
        store.searchUsers({ prefix, limit, now, ...(afterUserId === undefined ? {} : { afterUserId }) });

      it('finds the users whose id starts with the prefix, in id order, with their active sessions and newest creation', async () => {
        await create({ userId: 'alice', createdAt: t0 + 1 });
        await create({ userId: 'alice', createdAt: t0 + 7 });
        const revoked = await create({ userId: 'alice', createdAt: t0 + 3 });
        await store.revokeSession(revoked.session.id, 'admin', t0 + 10);
        await create({ userId: 'alice', createdAt: t0 + 2, expiresAt: now - 1 });
        await create({ userId: 'alina', createdAt: t0 + 5, idleExpiresAt: now - 1 });
        await create({ userId: 'ali', createdAt: t0 + 4 });
        await create({ userId: 'Alice', createdAt: t0 + 4 });
        await create({ userId: 'bob', createdAt: t0 + 4 });
        await create({ userId: 'al', createdAt: t0 + 4 });

        expect(await search('ali')).toEqual([
          { userId: 'ali', activeSessions: 1, lastCreatedAt: t0 + 4 },
          { userId: 'alice', activeSessions: 2, lastCreatedAt: t0 + 7 },
          { userId: 'alina', activeSessions: 0, lastCreatedAt: t0 + 5 },
        ]);
        expect((await search('alice')).map((user) => user.userId)).toEqual(['alice']);
        expect(await search('alicia')).toEqual([]);
        expect(await search('zz')).toEqual([]);
        // The empty prefix is every user.
        expect((await search('')).map((user) => user.userId)).toEqual(['Alice', 'al', 'ali', 'alice', 'alina', 'bob']);
      });

      it('pages on: after the last user of a page come the next ones, each once', async () => {
        const ids = ['u-01', 'u-02', 'u-03', 'u-04', 'u-05', 'u-06', 'u-07', 'v-01'];
        for (const userId of ids) {
          await create({ userId });
          await create({ userId });
        }
        const seen: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 10; page++) {
          const found = await search('u-', 3, after);
          seen.push(...found.map((user) => user.userId));
          if (found.length < 3) break;
          after = found.at(-1)!.userId;
        }
        expect(seen).toEqual(ids.slice(0, 7));
        expect((await search('u-', 3)).map((user) => user.activeSessions)).toEqual([2, 2, 2]);
      });

      it('takes LIKE wildcards, quotes and backslashes as the characters they are', async () => {
        for (const userId of ['a%b', 'a_b', 'axb', 'a\\b', "a'b", 'ab']) await create({ userId });
        expect((await search('a%')).map((user) => user.userId)).toEqual(['a%b']);
        expect((await search('a_')).map((user) => user.userId)).toEqual(['a_b']);
        expect((await search('a\\')).map((user) => user.userId)).toEqual(['a\\b']);
        expect((await search("a'")).map((user) => user.userId)).toEqual(["a'b"]);
        expect(await search('%')).toEqual([]);
      });

      it('matches ids outside the Basic Multilingual Plane, and a prefix ending in the last code point', async () => {
        const ids = ['é-1', 'é😀', 'é\u{10FFFF}x', 'é\u{FFFF}', 'f', 'e'];
        for (const userId of ids) await create({ userId });
        expect((await search('é')).map((user) => user.userId).sort()).toEqual(['é-1', 'é😀', 'é\u{10FFFF}x', 'é\u{FFFF}'].sort());
        expect((await search('é😀')).map((user) => user.userId)).toEqual(['é😀']);
        expect((await search('é\u{10FFFF}')).map((user) => user.userId)).toEqual(['é\u{10FFFF}x']);
      });
    });

    describe('countActiveSessions', () => {
      it("counts every user's sessions that are neither revoked nor past either end", async () => {
        const now = t0 + 2 * hour;
        expect(await store.countActiveSessions(now)).toBe(0);
        await create({ userId: 'alice' });
        await create({ userId: 'bob' });
        await create({ userId: 'bob', expiresAt: now });
        await create({ userId: 'carol', idleExpiresAt: now - 1 });
        await create({ userId: 'carol', idleExpiresAt: now + 1 });
        const revoked = await create({ userId: 'dave' });
        await store.revokeSession(revoked.session.id, 'logout', t0 + 1);
        expect(await store.countActiveSessions(now)).toBe(3);
        expect(await store.countActiveSessions(t0)).toBe(5);
      });
    });

    describe('versions', () => {
      it('bumps the version on every change and never otherwise', async () => {
        const { session: s, token: tk } = await create();
        const versions = [(await store.getSession(s.id))!.version];

        const rot1 = rotation(s.id, tk.hash, t0 + 1);
        await store.rotateRefreshToken(rot1);
        versions.push((await store.getSession(s.id))!.version);

        const rot2 = rotation(s.id, rot1.successor.hash, t0 + 2);
        await store.rotateRefreshToken(rot2);
        versions.push((await store.getSession(s.id))!.version);

        // No change: a lost rotation, a read.
        await store.rotateRefreshToken(rotation(s.id, tk.hash, t0 + 3));
        await store.findRefreshToken(rot2.successor.hash);
        await store.listActiveSessions('alice', t0 + 3);
        versions.push((await store.getSession(s.id))!.version);

        await store.revokeSession(s.id, 'logout', t0 + 4);
        versions.push((await store.getSession(s.id))!.version);

        // No change: an idempotent revocation, a bulk revocation that finds it already revoked.
        await store.revokeSession(s.id, 'admin', t0 + 5);
        await store.revokeUserSessions('alice', 'admin', t0 + 5);
        versions.push((await store.getSession(s.id))!.version);

        expect(versions).toEqual([1, 2, 3, 3, 4, 4]);

        const { session: other } = await create();
        const [bulk] = await store.revokeUserSessions('alice', 'admin', t0 + 6);
        expect(bulk?.id).toBe(other.id);
        expect(bulk?.version).toBe(2);
      });
    });

    describe('ping', () => {
      it('resolves while the store answers', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('rejects with service_unavailable once the store is closed, and close is idempotent', async () => {
        await store.close();
        const error = await store.ping().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TesseraError);
        expect((error as TesseraError).code).toBe('service_unavailable');
        await expect(store.close()).resolves.toBeUndefined();
      });
    });
  });
}
