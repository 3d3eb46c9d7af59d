import { randomFillSync } from 'node:crypto';

// One CSPRNG call per id costs ~50–70 µs here (the ulid package's way); draw from a pool instead.
const pool = new Uint32Array(1024);
let next = pool.length;

function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 0x1_0000_0000;
}

/** Crockford's base 32, as ULIDs spell it. */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A time-ordered, unpredictable id (a ULID: 10 characters of milliseconds, 16 from the CSPRNG),
 * e.g. for sessions, token ids, request ids. Written here so the verifier needs no package for it.
 */
export function newId(prefix: string, at: number = Date.now()): string {
  let time = '';
  for (let rest = Math.floor(at), i = 0; i < 10; i++, rest = Math.floor(rest / 32)) time = alphabet[rest % 32]! + time;
  let random = '';
  for (let i = 0; i < 16; i++) random += alphabet[Math.floor(pooledRandom() * 32)]!;
  return `${prefix}${time}${random}`;
}
