// What each journey must end in, per storage mode: the client README's "What survives" table as
// data, so a reader can set the two side by side. A journey ends in one of these within a bounded
// time, never in silence (a dashboard saying "Signed in" on a token that has run out).

/** The page's `?storage=` modes (packages/example/web/src/main.tsx), in the README's column order. */
export const storageModes = ['cookie', 'local-refresh', 'local', 'memory'] as const;
export type StorageMode = (typeof storageModes)[number];

export type Outcome =
  /** The same session goes on: refreshed after the event, its token accepted, active on the server, no reuse. */
  | { readonly kind: 'lives' }
  /**
   * `<SessionEnded>` shows with this code. `afterSessionShown`: the page first shows the session
   * (its access token is still good), and the notice comes when that token is due.
   */
  | { readonly kind: 'notice'; readonly code: 'refresh_token_unavailable'; readonly afterSessionShown?: boolean }
  /** The sign-in form, and no notice: nothing was kept (memory storage, by design). */
  | { readonly kind: 'sign-in' };

const lives: Outcome = { kind: 'lives' };
const unavailable: Outcome = { kind: 'notice', code: 'refresh_token_unavailable' };
const unavailableAtDue: Outcome = { kind: 'notice', code: 'refresh_token_unavailable', afterSessionShown: true };
const signInForm: Outcome = { kind: 'sign-in' };

export type JourneyName = keyof typeof expectedOutcomes;

export const expectedOutcomes = {
  'reload right after sign-in': { cookie: lives, 'local-refresh': lives, local: unavailableAtDue, memory: signInForm },
  'reload at mid-life of the token': { cookie: lives, 'local-refresh': lives, local: unavailable, memory: signInForm },
  'reload while a refresh is in flight': { cookie: lives, 'local-refresh': lives, local: unavailable, memory: signInForm },
  'reload after the access token expired': { cookie: lives, 'local-refresh': lives, local: unavailable, memory: signInForm },
  'second tab opened late, both tabs at expiry': { cookie: lives, 'local-refresh': lives, local: lives, memory: lives },
  'holder tab hidden while another tab needs a token': { cookie: lives, 'local-refresh': lives, local: lives, memory: lives },
  'holder tab frozen while a tab opened meanwhile needs a token': { cookie: lives, 'local-refresh': lives, local: unavailable, memory: unavailable },
  'close every tab and reopen': { cookie: lives, 'local-refresh': lives, local: unavailable, memory: signInForm },
  'Tessera restarted mid-session': { cookie: lives, 'local-refresh': lives, local: lives, memory: lives },
  'Tessera unreachable while the page loads, then back': { cookie: lives, 'local-refresh': lives, local: unavailable, memory: signInForm },
  'device clock 10 minutes ahead': { cookie: lives, 'local-refresh': lives, local: lives, memory: lives },
  'device clock 10 minutes behind': { cookie: lives, 'local-refresh': lives, local: lives, memory: lives },
} satisfies Record<string, Record<StorageMode, Outcome>>;

/** The table's row of one journey, for `it.each`: `[mode, words, outcome]`, so `'%s: %s'` names each test. */
export function casesOf(journey: JourneyName): [StorageMode, string, Outcome][] {
  return storageModes.map((mode) => {
    const outcome = expectedOutcomes[journey][mode];
    return [mode, describeOutcome(outcome), outcome];
  });
}

function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'lives':
      return 'the session lives';
    case 'notice':
      return `the notice ${outcome.code}${outcome.afterSessionShown ? ' when the token is due' : ''}`;
    case 'sign-in':
      return 'the sign-in form, no notice';
  }
}
