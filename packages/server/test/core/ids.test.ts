import { describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';

describe('newId', () => {
  it('is a prefixed ULID that sorts by time', () => {
    const early = newId('ses_', Date.UTC(2026, 0, 1));
    const late = newId('ses_', Date.UTC(2026, 0, 2));
    expect(early).toMatch(/^ses_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(early < late).toBe(true);
  });

  it('never repeats across many draws (the pool refills from the CSPRNG)', () => {
    const at = Date.UTC(2026, 0, 1);
    const ids = new Set(Array.from({ length: 20_000 }, () => newId('', at)));
    expect(ids.size).toBe(20_000);
  });
});
