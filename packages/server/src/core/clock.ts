// The verifier takes the same injectable clock, so it is defined in @tessera/verifier.
export { ManualClock, systemClock } from '@tessera/verifier/core';
export type { Clock } from '@tessera/verifier/core';
