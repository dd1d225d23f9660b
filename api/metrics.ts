/**
 * The API's Prometheus metrics, served at /metrics. One registry per app (tests build several apps
 * in one process). Labels are bounded: routes are patterns, never raw paths or merchant ids.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
