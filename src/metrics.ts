import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per runtime, so tests that start several gateways in one process do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  /** Read at scrape time from the database, so every process reports the shared outbox. */
  let oldestPendingSource: (() => Promise<number>) | null = null;
  return {
    registry,
    httpRequests: new Histogram({
      name: 'etc_esign_http_request_duration_seconds',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    flowsStarted: new Counter({
      name: 'etc_esign_face_requests_total',
      help: 'Face-authentication requests by outcome (created, reused, verified)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    flowResults: new Counter({
      name: 'etc_esign_flow_results_total',
      help: 'Flows reaching a final status',
      labelNames: ['status'],
      registers: [registry],
    }),
    balanceExhausted: new Counter({
      name: 'etc_esign_upstream_balance_exhausted_total',
      help: 'e签宝 answered 30503107: the prepaid face-authentication balance is exhausted',
      registers: [registry],
    }),
    upstreamCircuit: new Gauge({
      name: 'etc_esign_upstream_circuit_state',
      help: 'e签宝 circuit breaker of this process: 0 closed, 1 half-open (probing), 2 open (not calling)',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'etc_esign_webhook_deliveries_total',
      help: 'Notification attempts to clients by outcome (delivered, retrying, dead, disabled)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookOldestPending: new Gauge({
      name: 'etc_esign_webhook_oldest_pending_seconds',
      help: 'Age of the oldest notification not yet delivered (0 when none waits)',
      registers: [registry],
      async collect() {
        if (!oldestPendingSource) return;
        try {
          this.set(await oldestPendingSource());
        } catch {
          // An unreachable database must not break the scrape; readiness reports it.
        }
      },
    }),
    reconcileChecks: new Counter({
      name: 'etc_esign_reconcile_checks_total',
      help: 'Provider status queries by reconciliation, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    /** Sets where the oldest-pending gauge reads from (the runtime, once the store is open). */
    measureOldestPendingWith(source: () => Promise<number>): void {
      oldestPendingSource = source;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
