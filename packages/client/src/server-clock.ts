/** One reading of the server's clock, taken during a request. */
export interface ServerTimeSample {
  /** The server's time in epoch milliseconds (`server_time`, or `iat` at second precision). */
  readonly serverTime: number;
  /** Device time when the request left, in epoch milliseconds. */
  readonly sentAt: number;
  /** Device time when the answer arrived. */
  readonly receivedAt: number;
  /** How coarse `serverTime` is, in ms: 0 for `server_time`, 1000 for a JWT `iat` (floored to the second). */
  readonly resolution?: number;
  /**
   * The reading did not come from a request timed here (a grant the app's backend passed on): it
   * is taken as read on arrival and trusted less than any timed one.
   */
  readonly untimed?: boolean;
}

/** How much less an untimed reading is trusted (ms). */
const untimedPenalty = 2000;

/**
 * How far a device clock may drift from the server's, per millisecond: an earlier reading's bound
 * widens by this much as it ages (100 ppm, more than a device's quartz clock drifts).
 */
const driftPerMs = 1e-4;

/**
 * The offset from the device clock to the server clock, so "expired" and "refresh now" are decided
 * on server time: a device ten minutes ahead or behind neither loops nor sends expired tokens.
 *
 * Each reading bounds the offset: the server read its clock somewhere between the request leaving
 * and the answer arriving, so a reading is corrected by half its round trip and holds within the
 * other half. Readings that agree are combined (the offset lies where their bounds overlap, the
 * earlier one's widened for drift), so a loose one (a request that spanned a sleep) cannot undo a
 * tight one; a reading that contradicts the ones before (the device clock was set since) replaces them.
 *
 * @example
 * ```ts
 * const clock = new ServerClock(() => Date.now());
 * clock.observe({ serverTime: Date.parse(body.server_time), sentAt, receivedAt: Date.now() });
 * const expired = clock.now() >= expiresAt;
 * ```
 */
export class ServerClock {
  readonly #deviceNow: () => number;
  #offset = 0;
  #uncertainty = Number.POSITIVE_INFINITY;
  #sampledAt = Number.NEGATIVE_INFINITY;

  constructor(deviceNow: () => number) {
    this.#deviceNow = deviceNow;
  }

  /** Server time now, in epoch milliseconds. */
  now(): number {
    return this.#deviceNow() + this.#offset;
  }

  /** Device time now. */
  deviceNow(): number {
    return this.#deviceNow();
  }

  /** The device time at which the server's clock reads `serverTime`. */
  toDeviceTime(serverTime: number): number {
    return serverTime - this.#offset;
  }

  /** Milliseconds the device clock is ahead of the server's (negative when behind). */
  get skew(): number {
    return 0 - this.#offset;
  }

  /** Whether any sample was taken yet. */
  get calibrated(): boolean {
    return Number.isFinite(this.#uncertainty);
  }

  /** Takes a reading into account; returns whether it changed the offset. */
  observe(sample: ServerTimeSample): boolean {
    const roundTrip = Math.max(0, sample.receivedAt - sample.sentAt);
    const resolution = sample.resolution ?? 0;
    const midpoint = sample.sentAt + roundTrip / 2;
    let offset = sample.serverTime + resolution / 2 - midpoint;
    let uncertainty = roundTrip / 2 + resolution / 2 + (sample.untimed ? untimedPenalty : 0);
    if (this.calibrated && sample.receivedAt >= this.#sampledAt) {
      const aged = this.#uncertainty + (sample.receivedAt - this.#sampledAt) * driftPerMs;
      const low = Math.max(offset - uncertainty, this.#offset - aged);
      const high = Math.min(offset + uncertainty, this.#offset + aged);
      if (low <= high) {
        offset = (low + high) / 2;
        uncertainty = (high - low) / 2;
      }
    }
    // Whole milliseconds: finer is noise, and combining the same bounds again leaves the offset as it was.
    offset = Math.round(offset);
    const changed = offset !== this.#offset;
    this.#offset = offset;
    this.#uncertainty = uncertainty;
    this.#sampledAt = sample.receivedAt;
    return changed;
  }

  /** Restores an offset learned earlier (from storage), trusted less than any live reading. */
  restore(skew: number): void {
    if (this.calibrated || !Number.isFinite(skew)) return;
    this.#offset = -skew;
  }
}
