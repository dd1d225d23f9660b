/**
 * Sending shipment confirmations on their way from the order workflow. Each undelivered shipment is
 * started once per run, in a cancellation scope of its own, so a retry can replace an attempt that
 * is still backing off. Pickup needs nothing from us: the source acks through the API (a
 * `confirmationDelivered` fact).
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import type { ConfirmationMode } from '../activities/confirmations';
import { undeliveredShipments } from '../domain/lifecycle';
import type { OrderState, ShipmentRecord } from '../domain/order';

const { deliverConfirmation } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  // At least once, with backoff, until the receiver takes it; a refusal it means is not retried.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['ConfirmationRejected'] },
});

export interface DeliveryOutcomes {
  /** The source's webhook took the confirmation. */
  delivered(shipmentKey: string): void;
  /** The source refused it (or delivery failed for good): the order is stuck until retried. */
  rejected(shipmentKey: string, detail: string): void;
}

export class ConfirmationDeliveries {
  /**
   * How the source takes confirmations, as the last projection read it (the one place the mode is
   * read: the read model's projection). Unknown (a continued or reopened run), the delivery activity
   * finds out itself; pickup, the usual mode, schedules nothing.
   */
  mode: ConfirmationMode | undefined;
  /** Shipments this run has sent on their way (or found to be picked up). */
  private readonly started = new Set<string>();
  /** The attempt under way per shipment. */
  private readonly attempts = new Map<string, CancellationScope>();

  constructor(private readonly outcomes: DeliveryOutcomes) {}

  /** No attempt is under way (a run may then end or continue as new). */
  get idle(): boolean {
    return this.attempts.size === 0;
  }

  /** Starts delivering every undelivered shipment not started yet. */
  deliver(state: OrderState) {
    for (const shipment of undeliveredShipments(state)) {
      if (this.started.has(shipment.shipmentKey)) continue;
      this.started.add(shipment.shipmentKey);
      const scope = new CancellationScope();
      this.attempts.set(shipment.shipmentKey, scope);
      void scope
        .run(() => this.deliverOne(state, shipment))
        .finally(() => {
          if (this.attempts.get(shipment.shipmentKey) === scope) this.attempts.delete(shipment.shipmentKey);
        });
    }
  }

  /**
   * Retrying an order stuck on a confirmation redelivers now: an attempt still backing off is
   * cancelled and the next `deliver` starts afresh (same idempotency key: the receiver still sees one
   * shipment).
   */
  redeliver(state: OrderState) {
    const reason = state.stuck?.reason;
    if (reason !== 'confirmation_undelivered' && reason !== 'confirmation_rejected') return;
    for (const { shipmentKey } of undeliveredShipments(state)) {
      this.attempts.get(shipmentKey)?.cancel();
      this.attempts.delete(shipmentKey);
      this.started.delete(shipmentKey);
    }
  }

  private async deliverOne(state: OrderState, shipment: ShipmentRecord) {
    if (this.mode === 'pickup') return;
    const { shipmentKey } = shipment;
    try {
      const result = await deliverConfirmation.executeWithOptions(
        { startToCloseTimeout: '30 seconds', summary: `confirm shipment ${shipment.trackingNumber ?? shipmentKey} to the order source` },
        [{ orderId: state.orderId, merchantId: state.merchantId, source: state.content.source ?? null, shipmentKey }],
      );
      this.mode = result.mode;
      if (result.mode === 'push') this.outcomes.delivered(shipmentKey);
    } catch (error) {
      if (isCancellation(error)) return; // a retry replaced this attempt
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : null;
      const detail = cause?.message ?? String(error);
      log.warn('confirmation not delivered', { orderNumber: state.orderNumber, shipmentKey, detail });
      this.outcomes.rejected(shipmentKey, detail);
    }
  }
}
