/** Sending one request to an order, as the order API and the ops API both do. */
import type { Db } from '../db/client';
import { findOrderByNumber } from '../db/orders';
import type { OrderRequest, RequestEnvelope } from '../workflows/messages';
import { conflict } from './errors';
import { requestedBy } from '../domain/requester';
import { orderIdFor } from './order-view';
import { OrderClosedError } from '../temporal/errors';
import type { OrderGateway } from '../temporal/order-gateway';

/** `requestedBy`: who asked (domain/requester.ts), for the order's timeline. A closed order (terminal, past its grace period) refuses with the status it ended in. */
export async function sendOrderRequest<R extends RequestEnvelope>(
  db: Db,
  gateway: OrderGateway,
  ref: { merchantId: string; orderNumber: string },
  update: OrderRequest<R>,
  args: Omit<R, 'expiresAt' | 'requestedBy'>,
  requestedBy: string,
): Promise<void> {
  try {
    await gateway.request({ ...ref, orderId: orderIdFor(ref.merchantId, ref.orderNumber) }, update, { ...args, requestedBy } as Omit<R, 'expiresAt'>);
  } catch (error) {
    if (!(error instanceof OrderClosedError)) throw error;
    const record = await findOrderByNumber(db, ref.merchantId, ref.orderNumber);
    throw conflict(`order ${ref.orderNumber} is ${record?.order.status ?? 'gone'} and closed; nothing changed`);
  }
}

/** Sent by the ops CLI (scripts/ops.ts): the channel, and the name of whoever runs it (OPS_NAME, else the login). */
export const OPS_CLIENT_HEADER = 'X-Ops-Client';
export const OPS_NAME_HEADER = 'X-Ops-Name';

/** Who asked, for a request through the ops API: the CLI says it is the CLI; a name is self-declared. */
export function opsRequester(header: (name: string) => string | undefined): string {
  const channel = header(OPS_CLIENT_HEADER)?.trim().toLowerCase() === 'cli' ? 'ops CLI' : 'ops API';
  return requestedBy(channel, header(OPS_NAME_HEADER));
}
