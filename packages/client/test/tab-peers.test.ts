// The tab protocol's waits (src/tab-peers.ts) on a manual timer source: how a request to the other
// tabs for tokens comes out, one row per way the other tabs can (not) answer.
import { describe, expect, it } from 'vitest';
import type { TabCoordinator, TabMessage } from '../src/tab-coordinator.js';
import { type TabAnswer, TabPeers } from '../src/tab-peers.js';
import { ManualTimers } from './fakes.js';

const requestTimeout = 10_000;

function setUp(others: number | null) {
  const timers = new ManualTimers(0);
  const published: TabMessage[] = [];
  const tabs: TabCoordinator = {
    runExclusive: (task) => task(),
    publish: (message) => void published.push(message),
    subscribe: () => () => {},
    close: () => {},
    ...(others === null ? {} : { countOthers: async () => others }),
  };
  return { timers, published, peers: new TabPeers(tabs, timers, requestTimeout) };
}

type Step = { at: number; do: (peers: TabPeers) => void };

describe('TabPeers.ask', () => {
  it.each<{ name: string; others: number | null; steps: Step[]; answer: TabAnswer; settledAt: number }>([
    { name: 'no other tab holds a session: at once, without asking', others: 0, steps: [], answer: 'none', settledAt: 0 },
    { name: 'nobody answers, count unknown (no Web Locks): none after 1 s', others: null, steps: [], answer: 'none', settledAt: 1000 },
    { name: 'nobody answers, holders known open: silent (frozen) after 1 s', others: 2, steps: [], answer: 'silent', settledAt: 1000 },
    {
      name: 'every holder declines: none at once',
      others: 2,
      steps: [
        { at: 100, do: (p) => p.declined('s1') },
        { at: 200, do: (p) => p.declined('s1') },
      ],
      answer: 'none',
      settledAt: 200,
    },
    { name: 'a decline for another session does not count', others: 1, steps: [{ at: 100, do: (p) => p.declined('s2') }], answer: 'silent', settledAt: 1000 },
    {
      name: 'a holder answers, then sends nothing: failed after the request timeout + 1 s',
      others: 1,
      steps: [{ at: 300, do: (p) => p.holderAnswered('s1') }],
      answer: 'failed',
      settledAt: 300 + requestTimeout + 1000,
    },
    {
      name: 'a holder answers, then its tokens arrive',
      others: 1,
      steps: [
        { at: 300, do: (p) => p.holderAnswered('s1') },
        { at: 2500, do: (p) => p.settleRequests('s1', 'tokens') },
      ],
      answer: 'tokens',
      settledAt: 2500,
    },
    {
      name: 'a holder answers, then a silent settle counts as its failure',
      others: 1,
      steps: [
        { at: 300, do: (p) => p.holderAnswered('s1') },
        { at: 400, do: (p) => p.settleRequests('s1', 'silent') },
      ],
      answer: 'failed',
      settledAt: 400,
    },
    {
      name: 'the client is disposed meanwhile',
      others: 1,
      steps: [{ at: 500, do: (p) => p.settleRequests(null, 'settled') }],
      answer: 'settled',
      settledAt: 500,
    },
  ])('$name', async ({ others, steps, answer, settledAt }) => {
    const { timers, published, peers } = setUp(others);
    let result: { answer: TabAnswer; at: number } | null = null;
    void peers.ask('s1').then((value) => (result = { answer: value, at: timers.now() }));
    for (const step of steps) {
      await timers.advance(step.at - timers.now());
      step.do(peers);
    }
    await timers.advance(60_000 - timers.now());
    expect(result).toEqual({ answer, at: settledAt });
    expect(published).toEqual(others === 0 ? [] : [{ type: 'wanted', sessionId: 's1' }]);
    expect(timers.pending).toBe(0);
  });
});

describe('TabPeers: a refresh token presented by another tab', () => {
  it.each([
    { name: 'its tokens arrive: the wait ends then', settleAt: 700 as number | null, endsAt: 700 },
    { name: 'nothing arrives: the wait ends after 2 s', settleAt: null, endsAt: 2000 },
  ])('$name', async ({ settleAt, endsAt }) => {
    const { timers, peers } = setUp(1);
    peers.presentedElsewhere('rt_1');
    let endedAt: number | null = null;
    void peers.awaitPresented('rt_1').then(() => (endedAt = timers.now()));
    if (settleAt !== null) {
      await timers.advance(settleAt);
      peers.settlePresented();
    }
    await timers.advance(10_000);
    expect(endedAt).toBe(endsAt);
    // Another token, or none presented: no wait at all.
    await expect(peers.awaitPresented('rt_2')).resolves.toBeUndefined();
  });

  it('remembers the last 16 spent refresh tokens, and tokens holding one are stale', () => {
    const { peers } = setUp(1);
    for (let n = 1; n <= 17; n++) peers.markSpent(`rt_${n}`);
    expect(peers.isSpent('rt_1')).toBe(false);
    expect(peers.isSpent('rt_2')).toBe(true);
    const held = {
      accessToken: 'a2',
      accessTokenIssuedAt: 2000,
      accessTokenExpiresAt: 9000,
      refreshToken: 'rt_20',
      refreshTokenExpiresAt: null,
      sessionId: 's1',
    };
    expect(peers.isStale({ ...held, refreshToken: 'rt_17' }, null)).toBe(true);
    expect(peers.isStale({ ...held, accessTokenIssuedAt: 1000, refreshToken: 'rt_19' }, held)).toBe(true);
    expect(peers.isStale({ ...held, accessTokenIssuedAt: 3000, refreshToken: 'rt_21' }, held)).toBe(false);
    expect(peers.isStale({ ...held, accessTokenIssuedAt: 1000, refreshToken: 'rt_19', sessionId: 's2' }, held)).toBe(false);
  });
});
