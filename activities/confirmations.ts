/**
 * Delivering a shipment confirmation to the order source. Pickup mode needs nothing from us (the
 * source reads GET /api/shipments and acks); push mode posts the same payload to the source's
 * webhook, signed the Standard Webhooks way (runtime/webhook-signing.ts) with one message id per
 * shipment however often it is retried, and only to an address the network policy allows
 * (runtime/webhook-post.ts: no redirects, no internal addresses, a bounded read of the answer).
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Db } from '../db/client';
import { confirmationTargetFor, findConfirmationByKey, previousSecretValidUntil } from '../db/confirmations';
import type { ConfirmationTargetRow } from '../db/schema';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../runtime/config';
import { webhookUrlWarning, type NetworkPolicy } from '../runtime/webhook-address';
import { postWebhook, WebhookAddressRefused, type WebhookAnswer } from '../runtime/webhook-post';
import { signatureHeaders, type SigningSecrets } from '../runtime/webhook-signing';

export const CONFIRMATION_REJECTED = 'ConfirmationRejected';

/** One attempt's limit; also cancelled when the worker's shutdown grace runs out or the workflow cancels it. */
const ATTEMPT_TIMEOUT_MS = 15_000;

export interface DeliveryInput {
  orderId: string;
  merchantId: string;
  source: string | null;
  shipmentKey: string;
}

/** `warning`: delivered, but to a target that would not be accepted as new (plain http); also in the worker's log. */
export type DeliveryResult = { mode: 'pickup' } | { mode: 'push'; status: number; warning?: string };
export type ConfirmationMode = DeliveryResult['mode'];
type DeliveryTarget = { mode: 'pickup' } | { mode: 'push'; webhookUrl: string; secrets: SigningSecrets };

/** The secrets that sign now: the current one, and the previous one while its grace lasts. */
export function signingSecretsOf(target: ConfirmationTargetRow & { signingSecret: string }, now = Date.now()): SigningSecrets {
  return {
    current: target.signingSecret,
    previous: previousSecretValidUntil(target, now) ? target.previousSigningSecret : null,
    legacyKey: target.legacySignatureKey ?? target.signingSecret,
  };
}

/**
 * How an order source takes confirmations right now (its target may change at any time): pushed to
 * its webhook, or picked up (the default, also for a push target not fully set up). The one place
 * the mode is read, by the projection (which tells the workflow) and by each delivery.
 */
export async function deliveryTargetFor(db: Db, merchantId: string, source: string | null): Promise<DeliveryTarget> {
  const target = await confirmationTargetFor(db, merchantId, source);
  if (target?.mode !== 'push' || !target.webhookUrl || !target.signingSecret) return { mode: 'pickup' };
  return { mode: 'push', webhookUrl: target.webhookUrl, secrets: signingSecretsOf({ ...target, signingSecret: target.signingSecret }) };
}

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

export function createConfirmationActivities(db: Db, webhooks: Pick<WebhookSettings, 'allowPrivateNetworks'> = DEFAULT_WEBHOOK_SETTINGS) {
  return {
    async deliverConfirmation(input: DeliveryInput): Promise<DeliveryResult> {
      try {
        const result = await pushConfirmation(db, input, webhooks);
        if (result.mode === 'push') countDelivery('delivered');
        return result;
      } catch (error) {
        countDelivery(error instanceof ApplicationFailure && error.type === CONFIRMATION_REJECTED ? 'rejected' : 'failed');
        throw error;
      }
    },
  };
}

const rejected = (message: string) => ApplicationFailure.create({ type: CONFIRMATION_REJECTED, message, nonRetryable: true });

/** Whitespace folded, cut short: a receiver's answer goes into stuck details and logs. */
const excerptOf = (text: string) => text.slice(0, 200).replace(/\s+/g, ' ').trim();

async function pushConfirmation(db: Db, input: DeliveryInput, policy: NetworkPolicy): Promise<DeliveryResult> {
  const target = await deliveryTargetFor(db, input.merchantId, input.source);
  if (target.mode === 'pickup') return target;
  const confirmation = await findConfirmationByKey(db, input.orderId, input.shipmentKey);
  // The workflow delivers only after projecting; a miss is a read-model hiccup worth retrying.
  if (!confirmation) throw new Error(`shipment ${input.shipmentKey} of order ${input.orderId} is not in the read model yet`);
  const body = JSON.stringify({ type: 'shipment.confirmation', confirmation: { ...confirmation, acked: undefined } });
  // One id per shipment on every attempt: receivers dedupe on it (webhook-id and Idempotency-Key alike).
  const messageId = `shipment-${confirmation.id}`;
  const warning = webhookUrlWarning(target.webhookUrl);
  if (warning) log.warn('confirmation webhook target uses plain http', { merchantId: input.merchantId, source: input.source, webhookUrl: target.webhookUrl, warning });
  let answer: WebhookAnswer;
  try {
    answer = await postWebhook({
      url: target.webhookUrl,
      headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': messageId,
        ...signatureHeaders(target.secrets, { id: messageId, timestamp: Math.floor(Date.now() / 1000), body }),
      },
      body,
      policy,
      signal: AbortSignal.any([AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), Context.current().cancellationSignal]),
    });
  } catch (error) {
    // The address will not become acceptable by retrying: stuck until the target (or its DNS) changes and ops retry.
    if (error instanceof WebhookAddressRefused) throw rejected(`webhook address refused: ${error.message}`);
    throw new Error(`webhook ${target.webhookUrl} unreachable: ${(error as Error).message}`);
  }
  return outcomeOf(answer, warning);
}

/** What an answer means: delivered, refused for good (a 3xx or a 4xx the receiver means), or worth retrying. */
function outcomeOf(answer: WebhookAnswer, warning: string | null): DeliveryResult {
  const { status } = answer;
  const excerpt = excerptOf(answer.excerpt);
  if (status >= 200 && status < 300) return { mode: 'push', status, ...(warning ? { warning } : {}) };
  // Redirects are not followed (a receiver could send us anywhere): the target must be changed.
  if (status >= 300 && status < 400) {
    throw rejected(`confirmation rejected: ${status} redirect not followed${answer.location ? ` (to ${answer.location.slice(0, 200)})` : ''}`);
  }
  // A refusal the receiver means (bad request, forbidden...) will not change by retrying.
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw rejected(`confirmation rejected: ${status} ${excerpt}`.trim());
  throw new Error(`webhook answered ${status} ${excerpt}`.trim());
}
