/** CPU accounting for one phase: this process, and everything else on the machine (other users' load skews results). */
import os from 'node:os';
import { performance } from 'node:perf_hooks';

function machineBusyMs(): number {
  let busy = 0;
  for (const cpu of os.cpus()) busy += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  return busy;
}

export interface CpuShares {
  /** This process (main thread and threadpool), percent of one core. */
  readonly ownPercent: number;
  /** Every other process but the one whose CPU time is passed to `stop`, percent of one core. */
  readonly othersPercent: number;
}

export class CpuWindow {
  readonly #busy = machineBusyMs();
  readonly #own = process.cpuUsage();
  readonly #start = performance.now();

  /** `helperCpuMs`: CPU used meanwhile by a process of ours (the load generator). */
  stop(helperCpuMs = 0): CpuShares {
    const wallMs = performance.now() - this.#start;
    const own = process.cpuUsage(this.#own);
    const ownMs = (own.user + own.system) / 1000;
    const othersMs = Math.max(0, machineBusyMs() - this.#busy - ownMs - helperCpuMs);
    return { ownPercent: (ownMs / wallMs) * 100, othersPercent: (othersMs / wallMs) * 100 };
  }
}
