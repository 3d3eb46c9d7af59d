/**
 * The session client's side of the tab protocol (the messages are `TabMessage`, carried by a
 * `TabCoordinator`): asking the other tabs for tokens and waiting for the answer, waiting for a tab
 * that is presenting the same refresh token, and remembering which refresh tokens are spent. What
 * the client does with the tokens and endings the tabs send stays in the client; this is the
 * bookkeeping and the waits between the messages.
 */
import type { TabCoordinator } from './tab-coordinator.js';
import type { Timers } from './timers.js';
import type { HeldTokens } from './token-grant.js';

/** How a request to the other tabs for tokens came out. */
export type TabAnswer =
  /** Tokens arrived (they are held now). */
  | 'tokens'
  /** A tab said it holds the session, then sent nothing in time: its refresh failed, try again later. */
  | 'failed'
  /** The session ended or was replaced meanwhile. */
  | 'settled'
  /** No tab answered, and none that holds a session is open. */
  | 'none'
  /** Tabs that hold a session are open (Web Locks say so) but none answered: frozen, or stuck. */
  | 'silent';

/** How many spent refresh tokens a client remembers: enough for the rotations that can be in flight at once. */
const spentMemory = 16;
/**
 * How long (ms) a tab that needs tokens waits for another tab to say it holds the session. Messages
 * reach hidden tabs at once; a tab frozen or gone does not answer, and waiting longer would not help.
 */
const tabAnswerWindow = 1000;
/** The longest wait (ms) for another tab presenting the same refresh token. */
const presentedElsewhereWait = 2000;

/** A request of this tab to the others for tokens, waiting for its answer. */
interface TabRequest {
  readonly sessionId: string | null;
  acknowledged(): void;
  /** A tab said it cannot help. */
  declined(): void;
  settle(answer: TabAnswer): void;
}

export class TabPeers {
  readonly #tabs: TabCoordinator;
  readonly #timers: Timers;
  readonly #requestTimeout: number;
  /** Refresh tokens known to be spent (here or in another tab), newest last: tokens holding one are stale. */
  readonly #spent: string[] = [];
  /** A refresh token another tab is presenting right now, and those waiting for its outcome. */
  #presentedElsewhere: { refreshToken: string; waiters: (() => void)[] } | null = null;
  /** Requests of this tab to the others for tokens, waiting for their answers. */
  readonly #requests = new Set<TabRequest>();

  /** `requestTimeout`: ms a refresh may take, which a tab that said it holds the session is given. */
  constructor(tabs: TabCoordinator, timers: Timers, requestTimeout: number) {
    this.#tabs = tabs;
    this.#timers = timers;
    this.#requestTimeout = requestTimeout;
  }

  // ── Spent refresh tokens ─────────────────────────────────────────────────────

