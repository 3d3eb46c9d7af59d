// Journeys of issue 12, the device clock set 10 minutes ahead or behind for the whole journey, in
// each storage mode of the example page: the session lives for three token lifetimes and more,
// refreshed on the server's clock, with no refresh loop.
import { describe, expect, it } from 'vitest';
import { journeyTimeout, signIn, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys();

/** At most this many refreshes per token lifetime: the page refreshes at half-life (2 per life); a loop makes hundreds. */
const maxRefreshesPerTokenLife = 3;

describe.each([
  ['device clock 10 minutes ahead', 10],
  ['device clock 10 minutes behind', -10],
] as const)('%s', (journey, minutes) => {
  it.each(casesOf(journey))(
    '%s: %s',
    async (mode, _, outcome) => {
      const shiftMs = minutes * 60_000;
      // The device's clock (Date, timers' time) is set off; the journey's steps move it on from there.
      await world.context.clock.setSystemTime(world.now() + shiftMs);
      const page = await world.openTab(mode);
      // biome-ignore lint/complexity/useDateNow: compares the Date constructor with Date.now() under the shifted clock
      const device = await page.evaluate(() => ({ now: Date.now(), date: new Date().getTime() }));
      expect(Math.abs(device.now - world.now() - shiftMs)).toBeLessThan(5000);
      expect(Math.abs(device.date - device.now)).toBeLessThan(1000);

      const sessionId = await signIn(page);
      expect(await page.getByTestId('clock-skew').textContent()).toMatch(minutes > 0 ? /ahead of the server/ : /behind the server/);
      const signedInAt = world.now();
      // Three token lifetimes and a bit: every token this session started with has run out.
      await world.passTime(3 * world.tokenTtl + 1);
      const window = world.now() - signedInAt;
      const refreshes = world.refreshes.filter((record) => record.sentAt >= signedInAt).length;
      expect(refreshes, 'refreshes in three token lifetimes: no loop').toBeLessThanOrEqual(
        Math.ceil((window / 1000 / world.tokenTtl) * maxRefreshesPerTokenLife),
      );
      expect(refreshes, 'refreshed on time: at least once per token lifetime').toBeGreaterThanOrEqual(3);
      await world.expectOutcome(page, outcome, {
        sessionId,
        since: signedInAt + 2 * world.tokenTtl * 1000,
        name: `clock-${minutes > 0 ? 'ahead' : 'behind'}-${mode}`,
      });
    },
    journeyTimeout,
  );
});
