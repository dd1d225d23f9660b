/** Sending one request to an order, as the order API and the ops API both do. */
import type { Db } from '../db/client';
import { findOrderByNumber } from '../db/orders';
import type { OrderRequest, RequestEnvelope } from '../workflows/messages';
import { conflict } from './errors';
import { orderIdFor } from './order-view';
import { OrderClosedError } from '../temporal/errors';
import type { OrderGateway } from '../temporal/order-gateway';

/** A closed order (terminal, past its grace period) refuses with the status it ended in. */
export async function sendOrderRequest<R extends RequestEnvelope>(
  db: Db,
  gateway: OrderGateway,
  ref: { merchantId: string; orderNumber: string },
  update: OrderRequest<R>,
  args: Omit<R, 'expiresAt'>,
): Promise<void> {
  try {
    await gateway.request({ ...ref, orderId: orderIdFor(ref.merchantId, ref.orderNumber) }, update, args);
  } catch (error) {
    if (!(error instanceof OrderClosedError)) throw error;
    const record = await findOrderByNumber(db, ref.merchantId, ref.orderNumber);
    throw conflict(`order ${ref.orderNumber} is ${record?.order.status ?? 'gone'} and closed; nothing changed`);
  }
}
