/**
 * Determinism guard: every committed history under test/histories/ must replay against today's
 * workflow code. A change that would break running orders (reordered commands, a removed timer...)
 * fails here; make such changes with patched() or worker versioning (docs/architecture.md).
 *
 * `RECORD_HISTORIES=1 npx vitest run test/replay.test.ts` records fresh histories from real runs
 * (do it only when the histories should change on purpose, and commit them).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { orderWorkflowId } from '../domain/order';
import { cancelUpdate, holdUpdate, markPaidUpdate, releaseUpdate, retryUpdate, updateOrderUpdate } from '../workflows/messages';
import { createOrder, eventually, orderPayload, readState } from './support/orders';
import { startTestStack } from './support/stack';
import { startWebhookReceiver } from './support/webhook-receiver';
import { setConfirmationTarget } from '../db/confirmations';

const HISTORIES = path.join(import.meta.dirname, 'histories');
const recording = process.env.RECORD_HISTORIES === '1';

describe.runIf(recording)('recording histories', () => {
  it('records one history per scenario', async () => {
    const stack = await startTestStack({
      settings: { deadlines: { awaitPaymentMs: 60_000, pendingExportMs: 1500, atWmsShipmentMs: 60_000 }, terminalGraceMs: 1000 },
    });
    try {
      const merchant = await stack.newMerchant('replay');
      const scenarios: Record<string, (ref: { merchantId: string; orderNumber: string; orderId: string }) => Promise<void>> = {
        'full-lifecycle': async (ref) => {
          await stack.gateway.request(ref, markPaidUpdate, {});
          await stack.sendFact(ref, { kind: 'exported', exportKey: 'p1' });
          await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'a', carrier: 'UPS', trackingNumber: '1ZA', items: [{ lineId: 'L1', quantity: 1 }], reportedVia: 'test' } });
          await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'a', carrier: 'UPS', trackingNumber: '1ZA', items: [{ lineId: 'L1', quantity: 1 }], reportedVia: 'test' } });
          await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'b', carrier: 'USPS', trackingNumber: '94', reportedVia: 'test' } });
          await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), (s) => s.status === 'shipped');
          await stack.sendFact(ref, { kind: 'confirmationDelivered', shipmentKey: 'a' });
          await stack.sendFact(ref, { kind: 'confirmationDelivered', shipmentKey: 'b' });
        },
        'hold-change-release-cancel': async (ref) => {
          await stack.gateway.request(ref, holdUpdate, { reason: 'address' });
          await stack.gateway.request(ref, updateOrderUpdate, { changes: { customerNotes: 'leave at door' } });
          await stack.gateway.request(ref, releaseUpdate, {});
          await stack.gateway.request(ref, cancelUpdate, { reason: 'customer' });
          await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'late', carrier: 'UPS', reportedVia: 'test' } });
        },
        'stuck-and-retry': async (ref) => {
          await stack.gateway.request(ref, markPaidUpdate, {});
          await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), (s) => s.stuck !== null);
          await stack.gateway.request(ref, retryUpdate, {});
          await stack.gateway.request(ref, cancelUpdate, { reason: 'done' });
        },
      };
      // A fact after close reopens the order in a new run: record that run too.
      {
        const { ref } = await createOrder(stack, merchant.id, orderPayload({ orderNumber: 'replay-reopened' }));
        await stack.gateway.request(ref, cancelUpdate, { reason: 'closing' });
        const handle = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
        await handle.result();
        await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'after-close', carrier: 'UPS', trackingNumber: '1ZCLOSED', reportedVia: 'test' } });
        const reopened = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
        await reopened.result();
        writeFileSync(path.join(HISTORIES, 'reopened-after-close.json'), historyToJSON(await reopened.fetchHistory()));
      }
      // Push delivery: the receiver refuses once (stuck confirmation_rejected), then retry delivers.
      {
        const receiver = await startWebhookReceiver(() => ({ status: 400, body: 'bad payload' }));
        try {
          const pushMerchant = await stack.newMerchant('replay-push');
          await setConfirmationTarget(stack.database.db, { merchantId: pushMerchant.id, source: null, mode: 'push', webhookUrl: receiver.url });
          const { ref } = await createOrder(stack, pushMerchant.id, orderPayload({ orderNumber: 'replay-push' }));
          await stack.sendFact(ref, { kind: 'exported', exportKey: 'p1' });
          await stack.sendFact(ref, { kind: 'shipmentReported', report: { shipmentKey: 'all', carrier: 'UPS', trackingNumber: '1ZPUSH', reportedVia: 'test' } });
          await eventually(() => readState(stack, ref.merchantId, ref.orderNumber), (s) => s.stuck?.reason === 'confirmation_rejected');
          receiver.respond = () => ({ status: 200, body: 'ok' });
          await stack.gateway.request(ref, retryUpdate, {});
          const handle = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
          await handle.result();
          writeFileSync(path.join(HISTORIES, 'push-rejected-then-retried.json'), historyToJSON(await handle.fetchHistory()));
        } finally {
          await receiver.close();
        }
      }
      for (const [name, play] of Object.entries(scenarios)) {
        const { ref } = await createOrder(stack, merchant.id, orderPayload({ paid: false, orderNumber: `replay-${name}` }));
        await play(ref);
        const handle = stack.client.workflow.getHandle(orderWorkflowId(ref.merchantId, ref.orderNumber));
        await handle.result();
        writeFileSync(path.join(HISTORIES, `${name}.json`), historyToJSON(await handle.fetchHistory()));
      }
    } finally {
      await stack.close();
    }
  });
});

describe('replaying committed histories', () => {
  const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file);
  });
});
