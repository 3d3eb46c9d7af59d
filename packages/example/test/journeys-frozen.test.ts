// Journeys of issue 12, a frozen tab: the tab that holds the refresh token frozen (as a background
// tab is) while a tab opened meanwhile needs a token, in each storage mode of the example page. A
// frozen page cannot have its clock moved, so these journeys run on real time with 4-second tokens.
import { describe, expect, it } from 'vitest';
import { journeyTimeout, observe, refreshesSeen, refreshLead, secondsLeft, signIn, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys({ time: 'real' });

describe('holder tab frozen while a tab opened meanwhile needs a token', () => {
  it.each(casesOf('holder tab frozen while a tab opened meanwhile needs a token'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const holder = await world.openTab(mode);
      const sessionId = await signIn(holder);
      // Past its first refresh (its tokens are written wherever the mode keeps them), the holder freezes,
      // between two refreshes: its fresh token shown and the next not due for a second. Chrome avoids
      // freezing a tab that holds a Web Lock, as a refreshing tab does; a debugger pause does not, and
      // the other tab would wait on that lock to the end (the likely cause of two failures under load).
      await expect.poll(() => refreshesSeen(holder), { timeout: world.tokenTtl * 3000 }).toBeGreaterThanOrEqual(1);
      await expect.poll(() => secondsLeft(holder), { timeout: world.tokenTtl * 3000 }).toBeGreaterThan(refreshLead(world.tokenTtl) + 1);
      // Frozen to the end of the test: a failure's screenshots show the tabs as they were.
      await world.freeze(holder);
      const other = await world.openTab(mode);
      const allExpired = world.now() + world.tokenTtl * 1000;
      if (outcome.kind === 'notice') {
        // Said within about 2 s of the new tab's token being due (half its life left), not hung on
        // the frozen holder; a tab that got no token at all says so at once.
        await expect.poll(async () => (await observe(other)).kind, { timeout: 10_000 }).not.toBe('loading');
        const shown = await observe(other);
        const dueIn = shown.kind === 'dashboard' ? Math.max(0, (await secondsLeft(other)) - refreshLead(world.tokenTtl)) * 1000 : 0;
        await world.expectOutcome(other, outcome, { sessionId, since: allExpired, name: `holder-frozen-${mode}`, timeout: dueIn + 2000 + 4000 });
      } else {
        await world.expectOutcome(other, outcome, { sessionId, since: allExpired, name: `holder-frozen-${mode}` });
      }
    },
    journeyTimeout,
  );
});
