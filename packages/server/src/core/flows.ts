/** The lifetimes of sessions in one flow. Durations are seconds; `null` means none. */
export interface FlowPolicy {
  /** Lifetime of each access token. */
  readonly accessTokenTtl: number;
  /** A session with no refresh for this long ends (`session_expired`, reason `idle`). */
  readonly idleTimeout: number | null;
  /** A session ends this long after it began, however active (reason `absolute`). */
  readonly absoluteLifetime: number;
  /** How long a spent refresh token still returns its successor (concurrent refreshes, lost responses). */
  readonly reuseInterval: number;
  /**
   * Sender-constrained sessions (DPoP, RFC 9449): `off` ignores proofs; `allowed` binds a session to
   * the key of its sign-in's `dpop_jkt` or of its first refresh with a proof; `required` refuses a
   * refresh of an unbound session without one. A bound session stays bound whatever the flow says later.
   */
  readonly dpop: DpopMode;
  /**
   * What a refresh of a bound session without its key's proof does: `revoke` the session (suspected
   * theft, reason `reuse_detected`) and refuse, or only `refuse`.
   */
  readonly dpopMisuse: DpopMisuse;
}

export type DpopMode = 'off' | 'allowed' | 'required';
export type DpopMisuse = 'revoke' | 'refuse';

/** What a flow without DPoP settings has. */
const bearer = { dpop: 'off', dpopMisuse: 'revoke' } as const;

export type FlowPolicies = Readonly<Record<string, FlowPolicy>>;

/** Flows that exist with no configuration at all; a config file may override or add to them. */
export const defaultFlowPolicies: FlowPolicies = {
  default: { accessTokenTtl: 900, idleTimeout: null, absoluteLifetime: 1_209_600, reuseInterval: 10, ...bearer },
  verification: { accessTokenTtl: 300, idleTimeout: null, absoluteLifetime: 900, reuseInterval: 10, ...bearer },
};

/** The longest access-token lifetime of any flow: how long a retired signing key must stay verifiable. */
export function longestAccessTokenTtl(flows: FlowPolicies): number {
  return Math.max(...Object.values(flows).map((flow) => flow.accessTokenTtl));
}
