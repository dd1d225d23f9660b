/** Sending one request to an order, as the order API and the ops API both do. */
import type { UpdateDefinition } from '@temporalio/common';
import type { Db } from '../db/client';
import { findOrderByNumber } from '../db/orders';
import type { OrderState } from '../domain/order';
import type { RequestEnvelope } from '../workflows/messages';
import { conflict } from './errors';
import { OrderClosedError, type OrderGateway } from './order-gateway';

/** A closed order (terminal, past its grace period) refuses with the status it ended in. */
export async function sendOrderRequest<R extends RequestEnvelope>(
  db: Db,
  gateway: OrderGateway,
  ref: { merchantId: string; orderNumber: string },
  update: UpdateDefinition<OrderState, [R]>,
  args: Omit<R, 'expiresAt'>,
): Promise<void> {
  try {
    await gateway.request(ref, update, args);
  } catch (error) {
    if (!(error instanceof OrderClosedError)) throw error;
    const record = await findOrderByNumber(db, ref.merchantId, ref.orderNumber);
    throw conflict(`order ${ref.orderNumber} is ${record?.order.status ?? 'gone'} and closed; nothing changed`);
  }
}
