// The client's timing rules (src/session-timing.ts), one row per case: boundaries, unknown expiries,
// sessions cut by their idle or absolute end, and clocks skewed either way.
import { describe, expect, it } from 'vitest';
import { ServerClock } from '../src/server-clock.js';
import {
  absoluteEndOf,
  checkAt,
  dueAt,
  endedWithAbsoluteLifetime,
  idleEndOf,
  isDue,
  isExpired,
  isLongExpired,
  type TimedSession,
  type TimedTokens,
} from '../src/session-timing.js';

const t0 = Date.parse('2026-03-01T12:00:00.000Z');
const s = 1000;
const min = 60 * s;
const iso = (ms: number) => new Date(ms).toISOString();

/** Tokens of session `s1` issued at t0 (whole second), lasting `ttl` ms; null fields for unknown ones. */
function tokens(ttl: number | null, options: { iat?: number | null; sessionId?: string | null } = {}): TimedTokens {
  const iat = options.iat === undefined ? t0 : options.iat;
  return {
    accessTokenIssuedAt: iat,
    accessTokenExpiresAt: ttl === null ? null : (iat ?? t0) + ttl,
    sessionId: options.sessionId === undefined ? 's1' : options.sessionId,
  };
}

/** The description of session `s1`, last refreshed at `from`, with the given ends. */
function session(ends: { absolute: number; idle?: number | null; from?: number; id?: string }): TimedSession {
  return {
    id: ends.id ?? 's1',
    created_at: iso(t0 - 60 * min),
    last_refreshed_at: ends.from === undefined ? null : iso(ends.from),
    expires_at: iso(ends.absolute),
    idle_expires_at: ends.idle === undefined || ends.idle === null ? null : iso(ends.idle),
  };
}

const farEnd = session({ absolute: t0 + 30 * 24 * 60 * min, idle: t0 + 7 * 24 * 60 * min });

describe('isExpired and isLongExpired', () => {
  it.each([
    { name: 'unknown expiry never expires', tokens: tokens(null), at: t0 + 1000 * min, expired: false, long: false },
    { name: '1 ms before exp', tokens: tokens(15 * min), at: t0 + 15 * min - 1, expired: false, long: false },
    { name: 'at exp (boundary)', tokens: tokens(15 * min), at: t0 + 15 * min, expired: true, long: false },
    { name: '4999 ms past exp', tokens: tokens(15 * min), at: t0 + 15 * min + 4999, expired: true, long: false },
    { name: '5000 ms past exp (boundary)', tokens: tokens(15 * min), at: t0 + 15 * min + 5000, expired: true, long: true },
    { name: 'hours past exp (slept)', tokens: tokens(15 * min), at: t0 + 600 * min, expired: true, long: true },
  ])('$name', ({ tokens: held, at, expired, long }) => {
    expect(isExpired(held, at)).toBe(expired);
    expect(isLongExpired(held, at)).toBe(long);
  });
});

describe('dueAt and isDue', () => {
  it.each([
    { name: '15 min token, 60 s leeway: due at exp − 60 s', tokens: tokens(15 * min), session: null, leeway: 60 * s, due: t0 + 14 * min },
    { name: 'leeway 0: due at exp', tokens: tokens(15 * min), session: null, leeway: 0, due: t0 + 15 * min },
    { name: 'unknown expiry: never due', tokens: tokens(null), session: null, leeway: 60 * s, due: null },
    { name: 'unknown iat: exp − leeway, not halved', tokens: tokens(15 * min, { iat: null }), session: null, leeway: 60 * s, due: null },
    { name: 'leeway longer than half the life is halved', tokens: tokens(60 * s), session: null, leeway: 60 * s, due: t0 + 30 * s },
    { name: 'a 1 s token is not due within the second of iat', tokens: tokens(1 * s), session: null, leeway: 60 * s, due: t0 + 1 * s },
    { name: 'a session far from its ends changes nothing', tokens: tokens(15 * min), session: farEnd, leeway: 60 * s, due: t0 + 14 * min },
    {
      name: 'cut by the idle end: not before half-way from last refresh (ms precise) to the idle end',
      tokens: tokens(2 * min),
      session: session({ absolute: t0 + 600 * min, idle: t0 + 2 * min + 400, from: t0 + 400 }),
      leeway: 60 * s,
      due: t0 + 400 + 60 * s,
    },
    {
      name: 'cut by the idle end, leeway shorter than half: exp − leeway',
      tokens: tokens(10 * min),
      session: session({ absolute: t0 + 600 * min, idle: t0 + 10 * min + 300, from: t0 + 300 }),
      leeway: 60 * s,
      due: t0 + 9 * min,
    },
    {
      name: 'cut by the absolute end (less than 1 s before it): due only at exp',
      tokens: tokens(5 * min),
      session: session({ absolute: t0 + 5 * min + 700, idle: null }),
      leeway: 60 * s,
      due: t0 + 5 * min,
    },
    {
      name: 'ending exactly 1 s before the absolute end is its own TTL: due as usual',
      tokens: tokens(5 * min),
      session: session({ absolute: t0 + 5 * min + 1000, idle: null }),
      leeway: 60 * s,
      due: t0 + 4 * min,
    },
    {
      name: 'the description of another session is ignored',
      tokens: tokens(5 * min),
      session: session({ absolute: t0 + 5 * min + 700, idle: null, id: 's2' }),
      leeway: 60 * s,
      due: t0 + 4 * min,
    },
  ])('$name', ({ tokens: held, session: described, leeway, due }) => {
    const expected = due ?? (held.accessTokenExpiresAt === null ? null : held.accessTokenExpiresAt - leeway);
    expect(dueAt(held, described, leeway)).toBe(expected);
    if (expected === null) {
      expect(isDue(held, described, t0 + 100_000 * min, leeway)).toBe(false);
      return;
    }
    expect(isDue(held, described, expected - 1, leeway)).toBe(false);
    expect(isDue(held, described, expected, leeway)).toBe(true);
  });
});

