import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValueWithName,
  Registry,
} from 'prom-client';

const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  /** Per bucket (not cumulative), the last one +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * The request-duration histogram, counted without allocating per request: prom-client's
 * `observe(labels, v)` builds a label object and a hash string on every call. Series sit in nested
 * maps keyed by the strings Fastify already holds (method, route pattern) and the status number;
 * labels and cumulative buckets are built only when Prometheus scrapes.
 */
export class RequestHistogram {
  readonly name = 'etc_esign_http_request_duration_seconds';
  readonly help = 'HTTP requests by route pattern and status';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();

  observe(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.series.get(method);
    if (!byRoute) {
      byRoute = new Map();
      this.series.set(method, byRoute);
    }
    let byStatus = byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      byRoute.set(route, byStatus);
    }
    let s = byStatus.get(status);
    if (!s) {
      s = { counts: new Float64Array(REQUEST_BUCKETS.length + 1), sum: 0, count: 0 };
      byStatus.set(status, s);
    }
    let i = 0;
    while (i < REQUEST_BUCKETS.length && seconds > (REQUEST_BUCKETS[i] as number)) i++;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += seconds;
    s.count += 1;
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const [method, byRoute] of this.series) {
      for (const [route, byStatus] of byRoute) {
        for (const [status, s] of byStatus) {
          const labels = { method, route, status: String(status) };
          let cumulative = 0;
          for (let i = 0; i <= REQUEST_BUCKETS.length; i++) {
            cumulative += s.counts[i] as number;
            const le = i < REQUEST_BUCKETS.length ? (REQUEST_BUCKETS[i] as number) : '+Inf';
            values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
          }
          values.push({ metricName: `${this.name}_sum`, labels, value: s.sum });
          values.push({ metricName: `${this.name}_count`, labels, value: s.count });
        }
      }
    }
    return {
      name: this.name,
      help: this.help,
      type: 'histogram' as never,
      aggregator: 'sum',
      values,
      collect: () => {},
    };
  }

  reset(): void {
    this.series.clear();
  }
}

/** One registry per runtime, so tests that start several gateways in one process do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  /** Read at scrape time from the database, so every process reports the shared outbox. */
  let oldestPendingSource: (() => Promise<number>) | null = null;
  const httpRequests = new RequestHistogram();
  // prom-client's registry takes any object with its metric shape; the type wants a class of its own.
  registry.registerMetric(httpRequests as never);
  return {
    registry,
    httpRequests,
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
    rateLimiterFallback: new Gauge({
      name: 'etc_esign_rate_limiter_fallback',
      help: '1 while Redis is configured but unreachable and rate limits are counted in this process only',
      registers: [registry],
    }),
    /** Sets where the oldest-pending gauge reads from (the runtime, once the store is open). */
    measureOldestPendingWith(source: () => Promise<number>): void {
      oldestPendingSource = source;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
