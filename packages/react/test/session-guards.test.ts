import { type ClientSessionState, type SessionClient, type SessionEndCode, SessionEndedError, sessionEndCodes } from '@tessera/client';
import { createElement, type ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { SessionEnded, SessionLoading, SessionProvider, SignedIn, SignedOut } from '../src/index.js';

/** A client that stands still in `state`: what the store reads, and a subscribe that never calls. */
function clientIn(state: ClientSessionState, endError: SessionEndedError | null = null): SessionClient {
  const held = state === 'active' || state === 'refreshing';
  return {
    state,
    sessionId: held ? 'ses_1' : null,
    session: null,
    accessTokenExpiresAt: null,
    endError,
    subscribe: () => () => {},
  } as unknown as SessionClient;
}

const render = (client: SessionClient, children: ReactNode) => renderToString(createElement(SessionProvider, { client }, children));

const guarded = createElement(
  'div',
  null,
  createElement(SessionLoading, null, '[loading]'),
  createElement(SignedIn, null, '[signed in]'),
  createElement(SignedOut, null, '[signed out]'),
);

describe('the guards', () => {
  it.each<[ClientSessionState, string]>([
    ['loading', '[loading]'],
    ['signed_out', '[signed out]'],
    ['active', '[signed in]'],
    ['refreshing', '[signed in]'],
    ['ended', '[signed out]'],
  ])('in state %s only %s renders', (state, shown) => {
    const html = render(clientIn(state), guarded);
    expect(html).toBe(`<div>${shown}</div>`);
  });

  it('throw the provider message outside a provider', () => {
    expect(() => renderToString(createElement(SignedIn, null, 'x'))).toThrow('useSession() must be used inside <SessionProvider>');
  });
});

describe('<SessionEnded>', () => {
  it.each(sessionEndCodes.map((code) => [code]))('shows for an end by %s, with its code', (code: SessionEndCode) => {
    const html = render(clientIn('ended', new SessionEndedError(code)), createElement(SessionEnded, { signIn: () => {} }));
    expect(html).toContain('role="alert"');
    expect(html).toContain(`data-tessera-end-code="${code}"`);
  });

  it('shows general words when the client gave no reason', () => {
    const html = render(clientIn('ended'), createElement(SessionEnded, { signIn: () => {} }));
    expect(html).toContain('<p>Your session has ended.</p>');
  });

  it.each<[ClientSessionState]>([['loading'], ['signed_out'], ['active'], ['refreshing']])('renders nothing while %s', (state) => {
    expect(render(clientIn(state), createElement(SessionEnded, { signIn: () => {} }))).toBe('');
  });
});
