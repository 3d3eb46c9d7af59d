// Numbers that more than one part of the server relies on, kept once. Low in the layering on purpose:
// core, realtime and the config file all read them, and this module imports nothing.

/**
 * How far before its cursor each read of revocations looks again: a revocation may commit a little
 * after the time it carries, and the nodes' clocks may differ. The fan-out's poll and the revocation
 * feed use the same allowance; a reader gets such a revocation twice, which changes nothing.
 */
export const revocationCommitLagMs = 10_000;

/** Open realtime sockets per client address unless `rate_limits.sockets_per_ip` says otherwise. */
export const defaultSocketsPerClient = 500;
