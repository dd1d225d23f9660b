/**
 * The API's Prometheus metrics, served at /metrics. One registry per app (tests build several apps
 * in one process). Labels are bounded: routes are patterns, never raw paths or merchant ids.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FactBacklog } from '../db/order-facts';
import type { FactRelayObserver } from '../runtime/fact-relay';
import type { FactOutcome } from '../temporal/fact-signals';

/** What a shipnotify call came to, by the status ShipStation was answered. */
const SHIPNOTIFY_OUTCOMES: Record<number, string> = {
  200: 'recorded',
  400: 'invalid',
  401: 'unauthorized',
  403: 'disabled',
  404: 'unknown_order',
  405: 'wrong_method',
  413: 'too_large',
  429: 'throttled',
  500: 'error',
  503: 'unavailable',
};

export class ApiMetrics {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly exportOrders = new Histogram({
    name: 'shipstation_export_orders',
    help: 'Orders served per ShipStation export page (_count = pages served, _sum = orders served)',
    buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500],
    registers: [this.registry],
  });

  private readonly exportLeftOut = new Counter({
    name: 'shipstation_export_orders_left_out_total',
    help: 'Orders left out of an export because ShipStation could not import them (flagged on the order)',
    registers: [this.registry],
  });

  private readonly shipnotify = new Counter({
    name: 'shipstation_shipnotify_total',
    help: 'ShipStation shipnotify calls by outcome (recorded, invalid, unauthorized, throttled, disabled, unknown_order, too_large, unavailable, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly confirmations = new Counter({
    name: 'confirmation_deliveries_total',
    help: 'Shipment confirmations delivered to the order source through the API (pickup acks); webhook pushes are counted by the worker',
    labelNames: ['via'] as const,
    registers: [this.registry],
  });

  private readonly credentialFailures = new Counter({
    name: 'credential_failures_total',
    help: 'Failed credential attempts by kind (shipstation, api_key, admin) and outcome (refused: 401/403, throttled: 429)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly factsSettled = new Counter({
    name: 'order_facts_settled_total',
    help: 'Facts this process forwarded to their order, by outcome (signalled, reopened: a closed order got a new run, not_needed: an export mark for a closed order)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly factsFailed = new Counter({
    name: 'order_facts_failed_deliveries_total',
    help: 'Deliveries of a fact that failed for a reason of its own (the fact stays pending and is retried; see order_facts_failing)',
    registers: [this.registry],
  });

  /** Process metrics (CPU, memory, event loop lag) only for a real server, not for every test app. */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  request(method: string, route: string, status: number, seconds: number) {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  exportServed(orders: number, leftOut: number) {
    this.exportOrders.observe(orders);
    if (leftOut) this.exportLeftOut.inc(leftOut);
  }

  shipnotifyAnswered(status: number) {
    this.shipnotify.inc({ outcome: SHIPNOTIFY_OUTCOMES[status] ?? `status_${status}` });
  }

  credentialFailure(kind: 'shipstation' | 'api_key' | 'admin', throttled: boolean) {
    this.credentialFailures.inc({ kind, outcome: throttled ? 'throttled' : 'refused' });
  }

  confirmationAcked() {
    this.confirmations.inc({ via: 'pickup' });
  }

  /** What the fact relay reports as it forwards facts. */
  readonly factObserver: FactRelayObserver = {
    settled: (outcome: FactOutcome) => this.factsSettled.inc({ outcome }),
    failed: () => this.factsFailed.inc(),
  };

  /**
   * The facts waiting to reach their orders, read from the database at each scrape (shared by every
   * API process, so each reports the same backlog). A failed read keeps the last values.
   */
  watchFactBacklog(read: () => Promise<FactBacklog>) {
    let reading: Promise<FactBacklog | null> | null = null;
    // One read per scrape, whichever gauge asks first.
    const backlog = () => {
      reading ??= read()
        .catch(() => null)
        .finally(() => setTimeout(() => (reading = null), 100).unref());
      return reading;
    };
    const gauge = (name: string, help: string, value: (b: FactBacklog) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const b = await backlog();
          if (b) this.set(value(b));
        },
      });
    gauge('order_facts_pending', 'Facts stored and not yet delivered to their order workflow', (b) => b.pending);
    gauge('order_facts_failing', 'Pending facts whose last delivery failed for a reason of their own (ops: npm run ops -- facts)', (b) => b.failing);
    gauge('order_facts_oldest_pending_age_seconds', 'Age of the oldest fact not yet delivered (0 when none is pending)', (b) =>
      b.oldestReceivedAt ? Math.max(0, (Date.now() - Date.parse(b.oldestReceivedAt)) / 1000) : 0,
    );
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
