import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SigningKeys } from '../../src/core/signing-keys.js';
import { SqliteSessionStore } from '../../src/stores/sqlite.js';
import { tempDir } from '../helpers.js';

/** Two nodes' signing keys on one store file: what each learns of the other's keys, and when. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function twoNodes() {
  const temp = tempDir();
  const path = join(temp.dir, 'tessera.db');
  const stores = [new SqliteSessionStore(path), new SqliteSessionStore(path)];
  cleanups.push(async () => {
    for (const store of stores) await store.close();
    temp.cleanup();
  });
  const clock = new ManualClock(Date.UTC(2026, 11, 2));
  let reads = 0;
  const counted = stores[1]!;
  const list = counted.listSigningKeys.bind(counted);
  counted.listSigningKeys = () => {
    reads++;
    return list();
  };
  const [a, b] = stores.map((store) => new SigningKeys({ store, clock, longestTokenTtl: 900 })) as [SigningKeys, SigningKeys];
  return { a, b, clock, reads: () => reads };
}

describe('signing keys on two nodes', () => {
  it('a node that has just loaded its keys verifies a key another node made that same moment', async () => {
    const { a, b } = twoNodes();
    await b.init();
    await a.init();
    // Both nodes found no key and each made one, or an operator rotated: the other's kid is new to B.
    const made = await a.rotate();
    expect(await b.verificationKey(made.kid)).toBeDefined();
  });

  it('unknown kids make a node re-read its keys at most once a second', async () => {
    const { b, clock, reads } = twoNodes();
    await b.init();
    const before = reads();
    for (let i = 0; i < 50; i++) expect(await b.verificationKey(`random-${i}`)).toBeUndefined();
    expect(reads() - before).toBe(1);
    clock.advance(1_001);
    expect(await b.verificationKey('random-late')).toBeUndefined();
    expect(reads() - before).toBe(2);
  });
});
