import { type ClientSessionState, type SessionClient, SessionEndedError, type SessionInfo } from '@tessera/client';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { createSessionSnapshotSource, SessionEnded, useAccessToken, useSession } from '../src/index.js';

/** The fields of a client the store reads, set by the test; getters build new objects on each read, as the real client's do. */
class FakeClient {
  // As a real client starts: it does not know yet whether a session exists.
  state: ClientSessionState = 'loading';
  sessionId: string | null = null;
  session: SessionInfo | null = null;
  expiresAt: number | null = null;
  endError: SessionEndedError | null = null;
  readonly listeners = new Set<(state: ClientSessionState) => void>();

  get accessTokenExpiresAt(): Date | null {
    return this.expiresAt === null ? null : new Date(this.expiresAt);
  }

  subscribe(listener: (state: ClientSessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  change(fields: Partial<Pick<FakeClient, 'state' | 'sessionId' | 'session' | 'expiresAt' | 'endError'>>): void {
    Object.assign(this, fields);
    for (const listener of this.listeners) listener(this.state);
  }
}

const session: SessionInfo = {
  id: 'ses_1',
  user_id: 'alice',
  flow: 'default',
  status: 'active',
  created_at: '2026-01-01T09:00:00.000Z',
  last_refreshed_at: null,
  expires_at: '2026-01-15T09:00:00.000Z',
  idle_expires_at: '2026-01-01T09:30:00.000Z',
  revoked_at: null,
  revoked_reason: null,
  metadata: {},
  device: null,
  last_seen_at: '2026-01-01T09:00:00.000Z',
  refresh_count: 0,
};

describe('createSessionSnapshotSource', () => {
  it("reports 'loading' until the client knows whether a session exists, then what it found", () => {
    const client = new FakeClient();
    const store = createSessionSnapshotSource(client as unknown as SessionClient);
    const statuses: string[] = [store.getSnapshot().status];
    store.subscribe(() => statuses.push(store.getSnapshot().status));
    client.change({ state: 'active', sessionId: 'ses_1', session, expiresAt: Date.UTC(2026, 0, 1, 9, 15) });
    expect(statuses).toEqual(['loading', 'active']);
    expect(statuses).not.toContain('signed_out');
  });

  it('returns the same snapshot until a field changes', () => {
    const client = new FakeClient();
    const store = createSessionSnapshotSource(client as unknown as SessionClient);
    const calls: number[] = [];
    store.subscribe(() => calls.push(1));
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    client.change({ state: 'active', sessionId: 'ses_1', session, expiresAt: Date.UTC(2026, 0, 1, 9, 15) });
    const active = store.getSnapshot();
    expect(active).not.toBe(first);
    expect(store.getSnapshot()).toBe(active); // a new Date each read, the same snapshot
    expect(active).toMatchObject({ status: 'active', sessionId: 'ses_1', session, endReason: null });
    client.change({ state: 'active' }); // a listener call with nothing new
    expect(store.getSnapshot()).toBe(active);
    client.change({ expiresAt: Date.UTC(2026, 0, 1, 9, 30) });
    expect(store.getSnapshot()).not.toBe(active);
    expect(calls).toHaveLength(3);
  });

  it('reports the end reason with the idle timeout of the last session seen', () => {
    const client = new FakeClient();
    const store = createSessionSnapshotSource(client as unknown as SessionClient);
    client.change({ state: 'active', sessionId: 'ses_1', session });
    store.getSnapshot();
    const endError = new SessionEndedError('session_expired', { details: [{ reason: 'idle' }] });
    client.change({ state: 'ended', sessionId: null, session: null, endError });
    const ended = store.getSnapshot();
    expect(ended.endReason).toEqual({ code: 'session_expired', reason: 'idle', idleTimeout: 1800 });
    expect(store.getSnapshot()).toBe(ended);
    client.change({ state: 'signed_out' });
    expect(store.getSnapshot().endReason).toBeNull();
  });
});

describe('outside a provider', () => {
  it.each([
    ['useSession', () => useSession()],
    ['useAccessToken', () => useAccessToken()],
  ])('%s() throws a message that names the provider', (name, hook) => {
    // biome-ignore lint/correctness/noComponentHookFactories: one throwaway component per hook under test, rendered once
    const Probe = () => {
      hook();
      return null;
    };
    expect(() => renderToString(createElement(Probe))).toThrow(`${name}() must be used inside <SessionProvider>`);
  });

  it('<SessionEnded> throws the same message', () => {
    expect(() => renderToString(createElement(SessionEnded, { signIn: () => {} }))).toThrow('useSession() must be used inside <SessionProvider>');
  });
});
