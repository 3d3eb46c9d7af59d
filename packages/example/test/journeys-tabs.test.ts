// Journeys of issue 12, tabs: a second tab opened late, the tab that holds the refresh token hidden
// while another needs a token, in each storage mode of the example page. Each ends within a bounded
// time in the outcome journeys/outcomes.ts gives, never in silence. (A frozen holder tab:
// journeys-frozen.test.ts.)
import { describe, it } from 'vitest';
import { controlVisibility, journeyTimeout, refreshesSeen, setVisible, signIn, useJourneys } from './journeys/harness.js';
import { casesOf } from './journeys/outcomes.js';

const world = useJourneys();

describe('second tab opened late, both tabs at expiry', () => {
  it.each(casesOf('second tab opened late, both tabs at expiry'))(
    '%s: %s',
    async (mode, _, outcome) => {
      const first = await world.openTab(mode);
      const sessionId = await signIn(first);
      await world.poll(() => refreshesSeen(first)).toBeGreaterThanOrEqual(1);
      const second = await world.openTab(mode);
      // Both tabs go past the expiry of every token there was when the second one opened.
      const allExpired = world.now() + world.tokenTtl * 1000;
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
      const allExpired = world.now() + world.tokenTtl * 1000;
      await world.expectOutcome(other, outcome, { sessionId, since: allExpired, name: `holder-hidden-${mode}` });
      // Shown again, the holder carries on with the same session.
      const shownAt = world.now();
      await setVisible(holder, true);
      await world.expectLives(holder, { sessionId, since: shownAt });
    },
    journeyTimeout,
  );
});
