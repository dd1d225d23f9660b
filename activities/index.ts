/**
 * Activities: the only code that writes the read model on a workflow's behalf. Each is idempotent,
 * so Temporal's retries are always safe.
 */
import { heartbeat, log } from '@temporalio/activity';
import type { Db } from '../db/client';
import { purgeRequestLog } from '../db/request-log';
import { purgeExpiredFailures } from '../db/credential-failures';
import { purgeSettledFacts } from '../db/order-facts';
import type { OrderGateway } from '../temporal/order-gateway';
import { createBulkRetryActivities } from './bulk-retry';
import { createConfirmationActivities, deliveryTargetFor, type ConfirmationMode } from './confirmations';
import { findOrderById, projectOrder as writeProjection, stateFromRecord, type ProjectionInput } from '../db/orders';
import { findMerchant } from '../db/merchants';
import { purgePersonalData } from '../db/retention';
import { undeliveredShipments, type DeadlineOverrides } from '../domain/lifecycle';
import type { OrderState } from '../domain/order';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../runtime/config';

/**
 * `gateway` is needed by the activities that send requests to order workflows (bulk retry): a
 * request goes after the order's pending facts, as from the API. `webhooks` says where confirmation
 * webhooks may go (default: public addresses only).
 */
export function createActivities(db: Db, gateway: OrderGateway | null = null, webhooks: Pick<WebhookSettings, 'allowPrivateNetworks'> = DEFAULT_WEBHOOK_SETTINGS) {
  return {
    ...createConfirmationActivities(db, webhooks),
    ...createBulkRetryActivities(db, gateway),
    /**
     * Writes one version of an order to the read model; returns the LastModified the database stamped
     * and, when shipments await their confirmation, how the order's source takes them (so the
     * workflow knows at once whether there is anything to push).
     */
    async projectOrder(input: ProjectionInput): Promise<{ lastModified: string; confirmationMode?: ConfirmationMode }> {
      const result = await writeProjection(db, input);
      const { state } = input;
      const confirmationMode = undeliveredShipments(state).length ? (await deliveryTargetFor(db, state.merchantId, state.content.source ?? null)).mode : undefined;
      log.debug('order projected', {
        orderNumber: input.state.orderNumber,
        status: input.state.status,
        version: input.version,
        applied: result.applied,
      });
      return { lastModified: result.lastModified, ...(confirmationMode ? { confirmationMode } : {}) };
    },

    /**
     * Deletes connection request-log entries older than the retention; returns how many. Also drops
     * facts settled before the retention (order_facts) and counters of failed credential attempts whose
     * window ended (credential_failures), so that table stays small whatever callers send.
     */
    async purgeRequestLog(olderThanDays: number): Promise<number> {
      const deleted = await purgeRequestLog(db, olderThanDays);
      const expiredFailureCounters = await purgeExpiredFailures(db);
      // Facts that reached their order (or were discarded) are history of the same kind as the request log.
      const settledFacts = await purgeSettledFacts(db, olderThanDays);
      log.info('request log purged', { olderThanDays, deleted, expiredFailureCounters, settledFacts });
      return deleted;
    },

    /**
     * Purges the personal data of orders closed (confirmed or canceled) longer than the retention, in
     * committed batches (a retry continues where the last attempt stopped); returns how many orders.
     */
    async purgePersonalData(olderThanDays: number): Promise<number> {
      const purged = await purgePersonalData(db, olderThanDays, { onBatch: (soFar) => heartbeat(soFar) });
      log.info('personal data purged', { olderThanDays, purged });
      return purged;
    },

    /** The read model's view of an order and its projected version, for reopening a closed workflow. */
    async loadOrderState(orderId: string): Promise<{ state: OrderState; version: number; deadlines: DeadlineOverrides } | null> {
      const record = await findOrderById(db, orderId);
      if (!record) return null;
      const merchant = await findMerchant(db, record.order.merchantId);
      return { state: stateFromRecord(record), version: record.order.version, deadlines: merchant?.deadlines ?? {} };
    },
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
