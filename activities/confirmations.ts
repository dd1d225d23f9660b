/**
 * Delivering a shipment confirmation to the order source. Pickup mode needs nothing from us (the
 * source reads GET /api/shipments and acks); push mode posts the same payload to the source's
 * webhook, signed, with one idempotency key per shipment however often it is retried.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../db/client';
import { confirmationTargetFor, findConfirmationByKey } from '../db/confirmations';

export const CONFIRMATION_REJECTED = 'ConfirmationRejected';

export interface DeliveryInput {
  orderId: string;
  merchantId: string;
  source: string | null;
  shipmentKey: string;
}

export type DeliveryResult = { mode: 'pickup' } | { mode: 'push'; status: number };
export type ConfirmationMode = DeliveryResult['mode'];
type DeliveryTarget = { mode: 'pickup' } | { mode: 'push'; webhookUrl: string; signingSecret: string };

/**
 * How an order source takes confirmations right now (its target may change at any time): pushed to
 * its webhook, or picked up (the default, also for a push target not fully set up). The one place
 * the mode is read, by the projection (which tells the workflow) and by each delivery.
 */
export async function deliveryTargetFor(db: Db, merchantId: string, source: string | null): Promise<DeliveryTarget> {
  const target = await confirmationTargetFor(db, merchantId, source);
  if (target?.mode !== 'push' || !target.webhookUrl || !target.signingSecret) return { mode: 'pickup' };
  return { mode: 'push', webhookUrl: target.webhookUrl, signingSecret: target.signingSecret };
}

/** The signature header's value: HMAC-SHA256 of the raw body with the target's secret, hex. */
export const signConfirmation = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * Counts webhook deliveries on the worker's Prometheus endpoint (with the SDK's own metrics):
 * delivered, rejected (a 4xx the receiver means; the order is stuck until retried) or failed (will
 * be retried with backoff).
 */
function countDelivery(outcome: 'delivered' | 'rejected' | 'failed') {
  Context.current()
    .metricMeter.createCounter('confirmation_deliveries_total', 'deliveries', 'Shipment confirmations pushed to order-source webhooks, by outcome')
    .add(1, { via: 'push', outcome });
}

export function createConfirmationActivities(db: Db) {
  return {
    async deliverConfirmation(input: DeliveryInput): Promise<DeliveryResult> {
      try {
        const result = await pushConfirmation(db, input);
        if (result.mode === 'push') countDelivery('delivered');
        return result;
      } catch (error) {
        countDelivery(error instanceof ApplicationFailure && error.type === CONFIRMATION_REJECTED ? 'rejected' : 'failed');
        throw error;
      }
    },
  };
}

async function pushConfirmation(db: Db, input: DeliveryInput): Promise<DeliveryResult> {
  const target = await deliveryTargetFor(db, input.merchantId, input.source);
  if (target.mode === 'pickup') return target;
  const confirmation = await findConfirmationByKey(db, input.orderId, input.shipmentKey);
  // The workflow delivers only after projecting; a miss is a read-model hiccup worth retrying.
  if (!confirmation) throw new Error(`shipment ${input.shipmentKey} of order ${input.orderId} is not in the read model yet`);
  const body = JSON.stringify({ type: 'shipment.confirmation', confirmation: { ...confirmation, acked: undefined } });
  let response: Response;
  try {
    response = await fetch(target.webhookUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': `shipment-${confirmation.id}`,
        'X-Signature': signConfirmation(target.signingSecret, body),
      },
      body,
      // Also cancelled when the worker's shutdown grace runs out or the workflow cancels the attempt.
      signal: AbortSignal.any([AbortSignal.timeout(15_000), Context.current().cancellationSignal]),
    });
  } catch (error) {
    throw new Error(`webhook ${target.webhookUrl} unreachable: ${(error as Error).message}`);
  }
  const excerpt = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim();
  if (response.ok) return { mode: 'push', status: response.status };
  // A refusal the receiver means (bad request, forbidden...) will not change by retrying.
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
    throw ApplicationFailure.create({
      type: CONFIRMATION_REJECTED,
      message: `confirmation rejected: ${response.status} ${excerpt}`.trim(),
      nonRetryable: true,
    });
  }
  throw new Error(`webhook answered ${response.status} ${excerpt}`.trim());
}