describe('the idle and absolute ends', () => {
  const cut = tokens(5 * min);
  it.each([
    { name: 'no description', session: null, idle: null, absolute: null },
    { name: 'ends far away', session: farEnd, idle: null, absolute: null },
    {
      name: 'cut by the idle end',
      session: session({ absolute: t0 + 600 * min, idle: t0 + 5 * min + 500, from: t0 + 500 }),
      idle: { from: t0 + 500, end: t0 + 5 * min + 500 },
      absolute: null,
    },
    {
      name: 'idle end without last refresh: from created_at',
      session: session({ absolute: t0 + 600 * min, idle: t0 + 5 * min + 500 }),
      idle: { from: t0 - 60 * min, end: t0 + 5 * min + 500 },
      absolute: null,
    },
    { name: 'cut by the absolute end, no idle timeout', session: session({ absolute: t0 + 5 * min + 500 }), idle: null, absolute: t0 + 5 * min + 500 },
    {
      name: 'idle end first, however close to the absolute end: idle wins',
      session: session({ absolute: t0 + 5 * min + 900, idle: t0 + 5 * min + 500, from: t0 }),
      idle: { from: t0, end: t0 + 5 * min + 500 },
      absolute: null,
    },
    { name: 'unreadable dates', session: { ...session({ absolute: t0 })!, expires_at: 'soon', idle_expires_at: 'later' }, idle: null, absolute: null },
  ])('$name', ({ session: described, idle, absolute }) => {
    expect(idleEndOf(cut, described)).toEqual(idle);
    expect(absoluteEndOf(cut, described)).toBe(absolute);
  });

  const end = t0 + 5 * min + 500;
  const atEnd = session({ absolute: end });
  it.each([
    { name: 'before exp: not yet', at: t0 + 5 * min - 1, ended: null },
    { name: 'at exp (boundary)', at: t0 + 5 * min, ended: end },
    { name: 'just under 5 s past exp', at: t0 + 5 * min + 4999, ended: end },
    { name: 'long past exp: the server is asked', at: t0 + 5 * min + 5000, ended: null },
  ])('the last token ran out with the session: $name', ({ at, ended }) => {
    expect(endedWithAbsoluteLifetime(cut, atEnd, at)).toBe(ended);
    expect(endedWithAbsoluteLifetime(cut, null, at)).toBeNull();
  });
});

describe('checkAt: when to look, and when a tab that cannot refresh asks the others', () => {
  it.each([
    { name: 'refreshes alone: at the due time', tokens: tokens(15 * min), leeway: 60 * s, alone: true, at: t0 + 14 * min },
    { name: 'asks others: 1 s after due', tokens: tokens(15 * min), leeway: 60 * s, alone: false, at: t0 + 14 * min + 1000 },
    { name: 'asks others, short leeway: half-way from due to exp', tokens: tokens(15 * min), leeway: 1 * s, alone: false, at: t0 + 15 * min - 500 },
    { name: 'asks others, leeway 0: at exp', tokens: tokens(15 * min), leeway: 0, alone: false, at: t0 + 15 * min },
    { name: 'unknown expiry: never', tokens: tokens(null), leeway: 60 * s, alone: false, at: null },
  ])('$name', ({ tokens: held, leeway, alone, at }) => {
    expect(checkAt(held, null, leeway, alone)).toBe(at);
  });
});

describe('on skewed clocks, decisions follow the server clock', () => {
  // The device reads its own clock; ServerClock learns the offset from one timed reading.
  it.each([
    { name: 'device 10 min ahead', skew: 10 * min },
    { name: 'device 10 min behind', skew: -10 * min },
    { name: 'device 3 h ahead', skew: 180 * min },
    { name: 'in step', skew: 0 },
  ])('$name: due at exp − leeway on server time, whatever the device reads', ({ skew }) => {
    let device = t0 + skew;
    const clock = new ServerClock(() => device);
    clock.observe({ serverTime: t0, sentAt: device, receivedAt: device });
    const held = tokens(15 * min);
    device = t0 + skew + 14 * min - 1;
    expect(isDue(held, null, clock.now(), 60 * s)).toBe(false);
    device += 1;
    expect(isDue(held, null, clock.now(), 60 * s)).toBe(true);
    expect(clock.toDeviceTime(dueAt(held, null, 60 * s)!)).toBe(t0 + skew + 14 * min);
    expect(isExpired(held, clock.now())).toBe(false);
  });
});
