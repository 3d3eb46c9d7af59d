import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

// ulid()'s own source asks the CSPRNG once per character (~50–70 µs an id here); draw from a pool instead.
const pool = new Uint32Array(1024);
let next = pool.length;

function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 0x1_0000_0000;
}

/** A time-ordered, unpredictable id (ULID from the CSPRNG), e.g. for sessions, token ids, request ids. */
export function newId(prefix: string, at?: number): string {
  return `${prefix}${ulid(at, pooledRandom)}`;
}
