import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import type { AuditEventRecord, JournalWrite, WebhookMessageRecord } from '../../src/core/journal.js';
import { type RevocationReason, type SessionRecord, sessionState } from '../../src/core/session.js';
import type { ApiKeyRecord, RefreshTokenRecord, RotateRefreshToken, SessionQuery, SessionStore, SigningKeyRecord } from '../../src/core/store.js';
import { storedSession } from '../helpers.js';

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
      return storedSession(`ses_${counter}_${randomBytes(4).toString('hex')}`, t0, { expiresAt: t0 + 24 * hour, ...overrides });
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
        dpopJkt: null,
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

    describe('bulk import', () => {
      it('stores every session with its refresh token', async () => {
        const entries = Array.from({ length: 25 }, (_, index) => {
          const s = session({ userId: `imported-${index % 5}`, createdAt: t0 + index });
          return { session: s, refreshToken: token(s.id, { issuedAt: s.createdAt }) };
        });
        await store.importSessions(entries);
        for (const entry of entries) {
          expect(await store.findRefreshToken(entry.refreshToken.hash)).toEqual({ token: entry.refreshToken, session: entry.session });
        }
        expect((await store.listActiveSessions('imported-3', t0)).map((each) => each.id).sort()).toEqual(
          entries
            .filter((entry) => entry.session.userId === 'imported-3')
            .map((entry) => entry.session.id)
            .sort(),
        );
      });

      it('stores none of them when one cannot be stored', async () => {
        const { session: existing } = await create();
        const fresh = session();
        const entries = [
          { session: fresh, refreshToken: token(fresh.id) },
          { session: existing, refreshToken: token(existing.id) },
        ];
        await expect(store.importSessions(entries)).rejects.toThrow();
        expect(await store.getSession(fresh.id)).toBeNull();
        expect(await store.findRefreshToken(entries[0]!.refreshToken.hash)).toBeNull();
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

      it('binds a session to the DPoP key of its first rotation that names one, and keeps that key after', async () => {
        const jkt = 'a'.repeat(43);
        const { session: s, token: tk } = await create();
        const bearer = rotation(s.id, tk.hash, t0 + 1000);
        expect(await store.rotateRefreshToken(bearer)).toMatchObject({ dpopJkt: null });
        const binding = { ...rotation(s.id, bearer.successor.hash, t0 + 2000), dpopJkt: jkt };
        expect(await store.rotateRefreshToken(binding)).toMatchObject({ dpopJkt: jkt });
        const other = { ...rotation(s.id, binding.successor.hash, t0 + 3000), dpopJkt: 'b'.repeat(43) };
        expect(await store.rotateRefreshToken(other)).toMatchObject({ dpopJkt: jkt });
        expect(await store.getSession(s.id)).toMatchObject({ dpopJkt: jkt });
        expect((await store.findRefreshToken(other.successor.hash))?.session.dpopJkt).toBe(jkt);
      });

      it('rotates a bound session unread only with its own key', async () => {
        if (!store.rotateUnreadRefreshToken) return;
        const jkt = 'c'.repeat(43);
        const { session: s, token: tk } = await create({ dpopJkt: jkt });
        const unread = (hash: string, at: number, dpopJkt: string | null) => {
          const { device: _device, ...rot } = rotation(s.id, hash, at);
          return { ...rot, now: at, seen: null, dpopJkt };
        };
        expect(await store.rotateUnreadRefreshToken(unread(tk.hash, t0 + 1000, null))).toBeNull();
        expect(await store.rotateUnreadRefreshToken(unread(tk.hash, t0 + 1000, 'd'.repeat(43)))).toBeNull();
        expect((await store.findRefreshToken(tk.hash))?.token.spentAt).toBeNull();
        expect(await store.rotateUnreadRefreshToken(unread(tk.hash, t0 + 1000, jkt))).toMatchObject({ dpopJkt: jkt, refreshCount: 1 });
      });

      it('returns null when rotating an unknown hash', async () => {
        const { session: s } = await create();
        const rot = rotation(s.id, randomBytes(32).toString('base64url'), t0 + 1000);
        expect(await store.rotateRefreshToken(rot)).toBeNull();
        expect(await store.findRefreshToken(rot.successor.hash)).toBeNull();
        expect((await store.getSession(s.id))?.version).toBe(1);
      });
    });

    describe('DPoP proofs', () => {
      it('remembers a jti once: the second time is a replay', async () => {
        expect(await store.rememberDpopProof('jti-1', t0 + 65_000)).toBe(true);
        expect(await store.rememberDpopProof('jti-1', t0 + 65_000)).toBe(false);
        expect(await store.rememberDpopProof('jti-2', t0 + 65_000)).toBe(true);
      });

      it('purges the proofs past their expiry, in batches, and counts them first', async () => {
        for (const [jti, expiresAt] of [
          ['old-1', t0 - 2],
          ['old-2', t0 - 1],
          ['old-3', t0 - 1],
          ['fresh', t0 + 60_000],
        ] as const) {
          expect(await store.rememberDpopProof(jti, expiresAt)).toBe(true);
        }
        expect((await store.countPurgeable(t0, t0, t0)).staleDpopProofs).toBe(3);
        expect((await store.countPurgeable(t0, t0)).staleDpopProofs).toBe(0);
        expect(await store.purgeStaleDpopProofs(t0, 2)).toBe(2);
        expect(await store.purgeStaleDpopProofs(t0, 2)).toBe(1);
        expect(await store.purgeStaleDpopProofs(t0, 2)).toBe(0);
        // The fresh one is still remembered; a purged one could be taken again (its iat refuses it first).
        expect(await store.rememberDpopProof('fresh', t0 + 60_000)).toBe(false);
        expect(await store.rememberDpopProof('old-1', t0 + 60_000)).toBe(true);
      });

      it('keeps the first shared secret offered under a name: every node gets that one', async () => {
        const offers = await Promise.all(['s1', 's2', 's3', 's4'].map((candidate) => store.sharedSecret('nonce-key', candidate, t0)));
        expect(new Set(offers).size).toBe(1);
        expect(['s1', 's2', 's3', 's4']).toContain(offers[0]);
        expect(await store.sharedSecret('nonce-key', 'later', t0 + 1)).toBe(offers[0]);
        expect(await store.sharedSecret('another', 'own', t0)).toBe('own');
      });

      it('lets exactly one of many concurrent uses of one jti through', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, () => store.rememberDpopProof('jti-raced', t0 + 65_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
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

    describe('webhook outbox', () => {
      let messageCounter = 0;
      function outboxMessage(overrides: Partial<WebhookMessageRecord> = {}): WebhookMessageRecord {
        messageCounter += 1;
        const n = String(messageCounter).padStart(6, '0');
        return {
          id: `msg_${n}`,
          endpointId: 'wh_a',
          eventId: `evt_outbox_${n}`,
          type: 'session.revoked',
          payload: `{"n":${messageCounter}}`,
          createdAt: t0,
          attempts: 0,
          nextAttemptAt: t0,
          deliveredAt: null,
          failedAt: null,
          lastError: null,
          leaseOwner: null,
          leaseUntil: null,
          ...overrides,
        };
      }
      const put = (...messages: WebhookMessageRecord[]) => store.appendJournal({ events: [], messages });
      const claim = (owner: string, now: number, limit = 10, leaseMs = 60_000) => store.claimWebhookMessages({ owner, now, leaseUntil: now + leaseMs, limit });
      const settlement = { attempted: true, deliveredAt: null, failedAt: null, nextAttemptAt: null, lastError: null };

      it('claims due messages oldest due first, up to the limit, and not those due later', async () => {
        const later = outboxMessage({ nextAttemptAt: t0 + 5_000 });
        const first = outboxMessage({ nextAttemptAt: t0 - 2 });
        const second = outboxMessage({ nextAttemptAt: t0 - 1 });
        const third = outboxMessage();
        await put(later, third, second, first);
        const claimed = await claim('node_a', t0, 2);
        expect(claimed.map((m) => m.id)).toEqual([first.id, second.id]);
        expect(claimed[0]).toMatchObject({ leaseOwner: 'node_a', leaseUntil: t0 + 60_000, payload: first.payload, attempts: 0 });
        expect((await claim('node_a', t0, 10)).map((m) => m.id)).toEqual([third.id]);
        expect((await claim('node_b', t0 + 5_000, 10)).map((m) => m.id)).toEqual([later.id]);
      });

      it("a leased message is nobody else's until its lease runs out, then claimable again", async () => {
        const message = outboxMessage();
        await put(message);
        expect(await claim('node_a', t0, 10, 30_000)).toHaveLength(1);
        expect(await claim('node_b', t0 + 1_000)).toEqual([]);
        expect(await claim('node_b', t0 + 30_000)).toEqual([]);
        const taken = await claim('node_b', t0 + 30_001);
        expect(taken.map((m) => [m.id, m.leaseOwner])).toEqual([[message.id, 'node_b']]);
        // The first node's outcome comes too late: the message is node_b's now.
        expect(await store.settleWebhookMessage({ id: message.id, owner: 'node_a', ...settlement, deliveredAt: t0 + 30_002 })).toBeNull();
        expect(await store.getWebhookMessage(message.id)).toMatchObject({ deliveredAt: null, leaseOwner: 'node_b' });
      });

      it('two claimers at once never get the same message', async () => {
        const messages = Array.from({ length: 40 }, () => outboxMessage());
        await put(...messages);
        const claims = await Promise.all(['node_a', 'node_b', 'node_c', 'node_d'].map((owner) => claim(owner, t0, 15)));
        const ids = claims.flatMap((claimed) => claimed.map((m) => m.id));
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.sort()).toEqual(messages.map((m) => m.id).sort());
        for (const [index, owner] of ['node_a', 'node_b', 'node_c', 'node_d'].entries()) {
          for (const m of claims[index]!) expect((await store.getWebhookMessage(m.id))?.leaseOwner).toBe(owner);
        }
      });

      it('settles an attempt for the lease holder: delivered, retried later, or given up; settled messages are never claimed', async () => {
        const delivered = outboxMessage();
        const retried = outboxMessage();
        const givenUp = outboxMessage({ attempts: 7 });
        await put(delivered, retried, givenUp);
        await claim('node_a', t0);
        expect(await store.settleWebhookMessage({ id: delivered.id, owner: 'node_a', ...settlement, deliveredAt: t0 + 10 })).toMatchObject({
          attempts: 1,
          deliveredAt: t0 + 10,
          nextAttemptAt: null,
          leaseOwner: null,
          leaseUntil: null,
        });
        expect(
          await store.settleWebhookMessage({ id: retried.id, owner: 'node_a', ...settlement, nextAttemptAt: t0 + 5_000, lastError: 'HTTP 500' }),
        ).toMatchObject({ attempts: 1, nextAttemptAt: t0 + 5_000, lastError: 'HTTP 500', leaseOwner: null, deliveredAt: null, failedAt: null });
        expect(await store.settleWebhookMessage({ id: givenUp.id, owner: 'node_a', ...settlement, failedAt: t0 + 20, lastError: 'timeout' })).toMatchObject({
          attempts: 8,
          failedAt: t0 + 20,
          nextAttemptAt: null,
        });
        // Settled once: a second outcome for a delivered message changes nothing.
        expect(await store.settleWebhookMessage({ id: delivered.id, owner: 'node_a', ...settlement, lastError: 'late' })).toBeNull();
        expect(await claim('node_b', t0 + 4_999)).toEqual([]);
        expect((await claim('node_b', t0 + 5_000)).map((m) => [m.id, m.attempts, m.lastError])).toEqual([[retried.id, 1, 'HTTP 500']]);
        await store.settleWebhookMessage({ id: retried.id, owner: 'node_b', ...settlement, deliveredAt: t0 + 5_001 });
        expect(await claim('node_c', t0 + 1_000_000_000)).toEqual([]);
        // An endpoint that is gone: given up without an attempt.
        const orphan = outboxMessage({ endpointId: 'wh_gone' });
        await put(orphan);
        await claim('node_a', t0);
        expect(await store.settleWebhookMessage({ id: orphan.id, owner: 'node_a', ...settlement, attempted: false, failedAt: t0 })).toMatchObject({
          attempts: 0,
        });
      });

      it('lists messages newest first with status and endpoint filters, paging by (created_at, id)', async () => {
        const written = Array.from({ length: 7 }, (_, i) => outboxMessage({ createdAt: t0 + Math.floor(i / 3), endpointId: i % 2 === 0 ? 'wh_a' : 'wh_b' }));
        await put(...written);
        await claim('node_a', t0, 2);
        await store.settleWebhookMessage({ id: written[0]!.id, owner: 'node_a', ...settlement, deliveredAt: t0 + 5 });
        await store.settleWebhookMessage({ id: written[1]!.id, owner: 'node_a', ...settlement, failedAt: t0 + 5, lastError: 'HTTP 410' });
        const newestFirst = [...written].sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : 1)).map((m) => m.id);
        const seen: string[] = [];
        let before: { createdAt: number; id: string } | undefined;
        for (;;) {
          const page = await store.listWebhookMessages({ limit: 3, ...(before ? { before } : {}) });
          seen.push(...page.map((m) => m.id));
          if (page.length < 3) break;
          before = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
        }
        expect(seen).toEqual(newestFirst);
        expect((await store.listWebhookMessages({ status: 'delivered', limit: 10 })).map((m) => m.id)).toEqual([written[0]!.id]);
        expect((await store.listWebhookMessages({ status: 'failed', limit: 10 })).map((m) => m.id)).toEqual([written[1]!.id]);
        expect((await store.listWebhookMessages({ status: 'pending', limit: 10 })).map((m) => m.id)).toEqual(newestFirst.slice(0, 5));
        expect((await store.listWebhookMessages({ endpointId: 'wh_b', status: 'pending', limit: 10 })).map((m) => m.id)).toEqual(
          newestFirst.filter((id) => written.find((m) => m.id === id)!.endpointId === 'wh_b' && id !== written[1]!.id),
        );
      });

      it('retries an undelivered message now; a delivered or unknown one is left alone', async () => {
        const failed = outboxMessage();
        const delivered = outboxMessage();
        await put(failed, delivered);
        await claim('node_a', t0);
        await store.settleWebhookMessage({ id: failed.id, owner: 'node_a', ...settlement, failedAt: t0 + 1, lastError: 'HTTP 500' });
        await store.settleWebhookMessage({ id: delivered.id, owner: 'node_a', ...settlement, deliveredAt: t0 + 1 });
        expect(await claim('node_a', t0 + 100)).toEqual([]);
        expect(await store.retryWebhookMessage(failed.id, t0 + 100)).toMatchObject({
          failedAt: null,
          nextAttemptAt: t0 + 100,
          attempts: 1,
          lastError: 'HTTP 500',
        });
        expect(await store.retryWebhookMessage(delivered.id, t0 + 100)).toBeNull();
        expect(await store.retryWebhookMessage('msg_none', t0 + 100)).toBeNull();
        expect((await claim('node_b', t0 + 100)).map((m) => m.id)).toEqual([failed.id]);
      });
    });

    describe('audit upkeep', () => {
      const system = { type: 'system', id: 'tessera' } as const;
      let upkeepCounter = 0;
      function expiredEvent(s: SessionRecord, at: number): AuditEventRecord {
        upkeepCounter += 1;
        return {
          id: `evt_x${String(upkeepCounter).padStart(6, '0')}_${randomBytes(3).toString('hex')}`,
          type: 'session.expired',
          at,
          userId: s.userId,
          sessionId: s.id,
          actor: system,
          reason: s.idleExpiresAt !== null && s.idleExpiresAt < s.expiresAt ? 'idle' : 'absolute',
          details: {},
        };
      }
      const recordAt = (at: number) => (expired: SessionRecord[]) => ({ events: expired.map((s) => expiredEvent(s, at)), messages: [] });

      it('records each passive expiry once, idle and absolute, never an active or revoked session, and bumps no version', async () => {
        const absolute = await create({ expiresAt: t0 + hour });
        const idle = await create({ idleExpiresAt: t0 + hour / 2 });
        const active = await create({ idleExpiresAt: t0 + 3 * hour });
        const revoked = await create({ expiresAt: t0 + hour });
        await store.revokeSession(revoked.session.id, 'admin', t0 + 60_000);
        const claimed: SessionRecord[][] = [];
        const first = await store.recordExpiredSessions(t0 + 2 * hour, 10, (expired) => {
          claimed.push(expired);
          return recordAt(t0 + 2 * hour)(expired);
        });
        expect(first.map((s) => s.id).sort()).toEqual([absolute.session.id, idle.session.id].sort());
        expect(claimed).toEqual([first]);
        // Claimed rows come back as they are: recording an expiry changes nothing a client sees.
        expect(await store.getSession(absolute.session.id)).toEqual(absolute.session);
        expect(await store.getSession(idle.session.id)).toEqual(idle.session);
        const again = await store.recordExpiredSessions(t0 + 2 * hour, 10, () => {
          throw new Error('nothing left to record');
        });
        expect(again).toEqual([]);
        const events = await store.listAuditEvents({ type: 'session.expired', limit: 10 });
        expect(events.map((e) => [e.sessionId, e.reason]).sort()).toEqual(
          [
            [absolute.session.id, 'absolute'],
            [idle.session.id, 'idle'],
          ].sort(),
        );
        // The active one is recorded once it ends.
        expect((await store.recordExpiredSessions(t0 + 4 * hour, 10, recordAt(t0 + 4 * hour))).map((s) => s.id)).toEqual([active.session.id]);
      });

      it('claims at most the limit per sweep, the rest on the next ones', async () => {
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push((await create({ expiresAt: t0 + hour })).session.id);
        const sizes: number[] = [];
        const seen: string[] = [];
        for (let sweep = 0; sweep < 4; sweep++) {
          const expired = await store.recordExpiredSessions(t0 + 2 * hour, 2, recordAt(t0 + 2 * hour));
          sizes.push(expired.length);
          seen.push(...expired.map((s) => s.id));
        }
        expect(sizes).toEqual([2, 2, 1, 0]);
        expect(seen.sort()).toEqual(ids.sort());
      });

      it('records each expiry exactly once when sweeps run concurrently', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 30; i++) ids.push((await create({ expiresAt: t0 + hour, userId: `user${i % 3}` })).session.id);
        const sweeps = await Promise.all(Array.from({ length: 4 }, () => store.recordExpiredSessions(t0 + 2 * hour, 50, recordAt(t0 + 2 * hour))));
        const claimed = sweeps.flat().map((s) => s.id);
        expect(claimed.sort()).toEqual([...ids].sort());
        const events = await store.listAuditEvents({ type: 'session.expired', limit: 100 });
        expect(events.map((e) => e.sessionId).sort()).toEqual([...ids].sort());
      });

      it('leaves the expiry unrecorded when its journal cannot be written', async () => {
        const { session: s } = await create({ expiresAt: t0 + hour });
        await expect(
          store.recordExpiredSessions(t0 + 2 * hour, 10, () => {
            throw new Error('the journal failed');
          }),
        ).rejects.toThrow();
        expect((await store.recordExpiredSessions(t0 + 2 * hour, 10, recordAt(t0 + 2 * hour))).map((e) => e.id)).toEqual([s.id]);
      });

      it('counts active sessions per flow, leaving out ended ones whether recorded or not', async () => {
        await create({ flow: 'web' });
        await create({ flow: 'web', idleExpiresAt: t0 + 3 * hour });
        await create({ flow: 'mobile' });
        await create({ flow: 'web', expiresAt: t0 + hour });
        await create({ flow: 'kiosk', idleExpiresAt: t0 + hour });
        const revoked = await create({ flow: 'mobile' });
        await store.revokeSession(revoked.session.id, 'admin', t0 + 1);
        const now = t0 + 2 * hour;
        expect(Object.fromEntries(await store.countActiveSessionsByFlow(now))).toEqual({ web: 2, mobile: 1 });
        await store.recordExpiredSessions(now, 10, recordAt(now));
        expect(Object.fromEntries(await store.countActiveSessionsByFlow(now))).toEqual({ web: 2, mobile: 1 });
        expect(Object.fromEntries(await store.countActiveSessionsByFlow(t0 + 4 * hour))).toEqual({ web: 1, mobile: 1 });
      });

      it('purges audit events older than a time in batches, oldest first, and keeps newer ones', async () => {
        const events = Array.from({ length: 9 }, (_, i) => expiredEvent(session(), t0 + i * hour));
        await store.appendJournal({ events, messages: [] });
        const cutoff = t0 + 6 * hour;
        expect(await store.purgeAuditEvents(cutoff, 4)).toBe(4);
        expect((await store.listAuditEvents({ limit: 20 })).map((e) => e.at).sort()).toEqual(events.slice(4).map((e) => e.at));
        expect(await store.purgeAuditEvents(cutoff, 4)).toBe(2);
        expect(await store.purgeAuditEvents(cutoff, 4)).toBe(0);
        expect((await store.listAuditEvents({ limit: 20 })).map((e) => e.id).sort()).toEqual(
          events
            .slice(6)
            .map((e) => e.id)
            .sort(),
        );
      });

      it('purges settled webhook messages created before a time, never pending ones', async () => {
        const message = (id: string, createdAt: number, settled: 'delivered' | 'failed' | null): WebhookMessageRecord => ({
          id,
          endpointId: 'wh_1',
          eventId: `evt_${id}`,
          type: 'session.revoked',
          payload: '{}',
          createdAt,
          attempts: 1,
          nextAttemptAt: settled ? null : createdAt,
          deliveredAt: settled === 'delivered' ? createdAt + 1 : null,
          failedAt: settled === 'failed' ? createdAt + 1 : null,
          lastError: null,
          leaseOwner: null,
          leaseUntil: null,
        });
        await store.appendJournal({
          events: [],
          messages: [
            message('msg_old_delivered', t0, 'delivered'),
            message('msg_old_failed', t0 + 1, 'failed'),
            message('msg_old_pending', t0 + 2, null),
            message('msg_new_delivered', t0 + 2 * hour, 'delivered'),
          ],
        });
        expect(await store.purgeSettledWebhookMessages(t0 + hour, 1)).toBe(1);
        expect(await store.purgeSettledWebhookMessages(t0 + hour, 10)).toBe(1);
        expect(await store.purgeSettledWebhookMessages(t0 + hour, 10)).toBe(0);
        // What is left is what a later purge may still delete: the new settled one, once old enough.
        expect(await store.purgeSettledWebhookMessages(t0 + 3 * hour, 10)).toBe(1);
        expect(await store.purgeSettledWebhookMessages(t0 + 100 * hour, 10)).toBe(0);
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

    describe('listSessions', () => {
      const now = t0 + 2 * hour;
      const all = { userId: 'alice', status: 'all', now, limit: 100 } as const;
      const ids = (page: { sessions: SessionRecord[] }) => page.sessions.map((s) => s.id);

      /** One of each status at `now`, created a millisecond apart, and a session of bob's. */
      async function oneOfEach() {
        const active = await create({ createdAt: t0 + 5, flow: 'dash' });
        const expired = await create({ createdAt: t0 + 4, expiresAt: now });
        const idled = await create({ createdAt: t0 + 3, idleExpiresAt: now - 1, flow: 'dash' });
        const revoked = await create({ createdAt: t0 + 2 });
        const revokedRecord = await store.revokeSession(revoked.session.id, 'reuse_detected', t0 + 100);
        const oldest = await create({ createdAt: t0 + 1, idleExpiresAt: now + 1 });
        await create({ userId: 'bob', createdAt: t0 + 6 });
        return { active, expired, idled, revoked, revokedRecord, oldest };
      }

      it("lists the user's sessions of every status, newest first, and no one else's", async () => {
        const { active, expired, idled, revoked, revokedRecord, oldest } = await oneOfEach();
        const page = await store.listSessions(all);
        expect(ids(page)).toEqual([active, expired, idled, revoked, oldest].map((c) => c.session.id));
        expect(page.total).toBe(5);
        expect(page.sessions[0]).toEqual(active.session);
        expect(page.sessions[3]).toEqual(revokedRecord);
        expect(page.sessions[3]?.revokedReason).toBe('reuse_detected');
      });

      it('filters by status at `now`: an end exactly at `now` is expired, a revoked session is revoked whatever its ends', async () => {
        const { active, expired, idled, revoked, oldest } = await oneOfEach();
        const of = async (status: 'active' | 'expired' | 'revoked') => store.listSessions({ ...all, status });
        expect(ids(await of('active'))).toEqual([active.session.id, oldest.session.id]);
        expect(ids(await of('expired'))).toEqual([expired.session.id, idled.session.id]);
        expect(ids(await of('revoked'))).toEqual([revoked.session.id]);
        expect((await of('expired')).total).toBe(2);
        // A moment later the oldest one's idle end has passed too.
        const later = await store.listSessions({ ...all, status: 'expired', now: now + 1 });
        expect(ids(later)).toEqual([expired.session.id, idled.session.id, oldest.session.id]);
      });

      it('filters by flow and by a created range with strict bounds', async () => {
        const { active, expired, idled, revoked } = await oneOfEach();
        expect(ids(await store.listSessions({ ...all, flow: 'dash' }))).toEqual([active.session.id, idled.session.id]);
        expect(ids(await store.listSessions({ ...all, flow: 'nope' }))).toEqual([]);
        const range = await store.listSessions({ ...all, createdAfter: t0 + 1, createdBefore: t0 + 5 });
        expect(ids(range)).toEqual([expired.session.id, idled.session.id, revoked.session.id]);
        expect(range.total).toBe(3);
        const both = await store.listSessions({ ...all, status: 'active', flow: 'dash', createdAfter: t0 + 4 });
        expect(ids(both)).toEqual([active.session.id]);
      });

      it('pages from a position, ties broken by id, and counts every match whatever the page', async () => {
        const made: SessionRecord[] = [];
        for (let i = 0; i < 5; i++) made.push((await create({ createdAt: t0 + i })).session);
        for (let i = 0; i < 3; i++) made.push((await create({ createdAt: t0 + 4 })).session);
        const newestFirst = [...made].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));

        const first = await store.listSessions({ ...all, limit: 3 });
        expect(ids(first)).toEqual(newestFirst.slice(0, 3).map((s) => s.id));
        expect(first.total).toBe(8);
        const last = first.sessions[2]!;
        const second = await store.listSessions({ ...all, limit: 3, before: { at: last.createdAt, id: last.id } });
        expect(ids(second)).toEqual(newestFirst.slice(3, 6).map((s) => s.id));
        expect(second.total).toBe(8);
        const oldest = newestFirst[7]!;
        expect(await store.listSessions({ ...all, before: { at: oldest.createdAt, id: oldest.id } })).toEqual({ sessions: [], total: 8 });
      });

      it('answers nothing for an unknown user', async () => {
        await create();
        expect(await store.listSessions({ ...all, userId: 'nobody' })).toEqual({ sessions: [], total: 0 });
      });

      it('property: paging with any page sizes reads exactly the matching sessions, in order, once each', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(listingScenario, async ({ specs, filter, sizes }) => {
            const userId = `prop-${(run += 1)}-${randomBytes(3).toString('hex')}`;
            const made: SessionRecord[] = [];
            for (const spec of specs) made.push(await createFromSpec(userId, spec));
            const expected = made.filter((s) => matches(s, filter, now)).sort(newestFirstOrder);

            const seen: SessionRecord[] = [];
            let before: { at: number; id: string } | undefined;
            for (let page = 0; ; page++) {
              if (page > specs.length + 40) throw new Error('paging never ends');
              const limit = sizes[page % sizes.length]!;
              const answer = await store.listSessions({ userId, now, limit, ...filter, ...(before ? { before } : {}) });
              expect(answer.total).toBe(expected.length);
              seen.push(...answer.sessions);
              if (answer.sessions.length < limit) break;
              const last = answer.sessions.at(-1)!;
              before = { at: last.createdAt, id: last.id };
            }
            expect(seen.map((s) => s.id)).toEqual(expected.map((s) => s.id));
          }),
          { numRuns: 25 },
        );
      });

      it('property: sessions created or revoked between pages never make a seen session come again', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(listingScenario, fc.array(fc.array(sessionSpec, { maxLength: 3 }), { minLength: 1, maxLength: 6 }), async (scenario, inserts) => {
            const { specs, filter, sizes } = scenario;
            const userId = `prop-mut-${(run += 1)}-${randomBytes(3).toString('hex')}`;
            const made: SessionRecord[] = [];
            for (const spec of specs) made.push(await createFromSpec(userId, spec));

            const seen: string[] = [];
            let before: { at: number; id: string } | undefined;
            let previous: SessionRecord | undefined;
            for (let page = 0; ; page++) {
              if (page > specs.length + 40) throw new Error('paging never ends');
              const limit = sizes[page % sizes.length]!;
              const answer = await store.listSessions({ userId, now, limit, ...filter, ...(before ? { before } : {}) });
              for (const session of answer.sessions) {
                // Strictly older than the one before it: in order, and never the same twice.
                if (previous) expect(newestFirstOrder(previous, session)).toBeLessThan(0);
                previous = session;
                seen.push(session.id);
              }
              if (answer.sessions.length < limit) break;
              const last = answer.sessions.at(-1)!;
              before = { at: last.createdAt, id: last.id };
              // Between pages: new sessions (some older than the position) and a revocation.
              for (const spec of inserts[page % inserts.length]!) made.push(await createFromSpec(userId, spec));
              const victim = made[(page * 7) % made.length]!;
              await store.revokeSession(victim.id, 'admin', t0 + 200);
            }
            expect(new Set(seen).size).toBe(seen.length);
            // Every session that matched from the start, still matches, and lies past the first page was read.
            const current = (await Promise.all(made.map((s) => store.getSession(s.id)))) as SessionRecord[];
            const initialIds = new Set(made.slice(0, specs.length).map((s) => s.id));
            const initiallyMatching = new Set(
              made
                .slice(0, specs.length)
                .filter((s) => matches(s, filter, now))
                .map((s) => s.id),
            );
            for (const session of current) {
              if (initialIds.has(session.id) && initiallyMatching.has(session.id) && matches(session, filter, now)) expect(seen).toContain(session.id);
            }
          }),
          { numRuns: 15 },
        );
      });

      async function createFromSpec(userId: string, spec: SessionSpec): Promise<SessionRecord> {
        const created = await create({
          userId,
          flow: spec.flow,
          createdAt: t0 + spec.createdAt,
          ...(spec.state === 'expired' ? { expiresAt: now - 1 } : {}),
          ...(spec.state === 'idled' ? { idleExpiresAt: now } : {}),
        });
        if (spec.state !== 'revoked') return created.session;
        return (await store.revokeSession(created.session.id, 'logout', t0 + 100))!;
      }
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

    describe('api keys revoked by origin, on the record', () => {
      it('journals the keys it revoked with the revocation, and nothing when it revoked none', async () => {
        const key = (hash: string, name: string): ApiKeyRecord => ({ hash, name, origin: 'supplied', createdAt: t0, revokedAt: null, lastUsedAt: null });
        await store.putApiKey(key('hash-old', 'supplied'));
        const journaled: string[][] = [];
        const journal = (revoked: ApiKeyRecord[]) => {
          journaled.push(revoked.map((k) => k.hash));
          return {
            events: revoked.map((k) => ({
              id: `evt_rev_${k.hash}`,
              type: 'api_key.revoked' as const,
              at: t0 + 1,
              userId: null,
              sessionId: null,
              actor: { type: 'system' as const, id: 'tessera' },
              reason: null,
              details: { name: k.name },
            })),
            messages: [],
          };
        };
        expect(await store.revokeApiKeysOfOrigin('supplied', t0 + 1, 'hash-new', journal)).toBe(1);
        expect(await store.revokeApiKeysOfOrigin('supplied', t0 + 2, 'hash-new', journal)).toBe(0);
        expect(journaled).toEqual([['hash-old']]);
        expect((await store.listAuditEvents({ type: 'api_key.revoked', limit: 10 })).map((e) => e.id)).toEqual(['evt_rev_hash-old']);
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

    describe('store purge', () => {
      /** A session refreshed at t0 + 1 min and + 2 min: two spent tokens (with sealed successors) and a live one. */
      async function refreshedTwice(overrides: Partial<SessionRecord> = {}) {
        const { session: s, token: first } = await create(overrides);
        const one = rotation(s.id, first.hash, t0 + 60_000);
        await store.rotateRefreshToken(one);
        const two = rotation(s.id, one.successor.hash, t0 + 120_000);
        await store.rotateRefreshToken(two);
        return { session: s, spent: [first.hash, one.successor.hash], live: two.successor };
      }
      const sealedOf = async (hash: string) => (await store.findRefreshToken(hash))?.token.sealedSuccessor ?? 'gone';

      it('clears the sealed successors of tokens spent before the cutoff, keeps the spent tokens, and never touches a live token', async () => {
        const { session: s, spent, live } = await refreshedTwice();
        // Only the first was spent before t0 + 90 s.
        expect(await store.clearSealedSuccessors(t0 + 90_000, 500)).toBe(1);
        // The same spent token, issued and spent when it was: only its sealed successor is gone.
        const first = await store.findRefreshToken(spent[0]!);
        expect(first?.token).toEqual({ hash: spent[0], sessionId: s.id, issuedAt: t0, spentAt: t0 + 60_000, sealedSuccessor: null });
        expect(first?.session).toEqual(await store.getSession(s.id));
        expect(await sealedOf(spent[1]!)).toMatch(/^sealed-/);
        expect(await store.clearSealedSuccessors(t0 + 90_000, 500)).toBe(0);
        // Far past every spend: the live token stays exactly as it was.
        expect(await store.clearSealedSuccessors(t0 + 1_000 * hour, 500)).toBe(1);
        expect((await store.findRefreshToken(live.hash))?.token).toEqual(live);
        expect((await store.findRefreshToken(spent[1]!))?.token).toMatchObject({ spentAt: t0 + 120_000, sealedSuccessor: null });
      });

      it('clears in batches of at most the limit', async () => {
        for (let i = 0; i < 3; i++) await refreshedTwice();
        expect(await store.countPurgeable(t0 + hour, t0)).toEqual({ sealedSuccessors: 6, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 });
        expect(await store.clearSealedSuccessors(t0 + hour, 4)).toBe(4);
        expect(await store.clearSealedSuccessors(t0 + hour, 4)).toBe(2);
        expect(await store.clearSealedSuccessors(t0 + hour, 4)).toBe(0);
      });

      it('deletes sessions revoked or recorded expired before the cutoff, with their tokens; keeps the rest and the journal', async () => {
        const revokedEarly = await refreshedTwice();
        await store.revokeSession(revokedEarly.session.id, 'admin', t0 + hour);
        const revokedLate = await refreshedTwice();
        await store.revokeSession(revokedLate.session.id, 'logout', t0 + 10 * hour);
        const expired = await refreshedTwice({ expiresAt: t0 + 2 * hour });
        // Recorded at t0 + 3 h; the other expires at t0 + 4 h and is not recorded yet: it stays until the sweep records it.
        expect((await store.recordExpiredSessions(t0 + 3 * hour, 10, () => ({ events: [], messages: [] }))).map((e) => e.id)).toEqual([expired.session.id]);
        const unrecorded = await refreshedTwice({ expiresAt: t0 + 4 * hour });
        const live = await refreshedTwice({ expiresAt: t0 + 100 * hour });
        const note: AuditEventRecord = {
          id: `evt_purge_${randomBytes(3).toString('hex')}`,
          type: 'session.revoked',
          at: t0 + hour,
          userId: 'alice',
          sessionId: revokedEarly.session.id,
          actor: { type: 'system', id: 'tessera' },
          reason: 'admin',
          details: {},
        };
        await store.appendJournal({ events: [note], messages: [] });

        const cutoff = t0 + 5 * hour;
        const before = await store.countPurgeable(t0, cutoff);
        expect(before.endedSessions).toBe(2);
        expect(before.endedSessionTokens).toBe(6);

        expect(await store.purgeEndedSessionTokens(cutoff, 4)).toBe(4);
        expect(await store.purgeEndedSessionTokens(cutoff, 4)).toBe(2);
        expect(await store.purgeEndedSessionTokens(cutoff, 4)).toBe(0);
        expect(await store.purgeEndedSessions(cutoff, 500)).toBe(2);
        expect(await store.purgeEndedSessions(cutoff, 500)).toBe(0);
        expect(await store.countPurgeable(t0, cutoff)).toEqual({ sealedSuccessors: 0, endedSessionTokens: 0, endedSessions: 0, staleDpopProofs: 0 });

        expect(await store.getSession(revokedEarly.session.id)).toBeNull();
        for (const hash of [...revokedEarly.spent, revokedEarly.live.hash]) expect(await store.findRefreshToken(hash)).toBeNull();
        expect(await store.getSession(expired.session.id)).toBeNull();
        expect(await store.findRefreshToken(expired.live.hash)).toBeNull();
        expect((await store.findRefreshToken(unrecorded.live.hash))?.token).toEqual(unrecorded.live);
        // Revoked after the cutoff: kept, tokens and all.
        expect(await store.getSession(revokedLate.session.id)).not.toBeNull();
        for (const hash of revokedLate.spent) expect(await store.findRefreshToken(hash)).not.toBeNull();
        // The live session's tokens, spent and live, stay.
        for (const hash of live.spent) expect((await store.findRefreshToken(hash))?.token.spentAt).not.toBeNull();
        expect((await store.findRefreshToken(live.live.hash))?.token).toEqual(live.live);
        // The audit trail still names the deleted session.
        expect(await store.listAuditEvents({ sessionId: revokedEarly.session.id, limit: 10 })).toEqual([note]);
      });

      it('gives the lease to one owner at a time, renews it for its owner, and hands it on once it runs out or is released', async () => {
        const name = `lease_${randomBytes(4).toString('hex')}`;
        expect(await store.claimLease(name, 'node_a', t0, t0 + 60_000)).toBe(true);
        expect(await store.claimLease(name, 'node_b', t0 + 1_000, t0 + 61_000)).toBe(false);
        expect(await store.claimLease(name, 'node_a', t0 + 30_000, t0 + 90_000)).toBe(true);
        // Renewed: still node_a's at t0 + 70 s.
        expect(await store.claimLease(name, 'node_b', t0 + 70_000, t0 + 130_000)).toBe(false);
        expect(await store.claimLease(name, 'node_b', t0 + 90_001, t0 + 150_000)).toBe(true);
        expect(await store.claimLease(name, 'node_a', t0 + 91_000, t0 + 151_000)).toBe(false);
        await store.releaseLease(name, 'node_a'); // not node_a's: changes nothing
        expect(await store.claimLease(name, 'node_a', t0 + 92_000, t0 + 152_000)).toBe(false);
        await store.releaseLease(name, 'node_b');
        expect(await store.claimLease(name, 'node_a', t0 + 93_000, t0 + 153_000)).toBe(true);
      });

      it('gives a lease claimed by many at once to exactly one', async () => {
        const name = `lease_${randomBytes(4).toString('hex')}`;
        const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimLease(name, `node_${i}`, t0, t0 + 60_000)));
        expect(claims.filter(Boolean)).toHaveLength(1);
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

/** One session of a listing property: when it was made (ties likely), its flow, and how it stands at `now`. */
interface SessionSpec {
  readonly createdAt: number;
  readonly flow: string;
  readonly state: 'active' | 'expired' | 'idled' | 'revoked';
}

const sessionSpec: fc.Arbitrary<SessionSpec> = fc.record({
  createdAt: fc.integer({ min: 0, max: 15 }),
  flow: fc.constantFrom('default', 'dash'),
  state: fc.constantFrom('active', 'active', 'expired', 'idled', 'revoked'),
});

type ListingFilter = Pick<SessionQuery, 'status' | 'flow' | 'createdAfter' | 'createdBefore'>;

const base = Date.UTC(2026, 0, 1, 9, 0, 0);
/** Filters that leave something to page through more often than not: each is unset half the time. */
const listingFilter: fc.Arbitrary<ListingFilter> = fc
  .record({
    status: fc.constantFrom('active', 'expired', 'revoked', 'all', 'all'),
    flow: fc.option(fc.constantFrom('default', 'dash'), { freq: 2, nil: undefined }),
    createdAfter: fc.option(fc.integer({ min: -1, max: 6 }), { freq: 2, nil: undefined }),
    createdBefore: fc.option(fc.integer({ min: 9, max: 16 }), { freq: 2, nil: undefined }),
  })
  .map(({ status, flow, createdAfter, createdBefore }) => ({
    status,
    ...(flow !== undefined ? { flow } : {}),
    ...(createdAfter !== undefined ? { createdAfter: base + createdAfter } : {}),
    ...(createdBefore !== undefined ? { createdBefore: base + createdBefore } : {}),
  }));

const listingScenario = fc.record({
  specs: fc.array(sessionSpec, { minLength: 5, maxLength: 40 }),
  filter: listingFilter,
  sizes: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
});

/** The listing's rules, independently of SQL: the status at `now` as `sessionState` has it. */
function matches(session: SessionRecord, filter: ListingFilter, now: number): boolean {
  if (filter.flow !== undefined && session.flow !== filter.flow) return false;
  if (filter.createdAfter !== undefined && session.createdAt <= filter.createdAfter) return false;
  if (filter.createdBefore !== undefined && session.createdAt >= filter.createdBefore) return false;
  if (filter.status === 'all') return true;
  return sessionState(session, now).status === filter.status;
}

/** Negative when `a` comes first: newest first, ties by id descending. */
function newestFirstOrder(a: SessionRecord, b: SessionRecord): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
