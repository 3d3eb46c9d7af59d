/** One sample of the Prometheus text format: `name{label="value",…} 12`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

/** The samples of a Prometheus text exposition; comments, blank and unreadable lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(labelPair)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_escape, char: string) => (char === 'n' ? '\n' : char));
    }
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** What the console shows of one node's counters at one moment. */
export interface CounterSnapshot {
  /** When it was read (ms, `performance.now()` or any monotonic clock). */
  readonly at: number;
  readonly refreshes: number;
  readonly sessionsCreated: number;
  readonly revocationsByReason: ReadonlyMap<string, number>;
  /** Authenticated sockets open at `/v1/realtime` now; null when the node does not report them. */
  readonly liveSockets: number | null;
  /** Reads of the revocation feed waiting here: about one per resource server's verifier; null when not reported. */
  readonly listeningVerifiers: number | null;
}

/** The counters the console shows, summed over the labels it does not break down. */
export function counterSnapshot(text: string, at: number): CounterSnapshot {
  const samples = parsePrometheusText(text);
  const total = (name: string) => samples.filter((sample) => sample.name === name).reduce((sum, sample) => sum + sample.value, 0);
  const revocationsByReason = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== 'tessera_revocations_total') continue;
    const reason = sample.labels['reason'] ?? 'unknown';
    revocationsByReason.set(reason, (revocationsByReason.get(reason) ?? 0) + sample.value);
  }
  const sockets = samples.find((sample) => sample.name === 'tessera_realtime_authenticated_sockets');
  const feedReads = samples.find((sample) => sample.name === 'tessera_revocation_feed_waiting_reads');
  return {
    at,
    refreshes: total('tessera_refreshes_total'),
    sessionsCreated: total('tessera_sessions_created_total'),
    revocationsByReason,
    liveSockets: sockets ? sockets.value : null,
    listeningVerifiers: feedReads ? feedReads.value : null,
  };
}

/** Refreshes per second between two readings; null when it cannot be told (first reading, a restart). */
export function refreshesPerSecond(previous: CounterSnapshot | undefined, current: CounterSnapshot): number | null {
  if (!previous) return null;
  const seconds = (current.at - previous.at) / 1000;
  const delta = current.refreshes - previous.refreshes;
  // A counter that went down means the node restarted: no honest rate for this interval.
  if (seconds <= 0 || delta < 0) return null;
  return delta / seconds;
}
