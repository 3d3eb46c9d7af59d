import { describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/core/api-keys.js';
import { silentLog } from '../../src/core/log.js';
import { startCore } from '../helpers.js';

/** The rules of management API keys, on a real SQLite file with a clock the test moves. */
describe('ApiKeys', () => {
  const supplied = 'tsk_supplied_key_0123456789abcdefghijk';

  it('records when a key was last used, written at most once a minute per node', async () => {
    const core = await startCore();
    try {
      const keys = core.tessera.apiKeys;
      const key = await keys.create('backend');
      const lastUsed = async () => (await keys.list()).find((record) => record.name === 'backend')!.lastUsedAt;
      expect(await lastUsed()).toBeNull();
      expect(keys.accepts(key)).toBe(true);
      const firstUse = core.clock.now();
      await keys.reload();
      expect(await lastUsed()).toBe(firstUse);
      core.clock.advance(10);
      expect(keys.accepts(key)).toBe(true);
      await keys.reload();
      expect(await lastUsed()).toBe(firstUse);
      core.clock.advance(60);
      await keys.reload();
      expect(await lastUsed()).toBe(firstUse + 10_000);
    } finally {
      await core.close();
    }
  });

  it('a supplied key replaces the one supplied before and the generated one; created keys stay', async () => {
    const core = await startCore();
    try {
      const keys = await ApiKeys.load(core.store, core.clock);
      const generated = await keys.generate();
      const created = await keys.create('ci');
      await keys.supply(supplied);
      expect(keys.accepts(supplied)).toBe(true);
      expect(keys.accepts(generated)).toBe(false);
      expect(keys.accepts(created)).toBe(true);
      await keys.supply(undefined);
      expect(keys.accepts(supplied)).toBe(false);
      expect(keys.accepts(created)).toBe(true);
      await expect(keys.supply('short')).rejects.toThrow(/at least 32/);
      await expect(keys.create('supplied')).rejects.toThrow(/Tessera's own/);
      await expect(keys.create('no spaces')).rejects.toThrow(/letters, digits/);
    } finally {
      await core.close();
    }
  });

  it('watch re-reads the keys every 250 ms of its scheduler: a key revoked elsewhere is refused from the next re-read', async () => {
    const core = await startCore();
    try {
      // Two nodes' views of one store; the test's ManualClock times the watching one's re-reads.
      const { clock } = core;
      const elsewhere = await ApiKeys.load(core.store, clock);
      const watched = await ApiKeys.load(core.store, clock);
      const key = await elsewhere.create('backend');
      await watched.reload();
      expect(watched.accepts(key)).toBe(true);
      const stop = watched.watch(silentLog, clock);
      expect(clock.pendingTimers).toBe(1);
      expect(await elsewhere.revoke('backend')).toBe(true);
      await clock.advanceAsync(0.249);
      expect(watched.accepts(key)).toBe(true);
      clock.advance(0.001);
      await expect.poll(() => watched.accepts(key)).toBe(false);
      stop();
      expect(clock.pendingTimers).toBe(0);
    } finally {
      await core.close();
    }
  });
});
