import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Tessera } from '../tessera.js';

/**
 * What the metrics read off the realtime gateway on every scrape. Named here, not imported from
 * `realtime/`: the two edges do not import each other (`serve.ts` hands one to the other).
 */
export interface RealtimeSocketCounts {
  /** Open sockets, authenticated or not. */
  readonly size: number;
  /** Open sockets that have sent an accepted auth. */
  readonly authenticatedSize: number;
  /** Sockets dropped without a close handshake since the start, by cause. */
  readonly dropped: { readonly slowConsumer: number; readonly heartbeat: number };
}

/** The active-sessions count is read from the store at most this often, however often Prometheus scrapes. */
const activeSessionsMaxAgeMs = 5_000;

/** Prometheus metrics of one node, on a registry of its own (so tests can run many apps). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly refreshes = new Counter({
    name: 'tessera_refreshes_total',
    help: 'Successful refreshes; replayed = a spent token answered inside its reuse interval.',
    labelNames: ['replayed'] as const,
    registers: [this.registry],
  });
  readonly revocations = new Counter({
    name: 'tessera_revocations_total',
    help: 'Sessions revoked, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly revocationsHeard = new Counter({
    name: 'tessera_revocations_heard_total',
    help: 'Sessions revoked by another node or process, heard here (fan-out or catch-up), by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly reuseDetections = new Counter({
    name: 'tessera_reuse_detections_total',
    help: 'Spent refresh tokens presented after their reuse interval (the session was revoked).',
    registers: [this.registry],
  });
  readonly sessionsCreated = new Counter({
    name: 'tessera_sessions_created_total',
    help: 'Sessions created, by flow.',
    labelNames: ['flow'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'tessera_rate_limited_total',
    help: 'Requests refused as rate_limited, by the limit they exceeded.',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly rateLimitFallbacks = new Counter({
    name: 'tessera_rate_limit_fallbacks_total',
    help: 'Rate-limit checks counted in this process because Redis was unreachable.',
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'tessera_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered; retrying (failed, tried again later); failed (given up, or its endpoint removed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly webhookLatency = new Histogram({
    name: 'tessera_webhook_delivery_latency_seconds',
    help: 'From the event to its webhook message delivered, retries included.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400, 172800],
    registers: [this.registry],
  });

  constructor(tessera: Pick<Tessera, 'sessions' | 'revocations' | 'store' | 'clock'> & Partial<Pick<Tessera, 'webhooks'>>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_' });
    const { revocations } = tessera;
    this.#observeActiveSessions(tessera);
    new Gauge({
      name: 'tessera_revocation_feed_waiting_reads',
      help: 'Reads of GET /v1/revocations waiting here for the next revocation (about one per verifier).',
      registers: [this.registry],
      collect() {
        this.set(revocations.waitingReads);
      },
    });
    // Each outcome is scraped from the start, at 0 until it happens.
    for (const outcome of ['delivered', 'retrying', 'failed']) this.webhookDeliveries.inc({ outcome }, 0);
    tessera.webhooks?.onDelivery(({ outcome, sinceEventMs }) => {
      this.webhookDeliveries.inc({ outcome });
      if (outcome === 'delivered') this.webhookLatency.observe(sinceEventMs / 1000);
    });
    tessera.sessions.onSessionEvent((event) => {
      if (event.type === 'created') this.sessionsCreated.inc({ flow: event.session.flow });
      if (event.type === 'refreshed') this.refreshes.inc({ replayed: String(event.replayed) });
      if (event.type === 'revoked' && event.elsewhere) {
        this.revocationsHeard.inc({ reason: event.session.revokedReason ?? 'admin' });
      } else if (event.type === 'revoked') {
        const reason = event.session.revokedReason ?? 'admin';
        this.revocations.inc({ reason });
        if (reason === 'reuse_detected') this.reuseDetections.inc();
      }
    });
  }

  /**
   * `tessera_active_sessions{flow}`: sessions neither revoked nor past an end, in the whole store (every
   * node reports the same). One indexed count per flow group (migration 8's partial index), read on a
   * scrape at most every 5 s; a store that cannot answer keeps the last counts.
   */
  #observeActiveSessions({ sessions, store, clock }: Pick<Tessera, 'sessions' | 'store' | 'clock'>): void {
    let counted: { at: number; byFlow: Map<string, number> } | undefined;
    let counting: Promise<void> | undefined;
    const refresh = async () => {
      const at = clock.now();
      if (counted && at - counted.at < activeSessionsMaxAgeMs) return;
      counting ??= store
        .countActiveSessionsByFlow(at)
        .then(
          (byFlow) => {
            counted = { at, byFlow };
          },
          () => {},
        )
        .finally(() => {
          counting = undefined;
        });
      await counting;
    };
    new Gauge({
      name: 'tessera_active_sessions',
      help: 'Sessions active now (neither revoked nor expired), by flow; counted in the store at most every 5 s.',
      labelNames: ['flow'] as const,
      registers: [this.registry],
      async collect() {
        await refresh();
        if (!counted) return;
        // Every configured flow, 0 when it has none; flows only the store knows (removed from the config) too.
        const flows = new Set([...sessions.flowNames, ...counted.byFlow.keys()]);
        this.reset();
        for (const flow of flows) this.set({ flow }, counted.byFlow.get(flow) ?? 0);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reports the sockets of `gateway` on every scrape: open, authenticated, and dropped by cause. */
  observeRealtime(gateway: RealtimeSocketCounts): void {
    new Gauge({
      name: 'tessera_realtime_sockets',
      help: 'Open sockets at /v1/realtime, authenticated or not.',
      registers: [this.registry],
      collect() {
        this.set(gateway.size);
      },
    });
    new Gauge({
      name: 'tessera_realtime_authenticated_sockets',
      help: 'Open sockets at /v1/realtime that have sent an accepted auth.',
      registers: [this.registry],
      collect() {
        this.set(gateway.authenticatedSize);
      },
    });
    const counted = { slowConsumer: 0, heartbeat: 0 };
    new Counter({
      name: 'tessera_realtime_dropped_total',
      help: 'Sockets dropped without a close handshake: slow_consumer (too much unread), heartbeat (no pong).',
      labelNames: ['cause'] as const,
      registers: [this.registry],
      collect() {
        const { slowConsumer, heartbeat } = gateway.dropped;
        this.inc({ cause: 'slow_consumer' }, slowConsumer - counted.slowConsumer);
        this.inc({ cause: 'heartbeat' }, heartbeat - counted.heartbeat);
        counted.slowConsumer = slowConsumer;
        counted.heartbeat = heartbeat;
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
