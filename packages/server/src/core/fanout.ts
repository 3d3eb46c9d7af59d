import { type Clock, type Scheduler, systemScheduler, type Timer } from './clock.js';
import { revocationCommitLagMs } from './defaults.js';
import { type FanoutChannel, type FanoutMessage, type RevokedSessionNote, revocationMessages } from './fanout-channel.js';
import type { Log } from './log.js';
import type { SessionRecord } from './session.js';
import type { SessionService } from './sessions.js';
import type { SigningKeys } from './signing-keys.js';
import type { SessionStore } from './store.js';

export type { FanoutChannel, FanoutMessage, FanoutSubscriber, RevokedSessionNote } from './fanout-channel.js';
// The channel contract has a module of its own, below the store; re-exported for existing imports.
export { parseFanoutMessage } from './fanout-channel.js';

export interface FanoutOptions {
  readonly sessions: SessionService;
  readonly signingKeys: SigningKeys;
  readonly store: SessionStore;
  readonly clock: Clock;
  /** Where the polls are timed; the system's timers by default (a test passes its `ManualClock`). */
  readonly scheduler?: Scheduler;
  readonly log: Log;
  /** Without one, the node learns of changes made elsewhere only by polling the store. */
  readonly channel?: FanoutChannel;
  /** Hear what other nodes do; false for one-shot commands, which only tell. Default true. */
  readonly listen?: boolean;
  /** How often the store is polled while no channel delivers. Default 500 ms. */
  readonly pollIntervalMs?: number;
  /**
   * How far back each poll looks, beyond the last one: covers a revocation committed a little after
   * the time it carries, and clock skew between nodes. Default 10 s.
   */
  readonly commitLagMs?: number;
  /**
   * How often the store is polled even while a channel delivers: bounds what a lost publish costs
   * (a node that could not reach Redis while the others could). Default 5 s.
   */
  readonly safetyPollMs?: number;
}

/** How far back a node looks when its channel goes down, as it may have gone down unnoticed before. */
const outageDetectionMs = 30_000;
/** How long a revocation is remembered as delivered; longer than any poll looks back. */
const deliveredMemoryMs = 120_000;

/**
 * Keeps the nodes sharing one store in step. Every revocation made here is published; every
 * revocation heard from elsewhere drops this node's cached state for the session and reaches local
 * listeners through `SessionService.onSessionEvent`, as `{ type: 'revoked', session }`.
 *
 * While no channel delivers (none configured, not connected yet, lost), the store is polled for
 * sessions revoked since the last look, every `pollIntervalMs`; while one does, every
 * `safetyPollMs`, for publishes that were lost. On every (re)connect the session cache is dropped
 * and the node catches up from the store, so a gap never leaves a revoked session served as active.
 */
export class Fanout {
  readonly #sessions: SessionService;
  readonly #signingKeys: SigningKeys;
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #log: Log;
  readonly #channel: FanoutChannel | undefined;
  readonly #listen: boolean;
  readonly #pollIntervalMs: number;
  readonly #commitLagMs: number;
  readonly #safetyPollMs: number;
  /** Session id → the version delivered here (made here or heard), and when. */
  readonly #delivered = new Map<string, { version: number; at: number }>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #stops: (() => void)[] = [];
  /** Revocations made here in this turn, published together once its synchronous work is done. */
  #unpublished: RevokedSessionNote[] = [];
  /** Sessions heard of in batches, waiting for the next look at the store, and that look while it runs. */
  #batchesWaiting: RevokedSessionNote[] = [];
  #readingBatches: Promise<void> | undefined;
  #connected = false;
  #catchUpNeeded = true;
  /** Every revocation before this time (less the commit lag) has been delivered here. */
  #heardUntil = 0;
  #catchingUp: Promise<void> | undefined;
  #storeFailing = false;
  #publishFailing = false;
  #timer: Timer | undefined;
  #prunedAt = 0;

  constructor(options: FanoutOptions) {
    this.#sessions = options.sessions;
    this.#signingKeys = options.signingKeys;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#log = options.log;
    this.#channel = options.channel;
    this.#listen = options.listen ?? true;
    this.#pollIntervalMs = options.pollIntervalMs ?? 500;
    this.#commitLagMs = options.commitLagMs ?? revocationCommitLagMs;
    this.#safetyPollMs = options.safetyPollMs ?? 5_000;
  }

