// A key supplied with --api-key is recorded when it first goes live, not on every start.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { startCore, tempDir } from '../helpers.js';

describe('api_key.created for a supplied key', () => {
  it('is recorded once across restarts with the same key, and again for a new key, which revokes the old one on the record', async () => {
    const temp = tempDir();
    try {
      const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
      for (let start = 0; start < 3; start++) {
        const core = await startCore({ dir: temp.dir, clock });
        await core.tessera.close();
        clock.advance(1);
      }
      const core = await startCore({ dir: temp.dir, clock });
      try {
        const supplied = async () =>
          (await core.store.listAuditEvents({ type: 'api_key.created', limit: 10 })).filter((e) => e.details['origin'] === 'supplied');
        expect(await supplied()).toHaveLength(1);
        await core.tessera.apiKeys.supply('tsk_another_operator_key_0123456789abcdef');
        expect((await supplied()).map((e) => e.actor)).toEqual([
          { type: 'system', id: 'tessera' },
          { type: 'system', id: 'tessera' },
        ]);
        // The key it replaces is revoked, and recorded so, by the system.
        expect((await core.store.listAuditEvents({ type: 'api_key.revoked', limit: 10 })).map((e) => [e.actor.type, e.details])).toEqual([
          ['system', { name: 'supplied', origin: 'supplied' }],
        ]);
      } finally {
        await core.tessera.close();
      }
    } finally {
      temp.cleanup();
    }
  });
});
