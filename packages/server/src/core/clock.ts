// The verifier takes the same injectable clock, so it is defined in @tessera/verifier.

export type { Clock, Scheduler, Timer, TimerOptions } from '@tessera/verifier/core';
export { FastForwardClock, ManualClock, systemClock, systemScheduler } from '@tessera/verifier/core';