  /** Publishes local changes from now on and, unless told not to, starts hearing the other nodes. */
  async start(): Promise<void> {
    this.#stops.push(
      this.#sessions.onSessionEvent((event) => {
        if (event.type !== 'revoked' || event.elsewhere) return;
        this.#remember(event.session);
        this.#queuePublish({ sessionId: event.session.id, version: event.session.version });
      }),
      this.#signingKeys.onRotated(() => this.#publish({ type: 'keys_rotated' })),
    );
    if (!this.#listen) return;
    this.#heardUntil = this.#clock.now();
    await this.#takeBaseline();
    this.#channel?.listen({
      message: (message) => this.#heard(message),
      connected: () => this.#channelConnected(),
      disconnected: (reason) => this.#channelDisconnected(reason),
    });
    this.#timer = this.#scheduler.setRepeating(this.#pollIntervalMs, () => this.#tick(), { unref: true });
  }

  /** Whether a channel is delivering right now (false while the node relies on polling). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Looks in the store now for revocations not heard of yet; resolves when they have been delivered. */
  catchUp(): Promise<void> {
    this.#catchingUp ??= this.#pollStore().finally(() => {
      this.#catchingUp = undefined;
    });
    return this.#catchingUp;
  }

  /** Stops listening, lets pending publishes finish, closes the channel. */
  async close(): Promise<void> {
    this.#timer?.cancel();
    for (const stop of this.#stops.splice(0)) stop();
    this.#publishRevoked();
    await Promise.allSettled([...this.#inFlight]);
    await this.#channel?.close();
  }

  #tick(): void {
    const due = this.#clock.now() - this.#heardUntil >= this.#safetyPollMs;
    if (!this.#connected || this.#catchUpNeeded || due) void this.catchUp();
    this.#prune();
  }

  #channelConnected(): void {
    const wasConnected = this.#connected;
    this.#connected = true;
    this.#log.info({ channel: this.#channel?.name }, 'fanout: listening for changes made on other nodes');
    if (wasConnected) return;
    // Whatever was published while this node was not listening is lost: start from the store again.
    this.#sessions.forgetAllSessions();
    this.#catchUpNeeded = true;
    void this.catchUp();
    void this.#signingKeys.reload().catch((error: unknown) => this.#log.warn({ err: error }, 'fanout: cannot reload signing keys'));
  }

  #channelDisconnected(reason: unknown): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#heardUntil = Math.min(this.#heardUntil, this.#clock.now() - outageDetectionMs);
    this.#catchUpNeeded = true;
    this.#log.warn({ channel: this.#channel?.name, err: reason }, 'fanout: channel lost; polling the database for revocations until it is back');
  }

  #heard(message: FanoutMessage): void {
    if (message.type === 'keys_rotated') {
      this.#track(this.#signingKeys.reload().catch((error: unknown) => this.#log.warn({ err: error }, 'fanout: cannot reload signing keys')));
      return;
    }
    if (message.type === 'sessions_revoked') {
      this.#heardMany(message.sessions);
      return;
    }
    // Drop the cached state at once; the record itself is read from the store.
    this.#sessions.forgetSession(message.sessionId, message.version);
    if (this.#wasDelivered(message.sessionId, message.version)) return;
    this.#track(
      this.#store.getSession(message.sessionId).then(
        (session) => {
          if (session && session.revokedAt !== null) this.#deliver(session);
        },
        (error: unknown) => {
          this.#log.warn({ err: error, session_id: message.sessionId }, 'fanout: cannot read a revoked session; catching up later');
          this.#catchUpNeeded = true;
        },
      ),
    );
  }

  /**
   * Sessions revoked together elsewhere: their cached state is dropped at once, and the records are read
   * in one look at the store's recent revocations rather than one read each; any that look missed (a
   * commit not visible yet to this connection) is read on its own. Batches heard while a look runs are
   * read together by the next one, so the 70 messages of 10,000 sessions cost two looks, not 70.
   */
  #heardMany(notes: readonly RevokedSessionNote[]): void {
    for (const note of notes) this.#sessions.forgetSession(note.sessionId, note.version);
    const unheard = notes.filter((note) => !this.#wasDelivered(note.sessionId, note.version));
    if (unheard.length === 0) return;
    this.#batchesWaiting.push(...unheard);
    if (!this.#readingBatches) this.#track((this.#readingBatches = this.#readBatches()));
  }

  async #readBatches(): Promise<void> {
    while (this.#batchesWaiting.length > 0) {
      const notes = this.#batchesWaiting;
      this.#batchesWaiting = [];
      try {
        const recent = await this.#store.listRevokedSince(this.#clock.now() - this.#commitLagMs);
        for (const session of recent) this.#deliver(session);
        const missed = notes.filter((note) => !this.#wasDelivered(note.sessionId, note.version));
        const sessions = await Promise.all(missed.map((note) => this.#store.getSession(note.sessionId)));
        for (const session of sessions) if (session && session.revokedAt !== null) this.#deliver(session);
      } catch (error) {
        this.#log.warn({ err: error, sessions: notes.length }, 'fanout: cannot read revoked sessions; catching up later');
        this.#catchUpNeeded = true;
      }
    }
    this.#readingBatches = undefined;
  }

  async #pollStore(): Promise<void> {
    const startedAt = this.#clock.now();
    const since = Math.min(this.#heardUntil, startedAt) - this.#commitLagMs;
    try {
      const revoked = await this.#store.listRevokedSince(since);
      for (const session of revoked) this.#deliver(session);
      this.#heardUntil = startedAt;
      this.#catchUpNeeded = false;
      if (this.#storeFailing) this.#log.info({}, 'fanout: caught up on revocations');
      this.#storeFailing = false;
    } catch (error) {
      if (!this.#storeFailing) this.#log.warn({ err: error }, 'fanout: cannot poll the store for revocations; retrying');
      this.#storeFailing = true;
    }
  }

  /** Revocations from before this node started are old news: remembered, not delivered. */
  async #takeBaseline(): Promise<void> {
    try {
      const revoked = await this.#store.listRevokedSince(this.#heardUntil - this.#commitLagMs);
      for (const session of revoked) this.#remember(session);
    } catch (error) {
      this.#log.warn({ err: error }, 'fanout: cannot read recent revocations at start');
    }
  }

  #deliver(session: SessionRecord): void {
    if (this.#wasDelivered(session.id, session.version)) return;
    this.#remember(session);
    this.#sessions.revokedElsewhere(session);
  }

  /** Queues a revocation made here; those of one turn (a user's every session) leave together, at its end. */
  #queuePublish(note: RevokedSessionNote): void {
    if (!this.#channel) return;
    this.#unpublished.push(note);
    if (this.#unpublished.length === 1) queueMicrotask(() => this.#publishRevoked());
  }

  #publishRevoked(): void {
    if (this.#unpublished.length === 0) return;
    const revoked = this.#unpublished;
    this.#unpublished = [];
    for (const message of revocationMessages(revoked)) this.#publish(message);
  }

  #publish(message: FanoutMessage): void {
    if (!this.#channel) return;
    this.#track(
      this.#channel.publish(message).then(
        () => {
          if (this.#publishFailing) this.#log.info({ channel: this.#channel?.name }, 'fanout: publishing again');
          this.#publishFailing = false;
        },
        (error: unknown) => {
          // Other nodes still learn of it: from their session cache's short life, and by polling once their channel reconnects.
          if (!this.#publishFailing)
            this.#log.warn({ channel: this.#channel?.name, err: error }, 'fanout: cannot publish; other nodes fall back on the database');
          this.#publishFailing = true;
        },
      ),
    );
  }

  #remember(session: SessionRecord): void {
    this.#delivered.set(session.id, { version: session.version, at: this.#clock.now() });
  }

  #wasDelivered(id: string, version: number): boolean {
    const delivered = this.#delivered.get(id);
    return delivered !== undefined && delivered.version >= version;
  }

  #prune(): void {
    const now = this.#clock.now();
    if (now - this.#prunedAt < deliveredMemoryMs / 4) return;
    this.#prunedAt = now;
    for (const [id, delivered] of this.#delivered) {
      if (now - delivered.at > deliveredMemoryMs) this.#delivered.delete(id);
    }
  }

  #track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }
}
