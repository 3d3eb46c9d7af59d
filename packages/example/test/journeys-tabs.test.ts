// Journeys of issue 12, tabs: a second tab opened late, the tab that holds the refresh token hidden
// or frozen while another needs a token, in each storage mode of the example page. Each ends within
// a bounded time in the outcome journeys/outcomes.ts gives, never in silence.
import { describe, expect, it } from 'vitest';
import { controlVisibility, journeyTimeout, observe, refreshesSeen, secondsLeft, setVisible, signIn, tokenTtl, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys();

describe('second tab opened late, both tabs at expiry', () => {
  it.each(casesOf('second tab opened late, both tabs at expiry'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const first = await world.openTab(mode);
      const sessionId = await signIn(first);
      await expect.poll(() => refreshesSeen(first), { timeout: tokenTtl * 3000 }).toBeGreaterThanOrEqual(1);
      const second = await world.openTab(mode);
      // Both tabs go past the expiry of every token there was when the second one opened.
      const allExpired = Date.now() + tokenTtl * 1000;
      await world.expectOutcome(second, outcome, { sessionId, since: allExpired, name: `second-tab-late-${mode}` });
      await world.expectLives(first, { sessionId, since: allExpired });
    },
    journeyTimeout,
  );
});

describe('holder tab hidden while another tab needs a token', () => {
  it.each(casesOf('holder tab hidden while another tab needs a token'))(
    '%s: %s',
    async (mode, _, outcome) => {
      await controlVisibility(world.context);
      const holder = await world.openTab(mode);
      const sessionId = await signIn(holder);
      await setVisible(holder, false);
      const other = await world.openTab(mode);
      // The other tab goes past the expiry of every token there was when it opened.
      const allExpired = Date.now() + tokenTtl * 1000;
      await world.expectOutcome(other, outcome, { sessionId, since: allExpired, name: `holder-hidden-${mode}` });
      // Shown again, the holder carries on with the same session.
      const shownAt = Date.now();
      await setVisible(holder, true);
      await world.expectLives(holder, { sessionId, since: shownAt });
    },
    journeyTimeout,
  );
});

describe('holder tab frozen while a tab opened meanwhile needs a token', () => {
  it.each(casesOf('holder tab frozen while a tab opened meanwhile needs a token'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const holder = await world.openTab(mode);
      const sessionId = await signIn(holder);
      // Past its first refresh (its tokens are written wherever the mode keeps them), the holder freezes.
      await expect.poll(() => refreshesSeen(holder), { timeout: tokenTtl * 3000 }).toBeGreaterThanOrEqual(1);
      // Frozen to the end of the test: a failure's screenshots show the tabs as they were.
      await world.freeze(holder);
      const other = await world.openTab(mode);
      const allExpired = Date.now() + tokenTtl * 1000;
      if (outcome.kind === 'notice') {
        // Said within about 2 s of the new tab's token being due (half its life left), not hung on
        // the frozen holder; a tab that got no token at all says so at once.
        await expect.poll(async () => (await observe(other)).kind, { timeout: 10_000 }).not.toBe('loading');
        const shown = await observe(other);
        const dueIn = shown.kind === 'dashboard' ? Math.max(0, (await secondsLeft(other)) - tokenTtl / 2) * 1000 : 0;
        await world.expectOutcome(other, outcome, { sessionId, since: allExpired, name: `holder-frozen-${mode}`, timeout: dueIn + 2000 + 4000 });
      } else {
        await world.expectOutcome(other, outcome, { sessionId, since: allExpired, name: `holder-frozen-${mode}` });
      }
    },
    journeyTimeout,
  );
});
