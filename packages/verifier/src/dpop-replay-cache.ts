import type { Clock } from './clock.js';

/**
 * Where a resource server remembers the DPoP proofs it has accepted, so none is accepted twice
 * (RFC 9449 §11.1). The verifier keeps one in memory by default; resource servers that run several
 * nodes behind one URL pass one they share (Redis `SET key 1 PX ttl NX`, a unique row in a database),
 * or a proof used on one node could be replayed on another.
 *
 * @example
 * ```ts
 * const replayCache: DpopReplayCache = {
 *   async remember(proofId, expiresAt) {
 *     return (await redis.set(`dpop:${proofId}`, '1', { PXAT: expiresAt, NX: true })) === 'OK';
 *   },
 * };
 * const verifier = createVerifier({ issuer, audience: 'tessera', dpop: { replayCache } });
 * ```
 */
export interface DpopReplayCache {
  /**
   * Records `proofId` (the proof's key thumbprint and its `jti`, at most 300 characters) until
   * `expiresAt` (epoch milliseconds: the end of the proof's acceptance window). True when it was not
   * recorded yet, false when it was and has not expired: a replay. It must be one atomic
   * check-and-set, or two nodes could both accept the same proof.
   */
  remember(proofId: string, expiresAt: number): Promise<boolean>;
}

export interface MemoryDpopReplayCacheOptions {
  /** Where "now" comes from, for what has expired; the verifier passes its own clock. */
  readonly clock: Clock;
  /**
   * Most proofs kept; 100,000 by default: about 1,500 requests a second over the 66 s a proof is
   * kept, in about 20 MB (measured on Node 20: 200 bytes a proof with a UUID `jti`). When it is full
   * the proof whose window ends soonest is forgotten first, so a replay of it could pass for the few
   * seconds it had left: size it above the traffic.
   */
  readonly maxEntries?: number;
}

/**
 * The in-memory `DpopReplayCache` of one process. Proofs are kept in a map and, by the end of their
 * window, in a binary min-heap: what has expired comes off its top, and when full the proof whose
 * window ends soonest goes first, each in O(log n).
 */
export class MemoryDpopReplayCache implements DpopReplayCache {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  /** Proof id → the epoch milliseconds it is kept until. */
  readonly #expiries = new Map<string, number>();
  /** The same proofs as a min-heap on their `expiresAt`, in two parallel arrays (no object per proof). */
  readonly #heapIds: string[] = [];
  readonly #heapUntil: number[] = [];

  constructor(options: MemoryDpopReplayCacheOptions) {
    this.#clock = options.clock;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 100_000);
  }

  /** How many proofs are kept now. */
  get size(): number {
    return this.#expiries.size;
  }

  async remember(proofId: string, expiresAt: number): Promise<boolean> {
    const now = this.#clock.now();
    while (this.#heapUntil.length > 0 && this.#heapUntil[0]! <= now) this.#forgetSoonest();
    if (this.#expiries.has(proofId)) return false;
    // A window already over needs no memory: the proof's iat refuses it from now on.
    if (expiresAt <= now) return true;
    if (this.#expiries.size >= this.#maxEntries) this.#forgetSoonest();
    this.#expiries.set(proofId, expiresAt);
    this.#push(proofId, expiresAt);
    return true;
  }

  /** Takes the proof whose window ends soonest off the heap, and forgets it. */
  #forgetSoonest(): void {
    const ids = this.#heapIds;
    const until = this.#heapUntil;
    this.#expiries.delete(ids[0]!);
    const lastId = ids.pop()!;
    const lastUntil = until.pop()!;
    if (ids.length === 0) return;
    // Sift the last one down from the top.
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= ids.length) break;
      const child = left + 1 < ids.length && until[left + 1]! < until[left]! ? left + 1 : left;
      if (until[child]! >= lastUntil) break;
      ids[index] = ids[child]!;
      until[index] = until[child]!;
      index = child;
    }
    ids[index] = lastId;
    until[index] = lastUntil;
  }

  #push(proofId: string, expiresAt: number): void {
    const ids = this.#heapIds;
    const until = this.#heapUntil;
    let index = ids.length;
    ids.push(proofId);
    until.push(expiresAt);
    // Sift up.
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (until[parent]! <= expiresAt) break;
      ids[index] = ids[parent]!;
      until[index] = until[parent]!;
      index = parent;
    }
    ids[index] = proofId;
    until[index] = expiresAt;
  }
}
