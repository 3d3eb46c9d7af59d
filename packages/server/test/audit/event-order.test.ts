// Events of one millisecond keep the order they happened in: the trail reads newest first by (at, id).
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Journal, systemActor } from '../../src/core/journal.js';

describe('Journal event ids', () => {
  it('rise strictly within one millisecond, across writes, however many', () => {
    const journal = new Journal({ clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    const ids: string[] = [];
    for (let write = 0; write < 500; write++) {
      const { events } = journal.write([
        { type: 'session.reuse_detected', actor: systemActor },
        { type: 'session.revoked', actor: systemActor },
      ]);
      ids.push(...events.map((event) => event.id));
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('start from the new time once the clock moves on', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const journal = new Journal({ clock });
    const [first] = journal.write([{ type: 'session.created', actor: systemActor }]).events;
    clock.advance(1);
    const [second] = journal.write([{ type: 'session.created', actor: systemActor }]).events;
    expect(second!.id.slice(0, 14)).not.toBe(first!.id.slice(0, 14));
    expect(second!.id > first!.id).toBe(true);
  });
});