  markSpent(refreshToken: string): void {
    if (this.#spent.includes(refreshToken)) return;
    this.#spent.push(refreshToken);
    if (this.#spent.length > spentMemory) this.#spent.shift();
  }

  isSpent(refreshToken: string): boolean {
    return this.#spent.includes(refreshToken);
  }

  /** Whether `tokens` are older than what this client knows: their refresh token spent, or issued before `current` of the same session. */
  isStale(tokens: HeldTokens, current: HeldTokens | null): boolean {
    if (tokens.refreshToken !== null && this.isSpent(tokens.refreshToken)) return true;
    if (!current || current.sessionId === null || current.sessionId !== tokens.sessionId) return false;
    return tokens.accessTokenIssuedAt !== null && current.accessTokenIssuedAt !== null && tokens.accessTokenIssuedAt < current.accessTokenIssuedAt;
  }

  // ── A refresh token presented by another tab ─────────────────────────────────

  /** Another tab said it is presenting `refreshToken` (this tab's own): wait for it before presenting it here. */
  presentedElsewhere(refreshToken: string): void {
    this.#presentedElsewhere ??= { refreshToken, waiters: [] };
  }

  /** The other tab's attempt is over (tokens, failure, ending): whoever waits for it goes on. */
  settlePresented(): void {
    const pending = this.#presentedElsewhere;
    this.#presentedElsewhere = null;
    for (const waiter of pending?.waiters ?? []) waiter();
  }

  /** If another tab is presenting `refreshToken`, waits (briefly) for its answer instead of presenting it again. */
  async awaitPresented(refreshToken: string | null): Promise<void> {
    const pending = this.#presentedElsewhere;
    if (!pending || pending.refreshToken !== refreshToken) return;
    await new Promise<void>((resolve) => {
      const timer = this.#timers.setTimeout(resolve, Math.min(this.#requestTimeout, presentedElsewhereWait));
      pending.waiters.push(() => {
        this.#timers.clearTimeout(timer);
        resolve();
      });
    });
    if (this.#presentedElsewhere === pending) this.#presentedElsewhere = null;
  }

  /**
   * If another tab has exchanged `before`'s refresh token (this tab was frozen and missed its message:
   * browsers drop messages to a frozen page), asks the tabs for its successor and waits (briefly)
   * for it. Presented again past the reuse interval, the spent token would end the session. With no
   * answer, it is presented all the same: no tab here has anything newer.
   */
  async askForSuccessor(before: HeldTokens): Promise<void> {
    const refreshToken = before.refreshToken;
    if (refreshToken === null || !this.#tabs.wasSpent?.(refreshToken)) return;
    this.presentedElsewhere(refreshToken);
    this.#tabs.publish({ type: 'missed', sessionId: before.sessionId, refreshToken });
    await this.awaitPresented(refreshToken);
  }

  // ── Asking the other tabs for tokens ─────────────────────────────────────────

  /**
   * Asks the other tabs for tokens of `sessionId` (null: of any session) and waits for the answer:
   * briefly for a tab to say it holds the session, then as long as its refresh may take.
   */
  async ask(sessionId: string | null): Promise<TabAnswer> {
    const others = this.#tabs.countOthers ? await this.#tabs.countOthers() : Number.POSITIVE_INFINITY;
    if (others === 0) return 'none';
    return new Promise<TabAnswer>((resolve) => {
      // Holders known to be open that do not answer are frozen: not the same as nobody there.
      let timer = this.#timers.setTimeout(() => request.settle(Number.isFinite(others) ? 'silent' : 'none'), tabAnswerWindow);
      let acknowledged = false;
      let declined = 0;
      const request: TabRequest = {
        sessionId,
        declined: () => {
          declined += 1;
          if (!acknowledged && declined >= others) request.settle('none');
        },
        acknowledged: () => {
          if (acknowledged) return;
          acknowledged = true;
          this.#timers.clearTimeout(timer);
          timer = this.#timers.setTimeout(() => request.settle('failed'), this.#requestTimeout + tabAnswerWindow);
        },
        settle: (answer) => {
          this.#timers.clearTimeout(timer);
          if (!this.#requests.delete(request)) return;
          resolve((answer === 'none' || answer === 'silent') && acknowledged ? 'failed' : answer);
        },
      };
      this.#requests.add(request);
      this.#tabs.publish({ type: 'wanted', sessionId });
    });
  }

  /** A tab answered `holder` for `sessionId`: the requests it can serve wait for its refresh. */
  holderAnswered(sessionId: string | null): void {
    for (const request of this.#requests) {
      if (request.sessionId === null || request.sessionId === sessionId) request.acknowledged();
    }
  }

  /** A tab answered `cannot_help` for `sessionId`. */
  declined(sessionId: string | null): void {
    for (const request of this.#requests) {
      if (request.sessionId === sessionId) request.declined();
    }
  }

  /** Settles this tab's requests for tokens of `sessionId` (all of them when null). */
  settleRequests(sessionId: string | null, answer: TabAnswer): void {
    for (const request of [...this.#requests]) {
      if (sessionId === null || request.sessionId === null || request.sessionId === sessionId) request.settle(answer);
    }
  }
}
