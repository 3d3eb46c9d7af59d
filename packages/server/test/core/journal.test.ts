import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/core/errors.js';
import { Journal } from '../../src/core/journal.js';
import { startCore, type TestTessera } from '../helpers.js';

describe('the session service records its changes in the audit trail', () => {
  let core: TestTessera;
  beforeEach(async () => {
    core = await startCore({ config: { flows: { default: { reuse_interval: 10 } } } });
  });
  afterEach(() => core.close());

  const trail = (sessionId: string) => core.store.listAuditEvents({ sessionId, limit: 50 });

  it('records a creation, a logout and a revocation by an operator, with who did each', async () => {
    const { sessions } = core.tessera;
    const first = await sessions.createSession({ userId: 'alice', actor: { type: 'api_key', id: 'backend' } });
    const second = await sessions.createSession({ userId: 'alice' });
    core.clock.advance(1_000);
    await sessions.revokeSession(first.session.id, 'logout', { type: 'user', id: 'alice' });
    await sessions.revokeUserSessions('alice', 'admin', { type: 'cli', id: 'ops' });

    expect(await trail(first.session.id)).toEqual([
      expect.objectContaining({ type: 'session.revoked', reason: 'logout', actor: { type: 'user', id: 'alice' }, at: core.clock.now() }),
      expect.objectContaining({ type: 'session.created', actor: { type: 'api_key', id: 'backend' }, userId: 'alice' }),
    ]);
    expect((await trail(second.session.id)).map((event) => [event.type, event.actor.type, event.reason])).toEqual([
      ['session.revoked', 'cli', 'admin'],
      ['session.created', 'system', null],
    ]);
  });

  it('records a reused refresh token as detected reuse, then the revocation it caused', async () => {
    const { sessions } = core.tessera;
    const grant = await sessions.createSession({ userId: 'bob' });
    await sessions.refreshSession(grant.refreshToken);
    core.clock.advance(11_000);
    await expect(sessions.refreshSession(grant.refreshToken)).rejects.toThrow(TesseraError);
    const events = await trail(grant.session.id);
    expect(events.map((event) => [event.type, event.reason, event.actor.type])).toEqual([
      ['session.revoked', 'reuse_detected', 'system'],
      ['session.reuse_detected', 'reuse_detected', 'system'],
      ['session.created', null, 'system'],
    ]);
    expect(events[1]!.details).toEqual({ spent_at: expect.any(String) });
  });

  it('records "signed out elsewhere" against each other session, done by the user', async () => {
    const { sessions } = core.tessera;
    const here = await sessions.createSession({ userId: 'carol' });
    const there = await sessions.createSession({ userId: 'carol' });
    await sessions.revokeOtherSessions(here.session, 'signed_out_elsewhere');
    expect((await trail(here.session.id)).map((event) => event.type)).toEqual(['session.created']);
    expect((await trail(there.session.id))[0]).toMatchObject({
      type: 'session.revoked',
      reason: 'signed_out_elsewhere',
      actor: { type: 'user', id: 'carol' },
    });
  });
});

describe('Journal', () => {
  it('writes one message per endpoint subscribed to the type, carrying the session as it was', () => {
    const clock = { now: () => Date.UTC(2026, 5, 1) };
    const journal = new Journal({
      clock,
      endpoints: [
        { id: 'wh_a', url: 'http://a.test/hook', events: ['session.revoked'], secret: 'whsec_x' },
        { id: 'wh_b', url: 'http://b.test/hook', events: ['session.created', 'session.revoked'], secret: 'whsec_y' },
      ],
    });
    const session = {
      id: 'ses_1',
      userId: 'dana',
      flow: 'default',
      createdAt: clock.now() - 5_000,
      lastRefreshedAt: null,
      expiresAt: clock.now() + 60_000,
      idleExpiresAt: null,
      revokedAt: clock.now(),
      revokedReason: 'admin' as const,
      metadata: { plan: 'pro' },
      device: null,
      refreshCount: 0,
      dpopJkt: null,
      version: 2,
    };
    const created = journal.write([{ type: 'session.created', session, actor: { type: 'system', id: 'tessera' } }]);
    expect(created.messages.map((message) => message.endpointId)).toEqual(['wh_b']);
    const revoked = journal.write([{ type: 'session.revoked', session, actor: { type: 'api_key', id: 'backend' }, reason: 'admin' }]);
    expect(revoked.events).toHaveLength(1);
    expect(revoked.messages.map((message) => message.endpointId)).toEqual(['wh_a', 'wh_b']);
    expect(new Set(revoked.messages.map((message) => message.id)).size).toBe(2);
    for (const message of revoked.messages) {
      expect(message).toMatchObject({ eventId: revoked.events[0]!.id, attempts: 0, nextAttemptAt: clock.now(), deliveredAt: null });
      expect(JSON.parse(message.payload)).toEqual({
        type: 'session.revoked',
        timestamp: new Date(clock.now()).toISOString(),
        data: {
          session: expect.objectContaining({ id: 'ses_1', user_id: 'dana', status: 'revoked', revoked_reason: 'admin', metadata: { plan: 'pro' } }),
          actor: { type: 'api_key', id: 'backend' },
          reason: 'admin',
          event_id: revoked.events[0]!.id,
        },
      });
    }
  });

  it('gives events written in one millisecond ids in the order they were written', () => {
    const journal = new Journal({ clock: { now: () => Date.UTC(2026, 5, 1) } });
    const drafts = Array.from({ length: 2_000 }, (_, i) => ({ type: 'api_key.created' as const, actor: { type: 'cli' as const, id: `op${i}` } }));
    const ids = [...journal.write(drafts.slice(0, 1_000)).events, ...journal.write(drafts.slice(1_000)).events].map((event) => event.id);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(ids.every((id) => /^evt_[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
  });
});
