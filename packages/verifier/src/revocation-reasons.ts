/** Why a session was ended on purpose. */
export type RevocationReason = 'logout' | 'admin' | 'reuse_detected' | 'signed_out_elsewhere';

export const revocationReasons: readonly RevocationReason[] = ['logout', 'admin', 'reuse_detected', 'signed_out_elsewhere'];
