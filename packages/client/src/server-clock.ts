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

/** A sample this old (device time) gives way to any newer one: devices drift and get their clocks set. */
const sampleLifetime = 5 * 60 * 1000;

/**
 * The offset from the device clock to the server clock, so "expired" and "refresh now" are decided
 * on server time: a device ten minutes ahead or behind neither loops nor sends expired tokens.
 *
 * Each sample is corrected by half its round trip (the server read its clock somewhere in the
 * middle); a sample with a tighter bound replaces a looser one, a stale or contradicting one is
 * replaced by any new reading.
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
    const offset = sample.serverTime + resolution / 2 - midpoint;
    const uncertainty = roundTrip / 2 + resolution / 2 + (sample.untimed ? untimedPenalty : 0);
    if (!this.#accepts(offset, uncertainty, sample.receivedAt)) return false;
    this.#offset = offset;
    this.#uncertainty = uncertainty;
    this.#sampledAt = sample.receivedAt;
    return true;
  }

  /** Restores an offset learned earlier (from storage), trusted less than any live reading. */
  restore(skew: number): void {
    if (this.calibrated || !Number.isFinite(skew)) return;
    this.#offset = -skew;
  }

  #accepts(offset: number, uncertainty: number, at: number): boolean {
    if (!this.calibrated) return true;
    if (uncertainty <= this.#uncertainty) return true;
    if (at - this.#sampledAt > sampleLifetime || at < this.#sampledAt) return true;
    // The readings cannot both be right: the device clock was set since; believe the new one.
    return Math.abs(offset - this.#offset) > uncertainty + this.#uncertainty;
  }
}
